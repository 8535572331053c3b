"""What the builder asks the API: validation without saving, test mode on what is on screen,
schedule and template previews, email templates, draft revisions, live runs by version and the
run view's step states."""
from __future__ import annotations

import pytest
from django.contrib.auth.models import Permission

from automations import services
from automations.models import EmailTemplate, Execution
from tests.automations.api.conftest import token_client
from tests.conftest import sample

pytestmark = pytest.mark.django_db


@pytest.fixture
def viewer(db, django_user_model):
    user = django_user_model.objects.create_user("viewer", "viewer@example.com", "pw")
    user.user_permissions.add(*Permission.objects.filter(codename__in=["view_automation", "view_execution"]))
    return token_client(user)


def test_validate_answers_problems_by_field_and_saves_nothing(api, definition):
    definition["steps"][1]["duration"] = "soon"
    answer = api.post("/api/automations/validate/", definition, format="json")
    assert answer.status_code == 200
    assert answer.json()["valid"] is False
    assert answer.json()["errors"][0]["field"] == "steps.wait_3d.duration"
    definition["steps"][1]["duration"] = "2d"
    body = api.post("/api/automations/validate/", definition, format="json").json()
    assert body["valid"] is True and body["errors"] == [] and body["definition"]["steps"][1]["duration"] == "2d"
    assert api.get("/api/automations/").json()["count"] == 0


def test_validate_of_an_automation_keeps_its_masked_secrets(api, definition):
    definition["steps"].append({"key": "hook", "type": "action", "action": "send_webhook",
                                "config": {"url": "https://hooks.example/x", "secret": "whsec_c2VjcmV0"}})
    created = api.post("/api/automations/", definition, format="json").json()
    shown = created["draft_definition"]
    assert shown["steps"][-1]["config"]["secret"] == "********"
    answer = api.post(f"/api/automations/{created['id']}/validate/", shown, format="json").json()
    assert answer["valid"] is True, answer


def test_test_mode_runs_the_definition_on_screen_saved_or_not(api, definition):
    unsaved = api.post("/api/automations/test/", {"definition": definition}, format="json").json()
    assert [entry["day"] for entry in unsaved["timeline"] if entry["step"] == "final"] == [10]
    created = api.post("/api/automations/", definition, format="json").json()
    definition["steps"][1]["duration"] = "5d"  # on screen, not saved
    answer = api.post(f"/api/automations/{created['id']}/test/", {"definition": definition}, format="json").json()
    assert [entry["day"] for entry in answer["timeline"] if entry["step"] == "final"] == [12]
    definition["steps"][1]["duration"] = "later"
    refused = api.post(f"/api/automations/{created['id']}/test/", {"definition": definition}, format="json")
    assert refused.status_code == 400 and refused.json()["errors"][0]["field"] == "steps.wait_3d.duration"
    assert not Execution.objects.exists()


def test_a_viewer_may_validate_and_test_but_not_save(viewer, api, definition):
    created = api.post("/api/automations/", definition, format="json").json()
    assert viewer.post(f"/api/automations/{created['id']}/validate/", definition, format="json").status_code == 200
    assert viewer.post(f"/api/automations/{created['id']}/test/", {}, format="json").status_code == 200
    assert viewer.put(f"/api/automations/{created['id']}/", definition, format="json").status_code == 403


def test_schedule_preview_gives_the_next_five_slots_in_the_schedule_zone(api):
    schedule = {"kind": "cron", "expression": "0 9 * * 1", "timezone": "Europe/Berlin"}
    answer = api.post("/api/schedule-preview/", {"schedule": schedule}, format="json")
    assert answer.status_code == 200
    # The clock stands at Friday 2026-11-20 10:00 UTC: Mondays 09:00 in Berlin (UTC+1 in winter).
    assert answer.json()["next"] == ["2026-11-23T08:00:00Z", "2026-11-30T08:00:00Z", "2026-12-07T08:00:00Z",
                                     "2026-12-14T08:00:00Z", "2026-12-21T08:00:00Z"]
    bad = api.post("/api/schedule-preview/", {"schedule": {**schedule, "expression": "0 9 * *"}}, format="json")
    assert bad.status_code == 400 and bad.json()["errors"][0]["field"] == "trigger.schedule.expression"


