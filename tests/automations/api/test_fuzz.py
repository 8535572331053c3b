"""Schema-driven fuzzing: schemathesis generates requests from the live OpenAPI schema for every
operation, valid and invalid, and runs every check it has on each answer: no server error, status
code and content type documented, body conforming to the documented schema, valid data accepted,
invalid data rejected, unsupported methods refused, authentication not ignored...

A fixed, derandomized handful of examples per operation keeps it fast; run it deeper with
``FUZZ_EXAMPLES=100 pytest tests/automations/api/test_fuzz.py``.
"""
from __future__ import annotations

import os

import pytest
import schemathesis
from django.core.handlers.wsgi import WSGIHandler
from django.core.signals import request_started
from django.db import close_old_connections
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from rest_framework.authtoken.models import Token
from schemathesis.checks import CHECKS, load_all_checks
from schemathesis.generation import GenerationMode

from automations import library, services
from automations.models import Secret

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "6"))
load_all_checks()
ALL_CHECKS = CHECKS.get_all()


@pytest.fixture
def token(db, django_user_model):
    user = django_user_model.objects.create_superuser("fuzz", "fuzz@example.com", "pw")
    return Token.objects.create(user=user).key


@pytest.fixture
def api_schema(token):
    """The schema as this installation serves it: with email templates and a named secret to refer to."""
    # Requests share the test's transaction, as with Django's test client.
    request_started.disconnect(close_old_connections)
    services.activate(library.instantiate("payment_dunning"))
    secret = Secret(name="PARTNER_KEY")
    secret.set_value("sk_fuzz")
    secret.save()
    schema = schemathesis.openapi.from_wsgi("/api/schema/", WSGIHandler())
    schema.config.generation.update(allow_x00=False)  # text holds no NUL characters (documented)

    @schema.hook
    def filter_body(context, body) -> bool:
        """What a JSON Schema cannot say (the definition schema documents it): step keys are unique."""
        keys = list(_step_keys(body.get("steps") if isinstance(body, dict) else None))
        return len(keys) == len(set(keys))

    yield schema
    request_started.connect(close_old_connections)


def _step_keys(steps):
    for step in steps if isinstance(steps, list) else []:
        if isinstance(step, dict):
            if "key" in step:
                yield step["key"]
            for body in ("then", "else", "steps", "fallback"):
                yield from _step_keys(step.get(body))


def _fuzz(operation, mode: GenerationMode, token: str) -> None:
    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
              suppress_health_check=list(HealthCheck))
    def check(case) -> None:
        case.call_and_validate(headers={"Authorization": f"Token {token}"}, checks=ALL_CHECKS)

    check()


def test_every_check_passes_on_every_operation(api_schema, token):
    """The schema is loaded inside the test: it lists this installation's email templates and secrets."""
    failures, operations = {}, 0
    for result in api_schema.get_all_operations():
        operation = result.ok()
        operations += 1
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            try:
                _fuzz(operation, mode, token)
            except Unsatisfiable:
                assert mode is GenerationMode.NEGATIVE, operation.label  # nothing in it can be made invalid
            except (AssertionError, BaseExceptionGroup) as exc:  # each operation is tried; all failures reported
                failures[f"{operation.label} ({mode.value})"] = exc
    assert operations >= 30
    assert not failures, "\n\n".join(f"{label}:\n{exc}" for label, exc in failures.items())


def test_the_fuzzing_runs_every_check():
    assert {check.__name__ for check in ALL_CHECKS} >= {
        "not_a_server_error", "status_code_conformance", "content_type_conformance", "response_headers_conformance",
        "response_schema_conformance", "negative_data_rejection", "positive_data_acceptance",
        "missing_required_header", "unsupported_method", "allow_header_conformance", "ignored_auth"}
