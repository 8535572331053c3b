"""The three ways the parity test runs a generated automation on a scenario, each observed alike.

- live: the worker's path. The reference gateway's test processor charges the card the scenario
  puts on file before each attempt; a loopback SMTP server and a loopback HTTP server answer each
  email's and webhook's n-th attempt (known by its idempotency key) as the scenario says; an
  approver decides each approval request at its moment; the customer pays at theirs; the clock
  is moved to each of these moments and to each wake-up, in that order at a tie, and ticked.
- test mode: ``POST automations/{id}/test/`` given the scenario as the Test tab gives it
  (``outcomes``, ``decisions``, ``events``), or with the outcomes left to its prediction.
- a backtest of the same event, stored and replayed.
"""
from __future__ import annotations

import json
from collections import Counter
from datetime import datetime, timedelta
from email.utils import format_datetime
from typing import Any, NamedTuple

from automations import approvals, clock
from automations.backtest.replay import Job
from automations.durations import parse as parse_duration
from automations.models import ApprovalRequest, Execution
from billing_events.models import Customer, Event
from tests.automations.engine.parity_strategies import CARDS, LOOPBACK, Scenario
from tests.conftest import START, sample

#: What the loopback SMTP server answers an email's attempt.
SMTP_REPLIES = {"succeeds": "250 OK", "fails_temporarily": "451 4.3.0 Temporary local problem",
                "fails": "550 5.1.1 Mailbox unavailable"}
#: What the loopback HTTP server answers a webhook's attempt (and ``retry_after_1h``: 429 with
#: Retry-After in seconds, ``unavailable_after_1h``: 503 with Retry-After as a date).
HTTP_STATUSES = {"succeeds": 200, "fails_temporarily": 503, "fails": 404}
LINE_ITEMS = [{"description": "Pro plan", "quantity": 1, "amount": "1000.00"},
              {"description": "Extra seats", "quantity": 5, "amount": "200.00"},
              {"description": "Support", "quantity": 2, "amount": "50.00"}]


class Observed(NamedTuple):
    """What a run did: its step log as (step, succeeded / failed / deferred, when), the emails
    that went out (subject, body), the webhook calls and Slack messages answered 2xx (step, what
    was sent), how it ended and the step it failed at."""

    log: list[tuple[str, str, datetime]]
    emails: list[tuple[str, str]]
    webhooks: list[tuple[str, Any]]
    status: str
    failed_at: str


def customer(scenario: Scenario) -> dict[str, Any]:
    """The run's customer, with the scenario's timezone (none: blank in the billing system)."""
    return {"id": "cus_parity", "timezone": scenario.timezone or ""}


def trigger_data(scenario: Scenario) -> dict[str, Any]:
    """``payment.failed`` for the run's invoice, the first attempt's card on file."""
    first = CARDS[scenario.outcome("retry", 1)] if "retry" in scenario.outcomes else CARDS["soft_decline"]
    return sample("payment.failed", customer={**customer(scenario), "default_payment_method": first},
                  invoice={"id": "inv_parity", "customer_id": "cus_parity", "status": "open",
                           "line_items": LINE_ITEMS[:scenario.line_items]})


def paid_event(scenario: Scenario) -> dict[str, Any]:
    """``invoice.paid`` for the run's invoice, paid by the customer meanwhile (their card on file
    is left as it is)."""
    data = sample("invoice.paid", customer=customer(scenario),
                  invoice={"id": "inv_parity", "customer_id": "cus_parity", "status": "paid", "amount_due": "0.00",
                           "line_items": LINE_ITEMS[:scenario.line_items]})
    data["customer"].pop("default_payment_method", None)
    return data


def _failed_at(error: str) -> str:
    """Where a run failed ("step retry"): the words after it are the server's or the scenario's."""
    return error.split(":")[0]


# --- live -------------------------------------------------------------------------------------


