"""automations/ endpoints: CRUD on the definition, activate, pause/resume, versions, test, run."""
from __future__ import annotations

import copy

import pytest
from django.core import mail

from automations.models import Automation, Execution

pytestmark = pytest.mark.django_db


@pytest.fixture
def created(api, definition):
    return api.post("/api/automations/", definition, format="json").json()


def test_create_makes_a_draft_version_1(api, definition):
    response = api.post("/api/automations/", definition, format="json")
    assert response.status_code == 201
    body = response.json()
    assert body["status"] == "draft" and body["draft_version"] == 1 and body["active_version"] is None
    assert body["draft_definition"] == definition


def test_create_with_an_invalid_definition_names_the_step(api, definition):
    definition["steps"][1]["duration"] = "soon"
    response = api.post("/api/automations/", definition, format="json")
    assert response.status_code == 400
    assert response.json() == {"errors": [{
        "field": "steps.wait_3d.duration",
        "message": "'soon' is not a duration; write a number and a unit: 30s, 15m, 24h, 3d or 2w"}]}
    assert not Automation.objects.exists()


@pytest.mark.parametrize("body", [[], "text", 5, None])
def test_create_with_a_body_that_is_not_an_object(api, body):
    response = api.post("/api/automations/", body, format="json")
    assert response.status_code == 400


def test_list_filters_and_paginates(api, created, definition):
    api.post(f"/api/automations/{created['id']}/activate/")
    api.post("/api/automations/", {**definition, "name": "Other"}, format="json")
    listing = api.get("/api/automations/").json()
    assert listing["count"] == 2 and {"next", "previous", "results"} <= set(listing)
    assert [a["name"] for a in api.get("/api/automations/?status=active").json()["results"]] == ["Payment dunning"]
    assert [a["name"] for a in api.get("/api/automations/?status=draft").json()["results"]] == ["Other"]
    assert api.get("/api/automations/?event=payment.failed").json()["count"] == 1
    assert api.get("/api/automations/?status=bogus").status_code == 400


def test_read_update_and_activate(api, created, definition):
    url = f"/api/automations/{created['id']}/"
    assert api.post(f"{url}activate/").json()["status"] == "active"
    patched = api.patch(url, {"name": "Dunning v2"}, format="json")
    assert patched.status_code == 200
    body = patched.json()
    assert body["draft_version"] == 2 and body["active_version"] == 1
    assert body["draft_definition"]["name"] == "Dunning v2" and body["active_definition"]["name"] == "Payment dunning"
    put = api.put(url, {**definition, "description": "full replace"}, format="json")
    assert put.status_code == 200 and put.json()["draft_definition"]["description"] == "full replace"
    assert api.patch(url, {"steps": []}, format="json").status_code == 400
    activated = api.post(f"{url}activate/").json()
    assert activated["active_version"] == 2 and activated["draft_version"] is None
    assert api.post(f"{url}activate/").status_code == 409, "no draft to activate"


def test_pause_resume_and_delete(api, created):
    url = f"/api/automations/{created['id']}/"
    api.post(f"{url}activate/")
    assert api.post(f"{url}pause/").json()["status"] == "paused"
    assert api.post(f"{url}resume/").json()["status"] == "active"
    assert api.delete(url).status_code == 204
    assert api.get(url).status_code == 404


def test_delete_is_refused_while_executions_are_live(api, created):
    url = f"/api/automations/{created['id']}/"
    api.post(f"{url}activate/")
    assert api.post(f"{url}run/", {"data": {"customer": {"id": "c"}, "invoice": {"id": "i", "amount_due": "5"}}},
                    format="json").status_code == 201
    response = api.delete(url)
    assert response.status_code == 409 and "still running or waiting" in str(response.json())