def test_render_preview_renders_on_sample_data_and_names_the_field_that_fails(api):
    templates = {"subject": "Invoice {{ invoice.number }} for {{ invoice.amount_due | money(invoice.currency) }}",
                 "body": "Hi {{ customer.nmae }}"}
    answer = api.post("/api/render-preview/", {"templates": templates, "data": sample("payment.failed")},
                      format="json").json()
    assert answer["rendered"] == {"subject": "Invoice INV-2026-0042 for $1,250.00"}
    assert answer["errors"][0]["field"] == "body" and "nmae" in answer["errors"][0]["message"]


def test_render_preview_shows_earlier_steps_outputs_as_test_mode_predicts_them(api, definition):
    templates = {"subject": "Retry {{ steps.retry.output.status }}: {{ steps.retry.output.decline_code }}",
                 "body": "{{ steps.retry_worked.output.branch }} {{ steps.follow_up.output.task_id }}"}
    answer = api.post("/api/render-preview/", {"templates": templates, "data": sample("payment.failed"),
                                               "definition": definition, "step": "final"}, format="json").json()
    # The sample customer's card declines, so the retry fails and the else lane creates the task.
    assert answer["errors"] == []
    assert answer["rendered"]["subject"] == "Retry failed: card_declined"
    # A task's id only a live run knows: a placeholder, said to be one.
    assert answer["rendered"]["body"] == "else ‹steps.follow_up.output.task_id›"
    assert [warning["message"].split(" is ")[0] for warning in answer["warnings"]] == [
        "steps.follow_up.output.task_id"]
    # The step being written may not be valid yet (an unguarded output, half typed): the steps
    # before it are predicted all the same.
    urgent = definition["steps"][2]["then"][1]["else"][0]["else"][0]
    urgent["config"] = {"to": "{{ customer.email }}", "subject": templates["subject"], "body": "{{ customer.nme"}
    answer = api.post("/api/render-preview/", {"templates": templates, "data": sample("payment.failed"),
                                               "definition": definition, "step": "urgent"}, format="json").json()
    assert answer["rendered"]["subject"] == "Retry failed: card_declined"
    # Without the definition, earlier steps are unknown, as before.
    bare = api.post("/api/render-preview/", {"templates": templates, "data": sample("payment.failed")},
                    format="json").json()
    assert bare["errors"] and "steps" in bare["errors"][0]["message"]


def test_render_preview_shows_a_placeholder_for_a_step_the_data_does_not_reach(api, definition):
    data = sample("payment.failed", invoice={"status": "paid", "amount_due": "0.00"})
    templates = {"subject": "Retry {{ steps.retry.output.status }}"}
    answer = api.post("/api/render-preview/", {"templates": templates, "data": data, "definition": definition,
                                               "step": "final"}, format="json").json()
    assert answer["errors"] == []
    assert answer["rendered"]["subject"] == "Retry ‹steps.retry.output.status›"
    assert answer["warnings"] == [{"field": "subject", "message": "steps.retry.output.status is shown as a "
                                   "placeholder: test mode does not predict it (its step does not run "
                                   "before this one, or only a live run knows it)"}]


def test_email_templates_are_read_and_edited_with_their_permissions(api, viewer, definition):
    listing = api.get("/api/email-templates/").json()
    assert [item["key"] for item in listing["results"]] == ["payment_failed_final", "payment_failed_gentle",
                                                            "payment_failed_urgent", "payment_update_card"]
    url = "/api/email-templates/payment_failed_gentle/"
    template = {name: value for name, value in api.get(url).json().items() if name in ("name", "body_text", "body_html")}
    broken = api.put(url, {**template, "subject": "Hi {{ customer.name"}, format="json")
    assert broken.status_code == 400 and "template syntax error" in str(broken.json())
    assert api.put(url, {**template, "subject": "Payment failed"}, format="json").status_code == 200
    assert EmailTemplate.objects.get(key="payment_failed_gentle").subject == "Payment failed"
    assert viewer.put(url, {**template, "subject": "x"}, format="json").status_code == 403


