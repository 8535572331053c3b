"""The Prometheus metrics page: what a scraper reads is what the runs did (counted from the outcome
tallies, so pruning keeps it), what is live and due now, and only for who may read it."""
from __future__ import annotations

from collections import Counter
from datetime import timedelta

import pytest
from prometheus_client.parser import text_string_to_metric_families

from automations import clock
from automations.models import Execution
from billing_events.models import Event
from automations.outcomes.fold import _count_action, failure_code
from automations.retention import prune
from tests.conftest import sample


def _failed(invoice: str, card: str) -> dict:
    customer = f"cus_{invoice}"
    return sample("payment.failed", customer={"id": customer, "default_payment_method": card},
                  invoice={"id": invoice, "customer_id": customer},
                  payment={"id": f"pay_{invoice}", "invoice_id": invoice, "customer_id": customer})


@pytest.fixture
def ran(dunning, engine):
    """Two dunnings: the retry pays one (it ends), the other's card declines (it waits for its final notice)."""
    engine.emit("payment.failed", _failed("inv_paid", "pm_card_ok"), id="evt_paid")
    engine.emit("payment.failed", _failed("inv_unpaid", "pm_insufficient_funds"), id="evt_unpaid")
    engine.advance(days=3)
    return dunning


def scrape(client, **headers) -> dict[tuple[str, tuple], float]:
    answer = client.get("/metrics/", **headers)
    assert answer.status_code == 200 and answer["Content-Type"].startswith("text/plain")
    return {(sample.name, tuple(sorted(sample.labels.items()))): sample.value
            for family in text_string_to_metric_families(answer.content.decode()) for sample in family.samples}


def test_a_scrape_says_what_the_runs_did_and_what_waits(ran, client, admin_user):
    client.force_login(admin_user)
    automation = f"Payment dunning (#{ran.pk})"
    metrics = scrape(client)

    assert metrics[("billing_automations_runs_started_total", (("automation", automation),))] == 2
    assert metrics[("billing_automations_runs_ended_total", (("automation", automation), ("ending", "stop:recovered")))] == 1
    assert metrics[("billing_automations_runs_live", (("automation", automation), ("status", "waiting")))] == 1
    step = lambda name, outcome: ("billing_automations_step_attempts_total",  # noqa: E731
                                  (("automation", automation), ("outcome", outcome), ("step", name)))
    assert (metrics[step("retry", "succeeded")], metrics[step("retry", "failed")]) == (1, 1)
    assert metrics[("billing_automations_wakeups_due", ())] == 0
    assert metrics[("billing_automations_queue_lag_seconds", ())] == 0
    # Actions: attempts and their time, failures by code, emails by template, money recovered.
    assert metrics[("billing_automations_action_duration_seconds_count", (("action", "retry_payment"),))] == 2
    assert metrics[("billing_automations_action_duration_seconds_sum", (("action", "retry_payment"),))] == 0, \
        "the test clock stands still while a step runs"
    assert metrics[("billing_automations_action_failures_total",
                    (("action", "retry_payment"), ("code", "insufficient_funds")))] == 1
    assert metrics[("billing_automations_emails_total",
                    (("outcome", "sent"), ("template", "payment_failed_gentle")))] == 2
    assert metrics[("billing_automations_recovered_invoices_total", (("automation", automation), ("by", "retry")))] == 1
    assert metrics[("billing_automations_recovered_amount_total",
                    (("automation", automation), ("currency", "USD")))] == float(sample("payment.failed")["invoice"]["amount_due"])

    # The waiting run's wake-up came 90 seconds ago and no worker has taken it yet: that is the lag.
    Execution.objects.filter(status="waiting").update(wake_at=clock.now() - timedelta(seconds=90))
    later = scrape(client)
    assert later[("billing_automations_wakeups_due", ())] == 1
    assert later[("billing_automations_queue_lag_seconds", ())] == 90

    prune(clock.now() + timedelta(days=1), days=0)  # the finished run is deleted; its counts stay
    assert not Execution.objects.filter(status="succeeded").exists()
    kept = scrape(client)
    assert kept[("billing_automations_runs_started_total", (("automation", automation),))] == 2
    assert kept[step("retry", "succeeded")] == 1


