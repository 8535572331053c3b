"""What an operator tests is what runs: generated automations and scenarios run live (through the
worker's path, with real loopback SMTP and HTTP servers answering as the scenario says, an
approver deciding, the clock moved to each moment and ticked) and in test mode (the scenario
given as the Test tab gives it; and, where every attempt ends alike, predicted from the data)
must take the same steps, with the same statuses, at the same moments, to the same ending, and
send the same emails and webhooks; so must a backtest of the same event where it can know as much.

The generator (``parity_strategies``) covers every step type in nested lanes (branches, loops over
the invoice's line items, fallback lanes), retry policies, ``on_failure``, ``exit_on``,
``wait_for``, approvals decided at given moments or timing out, send windows on the customer's or
the automation's clock, frequency caps that delay or skip, and webhooks answered 2xx, 5xx, 4xx or
429 with Retry-After. The runs are in ``parity_runs``.

Hypothesis prints the seed and shrinks a failure to a small definition. ``--hypothesis-seed`` repeats
one; ``HYPOTHESIS_PROFILE=thorough`` runs more examples.
"""
from __future__ import annotations

import os

import pytest
from django.contrib.auth.models import Permission
from django.db import transaction
from hypothesis import HealthCheck, given, settings
from rest_framework.test import APIClient

from automations import clock, services
from automations.steps.cursor import _PROGRAMS
from tests.automations.engine.parity_runs import (Observed, Servers, backtest_run, live_run, simulated_run,
                                                   with_hook_url)
from tests.automations.engine.parity_strategies import Scenario, cases
from tests.conftest import START
from tests.fixtures.smtp import smtp  # noqa: F401  (a fixture)

pytestmark = pytest.mark.django_db

EXAMPLES = {"ci": 300, "thorough": 2000}[os.environ.get("HYPOTHESIS_PROFILE", "ci")]


@pytest.fixture
def approver(django_user_model):
    """Finance: decides approval requests, and tests automations in the builder."""
    user = django_user_model.objects.create_user("finance", password="pw")
    user.user_permissions.add(*Permission.objects.filter(codename__in=["decide_approval", "view_automation"]))
    return user


@pytest.fixture
def api(approver) -> APIClient:
    client = APIClient()
    client.force_authenticate(approver)
    return client


def run_all_ways(engine, smtp, http_server, api, approver, definition, scenario: Scenario
                 ) -> tuple[Observed, Observed, Observed | None, Observed | None]:
    """Live, test mode with the scenario, test mode predicting and a backtest (the last two
    where they can know the scenario's outcomes), each in a transaction rolled back after it."""
    clock.set_now(START)
    _PROGRAMS.clear()  # each example's versions are rolled back: their ids come back
    with transaction.atomic():
        automation = services.create_automation(with_hook_url(definition, http_server.url))
        services.activate(automation)
        automation.refresh_from_db()
        scripted = simulated_run(api, automation, scenario, scripted=True)
        predictable = scenario.as_predicted()
        predicted = simulated_run(api, automation, scenario, scripted=False) if predictable else None
        # a backtest sees no event after the one it replays and approves at once (as it documents)
        replayable = predictable and not scenario.paid_after and all(
            chosen == ("approved", "0s") for chosen in scenario.decisions.values())
        replayed = backtest_run(automation, scenario) if replayable else None
        live = live_run(engine, Servers(smtp, http_server, scenario), automation, scenario, approver)
        transaction.set_rollback(True)
    clock.set_now(START)
    return live, scripted, predicted, replayed


def assert_same(live: Observed, scripted: Observed, predicted: Observed | None, replayed: Observed | None) -> None:
    assert scripted == live, f"test mode with the scenario's outcomes:\n{scripted}\nlive:\n{live}"
    if predicted is not None:
        assert predicted == live, f"test mode predicting from the data:\n{predicted}\nlive:\n{live}"
    if replayed is not None:
        assert replayed == live, f"a backtest of the same event:\n{replayed}\nlive:\n{live}"


@settings(max_examples=EXAMPLES, deadline=None, print_blob=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                 HealthCheck.data_too_large])
@given(case=cases())
def test_test_mode_takes_the_steps_a_live_run_takes(engine, smtp, http_server, api, approver, case):
    definition, scenario = case
    assert_same(*run_all_ways(engine, smtp, http_server, api, approver, definition, scenario))


RETRY = {"key": "retry", "type": "action", "action": "retry_payment", "config": {}}


def _email(key: str, **config: object) -> dict:
    return {"key": key, "type": "action", "action": "send_email",
            "config": {"to": "{{ customer.email }}", "subject": f"[{key}] {{{{ invoice.number }}}}",
                       "body": "{{ invoice.status }}", **config}}


def _exits_on_paid(*steps: dict, **settings: object) -> dict:
    return {"name": "Pinned", "trigger": {"type": "event", "event": "payment.failed"},
            "correlation_key": "invoice.id", "exit_on": ["invoice.paid"], "steps": list(steps), **settings}


#: Closed when the run starts (Friday 05:00 in New York), open from 14:00 UTC.
WINDOW = {"send_window": {"from": "09:00", "to": "17:00"}}
#: Divergences the generator found (and the one known before it), each kept as a case of its own.
PINNED = {
    "a message waiting for its window ends with the run when its own payment paid the invoice": (
        _exits_on_paid(RETRY, _email("mail_1", **WINDOW)),
        Scenario(outcomes={"retry": ["pays"], "mail_1": ["succeeds"]}), "canceled"),
    "a message waiting for its window ends with the run when the customer pays meanwhile": (
        _exits_on_paid(_email("mail_1", **WINDOW)),
        Scenario(outcomes={"mail_1": ["succeeds"]}, paid_after="1h"), "canceled"),
    "an approval after the run's own payment ends the run, even one decided at once": (
        _exits_on_paid(RETRY, {"key": "ask_1", "type": "approval", "ask": "Refund {{ invoice.number }}?"}),
        Scenario(outcomes={"retry": ["pays"]}, decisions={"ask_1": ("approved", "0s")}), "canceled"),
    "a message that failed to send does not count toward a cap": (
        _exits_on_paid({**_email("mail_1"), "on_failure": "continue"}, _email("mail_2"),
                       frequency_caps=[{"channels": ["email"], "max": 1, "period": "1d"}]),
        Scenario(outcomes={"mail_1": ["fails"], "mail_2": ["succeeds"]}), "succeeded"),
}


@pytest.mark.parametrize("name", PINNED)
def test_pinned_cases_run_alike(engine, smtp, http_server, api, approver, name):
    definition, scenario, ending = PINNED[name]
    live, *others = run_all_ways(engine, smtp, http_server, api, approver, definition, scenario)
    assert live.status == ending
    assert_same(live, *others)