def test_an_email_template_edit_that_would_break_a_live_automation_is_refused(api, definition):
    """A typo saved from one draft's email panel would fail the live runs of every automation that
    sends the template: refused, naming the field, the automation and the step; nothing saved."""
    live = services.create_automation(definition)
    services.activate(live)
    url = "/api/email-templates/payment_failed_gentle/"
    template = {name: value for name, value in api.get(url).json().items() if name in ("name", "body_text", "body_html")}
    refused = api.put(url, {**template, "subject": "Hi {{ customer.nme }}"}, format="json")
    assert refused.status_code == 400
    assert refused.json()["errors"] == [{"field": "subject", "message": (
        "customer.nme: customer has no field nme; did you mean name? (“Payment dunning” v1, active, sends it at "
        "step gentle)")}]
    assert "nme" not in EmailTemplate.objects.get(key="payment_failed_gentle").subject
    assert api.put(url, {**template, "subject": "Hi {{ customer.name or 'there' }}"}, format="json").status_code == 200


def test_revisions_list_every_draft_save_with_its_diff_and_restore_one(api, definition):
    created = api.post("/api/automations/", definition, format="json").json()
    url = f"/api/automations/{created['id']}/"
    for duration in ("2d", "4d"):
        definition["steps"][1]["duration"] = duration
        assert api.put(url, definition, format="json").status_code == 200
    revisions = api.get(url + "revisions/").json()["results"]
    assert [(r["version"], r["event"], r["author"]) for r in revisions] == [(1, "saved", "ops")] * 3
    assert revisions[0]["diff"]["lines"] == ["wait_3d: duration 2d -> 4d"]
    assert revisions[1]["diff"]["lines"] == ["wait_3d: duration 3d -> 2d"]
    restored = api.post(url + f"revisions/{revisions[1]['id']}/restore/").json()
    assert restored["draft_definition"]["steps"][1]["duration"] == "2d"
    assert api.post(url + "revisions/999999/restore/").status_code == 404


def test_the_detail_counts_live_runs_by_version_and_the_run_view_reads_step_states(api, dunning, engine):
    engine.emit("payment.failed", sample("payment.failed"), id="evt_1")
    body = api.get(f"/api/automations/{dunning.pk}/").json()
    assert body["live_executions"] == {"1": 1}
    execution = Execution.objects.get()
    detail = api.get(f"/api/executions/{execution.pk}/").json()
    assert detail["step_states"]["gentle"] == {"status": "succeeded", "label": "succeeded", "attempts": 1, "runs": 1}
    assert detail["step_states"]["wait_3d"]["status"] == "waiting"
    assert detail["step_states"]["wait_3d"]["label"] == "waiting until 2026-11-23 10:00 UTC"
    assert "retry" not in detail["step_states"] and detail["ending"] is None
    services.cancel_execution(execution, "canceled by ops")
    detail = api.get(f"/api/executions/{execution.pk}/").json()
    assert detail["ending"]["label"] == "Canceled by ops"
    assert detail["step_states"]["wait_3d"] == {
        "status": "canceled", "label": "canceled while waiting (the wait would have ended 2026-11-23 10:00 UTC)",
        "attempts": 1, "runs": 1}


def test_the_actions_catalogue_tells_the_builder_outputs_and_template_fields(api):
    actions = {item["action"]: item for item in api.get("/api/actions/").json()["results"]}
    assert "decline_code" in actions["retry_payment"]["output_schema"]["properties"]
    assert actions["send_email"]["literal_fields"] == ["template", "send_window"]
    assert actions["send_webhook"]["secret_fields"] == ["secret"]
    assert actions["send_email"]["config_schema"]["properties"]["to"]["description"]


def test_a_viewer_reads_versions_and_revisions(viewer, api, definition):
    created = api.post("/api/automations/", definition, format="json").json()
    assert viewer.get(f"/api/automations/{created['id']}/versions/").status_code == 200
    assert viewer.get(f"/api/automations/{created['id']}/revisions/").status_code == 200
    assert viewer.post(f"/api/automations/{created['id']}/revisions/1/restore/").status_code == 403


def test_test_mode_reads_billing_data_unless_told_to_read_the_test_data_alone(api, engine):
    engine.emit("customer.created", {"customer": {"id": "cus_7", "email": "a@b.example", "segment": "smb"}})
    definition = {"name": "Segments", "trigger": {"type": "event", "event": "customer.created"}, "steps": [
        {"key": "smb", "type": "branch", "if": {"all": [{"field": "customer.segment", "operator": "equals",
                                                          "value": "smb"}]},
         "then": [{"key": "yes", "type": "stop"}], "else": [{"key": "no", "type": "stop"}]}]}
    data = {"customer": {"id": "cus_7", "email": "a@b.example", "segment": "enterprise"}}
    live = api.post("/api/automations/test/", {"definition": definition, "data": data}, format="json").json()
    assert live["timeline"][0]["branch"] == "then" and live["billing_data"] is True
    alone = api.post("/api/automations/test/", {"definition": definition, "data": data, "billing_data": False},
                     format="json").json()
    assert alone["timeline"][0]["branch"] == "else" and alone["billing_data"] is False


