"""The outcome figures of the library's dunning over a scripted set of runs: each is checked against
what the runs' own rows say (counted here, independently of the tallies), and against what the
script made happen; they stay when retention has pruned the runs."""
from __future__ import annotations

from collections import Counter
from datetime import timedelta
from decimal import Decimal

import pytest

from automations import clock, services
from automations.models import Execution, Recovery, StepRun, Tally
from automations.outcomes.fold import ending, fold
from automations.retention import prune
from automations.run_control import cancel_execution
from tests.automations.api.conftest import token_client
from tests.conftest import sample

DECLINES, PAYS = "pm_insufficient_funds", "pm_card_ok"
DAY = 24 * 3600


@pytest.fixture
def api_client(db, django_user_model):
    return token_client(django_user_model.objects.create_superuser("ops", "ops@example.com", "pw"))


def _failed(invoice: str, card: str) -> dict:
    customer = f"cus_{invoice}"  # each invoice its own customer, with the card it pays with
    return sample("payment.failed", customer={"id": customer, "default_payment_method": card},
                  invoice={"id": invoice, "customer_id": customer},
                  payment={"id": f"pay_{invoice}", "invoice_id": invoice, "customer_id": customer})


@pytest.fixture
def scripted(dunning, engine):
    """Six invoices' dunnings over ten days: two paid by the retry, one paid by the customer during
    the wait (the goal), one still unpaid at the end, one canceled by an operator, and one started on
    the third day that waits for its final notice."""
    day0 = clock.now().date()
    for name, card in [("a", PAYS), ("b", PAYS), ("c", DECLINES), ("d", DECLINES), ("e", DECLINES)]:
        engine.emit("payment.failed", _failed(f"inv_{name}", card), id=f"evt_{name}")
    engine.advance(days=1)
    engine.emit("invoice.paid", sample("invoice.paid", customer={"id": "cus_inv_d"},
                                       invoice={"id": "inv_d", "customer_id": "cus_inv_d"}), id="evt_d_paid")
    cancel_execution(Execution.objects.get(event_id="evt_e"))
    engine.advance(days=2)  # a and b recovered by the retry; c gets the urgent notice
    engine.emit("payment.failed", _failed("inv_f", DECLINES), id="evt_f")
    engine.advance(days=7)  # c gets the final notice; f's retry failed, it waits for its final notice
    return dunning, day0


def _by_rows(automation) -> tuple[int, Counter, Counter]:
    """The figures counted from the runs' own rows."""
    runs = list(Execution.objects.filter(automation=automation).values(
        "status", "status_reason", "error", "finished_at"))
    endings = Counter(ending(run) for run in runs if run["finished_at"])
    steps = Counter()
    for key, attempt, status in StepRun.objects.filter(execution__automation=automation).values_list(
            "step_key", "attempt", "status"):
        if status in ("succeeded", "failed"):
            steps[(key, status)] += 1
            steps[(key, "reached")] += attempt == 1
    return len(runs), endings, steps


