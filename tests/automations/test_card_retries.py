"""Retries the card networks allow: a card the issuer declined for good is charged once, whatever
the retry policy, another step or another automation asks, until the customer's payment method
changes; no card is charged more often than its network allows, counted across automations; a
decline's advice ("retry after 24 hours") is kept. Live runs (the worker path, the reference
gateway's test processor) and test mode apply the same rules."""
from __future__ import annotations

from datetime import timedelta

import pytest

from automations import clock, services
from automations.errors import StateConflict
from automations.models import CardCharge, Execution
from billing_events.models import Customer, GatewayOperation, Payment
from tests.automations.actions.test_billing_inline import INVOICE, automation_of, money, seed_invoice
from tests.automations.api.conftest import api  # noqa: F401  (a fixture)
from tests.conftest import sample

pytestmark = pytest.mark.django_db


@pytest.fixture
def limits(settings):
    """A Visa limit of 2 charges per card in 24 hours (the real one is 15 in 30 days)."""
    settings.AUTOMATIONS = {**settings.AUTOMATIONS,
                            "RETRY_LIMITS": {"visa": [{"attempts": 2, "within": "24h", "per": "card"}]}}


def card_on_file(method: str) -> None:
    Customer.objects.filter(pk="cus_1001").update(default_payment_method=method)


def charges() -> list[str]:
    return list(Payment.objects.filter(invoice_id=INVOICE).order_by("created_at", "pk").values_list(
        "failure_code", flat=True))


def run(engine, step: dict, **retry) -> Execution:
    automation = automation_of({**step, **({"retry": retry} if retry else {})})
    execution = engine.run(services.run_manual, automation, sample("invoice.issued"))
    return Execution.objects.get(pk=execution.pk)


def retrying(method: str = "default", **config) -> dict:
    return {**money("retry_payment", payment_method=method, **config)}


# --- hard means never ------------------------------------------------------------------------

def test_a_card_declined_for_good_is_charged_once_whatever_the_retry_policy(engine):
    seed_invoice()
    card_on_file("pm_card_lost")
    execution = run(engine, retrying(), max_attempts=4, initial_interval="1h")

    assert execution.status == "failed" and execution.error == "step money: payment declined: lost_card"
    assert charges() == ["lost_card"]
    output = execution.step_runs.get().output
    assert output["decline"]["category"] == "hard" and output["decline"]["network"] == "visa"
    engine.advance(days=2)
    assert charges() == ["lost_card"], "not by its retry policy"


def test_no_other_step_or_automation_charges_that_card_until_the_payment_method_changes(engine):
    seed_invoice()
    card_on_file("pm_card_mastercard_do_not_retry")
    first = run(engine, {**retrying(), "on_failure": "continue"})
    assert first.step_runs.get().output["decline"]["category"] == "hard"

    second = run(engine, retrying())  # another automation, the same card
    assert second.status == "failed"
    assert second.error.startswith("step money: not charged: this card was declined for good on 2026-")
    assert "until the customer's payment method changes" in second.error
    refused = second.step_runs.get()
    assert refused.output["refused"] == "never_again" and refused.output["status"] == "refused"
    assert charges() == ["do_not_honor"], "the gateway was not called"
    assert not GatewayOperation.objects.filter(key__startswith=f"{second.pk}:").exists()

    card_on_file("pm_card_ok")  # the customer put a new card on file
    third = run(engine, retrying())
    assert third.status == "succeeded" and charges() == ["do_not_honor", None]


def test_a_decline_asking_for_new_details_is_not_retried_and_retry_from_the_failed_step_says_why(engine):
    seed_invoice()
    card_on_file("pm_expired_card")
    execution = run(engine, retrying(), max_attempts=3, initial_interval="1h")
    assert execution.status == "failed" and execution.step_runs.get().output["decline"]["category"] == (
        "update_credentials")

    refusal = services.retry_refusal(execution)
    assert refusal.startswith("this card was declined for good") and "expired_card" in refusal
    with pytest.raises(StateConflict, match="not retried: this card was declined for good"):
        services.retry_execution(execution)
    assert charges() == ["expired_card"]

    card_on_file("pm_card_ok")
    assert services.retry_refusal(execution) is None
    engine.run(services.retry_execution, execution)
    execution.refresh_from_db()
    assert execution.status == "succeeded" and charges() == ["expired_card", None]


# --- network limits, across everything ---------------------------------------------------------

def test_charges_beyond_the_network_limit_wait_until_it_allows_them_across_automations(engine, limits):
    seed_invoice()
    card_on_file("pm_card_declined")
    start = clock.now()
    for _ in range(2):
        assert run(engine, {**retrying(), "on_failure": "continue"}).status == "succeeded"
    assert charges() == ["card_declined", "card_declined"]

    third = run(engine, retrying())  # a third automation: the card had its two charges today
    assert third.status == "waiting" and third.wake_at == start + timedelta(hours=24)
    held = third.step_runs.get()
    assert held.status == "deferred" and held.output["deferred"] == "retry_limit"
    assert held.output["reason"] == ("not charged yet: waits until 2026-11-21 10:00 UTC "
                                     "(Visa allows 2 retries in 24 hours; 2 made)")
    assert charges() == ["card_declined", "card_declined"], "the gateway was not called"
    assert services.resumability(third).as_dict()["text"] == (
        "the payment of step money is held by the card networks' retry limits (not charged yet: waits until "
        "2026-11-21 10:00 UTC (Visa allows 2 retries in 24 hours; 2 made)); resuming now would only hold it again")

    engine.advance(hours=23)
    assert len(charges()) == 2
    engine.advance(hours=1, seconds=1)
    third.refresh_from_db()
    assert len(charges()) == 3 and third.status == "failed"
    assert list(third.step_runs.values_list("attempt", "status")) == [(1, "deferred"), (1, "failed")], (
        "the wait did not spend an attempt")


