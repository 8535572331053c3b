"""Money actions with a gateway that shares the apps' database (the reference gateway) run in their
step's transaction: the operation's rows, the step's log row and the cursor move commit together,
once. A failure keeps what the operation keeps on purpose (a decline); a retry charges again; a
worker killed mid-step leaves nothing, and its resumed run charges once."""
from __future__ import annotations

from decimal import Decimal

import pytest

from automations import services
from automations.actions import registry
from automations.conf import app_settings
from automations.models import Execution
from billing_events import emit
from billing_events.gateway import operations
from billing_events.models import CreditNote, Customer, Event, GatewayOperation, Invoice, Payment
from billing_events.sql import prepared_text
from tests.conftest import sample
from tests.fixtures.gateways import gateway_apart  # noqa: F401  (a fixture)
from tests.fixtures.statements import counting

INVOICE = "inv_2001"


def automation_of(*steps: dict, retry: dict | None = None):
    automation = services.create_automation({"name": "Money", "trigger": {"type": "manual"}, "steps": list(steps),
                                             **({"retry": retry} if retry else {})})
    services.activate(automation)
    return automation


def money(action: str, **config) -> dict:
    return {"key": "money", "type": "action", "action": action, "config": config}


def seed_invoice(credit_balance: str = "0") -> None:
    emit("invoice.issued", sample("invoice.issued"), id="evt_seed")  # inv_2001 (1,250.00 due) of cus_1001
    Customer.objects.filter(pk="cus_1001").update(credit_balance=Decimal(credit_balance))


def new_payments():
    return Payment.objects.filter(invoice_id=INVOICE)


# --- one commit ------------------------------------------------------------------------------

STEPS = {
    "retry_payment": money("retry_payment", payment_method="pm_card_ok"),
    "declined retry_payment": {**money("retry_payment", payment_method="pm_card_declined"),
                               "on_failure": "continue"},
    "void_invoice": money("void_invoice", reason="written off"),
    "create_credit_note": money("create_credit_note", amount="10", reason="goodwill"),
    "apply_credits": money("apply_credits"),
}
#: The rows each step writes in the billing tables (besides its GatewayOperation).
WRITES = {
    "retry_payment": ["billing_events_payment", "billing_events_event", "billing_events_invoice"],
    "declined retry_payment": ["billing_events_payment"],
    "void_invoice": ["billing_events_invoice", "billing_events_event"],
    "create_credit_note": ["billing_events_creditnote", "billing_events_invoice"],
    "apply_credits": ["billing_events_customer", "billing_events_invoice", "billing_events_event"],
}
# A run of one step: its start, its claim, then the step and the run's end in one commit (a step
# that goes straight on shares its commit with what follows); its statements as a ceiling, on
# SQLite and PostgreSQL alike.
RUN_COMMITS = {name: 3 for name in STEPS}
# A failure commits at once (with its retry wait or, here, its fallback), then the run goes on.
RUN_COMMITS["declined retry_payment"] = 4
# A charge costs five statements more than the other money steps' operations: the card's
# description, its lock, its charges, the reservation and its outcome (the card networks' rules).
RUN_STATEMENTS = {"retry_payment": 36, "declined retry_payment": 25, "void_invoice": 25, "create_credit_note": 21,
                  "apply_credits": 25}
# With a gateway apart, the intent and the result are commits of their own, and so are the
# operation and the run's end; a charge's outcome is written to the card's ledger as the gateway
# answers, before the result's commit (a crash between them settles it by idempotency key).
APART_RUN_COMMITS = {"retry_payment": 7, "void_invoice": 6}


def measured_run(name: str, monkeypatch):
    # The events the operation emits are dispatched by a task of their own, after the step's commit.
    monkeypatch.setattr("automations.triggers.receivers.queue_now", lambda *args, **kwargs: None)
    seed_invoice(credit_balance="100")
    automation = automation_of(STEPS[name])
    services.run_manual(automation, {"invoice": {"id": "inv_none"}})  # first-use work is not the run's cost
    with counting() as cost:
        execution = services.run_manual(automation, sample("invoice.issued"))
    return Execution.objects.get(pk=execution.pk), cost


def transactions(statements: list[str]) -> list[list[str]]:
    blocks, block = [], None
    for sql in statements:
        if sql.startswith("BEGIN"):
            block = []
        elif sql == "COMMIT":
            blocks.append(block)
            block = None
        elif block is not None:
            block.append(sql)
    return blocks


