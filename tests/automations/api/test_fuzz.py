"""Schema-driven fuzzing: schemathesis generates requests from the live OpenAPI schema for every
operation, valid and invalid, and runs every check it has on each answer: no server error, status
code and content type documented, body conforming to the documented schema, valid data accepted,
invalid data rejected, unsupported methods refused, authentication not ignored...

A fixed, derandomized handful of examples per operation keeps it fast; run it deeper with
``FUZZ_EXAMPLES=100 pytest tests/automations/api/test_fuzz.py``. Its settings and what it does not
generate (rules the schema says in words) are those of schemathesis's command-line tool run against
a server: ``tests/schemathesis.toml`` and ``fuzz_hooks.py``.
"""
from __future__ import annotations

import os
from pathlib import Path

import pytest
import schemathesis
from django.core.handlers.wsgi import WSGIHandler
from django.core.signals import request_started
from django.db import close_old_connections
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from rest_framework.authtoken.models import Token
from schemathesis.checks import CHECKS, load_all_checks
from schemathesis.config import SchemathesisConfig
from schemathesis.generation import GenerationMode

from automations import library, services
from automations.models import Secret
from billing_events import emit
from tests.automations.api.fuzz_hooks import filter_case
from tests.conftest import sample

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "6"))
load_all_checks()
ALL_CHECKS = CHECKS.get_all()


@pytest.fixture
def token(db, django_user_model):
    user = django_user_model.objects.create_superuser("fuzz", "fuzz@example.com", "pw")
    return Token.objects.create(user=user).key


@pytest.fixture
def existing(db, django_capture_on_commit_callbacks) -> dict[str, dict[str, object]]:
    """Objects to aim at, by path: an active automation with a running execution of an event, a secret."""
    automation = library.instantiate("payment_dunning")
    services.activate(automation)
    with django_capture_on_commit_callbacks(execute=True):
        event = emit("payment.failed", sample("payment.failed"), id="evt_fuzz")
    secret = Secret(name="PARTNER_KEY")
    secret.set_value("sk_fuzz")
    secret.save()
    return {"/api/automations/": {"id": automation.pk, "number": 1},
            "/api/executions/": {"id": event.executions.get().pk}, "/api/events/": {"id": event.pk},
            "/api/secrets/": {"name": secret.name}, "/api/templates/": {"key": "payment_dunning"}}


@pytest.fixture
def api_schema(token, existing):
    """The schema as this installation serves it: with email templates and a named secret to refer to."""
    # Requests share the test's transaction, as with Django's test client.
    request_started.disconnect(close_old_connections)
    # The same settings as a run of schemathesis's command-line tool (no NUL characters; a stale revision's 412).
    config = SchemathesisConfig.from_path(Path(__file__).parents[2] / "schemathesis.toml")
    schema = schemathesis.openapi.from_wsgi("/api/schema/", WSGIHandler(), config=config)

    yield schema
    request_started.connect(close_old_connections)


def _aimed(case, existing: dict[str, dict[str, object]]):
    """``case`` aimed at an object that exists (generated ids are almost always unknown: 404)."""
    for prefix, parameters in existing.items():
        if case.operation.path.startswith(prefix) and case.path_parameters:
            case.path_parameters = {**case.path_parameters,
                                    **{name: value for name, value in parameters.items() if name in case.path_parameters}}
    return case


def _fuzz(operation, mode: GenerationMode, token: str, existing: dict | None = None) -> None:
    strategy = operation.as_strategy(generation_mode=mode)

    if existing:  # the hooks judged the case at its generated id: judge it again where it is sent
        strategy = strategy.map(lambda case: _aimed(case, existing)).filter(
            lambda case: mode is not GenerationMode.POSITIVE or filter_case(None, case))

    @given(case=strategy)
    @settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
              suppress_health_check=list(HealthCheck))
    def check(case) -> None:
        case.call_and_validate(headers={"Authorization": f"Token {token}"}, checks=ALL_CHECKS)

    check()


def test_every_check_passes_on_every_operation(api_schema, token, existing):
    """The schema is loaded inside the test: it lists this installation's email templates and secrets.
    Valid requests go to generated ids and to objects that exist; invalid ones to generated ids."""
    failures, operations = {}, 0
    for result in api_schema.get_all_operations():
        operation = result.ok()
        operations += 1
        runs = [(GenerationMode.POSITIVE, None), (GenerationMode.NEGATIVE, None)]
        if "{" in operation.path:
            runs.append((GenerationMode.POSITIVE, existing))
        for mode, aim in runs:
            try:
                _fuzz(operation, mode, token, aim)
            except Unsatisfiable:
                assert mode is GenerationMode.NEGATIVE, operation.label  # nothing in it can be made invalid
            except (AssertionError, BaseExceptionGroup) as exc:  # each operation is tried; all failures reported
                failures[f"{operation.label} ({mode.value}{', existing objects' if aim else ''})"] = exc
    assert operations >= 30
    assert not failures, "\n\n".join(f"{label}:\n{exc}" for label, exc in failures.items())


def test_the_fuzzing_runs_every_check():
    assert {check.__name__ for check in ALL_CHECKS} >= {
        "not_a_server_error", "status_code_conformance", "content_type_conformance", "response_headers_conformance",
        "response_schema_conformance", "negative_data_rejection", "positive_data_acceptance",
        "missing_required_header", "unsupported_method", "allow_header_conformance", "ignored_auth"}