def test_the_figures_are_what_the_runs_did_and_outlive_them(scripted, api_client):
    automation, day0 = scripted
    started, endings, steps = _by_rows(automation)
    assert (started, dict(endings)) == (6, {"stop:recovered": 2, "goal": 1, "completed": 1, "canceled": 1})

    answer = api_client.get(f"/api/automations/{automation.pk}/stats/",
                            {"from": day0.isoformat(), "to": (day0 + timedelta(days=10)).isoformat()})

    assert answer.status_code == 200
    figures = answer.json()
    assert figures["runs"] == {"started": 6, "live": 1, "ended": dict(endings), "goal": 1, "conversion": round(1 / 6, 4)}
    for key, step in figures["steps"].items():
        assert (step["reached"], step["succeeded"], step["failed"]) == (
            steps[(key, "reached")], steps[(key, "succeeded")], steps[(key, "failed")]), key
    assert figures["steps"]["gentle"]["share"] == 1.0
    assert figures["steps"]["retry"] == {"reached": 4, "succeeded": 2, "failed": 2, "waiting": 0, "share": 0.6667,
                                         "recovered": 2, "recovered_amounts": {"USD": "2500.00"}}
    assert figures["steps"]["wait_7d"]["waiting"] == 1, "f waits seven days for its final notice"
    daily = {day["day"]: day for day in figures["daily"]}
    assert len(daily) == 11 and daily[day0.isoformat()]["started"] == 5 and daily[day0.isoformat()]["goal"] == 0
    assert daily[(day0 + timedelta(days=1)).isoformat()] == {
        "day": (day0 + timedelta(days=1)).isoformat(), "started": 0, "ended": 2, "goal": 1, "recovered": 1}
    assert sum(day["started"] for day in daily.values()) == 6

    # Money: a and b paid by the retry three days in; d paid by the customer on day one, after the
    # gentle email (the last step that ran before it: the wait it was in is not credited).
    amount = Decimal(sample("payment.failed")["invoice"]["amount_due"])
    assert figures["recovered"] == {"invoices": 3, "by_retry": 2, "by_customer": 1,
                                    "amounts": {"USD": f"{3 * amount:.2f}"},
                                    "time_to_recover": {"median": 3 * DAY, "p90": 3 * DAY}}
    assert figures["steps"]["gentle"]["recovered"] == 1
    assert daily[(day0 + timedelta(days=1)).isoformat()]["recovered"] == 1
    assert daily[(day0 + timedelta(days=3)).isoformat()]["recovered"] == 2
    sent = Counter((row.input or {}).get("template", "") for row in StepRun.objects.filter(
        execution__automation=automation, action="send_email", status="succeeded"))
    assert figures["templates"] == {name: {"sent": count, "failed": 0} for name, count in sent.items()}
    assert figures["templates"]["payment_failed_gentle"] == {"sent": 6, "failed": 0}

    pruned = prune(clock.now() + timedelta(days=1), days=0)
    assert pruned.executions == 5 and Execution.objects.filter(automation=automation).count() == 1
    again = api_client.get(f"/api/automations/{automation.pk}/stats/",
                           {"from": day0.isoformat(), "to": (day0 + timedelta(days=10)).isoformat()}).json()
    assert again["runs"] == figures["runs"] and again["steps"] == figures["steps"] and again["daily"] == figures["daily"]
    assert again["recovered"] == figures["recovered"] and again["templates"] == figures["templates"]


def test_counting_twice_counts_nothing_more(scripted):
    automation, _ = scripted
    fold()
    counts = dict(Tally.objects.values_list("id", "count"))
    assert not fold()
    assert dict(Tally.objects.values_list("id", "count")) == counts