def test_versions_with_diff_read_and_restore(api, created, definition):
    url = f"/api/automations/{created['id']}/"
    api.post(f"{url}activate/")
    changed = copy.deepcopy(definition)
    changed["steps"][0]["config"]["to"] = "billing@{{ customer.email }}"
    changed["steps"].pop(3)  # wait_7d
    changed["exit_on"] = ["invoice.paid"]
    api.put(url, changed, format="json")
    versions = api.get(f"{url}versions/").json()
    assert [(v["number"], v["state"], v["author"]) for v in versions["results"]] == [(2, "draft", "ops"),
                                                                                    (1, "active", "ops")]
    diff = versions["results"][0]["diff"]
    assert diff["removed"] == ["wait_7d"] and diff["changed"] == [
        {"key": "gentle", "fields": ["config"],
         "changes": [{"field": "config.to", "from": "{{ customer.email }}", "to": "billing@{{ customer.email }}"}]}]
    assert diff["settings"] == ["exit_on"]
    assert "steps removed: wait_7d" in diff["summary"]
    assert api.get(f"{url}versions/1/").json()["definition"] == definition
    assert api.get(f"{url}versions/9/").status_code == 404
    restored = api.post(f"{url}versions/1/restore/").json()
    assert restored["draft_definition"] == definition and restored["draft_version"] == 2
    assert api.post(f"{url}versions/9/restore/").status_code == 404


def test_a_restored_version_says_it_was_restored_and_from_which_version(api, created, definition):
    url = f"/api/automations/{created['id']}/"
    api.post(f"{url}activate/")
    changed = copy.deepcopy(definition)
    changed["steps"][1]["duration"] = "2d"
    api.put(url, changed, format="json")
    api.post(f"{url}activate/")
    api.post(f"{url}versions/1/restore/")
    versions = {v["number"]: v for v in api.get(f"{url}versions/").json()["results"]}
    assert versions[3]["state"] == "draft" and versions[3]["restored_from"] == 1
    assert versions[2]["restored_from"] is None and versions[1]["restored_from"] is None
    assert api.get(f"{url}versions/3/").json()["restored_from"] == 1
    [latest, *earlier] = api.get(f"{url}revisions/").json()["results"]
    assert (latest["version"], latest["event"], latest["note"], latest["restored_from"]) == (3, "saved",
                                                                                            "restored from v1", 1)
    assert all(r["note"] == "" and r["restored_from"] is None for r in earlier)

    # An edit after the restore is an edit: its revision says nothing; the version keeps its origin.
    changed["steps"][1]["duration"] = "4d"
    api.put(url, changed, format="json")
    latest = api.get(f"{url}revisions/").json()["results"][0]
    assert (latest["note"], latest["restored_from"]) == ("", None)
    assert api.get(f"{url}versions/3/").json()["restored_from"] == 1
    # A restore of a revision says which save it brought back.
    two_days = next(r for r in api.get(f"{url}revisions/").json()["results"] if r["version"] == 2 and r["event"] == "saved")
    api.post(f"{url}revisions/{two_days['id']}/restore/")
    latest = api.get(f"{url}revisions/").json()["results"][0]
    assert latest["note"].startswith("restored from the v2 save of 2026-") and latest["restored_from"] is None


def test_test_mode_gives_the_dunning_timeline_without_side_effects(api, created):
    response = api.post(f"/api/automations/{created['id']}/test/", {}, format="json")
    assert response.status_code == 200
    timeline = response.json()["timeline"]
    assert [e["day"] for e in timeline if e["step"] in ("gentle", "urgent", "final")] == [0, 3, 10]
    assert not mail.outbox and not Execution.objects.exists()
    assert api.post(f"/api/automations/{created['id']}/test/", {"data": "x"}, format="json").status_code == 400
    assert api.post(f"/api/automations/{created['id']}/test/", {"version": 5}, format="json").status_code == 409


def test_test_mode_takes_each_attempts_outcome_from_the_scenario(api, created):
    url = f"/api/automations/{created['id']}/test/"
    paid = api.post(url, {"outcomes": {"retry": ["pays"]}}, format="json").json()
    assert [e["step"] for e in paid["timeline"]][-3:] == ["retry", "retry_worked", "recovered"]
    assert paid["timeline"][-3]["scenario"] == "pays"
    refused = api.post(url, {"outcomes": {"retry": ["sent"]}}, format="json")
    assert refused.status_code == 409 and refused.json()["errors"][0]["field"] == "outcomes.retry[0]"
    assert api.post(url, {"outcomes": {"retry": []}}, format="json").status_code == 400


