"""Editing the library's dunning in the builder: a delay changed and activated as v2, moves by
keyboard and by drag, a bad duration shown beside its field and on its card, the test panel,
and what a view-only user and an anonymous visitor get."""
from __future__ import annotations

import re

import pytest

from tests.browser.conftest import activate_version, login, screenshot
from tests.conftest import sample
from automations.definition.serialize import definition_of

pytestmark = pytest.mark.django_db(transaction=True)


def open_builder(page, automation, username="ops"):
    login(page, username)
    page.goto(f"/admin/automations/automation/{automation.pk}/builder/")
    page.locator("#ab-builder[data-validated]").wait_for(state="attached")


def card(page, key):
    return page.locator(f"[data-step-key={key}] > .ab-card")


def keys_in(page, lane):
    return page.locator(f"ol[data-lane='{lane}'] > li.ab-step").evaluate_all("items => items.map(i => i.dataset.stepKey)")


def test_a_delay_changed_to_two_days_and_activated_is_v2_with_a_one_field_diff(page, operator, dunning):
    from billing_events import emit

    emit("payment.failed", sample("payment.failed"), id="evt_live")  # one run stays on v1
    open_builder(page, dunning)
    card(page, "wait_3d").locator(".ab-select").click()
    page.locator(".ab-panel").get_by_label("duration", exact=True).fill("2d")
    assert "wait 2 days" in card(page, "wait_3d").inner_text()
    page.get_by_role("button", name="Save draft").click()
    page.get_by_text("All changes saved").wait_for()
    assert "1 live execution stays on the version it started on (v1: 1)" in activate_version(page, 2)

    dunning.refresh_from_db()
    assert dunning.active_version.number == 2
    diff = dunning.versions.get(number=2)
    from automations.definition.diff import diff_definitions

    changes = diff_definitions(definition_of(dunning.versions.get(number=1)), definition_of(diff))
    assert changes["changed"] == [{"key": "wait_3d", "fields": ["duration"],
                                   "changes": [{"field": "duration", "from": "3d", "to": "2d"}]}]
    assert not changes["moved"] and not changes["added"] and not changes["removed"]

    page.get_by_role("tab", name="Versions").click()
    version_2 = page.locator(".ab-version").first
    version_2.get_by_text(re.compile("^Changes:")).click()
    assert version_2.locator(".ab-diff li").all_inner_texts() == ["wait_3d: duration 3d -> 2d"]
    revisions = page.locator(".ab-revision")
    assert "Version 2 activated" in revisions.first.inner_text()
    revisions.nth(1).locator("summary").click()
    assert "wait_3d: duration 3d -> 2d" in revisions.nth(1).inner_text()


def test_a_step_moves_with_the_keyboard_alone(page, operator, dunning):
    open_builder(page, dunning)
    card(page, "final").locator(".ab-select").focus()
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.getAttribute('aria-label')") == "Move up"
    page.keyboard.press("Enter")
    assert keys_in(page, "steps")[-2:] == ["final", "paid_meanwhile"]
    page.locator("#ab-live").get_by_text("Moved final up: now 5 of 6 in Main flow.").wait_for()
    # Focus stays on the moved card's button, so pressing again moves it again.
    page.keyboard.press("Enter")
    assert keys_in(page, "steps")[-3:] == ["final", "wait_7d", "paid_meanwhile"]
    # Move to… another lane, from the keyboard: the card's tools are one tab stop, arrows move in it.
    page.keyboard.press("ArrowRight")
    page.keyboard.press("ArrowRight")
    assert page.evaluate("document.activeElement.getAttribute('aria-label')") == "Move to…"
    page.keyboard.press("Enter")
    dialog = page.get_by_role("dialog", name="Move final")
    dialog.get_by_label("Lane").select_option(label="Else of paid_meanwhile")
    dialog.get_by_label("Lane").press("Tab")
    page.keyboard.press("Tab")
    page.keyboard.press("Enter")
    assert keys_in(page, "paid_meanwhile.else") == ["final"]
    page.locator("#ab-live").get_by_text("Moved final: now 1 of 1 in Else of paid_meanwhile.").wait_for()
    page.keyboard.press("Control+z")
    assert keys_in(page, "paid_meanwhile.else") == []
    page.get_by_role("button", name="Save draft").click()
    page.get_by_text("All changes saved").wait_for()
    dunning.refresh_from_db()
    saved = [step["key"] for step in definition_of(dunning.draft_version)["steps"]]
    assert saved[-3:] == ["final", "wait_7d", "paid_meanwhile"]