def writes_to(block: list[str], table: str) -> bool:
    statements = [prepared_text(sql) for sql in block]  # PostgreSQL's hot-path inserts are prepared
    if table == "billing_events_event" and any(sql.startswith("WITH inserted_event") for sql in statements):
        return True  # emit() on PostgreSQL: one statement (billing_events.sql.insert_with)
    return any(sql.startswith(("INSERT", "UPDATE")) and f'"{table}"' in sql.split(" SET ")[0].split(" (")[0]
               for sql in statements)


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("name", list(STEPS))
def test_a_money_step_commits_its_operation_its_log_row_and_the_cursor_move_at_once(name, monkeypatch):
    execution, cost = measured_run(name, monkeypatch)

    assert execution.status == "succeeded", execution.error
    blocks = transactions(cost.statements)
    [step] = [block for block in blocks if writes_to(block, "automations_steprun")]
    for table in ("billing_events_gatewayoperation", *WRITES[name], "automations_steprun", "automations_execution"):
        assert writes_to(step, table), f"{table} is not written in the step's transaction: {cost}"
    assert not any(writes_to(block, "billing_events_gatewayoperation") for block in blocks if block is not step), (
        "the operation commits with its step and nowhere else")
    assert cost.commits == RUN_COMMITS[name], f"a money step costs one commit: {cost}"
    assert len(cost.statements) <= RUN_STATEMENTS[name], f"the run grew beyond {RUN_STATEMENTS[name]} statements: {cost}"


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("name", ["retry_payment", "void_invoice"])
def test_with_a_gateway_apart_a_money_step_keeps_its_intent_and_result(name, monkeypatch, gateway_apart):
    execution, cost = measured_run(name, monkeypatch)

    assert execution.status == "succeeded", execution.error
    assert cost.commits == APART_RUN_COMMITS[name], f"intent, operation and result are three commits: {cost}"
    log = execution.step_runs.get()
    assert log.status == "succeeded" and log.output == GatewayOperation.objects.get().result


# --- what a failure keeps --------------------------------------------------------------------

def run_once(engine, step: dict) -> Execution:
    execution = engine.run(services.run_manual, automation_of(step), sample("invoice.issued"))
    return Execution.objects.get(pk=execution.pk)


def test_a_decline_keeps_its_failed_payment_and_record_with_the_failed_step(db, engine):
    seed_invoice()
    execution = run_once(engine, money("retry_payment", payment_method="pm_insufficient_funds"))

    assert execution.status == "failed" and execution.error == "step money: payment declined: insufficient_funds"
    payment = new_payments().get()
    assert (payment.status, payment.failure_code) == ("failed", "insufficient_funds")
    log = execution.step_runs.get()
    assert log.status == "failed" and log.output["payment_id"] == payment.pk
    assert GatewayOperation.objects.get(key=f"{execution.pk}:money:0").result == log.output
    assert Invoice.objects.get(pk=INVOICE).status == "open"


@pytest.mark.parametrize(("step", "error"), [
    ({**money("retry_payment", payment_method="pm_processor_unavailable"), "retry": {"max_attempts": 1}},
     "temporarily unavailable"),
    (money("create_credit_note", amount="5000"), "not between 0 and the 1250.00 still creditable"),
    (money("void_invoice"), "cannot void invoice INV-2026-0042: it is paid"),
    (money("apply_credits"), "cannot apply credits to invoice INV-2026-0042: it is paid"),
])
def test_an_operation_refused_by_the_gateway_keeps_nothing_but_the_failure(db, engine, step, error):
    seed_invoice(credit_balance="100")
    if step["action"] in ("void_invoice", "apply_credits"):
        Invoice.objects.filter(pk=INVOICE).update(status="paid", amount_due=0)
    before = (Invoice.objects.values().get(pk=INVOICE), Customer.objects.values().get(pk="cus_1001"),
              Event.objects.count())

    execution = run_once(engine, step)

    assert execution.status == "failed" and error in execution.error
    assert execution.step_runs.get().status == "failed"
    assert not GatewayOperation.objects.exists(), "nothing recorded under the key: the next attempt acts afresh"
    assert not new_payments().exists() and not CreditNote.objects.exists()
    assert before == (Invoice.objects.values().get(pk=INVOICE), Customer.objects.values().get(pk="cus_1001"),
                      Event.objects.count())


