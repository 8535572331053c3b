"""``POST automations/{id}/backtest/`` starts a backtest as a task; ``GET backtests/{id}/`` reads its
progress while it runs and its result after; bad input is a 400 naming the field; reading and
starting need what test mode needs."""
from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.auth.models import Permission

from automations import library, services
from automations.backtest import replay as replay_module
from automations.models import Backtest, Execution
from billing_events import emit
from billing_events.models import Event
from tests.automations.api.conftest import token_client
from tests.conftest import START, sample

pytestmark = pytest.mark.django_db


@pytest.fixture
def failures(dunning):
    """Seven payment failures of seven invoices over a week; inv_0 is paid now (emitted), and an
    invoice.paid of inv_1 a day after its failure sits in the inbox without reaching the billing
    data (stored directly), so inv_1 is open now but its run was ended by that event."""
    for day in range(7):
        emit("payment.failed", sample("payment.failed", invoice={"id": f"inv_{day}"}), id=f"evt_{day}",
             occurred_at=START - timedelta(days=10 - day))
    emit("invoice.paid", sample("invoice.paid", invoice={"id": "inv_0"}), id="evt_paid_0",
         occurred_at=START - timedelta(days=9))
    Event.objects.create(id="evt_paid_1", type="invoice.paid", data=sample("invoice.paid", invoice={"id": "inv_1"}),
                         occurred_at=START - timedelta(days=8))
    return dunning


def start(api, engine, automation, **body):
    """POST the backtest; its task runs when the request's transaction commits."""
    return engine.run(api.post, f"/api/automations/{automation.pk}/backtest/",
                      {"from": "2026-11-01", "to": "2026-11-19", **body}, format="json")


def finished(api, engine, automation, **body):
    """The backtest as read once its task has run."""
    response = start(api, engine, automation, **body)
    assert response.status_code == 202, response.json()
    return api.get(f"/api/backtests/{response.json()['id']}/").json()


def test_a_backtest_starts_as_a_task_and_its_result_names_version_and_period(api, engine, failures):
    response = start(api, engine, failures)
    assert response.status_code == 202
    queued = response.json()
    assert (queued["status"], queued["progress"], queued["result"]) == ("queued", {"done": 0, "total": None}, None)
    body = api.get(f"/api/backtests/{queued['id']}/").json()
    assert body["status"] == "succeeded" and body["id"] == queued["id"]
    assert body["progress"] == {"done": 9, "total": 9}
    assert body["period"] == {"from": "2026-11-01T00:00:00Z", "to": "2026-11-20T00:00:00Z"}
    result = body["result"]
    assert (result["version"], result["version_state"], result["draft"]) == (1, "active", False)
    assert result["period"] == {"from": "2026-11-01T00:00:00+00:00", "to": "2026-11-20T00:00:00+00:00"}
    assert result["billing_data"] == "current" and "as they are now" in result["note"]
    assert (result["started"], result["not_started"]) == (6, {"entry_conditions": 1})
    assert result["endings"]["exit:invoice.paid"] == 1 and result["emails"]["payment_failed_gentle"] == 6
    first, second = result["samples"][:2]
    assert (first["event_id"], first["started"], first["not_started"]) == ("evt_0", False, "entry_conditions")
    assert "invoice.amount_due" in first["reason"]
    assert (second["event_id"], second["ending"], second["status"]) == ("evt_1", "exit:invoice.paid", "canceled")
    assert [entry["step"] for entry in second["timeline"]] == ["gentle", "wait_3d"]
    assert not Execution.objects.exists()
    listed = api.get(f"/api/backtests/?automation={failures.pk}").json()
    assert [item["id"] for item in listed["results"]] == [body["id"]]


def test_the_draft_is_backtested_by_default_and_any_version_on_request(api, engine, failures):
    services.update_draft(failures, {**services.current_definition(failures), "name": "Dunning v2"})
    assert finished(api, engine, failures)["result"]["name"] == "Dunning v2"
    assert finished(api, engine, failures, version=1)["result"]["name"] == "Payment dunning"
    draft = finished(api, engine, failures)["result"]
    assert (draft["version"], draft["draft"]) == (2, True)