def test_a_scrape_counts_the_events_by_type_and_how_late_runs_woke(ran, client, admin_user, engine):
    client.force_login(admin_user)
    # Both runs woke at the very end of their three days' delay (the test clock does not move by
    # itself); the unpaid one's seven days end, and the drain comes 90 seconds late.
    clock.advance(timedelta(days=7, seconds=90))
    engine.tick()

    metrics = scrape(client)

    received = Counter(Event.objects.values_list("type", flat=True))
    dispatched = Counter(Event.objects.filter(dispatched_at__isnull=False).values_list("type", flat=True))
    assert received["payment.failed"] == 2 and dispatched == received, "every event stored was dispatched"
    for event_type, count in received.items():
        assert metrics[("billing_automations_events_received_total", (("type", event_type),))] == count
        assert metrics[("billing_automations_events_dispatched_total", (("type", event_type),))] == count
    bucket = lambda bound: metrics[("billing_automations_wakeup_lateness_seconds_bucket", (("le", bound),))]  # noqa: E731
    assert metrics[("billing_automations_wakeup_lateness_seconds_count", ())] == 3
    assert (bucket("1.0"), bucket("60.0"), bucket("300.0"), bucket("+Inf")) == (2, 2, 3, 3)
    assert metrics[("billing_automations_wakeup_lateness_seconds_sum", ())] == 90

    # A redelivered event is not received twice; one not dispatched yet is received, not dispatched.
    engine.emit("payment.failed", _failed("inv_paid", "pm_card_ok"), id="evt_paid")
    Event.objects.create(id="evt_later", type="invoice.paid", data={}, occurred_at=clock.now())
    again = scrape(client)
    assert again[("billing_automations_events_received_total", (("type", "payment.failed"),))] == 2
    assert again[("billing_automations_events_received_total", (("type", "invoice.paid"),))] == received["invoice.paid"] + 1
    assert again[("billing_automations_events_dispatched_total", (("type", "invoice.paid"),))] == dispatched["invoice.paid"]

    prune(clock.now() + timedelta(days=1), days=0)  # dispatched events no run names are deleted; their counts stay
    assert Event.objects.count() < sum(received.values()) + 1
    counters = lambda metrics: {key: value for key, value in metrics.items()  # noqa: E731
                                if key[0].startswith(("billing_automations_events_received", "billing_automations_events_dispatched"))}
    assert counters(scrape(client)) == counters(again)


def test_only_staff_or_a_scraper_with_the_token_may_read_it(db, client, django_user_model, settings):
    assert client.get("/metrics/").status_code == 401
    client.force_login(django_user_model.objects.create_user("clerk", "clerk@example.com", "pw"))
    assert client.get("/metrics/").status_code == 401
    settings.AUTOMATIONS = {**settings.AUTOMATIONS, "METRICS_TOKEN": "s3cret-metrics"}
    client.logout()
    assert client.get("/metrics/", HTTP_AUTHORIZATION="Bearer wrong").status_code == 401
    assert client.get("/metrics/", HTTP_AUTHORIZATION="Bearer s3cret-metrics").status_code == 200


@pytest.mark.parametrize(("row", "code"), [
    ({"decline_code": "insufficient_funds", "code": "card_declined"}, "insufficient_funds"),
    ({"code": "invoice_not_open"}, "invoice_not_open"),
    ({"status_code": "503"}, "http_503"),
    ({"error": "could not send email: (451, b'4.3.0 Try again later')"}, "smtp_451"),
    ({"error": "config.to rendered to no recipient"}, "error"),
])
def test_a_failed_attempt_is_counted_by_its_code(row, code):
    assert failure_code(row) == code


def test_an_actions_time_is_counted_from_its_start_to_its_outcome():
    counts = Counter()
    started = clock.now()
    _count_action(counts, (1, 1), started.date(), {"action": "send_webhook", "status": "failed", "status_code": "502",
                                                   "started_at": started, "finished_at": started + timedelta(seconds=1.5)})
    assert counts == {(1, 1, started.date(), "attempts", "send_webhook"): 1,
                      (1, 1, started.date(), "action_ms", "send_webhook"): 1500,
                      (1, 1, started.date(), "failures", "send_webhook:http_502"): 1}