def test_an_unexpected_error_mid_operation_rolls_the_whole_attempt_back(db, engine, monkeypatch):
    seed_invoice()

    def broken(invoice, key):
        raise RuntimeError("the paid invoice could not be stored")

    monkeypatch.setattr(operations, "_mark_paid", broken)  # after the payment and its event are written
    execution = run_once(engine, money("retry_payment", payment_method="pm_card_ok"))

    assert execution.status == "failed" and "RuntimeError: the paid invoice could not be stored" in execution.error
    assert not new_payments().exists() and not GatewayOperation.objects.exists()
    assert not Event.objects.filter(type="payment.succeeded").exists()
    assert Invoice.objects.get(pk=INVOICE).status == "open"
    assert execution.step_runs.get().status == "failed"


# --- attempts after a decline ----------------------------------------------------------------

def test_a_retry_after_a_decline_charges_again(db, engine):
    seed_invoice()
    Customer.objects.filter(pk="cus_1001").update(default_payment_method="pm_insufficient_funds")
    step = {**money("retry_payment"), "retry": {"max_attempts": 3, "initial_interval": "1d"}}
    execution = run_once(engine, step)
    assert execution.status == "waiting", "a decline is retried under the step's retry policy"

    engine.advance(days=1)  # declined again: its own charge, not the first decline handed back
    assert list(new_payments().order_by("attempt_number").values_list("status", flat=True)) == ["failed", "failed"]
    Customer.objects.filter(pk="cus_1001").update(default_payment_method="pm_card_ok")  # the customer topped up
    engine.advance(days=1)

    execution.refresh_from_db()
    assert execution.status == "succeeded"
    assert list(new_payments().order_by("attempt_number").values_list("status", flat=True)) == [
        "failed", "failed", "succeeded"]
    assert Invoice.objects.get(pk=INVOICE).status == "paid"
    assert sorted(GatewayOperation.objects.values_list("key", flat=True)) == [
        f"{execution.pk}:money:0", f"{execution.pk}:money:0:2", f"{execution.pk}:money:0:3"]
    assert list(execution.step_runs.values_list("attempt", "status")) == [
        (1, "failed"), (2, "failed"), (3, "succeeded")]


def test_an_operator_retry_of_a_declined_run_charges_again(db, engine):
    seed_invoice()
    Customer.objects.filter(pk="cus_1001").update(default_payment_method="pm_expired_card")
    execution = run_once(engine, money("retry_payment"))
    assert execution.status == "failed"

    Customer.objects.filter(pk="cus_1001").update(default_payment_method="pm_card_ok")  # a new card on file
    engine.run(services.retry_execution, execution)

    execution.refresh_from_db()
    assert execution.status == "succeeded" and execution.outputs["money"]["status"] == "succeeded"
    assert list(new_payments().order_by("attempt_number").values_list("status", flat=True)) == ["failed", "succeeded"]


# --- a worker killed mid-step ----------------------------------------------------------------

class WorkerDied(BaseException):
    """Stands for the process being killed: not an Exception, so nothing in the engine catches it."""


def test_a_worker_killed_in_a_money_step_leaves_nothing_and_the_resumed_run_charges_once(db, engine, monkeypatch):
    seed_invoice()
    automation = automation_of(money("retry_payment", payment_method="pm_card_ok"))
    action = registry.get("retry_payment")
    real_call = action.call

    def charge_then_die(config, context):
        real_call(config, context)
        assert new_payments().filter(status="succeeded").exists()  # charged, in the open transaction
        raise WorkerDied

    monkeypatch.setattr(action, "call", charge_then_die)
    with pytest.raises(WorkerDied):
        engine.run(services.run_manual, automation, sample("invoice.issued"))
    monkeypatch.setattr(action, "call", real_call)

    execution = Execution.objects.get()
    assert execution.status == "running" and not execution.step_runs.exists()
    assert not new_payments().exists() and not GatewayOperation.objects.exists(), "the killed attempt left nothing"
    assert Invoice.objects.get(pk=INVOICE).status == "open"

    engine.advance(seconds=app_settings.LEASE_SECONDS + 1)
    execution.refresh_from_db()
    assert execution.status == "succeeded"
    assert new_payments().get().status == "succeeded", "charged once"
    assert list(execution.step_runs.values_list("attempt", "status")) == [(1, "succeeded")]
    assert Event.objects.filter(type="invoice.paid").count() == 1