def test_progress_is_readable_while_the_backtest_runs(api, engine, failures, monkeypatch):
    monkeypatch.setattr("automations.backtest.events.PAGE_SIZE", 3)
    seen = []
    feed = replay_module.Replay.feed

    def watched(self, event, **kwargs):
        backtest = Backtest.objects.get()
        seen.append(api.get(f"/api/backtests/{backtest.pk}/").json()["progress"] | {"status": backtest.status})
        return feed(self, event, **kwargs)

    monkeypatch.setattr(replay_module.Replay, "feed", watched)
    assert finished(api, engine, failures)["progress"] == {"done": 9, "total": 9}
    assert {tuple(item.values()) for item in seen} == {(0, 9, "running"), (3, 9, "running"), (6, 9, "running")}


@pytest.mark.parametrize(("body", "field"), [
    ({"from": "last week"}, "from"),
    ({"from": "2026-13-01"}, "from"),
    ({"to": "2026-11-19T10:00:00"}, "to"),  # no offset
    ({"from": "2026-11-19", "to": "2026-11-01"}, "to"),
    ({"from": 20261101}, "from"),
    ({"to": "9999-12-31"}, "to"),
    ({"version": "1"}, "version"),
    ({"version": 0}, "version"),
    ({"colour": "red"}, "colour"),
])
def test_bad_input_is_a_400_naming_the_field(api, engine, failures, body, field):
    response = start(api, engine, failures, **body)
    assert response.status_code == 400, response.json()
    assert [error["field"] for error in response.json()["errors"]] == [field]
    assert not Backtest.objects.exists()


def test_a_version_the_automation_does_not_have_is_a_409(api, engine, failures):
    response = start(api, engine, failures, version=9)
    assert response.status_code == 409
    assert [error["field"] for error in response.json()["errors"]] == ["version"]
    assert not Backtest.objects.exists()


def test_a_missing_period_is_a_400_naming_each_bound(api, failures):
    response = api.post(f"/api/automations/{failures.pk}/backtest/", {}, format="json")
    assert response.status_code == 400
    assert sorted(error["field"] for error in response.json()["errors"]) == ["from", "to"]


@pytest.mark.parametrize("trigger", [
    {"type": "schedule", "schedule": {"kind": "interval", "every": "1d", "start": "2026-01-01T09:00:00Z"}},
    {"type": "manual"},
])
def test_an_automation_without_an_event_trigger_is_a_409_saying_why(api, engine, db, trigger):
    automation = services.create_automation({"name": "Not events", "trigger": trigger, "steps": [
        {"key": "done", "type": "stop"}]})
    response = start(api, engine, automation)
    assert response.status_code == 409
    [error] = response.json()["errors"]
    assert error["field"] == "version" and f"has a {trigger['type']} trigger" in error["message"]


def test_starting_and_reading_need_the_view_permission_only(api, stranger, anonymous, engine, failures,
                                                            django_user_model):
    backtest = finished(api, engine, failures)
    assert start(stranger, engine, failures).status_code == 403
    assert stranger.get(f"/api/backtests/{backtest['id']}/").status_code == 403
    assert stranger.get("/api/backtests/").status_code == 403
    assert start(anonymous, engine, failures).status_code == 401
    assert anonymous.get(f"/api/backtests/{backtest['id']}/").status_code == 401
    viewer = django_user_model.objects.create_user("viewer", "viewer@example.com", "pw")
    viewer.user_permissions.add(Permission.objects.get(codename="view_automation"))
    client = token_client(viewer)
    assert start(client, engine, failures).status_code == 202
    assert client.get(f"/api/backtests/{backtest['id']}/").status_code == 200
    assert api.post("/api/automations/999/backtest/", {"from": "2026-11-01", "to": "2026-11-02"},
                    format="json").status_code == 404
    assert api.get("/api/backtests/999/").status_code == 404


def test_a_template_library_draft_can_be_backtested_before_it_was_ever_activated(api, engine, db):
    automation = library.instantiate("payment_dunning")
    emit("payment.failed", sample("payment.failed"), id="evt_x", occurred_at=START - timedelta(days=2))
    result = finished(api, engine, automation)["result"]
    assert (result["started"], result["draft"], result["events"]["triggers"]) == (1, True, 1)
