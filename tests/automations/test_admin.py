"""The admin: create from a definition or a template, edit the draft with validation, activate,
pause/resume from the list, executions with their step log."""
from __future__ import annotations

import json

import pytest
from django.urls import reverse

from automations import library
from automations.models import Automation, EmailTemplate, Execution
from tests.conftest import sample

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin(admin_client):
    return admin_client


def test_changelist_shows_status_and_a_pause_toggle(admin, dunning):
    response = admin.get(reverse("admin:automations_automation_changelist"))
    body = response.content.decode()
    assert response.status_code == 200
    assert "Payment dunning" in body and ">active<" in body and "event payment.failed" in body
    assert f"formaction='{reverse('admin:automations_automation_pause', args=[dunning.pk])}'" in body


def test_pause_and_resume_from_the_admin(admin, dunning):
    response = admin.post(reverse("admin:automations_automation_pause", args=[dunning.pk]))
    assert response.status_code == 302
    dunning.refresh_from_db()
    assert dunning.is_paused
    admin.post(reverse("admin:automations_automation_resume", args=[dunning.pk]))
    dunning.refresh_from_db()
    assert not dunning.is_paused


def test_pause_needs_a_post(admin, dunning):
    admin.get(reverse("admin:automations_automation_pause", args=[dunning.pk]))
    dunning.refresh_from_db()
    assert not dunning.is_paused


def test_pause_needs_change_permission(client, django_user_model, dunning):
    from django.contrib.auth.models import Permission

    viewer = django_user_model.objects.create_user("viewer", password="pw", is_staff=True)
    viewer.user_permissions.add(Permission.objects.get(codename="view_automation"))
    client.force_login(viewer)
    client.post(reverse("admin:automations_automation_pause", args=[dunning.pk]))
    dunning.refresh_from_db()
    assert not dunning.is_paused


def test_create_from_a_template(admin):
    response = admin.post(reverse("admin:automations_automation_add"),
                          {"template": "payment_dunning", "definition": ""})
    assert response.status_code == 302, response.content.decode()[:2000]
    automation = Automation.objects.get()
    assert automation.status == "draft" and automation.draft_version.number == 1
    assert EmailTemplate.objects.count() == 3


def test_create_from_a_definition_shows_field_errors(admin):
    definition = library.get_template("payment_dunning")["definition"]
    definition["steps"][1]["duration"] = "three days"
    response = admin.post(reverse("admin:automations_automation_add"), {"definition": json.dumps(definition)})
    assert response.status_code == 200
    assert "steps.wait_3d.duration: &#x27;three days&#x27; is not a duration" in response.content.decode()
    assert not Automation.objects.exists()


def test_edit_makes_a_draft_and_activate_puts_it_live(admin, dunning):
    definition = dunning.active_version.snapshot
    definition["name"] = "Dunning (softer)"
    url = reverse("admin:automations_automation_change", args=[dunning.pk])
    page = admin.get(url)
    assert "payment_failed_gentle" in page.content.decode()
    response = admin.post(url, {"definition": json.dumps(definition)})
    assert response.status_code == 302, response.content.decode()[:3000]
    dunning.refresh_from_db()
    assert dunning.draft_version.number == 2 and dunning.name == "Dunning (softer)"
    page = admin.get(url).content.decode()
    assert "Activate draft v2" in page and "<td>v2</td><td>draft</td><td>admin</td>" in page
    admin.post(reverse("admin:automations_automation_activate", args=[dunning.pk]), HTTP_REFERER=url)
    dunning.refresh_from_db()
    assert dunning.active_version.number == 2 and dunning.draft_version is None


def test_execution_page_shows_the_step_log(admin, dunning, engine):
    engine.emit("payment.failed", sample("payment.failed"), id="evt_admin")
    execution = Execution.objects.get()
    response = admin.get(reverse("admin:automations_execution_change", args=[execution.pk]))
    body = response.content.decode()
    assert response.status_code == 200
    assert "waiting" in body and "payment.failed (evt_admin)" in body
    assert "gentle" in body and "wait_3d" in body
    assert "We couldn&#x27;t process your payment for INV-2026-0042" in body
    listing = admin.get(reverse("admin:automations_execution_changelist") + "?status__exact=waiting")
    assert f">{execution.pk}<" in listing.content.decode()


def test_cancel_executions_from_the_list(admin, dunning, engine):
    engine.emit("payment.failed", sample("payment.failed"), id="evt_admin")
    execution = Execution.objects.get()
    admin.post(reverse("admin:automations_execution_changelist"),
               {"action": "cancel_selected", "_selected_action": [execution.pk]})
    execution.refresh_from_db()
    assert execution.status == "canceled" and execution.status_reason == "canceled by admin"


@pytest.mark.parametrize("name", ["emailtemplate", "task", "automation", "execution"])
def test_every_changelist_renders(admin, dunning, name):
    assert admin.get(reverse(f"admin:automations_{name}_changelist")).status_code == 200


@pytest.mark.parametrize("name", ["event", "customer", "invoice", "payment", "subscription", "creditnote",
                                  "usagerecord"])
def test_billing_changelists_render(admin, name, engine):
    engine.emit("payment.failed", sample("payment.failed"))
    assert admin.get(reverse(f"admin:billing_events_{name}_changelist")).status_code == 200


def test_email_template_with_a_syntax_error_is_refused(admin):
    response = admin.post(reverse("admin:automations_emailtemplate_add"),
                          {"key": "bad", "name": "", "subject": "Hi {{ customer.name", "body_text": "x",
                           "body_html": ""})
    assert response.status_code == 200 and "template syntax error" in response.content.decode()
    assert not EmailTemplate.objects.exists()


def test_scheduled_automation_shows_its_next_run(admin):
    from automations import services

    automation = services.create_automation({"name": "Hourly", "trigger": {"type": "schedule", "schedule": {
        "kind": "interval", "every": "1h"}}, "steps": [{"key": "d", "type": "delay", "duration": "1d"}]})
    services.activate(automation)
    body = admin.get(reverse("admin:automations_automation_changelist")).content.decode()
    assert "2026-11-20 11:00 UTC" in body and "schedule (interval)" in body
