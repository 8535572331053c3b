"""The admin: create from a template, blank or JSON, edit the draft with validation, activate,
pause/resume from the list, the builder page, draft revisions on the History page, executions with
their run view and step log."""
from __future__ import annotations

import json

import pytest
from django.urls import reverse

from automations import library, services
from automations.models import Automation, EmailTemplate, Execution
from tests.conftest import sample
from automations.definition.serialize import definition_of

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


def test_add_offers_blank_every_library_template_and_json(admin):
    body = admin.get(reverse("admin:automations_automation_add")).content.decode()
    assert reverse("admin:automations_automation_builder_new") in body
    for key in library.template_keys():
        assert f'{reverse("admin:automations_automation_builder_new")}?template={key}"' in body
    assert "Use Payment Dunning" in body and 'name="definition"' in body


def test_a_library_template_opens_in_the_builder_unsaved(admin):
    url = reverse("admin:automations_automation_builder_new")
    response = admin.get(f"{url}?template=payment_dunning")
    assert response.status_code == 200
    config = response.context["config"]
    assert config["template"]["key"] == "payment_dunning" and config["template"]["title"] == "Payment Dunning"
    assert config["template"]["definition"] == library.get_template("payment_dunning")["definition"]
    assert [t["key"] for t in config["template"]["emailTemplates"]] == [
        "payment_failed_gentle", "payment_failed_urgent", "payment_update_card", "payment_failed_final"]
    assert config["automationId"] is None and config["urls"]["add"] == reverse("admin:automations_automation_add")
    # Nothing is created by choosing it: not the automation, not its email templates.
    assert not Automation.objects.exists() and not EmailTemplate.objects.exists()
    assert admin.get(f"{url}?template=nope").status_code == 404
    assert admin.get(url).context["config"]["template"] is None


def test_invalid_json_is_one_clear_error(admin):
    response = admin.post(reverse("admin:automations_automation_add"), {"definition": '{"name": "x",'})
    body = response.content.decode()
    assert response.status_code == 200 and not Automation.objects.exists()
    assert body.count('class="errorlist') == 1, body
    assert "This is not valid JSON: Expecting property name enclosed in double quotes (line 1, column 14)." in body


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


def test_execution_page_shows_the_run_view_and_the_step_log(admin, dunning, engine):
    engine.emit("payment.failed", sample("payment.failed"), id="evt_admin")
    execution = Execution.objects.get()
    response = admin.get(reverse("admin:automations_execution_change", args=[execution.pk]))
    body = response.content.decode()
    assert response.status_code == 200
    assert "payment.failed (evt_admin)" in body and 'id="ab-run"' in body and "automations/builder/run.js" in body
    assert "gentle" in body and "We couldn&#x27;t process your payment for INV-2026-0042" in body
    # The delay the run waits in says so, with when it ends.
    assert '<code class="ab-key">wait_3d</code>' in body and "waiting until 2026-11-23 10:00 UTC" in body
    assert "Raw data (trigger, data, step outputs, cursor)" in body
    assert "script-src 'self'" in response["Content-Security-Policy"]
    listing = admin.get(reverse("admin:automations_execution_changelist") + "?status__exact=waiting")
    assert f">{execution.pk}<" in listing.content.decode()


def test_a_canceled_execution_log_ends_with_the_cancellation(admin, dunning, engine):
    engine.emit("payment.failed", sample("payment.failed"), id="evt_admin")
    execution = Execution.objects.get()
    services.cancel_execution(execution, "canceled by ops: customer called")
    body = admin.get(reverse("admin:automations_execution_change", args=[execution.pk])).content.decode()
    log = body[body.index("Step log"):]
    assert log.index('<code class="ab-key">wait_3d</code>') < log.index("Canceled by ops: customer called")
    assert "waiting until" not in log


def test_execution_list_columns_filters_and_no_delete(admin, dunning, engine):
    engine.emit("payment.failed", sample("payment.failed"), id="evt_admin")
    execution = Execution.objects.get()
    url = reverse("admin:automations_execution_changelist")
    body = admin.get(url).content.decode()
    for column in ("column-automation", "column-status", "column-correlation", "column-reason"):
        assert column in body
    assert "?correlation_value=inv_2001" in body and "delete_selected" not in body
    assert f">{execution.pk}<" in admin.get(url + "?correlation_value=inv_2001").content.decode()
    assert f">{execution.pk}<" not in admin.get(url + "?correlation_value=inv_other").content.decode()
    engine.emit("invoice.paid", sample("invoice.paid"), id="evt_paid")
    assert f">{execution.pk}<" in admin.get(url + "?reason=exit").content.decode()
    assert f">{execution.pk}<" not in admin.get(url + "?reason=person").content.decode()
    response = admin.post(reverse("admin:automations_execution_delete", args=[execution.pk]), {"post": "yes"})
    assert response.status_code == 403 and Execution.objects.filter(pk=execution.pk).exists()