class Servers:
    """The loopback SMTP and HTTP servers answering each attempt as the scenario says; an
    attempt is known by the idempotency key its message carries (Message-ID, webhook-id)."""

    def __init__(self, smtp: Any, http: Any, scenario: Scenario) -> None:
        self.scenario = scenario
        self.attempts: Counter[str] = Counter()
        self.webhooks: list[tuple[str, Any]] = []
        smtp.messages.clear()
        smtp.replies.clear()
        smtp.answer = self.answer_email
        http.answer = self.answer_webhook
        self.smtp = smtp

    def _outcome(self, key: str) -> str:
        """The outcome of this attempt of the step whose idempotency key is ``key``."""
        self.attempts[key] += 1
        return self.scenario.outcome(key.split(":")[1], self.attempts[key])

    def answer_email(self, message: Any) -> str:
        key = message["Message-ID"].strip("<>").split("@")[0].replace(".", ":")
        return SMTP_REPLIES[self._outcome(key)]

    def answer_webhook(self, request: Any) -> tuple[int, dict[str, str], Any]:
        if request.path == "/slack":  # a Slack message: its text names its step and item ("[chat_2 Support] ...")
            about = request.json()["text"][1:].split("]")[0]
            step = about.split(" ")[0]
            outcome = self._outcome(f"slack:{step}:{about}")
            if outcome == "succeeds":
                self.webhooks.append((step, request.json()))
            return (200, {}, "ok") if outcome == "succeeds" else (HTTP_STATUSES[outcome], {}, {"ok": False})
        key = request.headers["webhook-id"]
        outcome = self._outcome(key)
        if "_after_" in outcome:  # too many requests (in seconds), or unavailable (until a date)
            status, after = outcome.split("_after_")
            wait = parse_duration(after)
            if status == "retry":
                return 429, {"Retry-After": str(int(wait.total_seconds()))}, {"error": "later"}
            return 503, {"Retry-After": format_datetime(clock.now() + wait, usegmt=True)}, {"error": "later"}
        if outcome == "succeeds":
            self.webhooks.append((key.split(":")[1], request.json()))
        return HTTP_STATUSES[outcome], {}, {"ok": outcome == "succeeds"}

    def emails(self) -> list[tuple[str, str]]:
        return [(message["Subject"], message.get_content().replace("\r\n", "\n").rstrip("\n"))
                for _, message in self.smtp.messages]


def live_run(engine: Any, servers: Servers, automation: Any, scenario: Scenario, approver: Any) -> Observed:
    """Emit the event, then go from moment to moment until the run ends (or waits with nothing
    left to come): the customer's payment, a wake-up, an approver's decision, in that order at
    a tie. Before each, the card of the payment's next attempt is put on file."""
    engine.emit("payment.failed", trigger_data(scenario), id="evt_parity")
    execution = Execution.objects.get(automation=automation)
    paid_at = START + parse_duration(scenario.paid_after) if scenario.paid_after else None
    for _ in range(200):
        execution.refresh_from_db()
        if execution.status != "waiting":
            break
        done = execution.step_runs.filter(step_key="retry").exclude(status__in=["running", "deferred"]).count()
        if "retry" in scenario.outcomes:
            Customer.objects.filter(pk="cus_parity").update(
                default_payment_method=CARDS[scenario.outcome("retry", done + 1)])
        coming: list[tuple[datetime, int, Any]] = []
        if paid_at is not None:
            coming.append((paid_at, 0, "paid"))
        if execution.wake_at is not None:
            coming.append((execution.wake_at, 1, "wake"))
        for request in ApprovalRequest.objects.filter(execution=execution, status="pending"):
            decision, after = scenario.decisions[request.step_key]
            if decision != "timed_out":
                coming.append((request.created_at + parse_duration(after), 2, request))
        if not coming:
            break  # it waits for ever
        moment, _, what = min(coming, key=lambda item: item[:2])
        clock.set_now(max(moment, clock.now()))
        if what == "paid":
            engine.emit("invoice.paid", paid_event(scenario), id="evt_parity_paid")
            paid_at = None
        elif what == "wake":
            engine.tick()
        else:
            engine.run(approvals.decide, what, approver, scenario.decisions[what.step_key][0])
    execution.refresh_from_db()
    # when each step's outcome was known (a wait_for's row begins when it starts waiting)
    log = [(row.step_key, row.status, row.finished_at or row.started_at)
           for row in execution.step_runs.exclude(status="running").order_by("pk")]
    return Observed(log, servers.emails(), servers.webhooks, execution.status, _failed_at(execution.error))