def drag(page, handle, target) -> None:
    """Press on the drag handle and glide to the target's middle the way a hand would, aiming
    at where the target is now at each move (cards shift while one is dragged)."""
    box = handle.bounding_box()
    x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    page.mouse.move(x, y)
    page.mouse.down()
    for _ in range(40):
        goal = target.bounding_box()
        goal_x, goal_y = goal["x"] + 40, goal["y"] + goal["height"] / 2
        x, y = x + (goal_x - x) / 4, y + (goal_y - y) / 4
        page.mouse.move(x, y)
        page.wait_for_timeout(25)
    page.mouse.up()


def test_a_step_dragged_into_a_branch_lane(page, operator, dunning):
    page.set_viewport_size({"width": 1366, "height": 2600})  # source and target on screen at once
    open_builder(page, dunning)
    drag(page, card(page, "final").locator(".ab-drag"), page.locator("ol[data-lane='paid_meanwhile.else']"))
    page.locator("ol[data-lane='paid_meanwhile.else'] > li[data-step-key='final']").wait_for()
    assert keys_in(page, "paid_meanwhile.else") == ["final"]
    assert "final" not in keys_in(page, "steps")
    page.locator("#ab-live").get_by_text("Moved final: now 1 of 1 in Else of paid_meanwhile.").wait_for()
    page.get_by_role("button", name="Save draft").click()
    page.get_by_text("All changes saved").wait_for()
    dunning.refresh_from_db()
    [branch] = [step for step in definition_of(dunning.draft_version)["steps"] if step["key"] == "paid_meanwhile"]
    assert [step["key"] for step in branch["else"]] == ["final"]


def test_a_bad_duration_is_shown_beside_the_field_and_on_the_card(page, operator, dunning):
    open_builder(page, dunning)
    card(page, "wait_3d").locator(".ab-select").click()
    duration = page.locator(".ab-panel").get_by_label("duration", exact=True)
    field = page.locator(".ab-panel [data-field=duration]")
    assert "ISO 8601" not in field.inner_text() and "3d (days)" in field.inner_text()
    duration.fill("soon")
    field.locator(".ab-errors li").get_by_text(re.compile("'soon' is not a duration")).wait_for()
    assert duration.get_attribute("aria-invalid") == "true"
    assert card(page, "wait_3d").locator(".ab-badge").inner_text() == "1 problem"
    activate = page.get_by_role("button", name="Activate")
    assert activate.is_disabled()
    assert page.locator("#ab-activate-why").inner_text() == "Activate is off: fix the 1 problem first."
    page.get_by_role("button", name="1 problem").click()
    page.get_by_role("dialog", name="Problems").get_by_role("button", name=re.compile("wait_3d · duration")).click()
    assert page.evaluate("document.activeElement.closest('[data-field]').dataset.field") == "duration"
    screenshot(page, "builder-problem")
    duration.fill("2d")
    page.get_by_role("button", name="0 problems").wait_for()
    assert card(page, "wait_3d").locator(".ab-badge").count() == 0
    assert activate.is_enabled()
    # A field the entity does not have is a problem too, named with the nearest one it has.
    card(page, "still_unpaid").locator(":scope > .ab-card-head .ab-select").click()
    condition_field = page.locator(".ab-panel").get_by_label("field", exact=True)
    condition_field.fill("invoice.statsu")
    condition_field.press("Tab")
    card(page, "still_unpaid").locator(":scope > .ab-card-head .ab-badge").get_by_text("1 problem").wait_for()
    assert page.locator(".ab-panel [data-field='if.all[0].field'] .ab-errors li").inner_text() == (
        "invoice.statsu: invoice has no field statsu; did you mean status?")
    assert activate.is_disabled()
    page.keyboard.press("Control+z")
    card(page, "wait_3d").locator(".ab-select").click()
    # What the server refused survives a reload until it is fixed or discarded.
    duration.fill("later")
    field.locator(".ab-errors li").wait_for()
    page.reload()
    page.locator("[data-step-key=gentle]").wait_for()
    assert "wait later" in card(page, "wait_3d").inner_text()
    page.get_by_role("button", name="Discard them").click()
    assert "wait 3 days" in card(page, "wait_3d").inner_text()