def test_cancel_from_the_list_needs_the_change_permission(client, django_user_model, dunning, engine):
    from django.contrib.auth.models import Permission

    engine.emit("payment.failed", sample("payment.failed"), id="evt_admin")
    execution = Execution.objects.get()
    viewer = django_user_model.objects.create_user("viewer", password="pw", is_staff=True)
    viewer.user_permissions.add(Permission.objects.get(codename="view_execution"))
    client.force_login(viewer)
    client.post(reverse("admin:automations_execution_changelist"),
                {"action": "cancel_selected", "_selected_action": [execution.pk]})
    execution.refresh_from_db()
    assert execution.status == "waiting"


def test_cancel_executions_from_the_list_asks_for_a_reason_first(admin, dunning, engine):
    engine.emit("payment.failed", sample("payment.failed"), id="evt_admin")
    execution = Execution.objects.get()
    url = reverse("admin:automations_execution_changelist")
    asked = admin.post(url, {"action": "cancel_selected", "_selected_action": [execution.pk]})
    body = asked.content.decode()
    assert asked.status_code == 200 and "Cancel 1 execution?" in body and "Reason (recorded with your name)" in body
    assert Execution.objects.get().status == "waiting", "nothing is canceled before the reason is given"

    empty = admin.post(url, {"action": "cancel_selected", "_selected_action": [execution.pk], "confirm": "yes",
                             "reason": "  "}).content.decode()
    error = "Say why these runs are canceled: the reason is recorded with your name."
    assert error in empty and empty.index(error) < empty.index('name="reason"'), "the error stands beside the field"
    assert Execution.objects.get().status == "waiting"

    admin.post(url, {"action": "cancel_selected", "_selected_action": [execution.pk], "confirm": "yes",
                     "reason": "duplicate of run 7"})
    execution.refresh_from_db()
    assert execution.status == "canceled"
    assert execution.status_reason == "canceled by admin in the admin: duplicate of run 7"
    assert (execution.canceled_by.get_username(), execution.canceled_in) == ("admin", "admin")


def test_the_run_view_cancels_with_a_reason_recorded_as_done_in_the_admin(admin, dunning, engine):
    engine.emit("payment.failed", sample("payment.failed"))
    execution = Execution.objects.get()
    url = reverse("admin:automations_execution_cancel", args=[execution.pk])
    assert admin.get(url).status_code == 405
    response = admin.post(url, {"reason": "customer called"}, content_type="application/json")
    assert response.status_code == 200 and response.json()["status"] == "canceled"
    execution.refresh_from_db()
    assert execution.status_reason == "canceled by admin in the admin: customer called"
    again = admin.post(url, {"reason": ""}, content_type="application/json")
    assert again.status_code == 409 and again.json()["errors"][0]["message"] == "the execution has already ended (canceled)"


def test_the_run_view_resumes_a_waiting_run_in_the_admin(admin, dunning, engine):
    engine.emit("payment.failed", sample("payment.failed"))
    execution = Execution.objects.get()
    with engine._running():
        response = admin.post(reverse("admin:automations_execution_resume_now", args=[execution.pk]), {},
                              content_type="application/json")
    assert response.status_code == 200
    execution.refresh_from_db()
    assert execution.status_reason.startswith("resumed now by admin in the admin: the delay at step wait_3d is skipped")
    assert execution.step_runs.filter(step_key="retry").count() == 1 and Execution.objects.count() == 1


def test_the_run_view_buttons_need_the_change_permission(client, django_user_model, dunning, engine):
    engine.emit("payment.failed", sample("payment.failed"))
    execution = Execution.objects.get()
    client.force_login(_staff(django_user_model, "view_execution"))
    for name in ("cancel", "resume_now"):
        assert client.post(reverse(f"admin:automations_execution_{name}", args=[execution.pk])).status_code == 403
    assert Execution.objects.get().status == "waiting"


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
    automation = services.create_automation({"name": "Hourly", "trigger": {"type": "schedule", "schedule": {
        "kind": "interval", "every": "1h"}}, "steps": [{"key": "d", "type": "delay", "duration": "1d"}]})
    services.activate(automation)
    body = admin.get(reverse("admin:automations_automation_changelist")).content.decode()
    assert "2026-11-20 11:00 UTC" in body and "schedule (interval)" in body


