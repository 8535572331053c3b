"""What the API's schema cannot say, as schemathesis hooks: for the suite's fuzzing and for a run
of schemathesis's command-line tool (``tests/schemathesis.toml`` loads them; run it from the
project's folder with the server's ``DATABASE_URL``, as a PATCH is judged over the automation it
changes).

The definition schema documents these rules in words and the server checks them on save, so a
request that breaks one is refused with a 400 that names the field, not accepted: step keys are
unique, text with {{ or {% is a template that parses and names known variables, steps.<key> names
a step of the definition and a condition's field one the trigger brings, an interval's start is a
day the calendar has (not 31 February), a backtest's period is one (from not after to) of the one
version there is, a send window closes after it opens, an email sent as a test renders on its data, a write that names its revision in the body
and in If-Match names the same one in both, and an email template changed in place still reads
only what every automation that sends it brings. A PATCH is read over the automation as it
is (a trigger changed without steps keeps the steps, which may then read what the new event does
not bring, or wait for events without a correlation_key). Durations' and periods' bounds, holiday
calendars' subdivisions and wait_for's need of a correlation_key are in the schema: no filter here.
"""
from __future__ import annotations

import copy
import os
from datetime import date, datetime, timedelta

import django
import schemathesis
from django.apps import apps

if not apps.ready:  # the command-line tool: this project's settings, the server's database
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    django.setup()

from automations.backtest.period import parse_bound  # noqa: E402 (after Django is set up)
from automations.definition.references import check_references  # noqa: E402
from automations.definition.serialize import definition_of  # noqa: E402
from automations.messaging.validation import send_window_errors  # noqa: E402
from automations import clock  # noqa: E402
from automations.api.inputs import StatsIn  # noqa: E402
from automations.api.views import ETAG  # noqa: E402
from automations.models import Automation, EmailTemplate  # noqa: E402
from automations.template_use import problems_if_saved  # noqa: E402
from automations.templating import is_template, referenced_roots, template_problem  # noqa: E402
from automations.variables import ROOTS  # noqa: E402
from billing_events.errors import InvalidInput  # noqa: E402


@schemathesis.hook
def filter_case(context, case) -> bool:
    """Whether ``case`` keeps to the rules above (a request that does not is not generated)."""
    body = case.body if isinstance(case.body, (dict, list)) else None
    definition = body.get("definition", body) if isinstance(body, dict) else None  # test/ nests one
    definition = _as_patched(case, definition)
    steps = definition.get("steps") if isinstance(definition, dict) else None
    keys = list(_step_keys(steps))
    return (len(keys) == len(set(keys)) and not any(map(_bad_template, _strings(steps)))
            and not any(map(_impossible_start, _found(body, "start")))
            and not _impossible_backtest(body)
            and not any(send_window_errors(window, "") for window in _found(body, "send_window"))
            and not _missing_references(definition)
            and not (_is_patch(case) and _wait_without_correlation(definition))
            and not _revision_named_twice(case, body) and not _template_change_refused(case, body)
            and not _impossible_stats_period(case) and not _preview_email_unrenderable(case, body))


def _preview_email_unrenderable(case, body) -> bool:
    """Whether an email to send as a test is a template (it renders on the request's data only if
    that data has what it reads, which the data's schema, any object, cannot say)."""
    if not case.operation.path.endswith("/send-preview-email/") or not isinstance(body, dict):
        return False
    return any(map(is_template, _strings(body.get("templates"))))


def _impossible_stats_period(case) -> bool:
    """Whether a request for an automation's figures names a period that ends before it starts or
    is longer than a year (a missing bound: the 29 days before ``to``, ``to`` today)."""
    if not case.operation.path.endswith("/stats/") or not isinstance(case.query, dict):
        return False
    try:
        end = date.fromisoformat(case.query["to"]) if "to" in case.query else clock.now().date()
        start = date.fromisoformat(case.query["from"]) if "from" in case.query else end - timedelta(days=29)
    except (TypeError, ValueError, OverflowError):
        return False  # not a date: the server's 400 is checked
    return start > end or (end - start).days + 1 > StatsIn.MOST_DAYS


def _revision_named_twice(case, body) -> bool:
    """Whether the body's revision and the If-Match header name two different revisions."""
    header = ETAG.fullmatch((case.headers or {}).get("If-Match", "").strip())
    named = body.get("revision") if isinstance(body, dict) else None
    return (header is not None and isinstance(named, (int, float)) and not isinstance(named, bool)
            and int(header.group(1)) != named)


def _template_change_refused(case, body) -> bool:
    """Whether a change to a stored email template breaks a version that sends it, or is not a
    template that parses."""
    if not case.operation.path.startswith("/api/email-templates/{key}") or not isinstance(body, dict):
        return False
    values = {field: body[field] for field in ("subject", "body_text", "body_html") if isinstance(body.get(field), str)}
    if any(map(_bad_template, values.values())):
        return True
    key = case.path_parameters.get("key")
    return bool(values) and EmailTemplate.objects.filter(key=key).exists() and bool(problems_if_saved(key, values))


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


def _is_patch(case) -> bool:
    return case.operation.method.upper() == "PATCH" and case.operation.path.startswith("/api/automations/{id}")


def _as_patched(case, definition):
    """A PATCH's fields over the automation it is sent to as that is now (earlier requests changed
    it): what the server validates."""
    if not isinstance(definition, dict) or not _is_patch(case):
        return definition
    try:
        automation = Automation.objects.filter(pk=case.path_parameters.get("id")).first()
    except (TypeError, ValueError):  # not an id: answered 404
        return definition
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
