"""executions/, events/, catalogues, templates and the schema."""
from __future__ import annotations

import copy

import pytest
from django.core import mail

from automations import library
from automations.models import Execution
from billing_events.catalogue import get_event_type
from billing_events.models import Event
from automations.definition.serialize import definition_of

pytestmark = pytest.mark.django_db

SEED_DUNNING = {
    "name": "Payment dunning",
    "trigger": {"type": "event", "event": "payment.failed"},
    "conditions": {"all": [{"field": "invoice.amount_due", "operator": "greater_than", "value": 0}]},
    "correlation_key": "invoice.id", "reentry": "skip_if_running", "exit_on": ["invoice.paid", "invoice.voided"],
    "steps": [
        {"key": "gentle", "type": "action", "action": "send_email",
         "config": {"template": "payment_failed_gentle", "to": "{{ customer.email }}"}},
        {"key": "wait_3d", "type": "delay", "duration": "3d"},
        {"key": "still_unpaid", "type": "branch",
         "if": {"all": [{"field": "invoice.status", "operator": "equals", "value": "open"}]},
         "then": [{"key": "retry", "type": "action", "action": "retry_payment", "config": {},
                   "retry": {"max_attempts": 2}, "on_failure": "continue",
                   "fallback": [{"key": "tell_ops", "type": "action", "action": "create_task",
                                 "config": {"title": "Retry failed for {{ invoice.number }}"}}]},
                  {"key": "urgent", "type": "action", "action": "send_email",
                   "config": {"template": "payment_failed_urgent", "to": "{{ customer.email }}"}}],
         "else": [{"key": "paid", "type": "stop"}]},
        {"key": "wait_7d", "type": "delay", "duration": "7d"},
        {"key": "final", "type": "action", "action": "send_email",
         "config": {"template": "payment_failed_final", "to": "{{ customer.email }}"}}],
}


def event_body(event_id="evt_api_1"):
    return {"id": event_id, "type": "payment.failed", "occurred_at": "2026-11-20T09:00:00Z",
            "data": get_event_type("payment.failed").sample_data()}


@pytest.fixture
def live_dunning(api, engine):
    library.install_email_templates("payment_dunning")
    automation = api.post("/api/automations/", SEED_DUNNING, format="json").json()
    api.post(f"/api/automations/{automation['id']}/activate/")
    return automation