def test_validate_refuses_unknown_fields_beside_them_with_the_nearest_one(api, definition):
    definition["steps"][2]["if"]["all"][0]["field"] = "invoice.statsu"
    answer = api.post("/api/automations/validate/", definition, format="json").json()
    assert answer["valid"] is False
    assert answer["errors"] == [{"field": "steps.still_unpaid.if.all[0].field",
                                 "message": "invoice.statsu: invoice has no field statsu; did you mean status?"}]
    definition["steps"][1]["duration"] = "soon"  # invalid elsewhere: the unknown field is still named
    answer = api.post("/api/automations/validate/", definition, format="json").json()
    assert answer["valid"] is False
    assert {error["field"] for error in answer["errors"]} == {"steps.wait_3d.duration",
                                                              "steps.still_unpaid.if.all[0].field"}


def test_render_preview_warns_when_a_variable_renders_empty(api):
    data = sample("payment.failed", customer={"name": ""})
    answer = api.post("/api/render-preview/", {"templates": {"subject": "Hi {{ customer.name }}"}, "data": data},
                      format="json").json()
    assert answer["rendered"] == {"subject": "Hi "}
    assert answer["warnings"] == [{"field": "subject", "message": "customer.name rendered empty"}]


FIRST_BUSINESS_DAY = {"kind": "calendar", "rule": "first_business_day_of_month", "time": "09:00",
                      "timezone": "Europe/Berlin"}


def test_schedule_preview_applies_the_holiday_calendar(api):
    plain = api.post("/api/schedule-preview/", {"schedule": FIRST_BUSINESS_DAY}, format="json").json()["next"]
    bavaria = {**FIRST_BUSINESS_DAY, "holidays": {"country": "DE", "subdiv": "BY"}}
    answer = api.post("/api/schedule-preview/", {"schedule": bavaria}, format="json")
    assert answer.status_code == 200
    assert plain[1] == "2027-01-01T08:00:00Z"
    assert answer.json()["next"][1] == "2027-01-04T08:00:00Z", "New Year's Day is skipped"


@pytest.mark.parametrize("holidays, field, named", [
    ({"country": "XX"}, "trigger.schedule.holidays.country", "'XX'"),
    ({"country": "DE", "subdiv": "ZZ"}, "trigger.schedule.holidays.subdiv", "'ZZ' is not a subdivision of DE"),
    ({"country": "BT", "subdiv": None}, "trigger.schedule.holidays.subdiv", "must be a subdivision code; known: 11, 12"),
])
def test_an_unknown_holiday_country_or_subdivision_is_refused_on_save(api, holidays, field, named):
    definition = {"name": "Month start", "trigger": {"type": "schedule",
                                                      "schedule": {**FIRST_BUSINESS_DAY, "holidays": holidays}},
                  "steps": [{"key": "note", "type": "action", "action": "create_task", "config": {"title": "Go"}}]}
    answer = api.post("/api/automations/", definition, format="json")
    assert answer.status_code == 400
    errors = answer.json()["errors"]
    assert [error["field"] for error in errors] == [field] and named in errors[0]["message"]
    preview = api.post("/api/schedule-preview/", {"schedule": definition["trigger"]["schedule"]}, format="json")
    assert preview.status_code == 400 and preview.json()["errors"][0]["field"] == field


def test_test_mode_runs_as_the_next_slot_with_holidays_applied(api):
    from datetime import datetime, timezone

    from automations import clock

    clock.set_now(datetime(2026, 12, 15, tzinfo=timezone.utc))
    schedule = {**FIRST_BUSINESS_DAY, "holidays": {"country": "DE", "subdiv": "BY"}}
    definition = {"name": "Month start", "trigger": {"type": "schedule", "schedule": schedule},
                  "steps": [{"key": "note", "type": "action", "action": "create_task",
                             "config": {"title": "Run for {{ schedule.slot }}"}}]}
    created = api.post("/api/automations/", definition, format="json").json()
    answer = api.post(f"/api/automations/{created['id']}/test/", {}, format="json")
    assert answer.status_code == 200, answer.json()
    assert "Run for 2027-01-04T08:00:00+00:00" in str(answer.json()["timeline"]), "not New Year's Day"