def test_test_mode_takes_a_failed_message_a_server_asking_to_wait_and_a_later_decision(api):
    """What the Test tab can script of what happens live: an email the mail server refuses, a
    webhook answered 429 with Retry-After, an approver who decides a day later."""
    steps = [{"key": "hook", "type": "action", "action": "send_webhook", "config": {"url": "https://crm.example/h"},
              "retry": {"max_attempts": 2, "initial_interval": "10m", "backoff_coefficient": 1, "max_interval": "1d"}},
             {"key": "ask", "type": "approval", "ask": "Write off {{ invoice.number }}?", "timeout": "5d"},
             {"key": "notice", "type": "action", "action": "send_email", "on_failure": "continue",
              "config": {"to": "{{ customer.email }}", "subject": "s", "body": "b"}}]
    definition = {"name": "Scripted", "trigger": {"type": "event", "event": "payment.failed"}, "steps": steps}
    body = {"definition": definition,
            "outcomes": {"hook": [{"outcome": "fails_temporarily", "retry_after": "2h"}, "succeeds"],
                         "notice": ["fails"]},
            "decisions": {"ask": {"decision": "rejected", "after": "1d"}}}
    response = api.post("/api/automations/test/", body, format="json")
    assert response.status_code == 200, response.content
    timeline = response.json()["timeline"]
    assert [(entry["step"], entry["offset"], entry.get("then")) for entry in timeline] == [
        ("hook", "0s", "retried in 2h"), ("hook", "2h", None), ("ask", "1d 2h", None),
        ("notice", "1d 2h", "the run carries on")]
    assert timeline[2]["decision"] == "rejected"
    for wrong, field in [({"outcomes": {"hook": [{"outcome": "fails_temporarily", "retry_after": "soon"}]}},
                          "outcomes.hook.0.retry_after"),
                         ({"outcomes": {"hook": [{"outcome": "fails_temporarily", "wait": "1h"}]}},
                          "outcomes.hook.0.wait"),
                         ({"decisions": {"ask": {"decision": "maybe"}}}, "decisions.ask.decision"),
                         ({"decisions": {"ask": {"decision": "approved", "after": 3}}}, "decisions.ask.after")]:
        refused = api.post("/api/automations/test/", {"definition": definition, **wrong}, format="json")
        assert refused.status_code == 400 and refused.json()["errors"][0]["field"] == field, refused.content
    unknown = api.post("/api/automations/test/", {"definition": definition, "outcomes": {
        "hook": [{"outcome": "pays"}]}}, format="json")
    assert unknown.status_code == 409 and unknown.json()["errors"][0]["field"] == "outcomes.hook[0].outcome"


def test_run_starts_a_manual_execution(api, created):
    url = f"/api/automations/{created['id']}/"
    assert api.post(f"{url}run/", {"data": {}}, format="json").status_code == 409, "not active yet"
    api.post(f"{url}activate/")
    response = api.post(f"{url}run/", {"data": {"customer": {"id": "c", "email": "c@example.com", "name": "C"},
                                                "invoice": {"id": "i9", "amount_due": "10", "number": "N",
                                                            "currency": "USD", "payment_url": "u"},
                                                "payment": {"failure_message": "x"}}}, format="json")
    assert response.status_code == 201
    body = response.json()
    assert body["trigger"]["type"] == "manual" and body["trigger"]["user"] == "ops" and body["version"] == 1
    assert api.post(f"{url}run/", {"data": [1]}, format="json").status_code == 400


@pytest.mark.parametrize(("method", "path"), [
    ("get", "/api/automations/"), ("post", "/api/automations/"), ("get", "/api/automations/1/"),
    ("patch", "/api/automations/1/"), ("delete", "/api/automations/1/"), ("post", "/api/automations/1/activate/"),
    ("post", "/api/automations/1/pause/"), ("get", "/api/automations/1/versions/"),
    ("post", "/api/automations/1/test/"), ("post", "/api/automations/1/run/"),
])
def test_unauthenticated_requests_get_401(anonymous, method, path):
    assert getattr(anonymous, method)(path, {}, format="json").status_code == 401


