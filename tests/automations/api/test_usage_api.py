"""Who uses what, through the API: an email template that a draft or active version sends cannot be
deleted (a 409 naming the automations), and the automations list filters by the host it calls, the
template it sends and the secret it references."""
from __future__ import annotations

import copy

import pytest

from automations import library, services
from automations.models import EmailTemplate

pytestmark = pytest.mark.django_db


def hooked(definition: dict, name: str, url: str) -> dict:
    definition = copy.deepcopy(definition)
    definition["name"] = name
    definition["steps"].insert(1, {"key": "hook", "type": "action", "action": "send_webhook",
                                   "config": {"url": url, "headers": {"X-Api-Key": "{{ secrets.PARTNER }}"}}})
    return definition


@pytest.fixture
def automations(api, definition):
    """Three automations: one active calling hooks.example.com, one draft calling another port of
    it, one active that calls nothing but sends the library's emails."""
    assert api.post("/api/secrets/", {"name": "PARTNER", "value": "v"}, format="json").status_code == 201
    live = services.create_automation(hooked(definition, "Live hook", "https://hooks.example.com/in"))
    services.activate(live)
    services.create_automation(hooked(definition, "Draft hook", "https://hooks.example.com:8443/in"))
    plain = services.create_automation({**definition, "name": "Plain"})
    services.activate(plain)
    return live


def names(api, query: str) -> list[str]:
    response = api.get(f"/api/automations/?{query}")
    assert response.status_code == 200, response.json()
    return sorted(item["name"] for item in response.json()["results"])


def test_deleting_a_template_in_use_is_refused_naming_the_automations(api, definition, automations):
    refused = api.delete("/api/email-templates/payment_failed_gentle/")
    assert refused.status_code == 409
    assert refused.json() == {"errors": [{"field": "key", "message": (
        "“Draft hook” v1 (draft), “Live hook” v1 (active), “Plain” v1 (active) send(s) this template; "
        "change those steps first")}]}
    assert EmailTemplate.objects.filter(key="payment_failed_gentle").exists()


def test_a_template_used_only_by_a_draft_is_kept_too_and_one_no_longer_used_can_go(api, definition):
    draft = services.create_automation(definition)
    refused = api.delete("/api/email-templates/payment_failed_final/")
    assert refused.status_code == 409 and "“Payment dunning” v1 (draft)" in refused.json()["errors"][0]["message"]
    without = copy.deepcopy(definition)
    without["steps"] = [step for step in without["steps"] if step["key"] not in ("final", "wait_7d",
                                                                                 "paid_meanwhile")]
    assert "payment_failed_final" not in str(without)
    services.update_draft(draft, without)
    assert api.delete("/api/email-templates/payment_failed_final/").status_code == 204
    assert not EmailTemplate.objects.filter(key="payment_failed_final").exists()
    assert api.delete("/api/email-templates/payment_failed_final/").status_code == 404


def test_deleting_a_template_needs_the_permission(stranger, definition):
    assert stranger.delete("/api/email-templates/payment_failed_gentle/").status_code == 403


def test_the_list_filters_by_the_host_an_automation_calls(api, automations):
    assert names(api, "calls=hooks.example.com") == ["Draft hook", "Live hook"]
    assert names(api, "calls=https://hooks.example.com") == ["Live hook"]
    assert names(api, "calls=https://hooks.example.com:8443/any/path") == ["Draft hook"]
    assert names(api, "calls=nowhere.example") == []
    assert names(api, "calls=hooks.example.com&status=active") == ["Live hook"]


def test_the_list_filters_by_the_template_and_the_secret_used(api, automations):
    assert names(api, "uses_template=payment_failed_urgent") == ["Draft hook", "Live hook", "Plain"]
    assert names(api, "uses_template=no_such_template") == []
    assert names(api, "uses_secret=PARTNER") == ["Draft hook", "Live hook"]
    assert names(api, "uses_secret=PARTNER&uses_template=payment_failed_gentle&status=draft") == ["Draft hook"]


def test_a_version_replaced_no_longer_counts(api, definition, automations):
    services.update_draft(automations, {**definition, "name": "Live hook"})
    assert names(api, "calls=hooks.example.com") == ["Draft hook", "Live hook"]  # still active
    services.activate(automations)
    assert names(api, "calls=hooks.example.com") == ["Draft hook"]


def test_the_filters_are_in_the_schema(api):
    schema = api.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json").json()
    parameters = {parameter["name"]: parameter for parameter in schema["paths"]["/api/automations/"]["get"]["parameters"]}
    assert {"calls", "uses_template", "uses_secret"} <= set(parameters)
    assert "hooks.example.com" in parameters["calls"]["description"]
    assert "email template" in parameters["uses_template"]["description"]
    deleting = schema["paths"]["/api/email-templates/{key}/"]["delete"]["responses"]
    assert {"204", "409"} <= set(deleting)


def test_library_automations_are_indexed_when_instantiated(api):
    automation = library.instantiate("payment_dunning")
    assert names(api, "uses_template=payment_failed_gentle") == [automation.name]