def test_the_test_panel_runs_the_dunning_to_day_10_and_sends_nothing(page, operator, dunning):
    from django.core import mail

    from automations.models import Execution
    from billing_events.models import Payment

    open_builder(page, dunning)
    page.get_by_role("button", name="Test", exact=True).click()
    timeline = page.locator(".ab-timeline")
    timeline.wait_for()
    days = timeline.locator(".ab-day__title").all_inner_texts()
    assert days == ["Day 0", "Day 3", "Day 10"]
    assert "Subject We couldn't process your payment for INV-2026-0042" in timeline.inner_text()
    assert "Took Else" in timeline.locator("[data-test-step=retry_worked]").inner_text()
    assert "nothing was sent, charged or written" in timeline.inner_text()
    # A run that went past a declined payment never reads "succeeded" (collected)
    assert "Ends completed, payment declined, after 10d." in timeline.inner_text()
    # The tick box sits beside its words, on one line.
    box = page.get_by_label("Read the billing data, as a real run does").bounding_box()
    words = page.locator("label[for=ab-test-billing]").bounding_box()
    assert words["x"] > box["x"] + box["width"] and abs(words["y"] - box["y"]) < box["height"]
    # The path taken is drawn on the flow.
    assert "Test: day 10" in card(page, "final").inner_text()
    assert "not reached" in card(page, "recovered").inner_text()
    screenshot(page, "builder-test-panel")
    assert mail.outbox == [] and not Execution.objects.exists() and not Payment.objects.exists()


def test_the_success_path_is_tested_by_choosing_what_the_payment_answers(page, operator, dunning):
    open_builder(page, dunning)
    page.get_by_role("button", name="Test", exact=True).click()
    page.locator(".ab-timeline").wait_for()
    # The sample customer's card declines: the test predicts what a live run would do.
    assert "payment declined: card_declined" in page.locator("[data-test-step=retry]").inner_text()
    page.get_by_text("What the actions answer").click()
    page.get_by_role("group", name="Retry payment: retry").get_by_label("attempt 1").select_option(label="Pays")
    page.get_by_role("button", name="Run test").click()
    page.locator("[data-test-step=recovered]").wait_for()
    timeline = page.locator(".ab-timeline").inner_text()
    assert "as the scenario chose (Pays)" in timeline and "Took Then" in timeline
    # The payment is said in words, not as the raw answer.
    retry = page.locator("[data-test-step=retry]").inner_text()
    assert "Billing charges 1250.00 USD → succeeded" in retry and "{" not in retry
    assert "Ends completed after 3d." in timeline
    assert "Test: day 3" in card(page, "recovered").inner_text()
    assert "not reached" in card(page, "urgent").inner_text()
    screenshot(page, "builder-test-scenario-pays")


def test_an_attempt_left_as_predicted_after_a_chosen_one_is_predicted_not_the_choice_again(page, operator, dunning):
    """Attempt 1 of the first email is "not sent for now"; attempts 2 to 5 left "as predicted":
    the second attempt is sent, as live, and the run goes on (the choice does not repeat)."""
    open_builder(page, dunning)
    page.get_by_role("button", name="Test", exact=True).click()
    page.locator(".ab-timeline").wait_for()
    page.get_by_text("What the actions answer").click()
    page.get_by_role("group", name="Send email: gentle").get_by_label("attempt 1").select_option(
        value="fails_temporarily")
    page.get_by_role("button", name="Run test").click()
    chosen = "as the scenario chose (Not sent for now: the mail server asks to try later)"
    page.get_by_text(chosen).wait_for()
    gentle = page.locator("[data-test-step=gentle]").all_inner_texts()
    assert len(gentle) == 2 and chosen not in gentle[1], gentle
    assert "Ends failed" not in page.locator(".ab-timeline").inner_text()