def test_the_builder_page_is_linked_and_loads_its_modules_under_a_strict_policy(admin, dunning):
    url = reverse("admin:automations_automation_builder", args=[dunning.pk])
    assert url in admin.get(reverse("admin:automations_automation_changelist")).content.decode()
    assert url in admin.get(reverse("admin:automations_automation_change", args=[dunning.pk])).content.decode()
    response = admin.get(url)
    body = response.content.decode()
    assert response.status_code == 200
    assert 'type="module" src="/static/automations/builder/main.js"' in body
    assert '<script id="ab-builder-config" type="application/json">' in body
    policy = response["Content-Security-Policy"]
    assert "script-src 'self';" in policy and "unsafe" not in policy


def _staff(django_user_model, *codenames, username="someone"):
    from django.contrib.auth.models import Permission

    user = django_user_model.objects.create_user(username, password="pw", is_staff=True)
    user.user_permissions.add(*Permission.objects.filter(codename__in=codenames))
    return user


def test_the_builder_follows_the_admin_permissions(client, django_user_model, dunning):
    url = reverse("admin:automations_automation_builder", args=[dunning.pk])
    assert client.get(url).status_code == 302  # anonymous: to the login page
    client.force_login(_staff(django_user_model, "view_execution"))
    assert client.get(url).status_code == 403
    client.force_login(_staff(django_user_model, "view_automation", username="viewer"))
    config = client.get(url).context["config"]
    assert config["permissions"]["view"] and not config["permissions"]["change"]
    assert config["automationId"] == dunning.pk and config["apiRoot"] == "/api/"
    assert client.get(reverse("admin:automations_automation_builder_new")).status_code == 403


def test_history_lists_draft_revisions_and_restores_one(admin, dunning):
    definition = dunning.active_version.snapshot
    services.update_draft(dunning, {**definition, "steps": [
        {**step, "duration": "2d"} if step["key"] == "wait_3d" else step for step in definition["steps"]]})
    services.update_draft(dunning, {**definition, "steps": [
        {**step, "duration": "5d"} if step["key"] == "wait_3d" else step for step in definition["steps"]]})
    page = admin.get(reverse("admin:automations_automation_history", args=[dunning.pk])).content.decode()
    assert "wait_3d: duration 2d -&gt; 5d" in page and "wait_3d: duration 3d -&gt; 2d" in page
    assert "Version 1 activated" in page
    from automations.revisions import list_revisions

    two_days = next(r for r in list_revisions(dunning) if any("3d -> 2d" in line for line in r["diff"]["lines"]))
    admin.post(reverse("admin:automations_automation_restore_revision", args=[dunning.pk, two_days["id"]]))
    dunning.refresh_from_db()
    steps = {step["key"]: step for step in definition_of(dunning.draft_version)["steps"]}
    assert steps["wait_3d"]["duration"] == "2d"


def test_activating_a_second_automation_on_the_same_event_warns_of_the_first(admin, dunning):
    second = services.create_automation({**dunning.active_version.snapshot, "name": "Dunning for enterprise"})
    page = admin.post(reverse("admin:automations_automation_activate", args=[second.pk]), follow=True).content.decode()
    assert "Version 1 is now active." in page
    assert "“Payment dunning” (active) also starts on every payment.failed event" in page


def test_a_restored_version_says_so_in_the_history_and_the_versions_table(admin, dunning):
    from automations import services

    definition = dunning.active_version.snapshot
    services.update_draft(dunning, {**definition, "steps": [
        {**step, "duration": "2d"} if step["key"] == "wait_3d" else step for step in definition["steps"]]})
    services.restore_version(dunning, 1)
    history = admin.get(reverse("admin:automations_automation_history", args=[dunning.pk])).content.decode()
    assert history.count("Restored from v1") == 1
    change = admin.get(reverse("admin:automations_automation_change", args=[dunning.pk])).content.decode()
    assert "<th>origin</th>" in change and "<td>restored from v1</td>" in change


def test_an_email_template_edit_in_the_admin_that_would_break_a_live_automation_is_refused(admin, dunning):
    template = EmailTemplate.objects.get(key="payment_failed_gentle")
    url = reverse("admin:automations_emailtemplate_change", args=[template.pk])
    form = {"key": template.key, "name": template.name, "subject": "Hi {{ customer.nme }}",
            "body_text": template.body_text, "body_html": template.body_html}
    page = admin.post(url, form)
    assert page.status_code == 200
    assert "customer.nme: customer has no field nme; did you mean name? (“Payment dunning” v1, active, sends it at " \
           "step gentle)" in page.content.decode().replace("&quot;", '"').replace("&#x27;", "'")
    assert "nme" not in EmailTemplate.objects.get(key="payment_failed_gentle").subject
    assert admin.post(url, {**form, "subject": "Hi {{ customer.name or 'there' }}"}).status_code == 302