def test_seed_dunning_through_the_api(api, live_dunning, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        first = api.post("/api/events/", event_body(), format="json")
    assert first.status_code == 201
    execution = Execution.objects.get()
    detail = api.get(f"/api/executions/{execution.pk}/").json()
    assert detail["status"] == "waiting" and detail["version"] == 1 and detail["event_id"] == "evt_api_1"
    assert [step["step_key"] for step in detail["steps"]] == ["gentle", "wait_3d"]
    assert detail["steps"][0]["output"]["subject"] == "We couldn't process your payment for INV-2026-0042"
    with django_capture_on_commit_callbacks(execute=True):
        again = api.post("/api/events/", event_body(), format="json")
    assert again.status_code == 200 and again.json() == first.json()
    assert Execution.objects.count() == 1 and len(mail.outbox) == 1
    event = api.get("/api/events/evt_api_1/").json()
    assert [e["id"] for e in event["executions"]] == [execution.pk]


def test_event_ingest_errors(api):
    unknown = api.post("/api/events/", {**event_body(), "type": "payment.exploded"}, format="json")
    assert unknown.status_code == 400
    assert unknown.json()["errors"][0]["field"] == "type" and "unknown event type" in unknown.json()["errors"][0]["message"]
    bad = event_body()
    bad["data"]["invoice"]["amount_due"] = "lots"
    response = api.post("/api/events/", bad, format="json")
    assert response.status_code == 400 and response.json()["errors"][0]["field"] == "data.invoice.amount_due"
    assert api.post("/api/events/", {"type": "payment.failed"}, format="json").status_code == 400
    assert api.post("/api/events/", {**event_body(), "occurred_at": "yesterday"}, format="json").status_code == 400
    assert api.post("/api/events/", ["x"], format="json").status_code == 400
    assert not Event.objects.exists()


def test_events_list_filter_and_404(api):
    api.post("/api/events/", event_body("e1"), format="json")
    api.post("/api/events/", {"id": "e2", "type": "customer.created",
                              "data": get_event_type("customer.created").sample_data()}, format="json")
    assert api.get("/api/events/").json()["count"] == 2
    assert [e["id"] for e in api.get("/api/events/?type=customer.created").json()["results"]] == ["e2"]
    assert api.get("/api/events/nope/").status_code == 404


def test_ingest_needs_its_own_permission(stranger, django_user_model, anonymous):
    from django.contrib.auth.models import Permission

    assert anonymous.post("/api/events/", event_body(), format="json").status_code == 401
    user = django_user_model.objects.get(username="nobody")
    user.user_permissions.add(Permission.objects.get(codename="add_event"))
    assert stranger.post("/api/events/", event_body(), format="json").status_code == 403
    user.user_permissions.add(Permission.objects.get(codename="ingest_event"))
    assert stranger.post("/api/events/", event_body(), format="json").status_code == 201
    assert stranger.get("/api/events/").status_code == 403, "reading needs view_event"


def test_executions_list_filters_cancel_and_retry(api, live_dunning, engine, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        api.post("/api/events/", event_body(), format="json")
    execution = Execution.objects.get()
    assert api.get(f"/api/executions/?automation={live_dunning['id']}&status=waiting").json()["count"] == 1
    assert api.get("/api/executions/?status=failed").json()["count"] == 0
    assert api.get("/api/executions/?started_after=2026-11-21T00:00:00Z").json()["count"] == 0
    assert api.get("/api/executions/?status=exploded").status_code == 400
    assert api.post(f"/api/executions/{execution.pk}/retry/").status_code == 409, "only failed ones"
    canceled = api.post(f"/api/executions/{execution.pk}/cancel/", {"reason": "paid by wire"}, format="json")
    assert canceled.status_code == 200 and canceled.json()["status"] == "canceled"
    assert api.post(f"/api/executions/{execution.pk}/cancel/", {"reason": "again"}, format="json").status_code == 409
    assert api.get("/api/executions/999/").status_code == 404
    assert api.post("/api/executions/999/cancel/", {"reason": "gone"}, format="json").status_code == 404


def test_retry_a_failed_execution_from_its_failed_step(api, engine, django_capture_on_commit_callbacks):
    from automations.models import EmailTemplate

    EmailTemplate.objects.create(key="t", subject="Hi", body_text="b")
    automation = api.post("/api/automations/", {"name": "Mail", "trigger": {"type": "manual"}, "steps": [
        {"key": "task", "type": "action", "action": "create_task", "config": {"title": "first"}},
        {"key": "mail", "type": "action", "action": "send_email", "config": {"to": "a@example.com", "template": "t"}}]},
        format="json").json()
    api.post(f"/api/automations/{automation['id']}/activate/")
    # the stored template is edited after activation to read a field runs do not have
    EmailTemplate.objects.filter(key="t").update(subject="Hi {{ customer.nickname }}")
    with django_capture_on_commit_callbacks(execute=True):
        run = api.post(f"/api/automations/{automation['id']}/run/", {"data": {}}, format="json").json()
    assert api.get(f"/api/executions/{run['id']}/").json()["status"] == "failed"
    EmailTemplate.objects.filter(key="t").update(subject="Hi")
    with django_capture_on_commit_callbacks(execute=True):
        retried = api.post(f"/api/executions/{run['id']}/retry/")
    assert retried.status_code == 200
    detail = api.get(f"/api/executions/{run['id']}/").json()
    assert detail["status"] == "succeeded"
    assert [(s["step_key"], s["attempt"], s["status"]) for s in detail["steps"]] == [
        ("task", 1, "succeeded"), ("mail", 1, "failed"), ("mail", 2, "succeeded")]
    from automations.models import Task

    assert Task.objects.count() == 1, "steps before the failed one are not run again"


def test_catalogues(api, anonymous):
    types = api.get("/api/event-types/").json()["results"]
    assert len(types) >= 11
    failed = next(t for t in types if t["type"] == "payment.failed")
    assert failed["schema"]["required"] == ["customer", "invoice", "payment"] and failed["sample"]["invoice"]["id"]
    actions = {a["action"]: a for a in api.get("/api/actions/").json()["results"]}
    assert {"send_email", "send_sms", "send_slack", "send_webhook", "retry_payment", "void_invoice",
            "create_credit_note", "apply_credits", "update_customer", "add_tag", "create_task",
            "sync_to_crm"} <= set(actions)
    assert actions["send_email"]["config_schema"]["required"] == ["to"]
    assert anonymous.get("/api/event-types/").status_code == 401
    assert anonymous.get("/api/actions/").status_code == 401


def test_templates_list_and_instantiate(api, stranger):
    templates = {t["key"]: t for t in api.get("/api/templates/").json()["results"]}
    assert "payment_dunning" in templates
    response = api.post("/api/templates/payment_dunning/instantiate/")
    assert response.status_code == 201 and response.json()["status"] == "draft"
    assert api.post("/api/templates/nope/instantiate/").status_code == 404
    assert stranger.post("/api/templates/payment_dunning/instantiate/").status_code == 403


def test_secrets_are_masked_in_definitions(api, settings):
    settings.AUTOMATIONS = {"OUTBOUND_ALLOWED_HOSTS": []}
    body = {"name": "Hook", "trigger": {"type": "manual"}, "steps": [
        {"key": "hook", "type": "action", "action": "send_webhook",
         "config": {"url": "https://partner.example/hook", "secret": "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
                    "headers": {"Authorization": "Bearer abc"}}}]}
    created = api.post("/api/automations/", body, format="json").json()
    shown = created["draft_definition"]["steps"][0]["config"]
    assert shown["secret"] == "********" and shown["headers"]["Authorization"] == "********"
    # a client that reads the definition and writes it back keeps the stored secrets
    echoed = {**created["draft_definition"], "name": "Hook 2"}
    assert api.put(f"/api/automations/{created['id']}/", echoed, format="json").status_code == 200
    from automations.models import Automation

    stored = definition_of(Automation.objects.get(pk=created["id"]).draft_version)["steps"][0]["config"]
    assert stored["secret"] == "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw" and stored["headers"]["Authorization"] == "Bearer abc"


def test_schema_and_docs(api):
    schema = api.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert schema.status_code == 200
    paths = schema.json()["paths"]
    for path in ["/api/automations/", "/api/automations/{id}/", "/api/automations/{id}/activate/",
                 "/api/automations/{id}/pause/", "/api/automations/{id}/resume/", "/api/automations/{id}/versions/",
                 "/api/automations/{id}/versions/{number}/", "/api/automations/{id}/versions/{number}/restore/",
                 "/api/automations/{id}/test/", "/api/automations/{id}/run/", "/api/executions/",
                 "/api/executions/{id}/", "/api/executions/{id}/cancel/", "/api/executions/{id}/retry/",
                 "/api/events/", "/api/events/{id}/", "/api/event-types/", "/api/actions/", "/api/templates/",
                 "/api/templates/{key}/instantiate/"]:
        assert path in paths, path
    docs = api.get("/api/docs/")
    assert docs.status_code == 200 and b"swagger-ui" in docs.content.lower()
    assert b"cdn" not in docs.content.lower() and b"https://" not in docs.content.split(b"<body")[0]


@pytest.mark.parametrize(("method", "path"), [
    ("get", "/api/executions/"), ("get", "/api/executions/1/"), ("post", "/api/executions/1/cancel/"),
    ("post", "/api/executions/1/retry/"), ("get", "/api/events/"), ("get", "/api/events/e/"),
    ("post", "/api/events/"), ("get", "/api/event-types/"), ("get", "/api/actions/"), ("get", "/api/templates/"),
    ("post", "/api/templates/payment_dunning/instantiate/"),
])
def test_every_endpoint_refuses_anonymous_requests_with_401(anonymous, method, path):
    assert getattr(anonymous, method)(path, {}, format="json").status_code == 401


@pytest.mark.parametrize(("method", "path"), [
    ("get", "/api/executions/"), ("get", "/api/executions/{id}/"), ("post", "/api/executions/{id}/cancel/"),
    ("post", "/api/executions/{id}/retry/"), ("get", "/api/events/"), ("get", "/api/events/evt_api_1/"),
    ("post", "/api/events/"),
])
def test_users_without_permission_get_403(stranger, live_dunning, method, path, django_capture_on_commit_callbacks,
                                          api):
    with django_capture_on_commit_callbacks(execute=True):
        api.post("/api/events/", event_body(), format="json")
    path = path.format(id=Execution.objects.get().pk)
    assert getattr(stranger, method)(path, event_body("evt_x"), format="json").status_code == 403


def test_catalogues_are_paginated(api):
    body = api.get("/api/event-types/").json()
    assert body["count"] == len(body["results"]) >= 11 and body["next"] is None
    assert api.get("/api/event-types/?page=9").status_code == 404
    assert {"count", "next", "previous", "results"} <= set(api.get("/api/actions/").json())


def test_the_schema_validates_without_warnings(capsys):
    from django.core.management import call_command

    call_command("spectacular", "--validate", "--fail-on-warn", "--file", "/dev/null",
                 "--custom-settings", "automations.api.schema.SCHEMA_SETTINGS")


def test_what_the_database_cannot_store_is_a_400(api):
    """Found by fuzzing on PostgreSQL: NUL characters and time-zone offsets beyond ±15:59."""
    assert api.post("/api/events/", {**event_body(), "id": "evt\x00"}, format="json").status_code == 400
    body = event_body()
    body["data"]["customer"]["name"] = "A\x00"
    assert api.post("/api/events/", body, format="json").status_code == 400
    assert api.post("/api/automations/", {**SEED_DUNNING, "name": "x\x00"}, format="json").status_code == 400
    assert api.get("/api/events/?type=a\x00b").status_code == 400
    assert api.get("/api/executions/?started_after=2759-06-09T21:39:50-19:08").status_code in (200, 400)
    stored = api.post("/api/events/", {**event_body("evt_offset"), "occurred_at": "2026-11-20T09:00:00-19:30"},
                      format="json")
    assert stored.status_code == 201 and stored.json()["occurred_at"] == "2026-11-21T04:30:00Z"
    assert not Event.objects.exclude(pk="evt_offset").exists()