def test_every_path_is_tested_with_its_scenario_and_what_no_scenario_reaches_is_named(page, operator, dunning):
    open_builder(page, dunning)
    page.get_by_role("button", name="Test", exact=True).click()
    page.get_by_role("button", name="Test every path").click()
    paths = page.locator(".ab-paths")
    paths.wait_for()
    text = paths.inner_text()
    assert "retry: Pays" in text and "retry_worked: then" in text
    assert "No scenario reaches: still_unpaid: else" in text
    # A path that went on past the declined retry reads as the run view says it, never "succeeded".
    predicted = page.locator(".ab-path").filter(has_text="everything as predicted")
    assert "Ends completed, payment declined, after" in predicted.inner_text()
    assert "succeeded" not in text
    paid = page.locator(".ab-path").filter(has_text="retry: Pays")
    screenshot(page, "builder-test-every-path")
    paid.get_by_role("button", name="Show this path").click()
    page.locator("[data-test-step=recovered]").wait_for()
    assert "Test: day 3" in card(page, "recovered").inner_text()


def test_a_view_only_user_sees_everything_and_can_change_nothing(page, dunning, django_user_model):
    from django.contrib.auth.models import Permission

    viewer = django_user_model.objects.create_user("viewer", password="pw", is_staff=True)
    viewer.user_permissions.add(*Permission.objects.filter(codename__in=["view_automation", "view_execution",
                                                                         "view_emailtemplate"]))
    open_builder(page, dunning, username="viewer")
    assert page.get_by_text("Read only").is_visible()
    for name in ("Save draft", "Activate", "Undo", "Redo", "Add step", "Move up", "Delete step"):
        assert page.get_by_role("button", name=name).count() == 0 or not page.get_by_role("button", name=name).first.is_visible()
    card(page, "wait_3d").locator(".ab-select").click()
    duration = page.locator(".ab-panel").get_by_label("duration", exact=True)
    assert duration.input_value() == "3d" and not duration.is_editable()
    page.get_by_role("button", name="Test", exact=True).click()
    page.locator(".ab-timeline").wait_for()  # test mode changes nothing: allowed
    page.get_by_role("tab", name="Versions").click()
    page.get_by_text("Version 1").first.wait_for()
    assert page.get_by_role("button", name=re.compile("^Restore")).count() == 0


def test_a_user_who_may_only_view_automations_and_executions_sees_the_flow_without_templates(
        page, dunning, django_user_model):
    """No permission on email templates: the flow is drawn read only, the templates left out and
    said to be, and the page asks the API for nothing it would refuse."""
    from django.contrib.auth.models import Permission

    viewer = django_user_model.objects.create_user("viewer", password="pw", is_staff=True)
    viewer.user_permissions.add(*Permission.objects.filter(codename__in=["view_automation", "view_execution"]))
    refused = []
    page.on("response", lambda response: refused.append(f"{response.status} {response.url}")
            if "/api/" in response.url and 400 <= response.status < 500 else None)
    open_builder(page, dunning, username="viewer")
    assert page.get_by_text("Read only").is_visible()
    for key in ("gentle", "wait_3d", "still_unpaid", "final"):
        assert card(page, key).is_visible()
    assert "wait 3 days" in card(page, "wait_3d").inner_text()
    assert "payment_failed_gentle" in card(page, "gentle").inner_text()
    card(page, "gentle").locator(".ab-select").click()
    panel = page.locator(".ab-panel")
    panel.get_by_text("You may not see email templates").wait_for()
    template = panel.get_by_label("template", exact=True)
    assert template.input_value() == "payment_failed_gentle" and template.is_disabled()
    screenshot(page, "builder-view-only-no-templates")
    assert refused == []


def test_an_anonymous_visitor_is_sent_to_login(page, dunning):
    page.goto(f"/admin/automations/automation/{dunning.pk}/builder/")
    assert "/admin/login/" in page.url


