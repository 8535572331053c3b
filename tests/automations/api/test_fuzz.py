"""Schema-driven fuzzing: schemathesis generates requests from the live OpenAPI schema for every
operation, valid and invalid, and runs every check it has on each answer: no server error, status
code and content type documented, body conforming to the documented schema, valid data accepted,
invalid data rejected, unsupported methods refused, authentication not ignored...

A fixed, derandomized handful of examples per operation keeps it fast; run it deeper with
``FUZZ_EXAMPLES=100 pytest tests/automations/api/test_fuzz.py``.
"""
from __future__ import annotations

import copy

import os
from datetime import datetime

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
from automations.backtest.period import parse_bound
from automations.business_days import subdivision_problem
from automations.definition.references import check_references
from automations.durations import parse as parse_duration
from automations.messaging.validation import frequency_caps_errors, send_window_errors
from automations.definition.serialize import definition_of
from automations.models import Automation, Secret
from billing_events import emit
from billing_events.errors import InvalidInput
from tests.conftest import sample
from automations.templating import is_template, referenced_roots, template_problem
from automations.variables import ROOTS

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
    schema = schemathesis.openapi.from_wsgi("/api/schema/", WSGIHandler())
    schema.config.generation.update(allow_x00=False)  # text holds no NUL characters (documented)
    # A well-formed If-Match or revision names a draft revision that is, most of the time, not the
    # latest: refused with the documented 412, as a well-formed request at odds with the state is a 409.
    acceptance = schema.config.checks.positive_data_acceptance
    acceptance.expected_statuses = [*acceptance.expected_statuses, "412"]

    @schema.hook
    def filter_body(context, body) -> bool:
        """What a JSON Schema cannot say (the definition schema documents it, the server checks it):
        step keys are unique, text with {{ or {% is a template that parses and names known variables,
        steps.<key> names a step of the definition, a holiday calendar's subdivision is one of its
        country's, an interval's start is a day the calendar has (not 31 February), a wait_for step
        needs the definition's correlation_key, a backtest's period is one (from not after to, both
        days the calendar has) of the one version there is, a send window closes after it opens,
        a frequency cap's period is at most 366 days and a duration at most ten years. A PATCH is
        read over the automation as it is (a trigger changed without steps keeps the steps, which
        may then read what the new event does not bring)."""
        definition = body.get("definition", body) if isinstance(body, dict) else None  # test/ nests one
        definition = _as_patched(context, definition)
        steps = definition.get("steps") if isinstance(definition, dict) else None
        keys = list(_step_keys(steps))
        return (len(keys) == len(set(keys)) and not any(map(_bad_template, _strings(steps)))
                and not any(map(subdivision_problem, _holiday_calendars(body)))
                and not any(map(_impossible_start, _found(body, "start")))
                and not _impossible_backtest(body)
                and not any(send_window_errors(window, "") for window in _found(body, "send_window"))
                and not any(frequency_caps_errors(caps, "") for caps in _found(body, "frequency_caps"))
                and not _missing_references(definition) and not _wait_without_correlation(definition)
                and not any(_too_long(value) for name in DURATION_FIELDS for value in _found(body, name)))

    yield schema
    request_started.connect(close_old_connections)


#: The fields that hold a duration, wherever they are in a body.
DURATION_FIELDS = ("duration", "timeout", "offset", "due_in", "initial_interval", "max_interval", "every", "after")


def _too_long(value) -> bool:
    """A duration its pattern allows (up to six digits a number) that is longer than ten years."""
    if not isinstance(value, str):
        return False
    try:
        parse_duration(value, allow_negative=True)
    except InvalidInput as exc:
        return "longer than 10 years" in str(exc.errors)
    return False


def _missing_references(definition) -> bool:
    """Whether a definition names steps or fields it does not have, or reads a field that may be
    missing without a guard (steps without a key are checked under a made-up one, as the server
    checks them under their generated one). A body too malformed to walk is kept: the server's own
    validation must refuse it (with a 400, which the checks verify)."""
    if not isinstance(definition, dict):
        return False
    try:
        keyed = copy.deepcopy(definition)
        for number, step in enumerate(_all_steps(keyed.get("steps"))):
            if step.get("key") is None:
                step["key"] = f"fuzz_{number}"
        return bool(check_references(keyed)[0])
    except (TypeError, AttributeError, KeyError, ValueError, RecursionError):
        return False


def _as_patched(context, definition):
    """A PATCH's fields over the automation as it is now (earlier examples changed it): what the
    server validates."""
    operation = getattr(context, "operation", None)
    if (not isinstance(definition, dict) or operation is None or operation.method.upper() != "PATCH"
            or not operation.path.startswith("/api/automations/{id}")):
        return definition
    automation = Automation.objects.order_by("pk").first()
    version = automation and (automation.draft_version or automation.active_version)
    return {**definition_of(version), **definition} if version else definition


def _wait_without_correlation(definition) -> bool:
    """Whether a definition waits for events without saying which are its own (a PATCH without
    steps keeps the existing dunning's, which wait for a payment)."""
    if not isinstance(definition, dict) or definition.get("correlation_key"):
        return False
    if "steps" not in definition:
        return "correlation_key" in definition
    return any(step.get("type") == "wait_for" for step in _all_steps(definition.get("steps")))


def _all_steps(steps):
    for step in steps if isinstance(steps, list) else []:
        if isinstance(step, dict):
            yield step
            for body in ("then", "else", "steps", "fallback"):
                yield from _all_steps(step.get(body))


def _impossible_backtest(body) -> bool:
    if not isinstance(body, dict) or not isinstance(body.get("from"), str) or not isinstance(body.get("to"), str):
        return False
    try:
        return parse_bound(body["from"], "from") > parse_bound(body["to"], "to", end=True) or body.get("version", 1) != 1
    except InvalidInput:
        return True


def _step_keys(steps):
    for step in steps if isinstance(steps, list) else []:
        if isinstance(step, dict):
            if isinstance(step.get("key"), str):
                yield step["key"]
            for body in ("then", "else", "steps", "fallback"):
                yield from _step_keys(step.get(body))


def _found(value, name):
    """Every value under the key ``name`` anywhere in ``value``."""
    if isinstance(value, dict):
        if name in value:
            yield value[name]
        for item in value.values():
            yield from _found(item, name)
    elif isinstance(value, list):
        for item in value:
            yield from _found(item, name)


def _holiday_calendars(value):
    return _found(value, "holidays")


def _impossible_start(value) -> bool:
    try:
        datetime.fromisoformat(value)
    except (TypeError, ValueError):
        return isinstance(value, str)
    return False


def _strings(value):
    if isinstance(value, str):
        yield value
    elif isinstance(value, (list, dict)):
        for item in value.values() if isinstance(value, dict) else value:
            yield from _strings(item)


def _bad_template(text: str) -> bool:
    return is_template(text) and bool(template_problem(text) or referenced_roots(text) - {*ROOTS, "secrets"})


def _aimed(case, existing: dict[str, dict[str, object]]):
    """``case`` aimed at an object that exists (generated ids are almost always unknown: 404)."""
    for prefix, parameters in existing.items():
        if case.operation.path.startswith(prefix) and case.path_parameters:
            case.path_parameters = {**case.path_parameters,
                                    **{name: value for name, value in parameters.items() if name in case.path_parameters}}
    return case


def _fuzz(operation, mode: GenerationMode, token: str, existing: dict | None = None) -> None:
    strategy = operation.as_strategy(generation_mode=mode)

    @given(case=strategy.map(lambda case: _aimed(case, existing)) if existing else strategy)
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