@pytest.mark.parametrize("every", ["0d", "PT0S"])
def test_an_interval_of_no_time_is_refused_by_field(api, every):
    answer = api.post("/api/schedule-preview/", {"schedule": {"kind": "interval", "every": every}}, format="json")
    assert answer.status_code == 400
    assert answer.json()["errors"] == [{"field": "trigger.schedule.every", "message": "must be longer than no time at all"}]


def test_an_interval_start_that_is_not_a_date_time_is_refused_by_field(api):
    schedule = {"kind": "interval", "every": "1h", "start": "2026-02-30T09:00", "timezone": "America/New_York"}
    answer = api.post("/api/schedule-preview/", {"schedule": schedule}, format="json")
    assert answer.status_code == 400 and answer.json()["errors"][0]["field"] == "trigger.schedule.start"


def test_two_automations_on_the_same_event_are_worth_a_check_where_either_is_edited(api, definition):
    """Two live automations on payment.failed both start for a customer who meets the entry
    conditions of both: validation says so at the trigger (a warning, saving and activating are
    not stopped)."""
    first = services.create_automation({**definition, "name": "Dunning for SMB"})
    services.activate(first)
    answer = api.post("/api/automations/validate/", {**definition, "name": "Dunning for enterprise"},
                      format="json").json()
    assert answer["valid"] is True
    assert answer["warnings"] == [{"field": "trigger.event", "message": (
        "“Dunning for SMB” (active) also starts on every payment.failed event: a customer who meets the entry "
        "conditions of both gets both runs. Entry conditions that exclude each other keep them apart.")}]
    # an automation is not warned about itself; a paused one still counts, a draft never started does not
    assert api.post(f"/api/automations/{first.pk}/validate/", definition, format="json").json()["warnings"] == []
    services.pause(first)
    services.create_automation({**definition, "name": "Never activated"})
    answer = api.post("/api/automations/validate/", definition, format="json").json()
    assert [warning["message"][:31] for warning in answer["warnings"]] == ["“Dunning for SMB” (paused) also"]
    definition["trigger"] = {"type": "event", "event": "invoice.paid"}
    assert api.post("/api/automations/validate/", definition, format="json").json()["warnings"] == []


def test_a_library_template_is_checked_tested_and_saved_as_the_builder_made_it(api):
    from automations import library
    from automations.models import Automation, EmailTemplate

    definition = library.get_template("payment_dunning")["definition"]
    # Before it is saved its email templates are lent for the check and the test, and nothing stays.
    assert api.post("/api/automations/validate/", definition, format="json").json()["valid"] is False
    checked = api.post("/api/automations/validate/?template=payment_dunning", definition, format="json").json()
    assert checked["valid"] is True and checked["errors"] == []
    tested = api.post("/api/automations/test/?template=payment_dunning", {"definition": definition}, format="json")
    assert tested.status_code == 200 and tested.json()["status"] == "succeeded"
    paths = api.post("/api/automations/test-paths/?template=payment_dunning", {"definition": definition},
                     format="json")
    assert paths.status_code == 200 and paths.json()["paths"]
    assert not EmailTemplate.objects.exists() and not Automation.objects.exists()
    refused = api.post("/api/automations/validate/?template=nope", definition, format="json")
    assert refused.status_code == 400 and refused.json()["errors"][0]["field"] == "template"

    # A definition refused on save leaves nothing behind, email templates included.
    broken = {**definition, "steps": [{**definition["steps"][0], "key": "Bad Key"}]}
    response = api.post("/api/templates/payment_dunning/instantiate/", {"definition": broken}, format="json")
    assert response.status_code == 400
    assert not EmailTemplate.objects.exists() and not Automation.objects.exists()
    # Saved: the definition as the operator made it, with the template's email templates.
    response = api.post("/api/templates/payment_dunning/instantiate/",
                        {"definition": {**definition, "name": "Dunning, gentler"}}, format="json")
    assert response.status_code == 201 and response["ETag"] == f'"{response.json()["revision"]}"'
    assert response.json()["draft_definition"]["name"] == "Dunning, gentler"
    assert EmailTemplate.objects.count() == 4