@pytest.mark.parametrize(("method", "path"), [
    ("get", "/api/automations/"), ("post", "/api/automations/"), ("get", "/api/automations/{id}/"),
    ("patch", "/api/automations/{id}/"), ("delete", "/api/automations/{id}/"),
    ("post", "/api/automations/{id}/activate/"), ("post", "/api/automations/{id}/run/"),
])
def test_users_without_permission_get_403(stranger, created, method, path):
    response = getattr(stranger, method)(path.format(id=created["id"]), {}, format="json")
    assert response.status_code == 403


def test_view_permission_reads_but_does_not_write(stranger, created, django_user_model):
    from django.contrib.auth.models import Permission

    user = django_user_model.objects.get(username="nobody")
    user.user_permissions.add(Permission.objects.get(codename="view_automation"))
    assert stranger.get(f"/api/automations/{created['id']}/").status_code == 200
    assert stranger.post(f"/api/automations/{created['id']}/pause/").status_code == 403


@pytest.mark.parametrize(("method", "path"), [
    ("get", "/api/automations/999/"), ("patch", "/api/automations/999/"), ("delete", "/api/automations/999/"),
    ("post", "/api/automations/999/activate/"), ("get", "/api/automations/999/versions/"),
    ("post", "/api/automations/999/test/"), ("post", "/api/automations/999/run/"),
])
def test_unknown_ids_get_404(api, method, path):
    assert getattr(api, method)(path, {}, format="json").status_code == 404


def test_test_every_path_finds_the_scenarios_that_reach_each_way_and_names_the_rest(api, created):
    response = api.post(f"/api/automations/{created['id']}/test-paths/", {}, format="json")
    assert response.status_code == 200
    result = response.json()
    reached = {(way["step"], way["way"]) for path in result["paths"] for way in path["ways"]}
    assert {("retry", "succeeds"), ("retry", "carries on after failing"), ("retry_worked", "then"),
            ("retry_worked", "else"), ("gentle", "fails the run")} <= reached
    paid = next(path for path in result["paths"] if {"step": "retry_worked", "way": "then"} in path["new"])
    assert paid["scenario"]["outcomes"] == {"retry": ["pays"]} and paid["status"] == "succeeded"
    assert [message["subject"] for message in paid["messages"]] == [
        "We couldn't process your payment for INV-2026-0042"]
    # A gateway error (no decline code) still gives collections their task.
    errored = api.post(f"/api/automations/{created['id']}/test/", {"outcomes": {"retry": ["gateway_error"]}},
                       format="json").json()
    assert errored["status"] == "succeeded" and "follow_up" in [entry["step"] for entry in errored["timeline"]]
    # Whether the invoice is still open is the data's to say, not an outcome's: no scenario reaches these.
    assert {"step": "still_unpaid", "way": "else"} in result["unreached"]
    assert not mail.outbox and not Execution.objects.exists()
    assert api.post(f"/api/automations/{created['id']}/test-paths/", {"version": 9}, format="json").status_code == 409


def test_test_every_path_reports_a_branch_whose_condition_cannot_be_evaluated_as_the_run_failing_there(api):
    """A condition that compares an object with a text (the payment ends with …) fails the run at
    its branch: neither of the branch's ways is taken, and the answer says so, not a 500."""
    definition = {"name": "Odd branch", "trigger": {"type": "event", "event": "payment.failed"},
                  "steps": [{"key": "odd", "type": "branch", "if": {"field": "payment", "operator": "ends_with",
                                                                    "value": "x"},
                             "then": [{"key": "done", "type": "stop"}], "else": []}]}
    response = api.post("/api/automations/test-paths/", {"definition": definition}, format="json")
    assert response.status_code == 200, response.content
    [path] = response.json()["paths"]
    assert path["status"] == "failed" and path["ways"] == []
    assert {"step": "odd", "way": "then"} in response.json()["unreached"]