# --- test mode and backtests ------------------------------------------------------------------


def as_test_input(scenario: Scenario, *, scripted: bool) -> dict[str, Any]:
    """The scenario as the Test tab sends it: each attempt's outcome (``scripted``; else left to
    test mode's prediction), each approval's decision and when, the events that arrive."""
    outcomes = {key: [_scripted(outcome) for outcome in chosen] for key, chosen in scenario.outcomes.items()}
    events = ([{"type": "invoice.paid", "after": scenario.paid_after, "data": paid_event(scenario)}]
              if scenario.paid_after else [])
    return {**({"outcomes": outcomes} if scripted else {}), "events": events,
            "decisions": {key: {"decision": decision, "after": after}
                          for key, (decision, after) in scenario.decisions.items()}}


def _scripted(outcome: str) -> Any:
    if "_after_" in outcome:  # the server asks to be tried again no sooner
        return {"outcome": "fails_temporarily", "retry_after": outcome.split("_after_")[1]}
    return outcome


def _observed(timeline: list[dict[str, Any]], status: str, error: str) -> Observed:
    log = [(entry["step"], "failed" if "error" in entry else "deferred" if entry.get("deferred") else "succeeded",
            datetime.fromisoformat(entry["at"])) for entry in timeline]
    emails = [(entry["would"]["subject"], entry["would"]["body"]) for entry in timeline
              if entry.get("action") == "send_email" and "would" in entry]
    webhooks = [(entry["step"], json.loads(entry["would"]["would_call_webhook"]["body"])
                 if entry["action"] == "send_webhook" else entry["would"]["would_post_to_slack"])
                for entry in timeline if entry.get("action") in ("send_webhook", "send_slack") and "would" in entry]
    # a live run that an exit ends is canceled with the exit as its reason, not an error
    return Observed(log, emails, webhooks, status, "" if status == "canceled" else _failed_at(error))


def simulated_run(api: Any, automation: Any, scenario: Scenario, *, scripted: bool) -> Observed:
    """Test mode as the builder's Test tab asks for it: ``POST automations/{id}/test/``."""
    body = {"data": trigger_data(scenario), **as_test_input(scenario, scripted=scripted)}
    response = api.post(f"/api/automations/{automation.pk}/test/", body, format="json")
    assert response.status_code == 200, response.content
    result = response.json()
    return _observed(result["timeline"], result["status"], result.get("error", ""))


def backtest_run(automation: Any, scenario: Scenario) -> Observed:
    """The same event stored (not dispatched) and replayed by a backtest of the active version."""
    Event.objects.create(id="evt_parity", type="payment.failed", occurred_at=START, data=trigger_data(scenario))
    counts = Job(automation.active_version.snapshot, START - timedelta(days=1), START + timedelta(seconds=1),
                 automation_id=automation.pk, version=1).run()
    Event.objects.filter(pk="evt_parity").delete()  # the live run's event is emitted afresh
    [run] = counts["samples"]
    return _observed(run["timeline"], run["status"], run.get("error", ""))


def with_hook_url(definition: dict[str, Any], url: str) -> dict[str, Any]:
    """The definition with its webhooks and Slack messages sent to the loopback server at ``url``."""
    return json.loads(json.dumps(definition).replace(LOOPBACK, url))