def test_a_step_may_fail_instead_of_waiting_for_the_limit(engine, limits):
    seed_invoice()
    card_on_file("pm_card_declined")
    for _ in range(2):
        run(engine, {**retrying(), "on_failure": "continue"})
    refused = run(engine, retrying(over_limit="fail"))
    assert refused.status == "failed"
    assert refused.error == ("step money: not charged: Visa allows 2 retries in 24 hours; 2 made; the card may be "
                             "charged again from 2026-11-21 10:00 UTC")
    assert refused.step_runs.get().output["refused"] == "retry_limit"
    assert len(charges()) == 2


def test_a_charge_waits_as_long_as_the_network_advised(engine):
    seed_invoice()
    card_on_file("pm_card_mastercard_retry_later")  # Mastercard advice 25: retry after 24 hours
    start = clock.now()
    execution = run(engine, retrying(), max_attempts=2, initial_interval="1h", max_interval="1h")
    assert execution.status == "waiting" and charges() == ["insufficient_funds"]

    engine.advance(hours=1, seconds=1)  # the policy's retry comes first: held until the advice allows it
    execution.refresh_from_db()
    assert execution.status == "waiting" and execution.wake_at == start + timedelta(hours=24)
    assert "the card's network asked not to charge this card again before then" in (
        execution.step_runs.get(status="deferred").output["reason"])
    assert len(charges()) == 1
    engine.advance(hours=23)
    assert len(charges()) == 2


def test_a_gateway_error_does_not_count_as_a_charge(engine, limits):
    seed_invoice()
    card_on_file("pm_processor_unavailable")
    run(engine, {**retrying(), "on_failure": "continue"})
    assert not CardCharge.objects.exists()


# --- seen before it happens --------------------------------------------------------------------

def two_charges(**second) -> dict:
    return {"name": "Two charges", "trigger": {"type": "event", "event": "payment.failed"}, "steps": [
        {"key": "first", "type": "action", "action": "retry_payment", "config": {}, "on_failure": "continue"},
        {"key": "later", "type": "delay", "duration": "2h"},
        {"key": "second", "type": "action", "action": "retry_payment", "config": second}]}


def test_test_mode_refuses_a_later_charge_of_a_card_declined_for_good():
    definition = two_charges()
    result = services.test_run(None, sample("payment.failed"), definition=definition,
                               outcomes={"first": ["hard_decline"], "second": ["pays"]})
    assert result["status"] == "failed"
    assert result["error"].startswith("step second: not charged: this card was declined for good")


def test_test_mode_waits_for_the_limit_as_a_live_run_does(limits):
    definition = two_charges()
    definition["steps"][0]["retry"] = {"max_attempts": 2, "initial_interval": "1h", "backoff_coefficient": 1}
    data = sample("payment.failed", customer={"default_payment_method": "pm_card_declined"})
    result = services.test_run(None, data, definition=definition)
    held = [entry for entry in result["timeline"] if entry.get("deferred") == "retry_limit"]
    assert held and held[0]["step"] == "second"
    assert held[0]["reason"].endswith("(Visa allows 2 retries in 24 hours; 2 made)")
    assert held[0]["waits"] == "21h 30m", "the charges at 0 and 30m (the policy's cap), the second step at 2h 30m"


def test_test_mode_counts_the_live_charges_of_the_card(engine):
    seed_invoice()
    card_on_file("pm_card_stolen")
    run(engine, {**retrying(), "on_failure": "continue"})
    data = sample("payment.failed", customer={"default_payment_method": "pm_card_stolen"})
    result = services.test_run(None, data, definition={
        "name": "Later", "trigger": {"type": "event", "event": "payment.failed"},
        "steps": [{"key": "charge", "type": "action", "action": "retry_payment", "config": {}}]},
        outcomes={"charge": ["pays"]})
    assert result["error"].startswith("step charge: not charged: this card was declined for good")


# --- the builder's warning ---------------------------------------------------------------------

def test_a_policy_that_could_pass_a_network_limit_on_its_own_is_worth_a_warning(api):
    def warnings(retry: dict) -> list[dict]:
        definition = {"name": "Eager", "trigger": {"type": "event", "event": "payment.failed"}, "steps": [
            {"key": "charge", "type": "action", "action": "retry_payment", "config": {}, "retry": retry}]}
        answer = api.post("/api/automations/validate/", definition, format="json").json()
        assert answer["valid"], answer
        return answer["warnings"]

    assert warnings({"max_attempts": 10, "initial_interval": "1h", "backoff_coefficient": 1}) == []
    [warning] = warnings({"max_attempts": 12, "initial_interval": "1h", "backoff_coefficient": 1})
    assert warning == {"field": "steps.charge.retry", "message": (
        "this policy can charge one card 11 times in 24 hours; Mastercard allows 10 retries in 24 hours: the "
        "charges past the limit wait until it allows them (or fail, as the step says)")}
    [monthly] = warnings({"max_attempts": 20, "initial_interval": "1d", "backoff_coefficient": 1,
                          "max_interval": "1d"})
    assert monthly["message"].startswith("this policy can charge one card 16 times in 30 days; Visa allows 15 "
                                         "retries for one amount in 30 days")