def test_a_fold_that_fails_midway_counts_nothing_and_the_next_counts_it_all(scripted, engine, monkeypatch):
    from automations.outcomes import fold as fold_module

    automation, _ = scripted
    original = fold_module._add

    def fail_after_half(counts):
        original(dict(list(counts.items())[: len(counts) // 2]))
        raise RuntimeError("the worker died")

    monkeypatch.setattr("automations.engine.sweep.FOLD_BATCHES_PER_TICK", 0)  # the tick counts nothing,
    monkeypatch.setattr("automations.retention.fold", lambda **kwargs: None)  # nor does its prune task
    engine.advance(days=7)  # f's final notice and its end: uncounted
    monkeypatch.setattr(fold_module, "_add", fail_after_half)
    before = (dict(Tally.objects.values_list("id", "count")), StepRun.objects.filter(tallied=False).count())
    assert before[1] and Execution.objects.filter(tallied=0, finished_at__isnull=False).exists()
    with pytest.raises(RuntimeError):
        fold()
    assert (dict(Tally.objects.values_list("id", "count")), StepRun.objects.filter(tallied=False).count()) == before
    monkeypatch.setattr(fold_module, "_add", original)
    fold()
    started, endings, steps = _by_rows(automation)
    totals = Counter()
    for kind, key, count in Tally.objects.values_list("kind", "key", "count"):
        totals[(kind, key)] += count
    assert totals[("started", "")] == started
    assert {key: totals[("ended", key)] for key in endings} == dict(endings)
    assert {(key, kind): totals[(kind, key)] for key, kind in steps if steps[(key, kind)]} == {
        (key, kind): count for (key, kind), count in steps.items() if count}


@pytest.mark.parametrize(("query", "field"), [
    ({"from": "2026-12-02", "to": "2026-12-01"}, "from"),
    ({"from": "2025-01-01", "to": "2026-12-01"}, "to"),
    ({"from": "yesterday"}, "from"),
    ({"version": "0"}, "version"),
])
def test_a_bad_period_is_a_400_naming_the_field(dunning, api_client, query, field):
    answer = api_client.get(f"/api/automations/{dunning.pk}/stats/", query)
    assert answer.status_code == 400
    assert [error["field"] for error in answer.json()["errors"]] == [field]


def test_one_version_is_counted_alone_and_a_version_there_is_not_is_a_409(scripted, api_client):
    automation, day0 = scripted
    period = {"from": day0.isoformat(), "to": (day0 + timedelta(days=10)).isoformat()}
    one = api_client.get(f"/api/automations/{automation.pk}/stats/", {**period, "version": "1"}).json()
    assert one["version"] == 1 and one["runs"]["started"] == 6
    missing = api_client.get(f"/api/automations/{automation.pk}/stats/", {**period, "version": "7"})
    assert missing.status_code == 409 and missing.json()["errors"][0]["field"] == "version"


def test_a_run_retried_from_its_failed_step_is_counted_once_by_how_it_ended_last(engine, http_server, api_client):
    http_server.respond(500, {"error": "down"})
    automation = services.create_automation({
        "name": "Notify the CRM", "trigger": {"type": "manual"},
        "steps": [{"key": "hook", "type": "action", "action": "send_webhook", "retry": {"max_attempts": 1},
                   "config": {"url": f"{http_server.url}/crm"}}]})
    services.activate(automation)
    execution = engine.run(services.run_manual, automation, sample("payment.failed"))
    day = clock.now().date().isoformat()

    def figures():
        return api_client.get(f"/api/automations/{automation.pk}/stats/", {"from": day, "to": day}).json()

    execution.refresh_from_db()
    assert execution.status == "failed"
    assert figures()["runs"]["ended"] == {"failed:hook": 1} and figures()["runs"]["started"] == 1
    engine.run(services.retry_execution, execution)  # the CRM answers now

    again = figures()
    assert again["runs"]["started"] == 1 and again["runs"]["ended"] == {"completed": 1}
    assert again["steps"]["hook"] == {"reached": 1, "succeeded": 1, "failed": 1, "waiting": 0, "share": 1.0,
                                      "recovered": 0, "recovered_amounts": {}}


def test_the_automations_list_says_the_last_30_days(scripted, client, admin_user):
    client.force_login(admin_user)
    page = client.get("/admin/automations/automation/").content.decode()
    assert "6 runs<br>17% reached the goal<br>$3,750.00 recovered" in page  # 1 goal of 6 started; a, b and d paid


def test_a_run_ended_while_an_attempt_was_under_way_is_counted_once_the_attempt_is_settled(dunning, engine):
    """An exit ended the run while a worker that then died was charging: the fold waits for the
    sweep to settle that attempt, so the run is counted with what its retry did."""
    engine.emit("payment.failed", _failed("inv_x", PAYS), id="evt_x")
    run = Execution.objects.get()
    attempt = StepRun.objects.create(execution=run, step_key="retry", step_type="action", action="retry_payment",
                                     status="running", started_at=clock.now())
    cancel_execution(run)

    fold()
    run.refresh_from_db()
    assert run.tallied == 0, "not counted while its attempt is unsettled"
    StepRun.objects.filter(pk=attempt.pk).update(status="succeeded", finished_at=clock.now(), output={
        "status": "succeeded", "amount": "1250.00", "currency": "USD"})
    fold()
    run.refresh_from_db()
    assert run.tallied == 2
    assert Recovery.objects.get(execution_id=run.pk).step_key == "retry"


def test_the_runs_waiting_when_the_step_they_wait_at_was_first_written_are_found_where_they_wait(scripted):
    """The migration that adds ``Execution.waiting_at`` fills it for the runs waiting then, as the
    engine writes it with each wait: the step the wait names, else the last step logged."""
    import importlib

    from django.apps import apps

    migration = importlib.import_module("automations.migrations.0025_metrics_and_waiting_steps")
    automation, _ = scripted
    written = dict(Execution.objects.filter(status="waiting").values_list("pk", "waiting_at"))
    assert written and all(written.values())
    Execution.objects.update(waiting_at="")
    migration.note_where_waiting_runs_wait(apps, None)
    assert dict(Execution.objects.filter(status="waiting").values_list("pk", "waiting_at")) == written