def test_a_field_the_customer_does_not_have_in_an_email_subject_is_a_problem_beside_it(page, operator, dunning):
    open_builder(page, dunning)
    card(page, "gentle").locator(".ab-select").click()
    panel = page.locator(".ab-panel")
    panel.get_by_label("written here").check()
    subject = panel.get_by_label("subject", exact=True)
    subject.fill("Hi {{ customer.nme }}")
    panel.get_by_label("body", exact=True).fill("Your invoice {{ invoice.number }} is unpaid.")
    field = panel.locator("[data-field='config.subject']")
    field.locator(".ab-errors li").get_by_text("customer.nme: customer has no field nme; did you mean name?").wait_for()
    assert subject.get_attribute("aria-invalid") == "true"
    assert card(page, "gentle").locator(".ab-badge").inner_text() == "1 problem"
    activate = page.get_by_role("button", name="Activate")
    assert activate.is_disabled()
    assert page.locator("#ab-activate-why").inner_text() == "Activate is off: fix the 1 problem first."
    page.set_viewport_size({"width": 1366, "height": 1300})  # the whole panel, which scrolls on its own
    screenshot(page, "builder-unknown-field")
    page.set_viewport_size({"width": 1366, "height": 900})
    # Saving is refused too: nothing half-valid is stored.
    page.get_by_role("button", name="Save draft").click()
    page.get_by_text(re.compile("^Not saved: 1 problem")).wait_for()
    assert dunning.versions.count() == 1 and dunning.draft_version is None

    # The picker marks what may be missing and inserts it with a default, which the server accepts.
    subject.fill("Hi ")
    page.get_by_role("button", name="Insert variable into subject").click()
    picker = page.get_by_role("dialog", name="Insert a variable")
    picker.get_by_label("Filter variables").fill("account_manager")
    option = picker.locator("[data-path='customer.metadata.account_manager']")
    assert "optional" in option.inner_text()
    assert picker.locator("[data-path='customer.name']").count() == 0 or "optional" not in picker.locator(
        "[data-path='customer.name']").inner_text()
    screenshot(page, "builder-picker-optional")
    option.click()
    assert subject.input_value() == 'Hi {{ customer.metadata.account_manager | default("") }}'
    page.get_by_role("button", name="0 problems").wait_for()
    assert activate.is_enabled()


def test_unsaved_changes_brought_back_by_a_reload_stop_being_offered_to_discard_once_saved(page, operator, dunning):
    open_builder(page, dunning)
    card(page, "wait_3d").locator(".ab-select").click()
    page.locator(".ab-panel").get_by_label("duration", exact=True).fill("4d")
    page.reload()
    page.locator("[data-step-key=gentle]").wait_for()
    notice = page.locator(".ab-notices")
    notice.get_by_text(re.compile("Your unsaved changes from .* are back.")).wait_for()
    page.get_by_role("button", name="Save draft").click()
    page.get_by_text("All changes saved").wait_for()
    assert "are back" not in notice.inner_text()
    assert page.get_by_role("button", name="Discard them").count() == 0
    assert "wait 4 days" in card(page, "wait_3d").inner_text()


def test_activating_names_another_live_automation_on_the_same_event_in_the_confirmation(page, operator, dunning):
    from automations import library

    second = library.instantiate("payment_dunning")
    # Without anything to check, the confirmation says what activating does, and nothing else.
    open_builder(page, dunning)
    card(page, "wait_3d").locator(".ab-select").click()
    page.locator(".ab-panel").get_by_label("duration", exact=True).fill("2d")
    said = activate_version(page, 2)
    assert said.splitlines()[:3] == ["Activate version 2?", "",
                                     "New runs will start on version 2. No execution is running or waiting now."]
    assert "Check" not in said and "null" not in said
    page.goto(f"/admin/automations/automation/{second.pk}/builder/")
    page.locator("#ab-builder[data-validated]").wait_for(state="attached")
    page.get_by_role("button", name="Activate").click()
    dialog = page.get_by_role("dialog", name="Activate version 1?")
    dialog.get_by_text(re.compile("^Check: “Payment dunning” \\(active\\) also starts on every payment.failed event")).wait_for()
    screenshot(page, "builder-activate-overlap")
    dialog.get_by_role("button", name="Cancel").click()
    second.refresh_from_db()
    assert second.active_version is None
