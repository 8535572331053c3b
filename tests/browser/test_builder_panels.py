"""The side panel's helpers in a real browser: the variable picker, the email template editor with
its preview, the schedule editor's next run times, a host's own action in the insert menu, the
card tools with undo and redo, and the run view's buttons."""
from __future__ import annotations

import re

import pytest

from tests.browser.conftest import ARTIFACTS, login, screenshot
from tests.browser.test_builder_editing import card, keys_in, open_builder
from tests.conftest import sample

pytestmark = pytest.mark.django_db(transaction=True)


def screenshot_path(name):
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS / f"{name}.png"


def test_the_variable_picker_offers_what_is_in_scope_and_inserts_it(page, operator, dunning):
    open_builder(page, dunning)
    card(page, "follow_up").locator(".ab-select").click()
    title = page.locator(".ab-panel").get_by_label("title", exact=True)
    page.get_by_role("button", name="Insert variable into title").click()
    picker = page.get_by_role("dialog", name="Insert a variable")
    paths = picker.locator(".ab-var code").all_inner_texts()
    assert "customer.email" in paths and "steps.retry.output.decline_code" in paths
    assert "steps.retry_worked.output.branch" in paths and not any(path.startswith("steps.final") for path in paths)
    assert "billing@acme.example" in picker.locator("[data-path='customer.email']").inner_text()
    picker.get_by_label("Filter variables").fill("amount_due")
    picker.locator("[data-path='invoice.amount_due']").click()
    assert title.input_value().endswith("{{ invoice.amount_due }}")
    # Typing {{ suggests variables under the field; the cursor stays in it and typing filters.
    title.press("End")
    title.type(" {{ invoice.num")
    suggestions = page.get_by_role("listbox", name="Variables")
    assert suggestions.get_by_role("option").all_inner_texts()[0].startswith("invoice.number")
    assert page.evaluate("document.activeElement.closest('[data-field]').dataset.field") == "config.title"
    title.press("Enter")
    assert title.input_value().endswith("{{ invoice.amount_due }} {{ invoice.number }}")
    assert suggestions.count() == 0
    # Typing a whole template by hand is never swallowed: Escape closes the list and typing goes on.
    title.type(" and {{ cus")
    title.press("Escape")
    title.type("tomer.name }} done")
    assert title.input_value().endswith("{{ invoice.number }} and {{ customer.name }} done")
    assert page.get_by_role("listbox", name="Variables").count() == 0
    title.fill(title.input_value().replace(" and {{ customer.name }} done", ""))
    assert "{{ invoice.amount_due }} {{ invoice.number }}" in card(page, "follow_up").inner_text()


def test_the_email_template_is_edited_in_the_panel_with_a_preview(page, operator, dunning):
    from automations.models import EmailTemplate

    open_builder(page, dunning)
    card(page, "gentle").locator(".ab-select").click()
    preview = page.locator(".ab-preview")
    preview.get_by_text("Subject: We couldn't process your payment for INV-2026-0042").wait_for()
    assert "Hi Acme Corp," in preview.inner_text()
    page.locator(".ab-panel").get_by_label("subject", exact=True).fill("Payment for {{ invoice.number }}, {{ customer.name }}")
    preview.get_by_text("Subject: Payment for INV-2026-0042, Acme Corp").wait_for()
    page.locator(".ab-panel").get_by_label("subject", exact=True).fill("Oops {{ customer.nmae }}")
    preview.locator(".ab-errors li").get_by_text(re.compile("subject: .*nmae")).wait_for()
    page.locator(".ab-panel").get_by_label("subject", exact=True).fill("Payment for {{ invoice.number }}")
    page.get_by_role("button", name="Save email template").click()
    page.get_by_text("Email template saved.").wait_for()
    assert EmailTemplate.objects.get(key="payment_failed_gentle").subject == "Payment for {{ invoice.number }}"
    screenshot(page, "builder-email-panel")


def test_choosing_another_stored_template_shows_that_template_and_saves_that_one(page, operator, dunning):
    """The editor and preview follow the template chosen; left on the previous one, its Save button
    would change a template the step no longer sends."""
    from automations.models import EmailTemplate

    open_builder(page, dunning)
    card(page, "gentle").locator(".ab-select").click()
    panel = page.locator(".ab-panel")
    preview = page.locator(".ab-preview")
    preview.get_by_text("Subject: We couldn't process your payment for INV-2026-0042").wait_for()
    panel.get_by_label("template", exact=True).select_option("payment_failed_final")
    panel.get_by_text("Email template payment_failed_final: shared by every step that sends it").wait_for()
    preview.get_by_text("Subject: Final notice: invoice INV-2026-0042").wait_for()
    assert panel.get_by_label("subject", exact=True).input_value() == "Final notice: invoice {{ invoice.number }}"
    assert page.evaluate("document.activeElement.id") == "template-gentle"
    panel.get_by_label("subject", exact=True).fill("Last notice: {{ invoice.number }}")
    page.get_by_role("button", name="Save email template").click()
    page.get_by_text("Email template saved.").wait_for()
    assert EmailTemplate.objects.get(key="payment_failed_final").subject == "Last notice: {{ invoice.number }}"
    assert EmailTemplate.objects.get(key="payment_failed_gentle").subject.startswith("We couldn't process")


def test_the_email_preview_renders_earlier_steps_outputs_as_test_mode_predicts_them(page, operator, dunning):
    """No test run needed: the retry before the urgent email is predicted to decline (the sample
    customer's card), and a step that does not run before it shows as a placeholder, said to be one."""
    open_builder(page, dunning)
    card(page, "urgent").locator(".ab-select").click()
    subject = page.locator(".ab-panel").get_by_label("subject", exact=True)
    preview = page.locator(".ab-preview")
    preview.get_by_text(re.compile("^Subject: ")).wait_for()
    subject.fill("Retry {{ steps.retry.output.status }}: {{ steps.retry.output.decline_code }}")
    preview.get_by_text("Subject: Retry failed: card_declined").wait_for()
    assert preview.locator(".ab-errors li:not(.ab-warning)").count() == 0
    # Written here instead of a stored template: the same prediction.
    page.locator(".ab-panel").get_by_label("written here").check()
    subject.fill("Task {{ steps.follow_up.output.task_id }} after {{ steps.retry.output.decline_code }}")
    preview.get_by_text("Subject: Task ‹steps.follow_up.output.task_id› after card_declined").wait_for()
    warning = preview.locator(".ab-errors li.ab-warning")
    assert "steps.follow_up.output.task_id is shown as a placeholder" in warning.inner_text()
    preview.scroll_into_view_if_needed()
    preview.screenshot(path=str(screenshot_path("builder-email-preview-earlier-steps")))


def test_the_schedule_editor_shows_the_next_five_runs_from_the_server(page, operator):
    login(page, "ops")
    page.goto("/admin/automations/automation/add/builder/")
    page.locator("#ab-builder[data-validated]").wait_for(state="attached")
    panel = page.locator(".ab-panel")
    panel.get_by_label("Starts with", exact=True).select_option("schedule")
    panel.get_by_label("kind", exact=True).select_option("cron")
    panel.get_by_label("expression", exact=True).fill("0 9 * * 1")
    panel.get_by_label("timezone", exact=True).fill("Europe/Berlin")
    runs = page.locator(".ab-next-runs ol li time")
    runs.nth(4).wait_for()
    # the runs for the timezone before it was filled in may be drawn first: wait for Berlin's
    page.wait_for_function("() => document.querySelector('.ab-next-runs ol li time')"
                           "?.getAttribute('datetime') === '2026-11-23T08:00:00Z'")
    assert runs.evaluate_all("items => items.map(i => i.getAttribute('datetime'))") == [
        "2026-11-23T08:00:00Z", "2026-11-30T08:00:00Z", "2026-12-07T08:00:00Z", "2026-12-14T08:00:00Z",
        "2026-12-21T08:00:00Z"]
    assert runs.first.inner_text() == "2026-11-23 09:00 Europe/Berlin", "on the schedule's own wall clock"
    assert page.locator(".ab-next-runs ol li").first.inner_text() == "2026-11-23 09:00 Europe/Berlin (2026-11-23 08:00 UTC)"
    panel.get_by_label("expression", exact=True).fill("0 9 * *")
    page.locator(".ab-next-runs .ab-errors li").get_by_text(re.compile("trigger.schedule.expression")).wait_for()
    panel.locator("[data-field='schedule.expression'] .ab-errors li").get_by_text(re.compile("5-field cron")).wait_for()
    panel.get_by_label("kind", exact=True).select_option("calendar")
    panel.get_by_label("rule", exact=True).select_option("nth_weekday_of_month")
    assert panel.get_by_label("weekday", exact=True).is_visible()
    assert "On the first monday of each month at 09:00 (UTC)" in page.locator(".ab-card--trigger").inner_text()
    # A business-day rule with Bavaria's holidays: New Year's Day 2027 (a Friday) gives way to Monday the 4th.
    panel.get_by_label("rule", exact=True).select_option("first_business_day_of_month")
    panel.get_by_label("timezone", exact=True).fill("Europe/Berlin")
    runs.nth(1).wait_for()
    page.wait_for_function("() => document.querySelectorAll('.ab-next-runs ol li time')[1]"
                           "?.getAttribute('datetime') === '2027-01-01T08:00:00Z'")
    panel.get_by_label("holiday country", exact=True).fill("DE")
    panel.get_by_label("holiday region", exact=True).fill("BY")
    page.wait_for_function("() => document.querySelectorAll('.ab-next-runs ol li time')[1]"
                           "?.getAttribute('datetime') === '2027-01-04T08:00:00Z'")
    assert "skipping DE-BY holidays" in page.locator(".ab-card--trigger").inner_text()
    screenshot(page, "builder-schedule-holidays")
    panel.get_by_label("holiday region", exact=True).fill("ZZ")
    page.locator(".ab-next-runs .ab-errors li").get_by_text(re.compile("trigger.schedule.holidays.subdiv")).wait_for()


def test_a_hosts_own_action_is_offered_in_the_insert_menu(page, operator, dunning):
    from automations.actions import registry
    from tests.host_project.providers import FlagForCollections

    with registry.register_temporarily(FlagForCollections):
        open_builder(page, dunning)
        page.locator("ol.ab-lane--main > li.ab-insert button").last.click()
        menu = page.get_by_role("dialog", name="Add a step")
        menu.get_by_label("Filter steps").fill("flag")
        menu.get_by_role("button", name=re.compile("^flag_for_collections")).click()
        assert keys_in(page, "steps")[-1] == "flag_for_collections"
        assert page.locator(".ab-panel").get_by_label("reason", exact=True).is_visible()


def test_duplicate_delete_undo_and_redo_from_the_cards(page, operator, dunning):
    open_builder(page, dunning)
    card(page, "wait_3d").get_by_role("button", name="Duplicate step").click()
    assert keys_in(page, "steps")[:3] == ["gentle", "wait_3d", "wait_3d_2"]
    page.locator("#ab-live").get_by_text("Duplicated wait_3d as wait_3d_2.").wait_for()
    card(page, "gentle").get_by_role("button", name="Delete step").click()
    assert keys_in(page, "steps")[:2] == ["wait_3d", "wait_3d_2"]
    page.get_by_role("button", name="Undo").click()
    assert keys_in(page, "steps")[:3] == ["gentle", "wait_3d", "wait_3d_2"]
    page.get_by_role("button", name="Undo").click()
    assert keys_in(page, "steps")[:2] == ["gentle", "wait_3d"] and "wait_3d_2" not in keys_in(page, "steps")
    page.get_by_role("button", name="Redo").click()
    assert "wait_3d_2" in keys_in(page, "steps")
    card(page, "wait_3d_2").locator(".ab-select").click()
    key = page.locator(".ab-panel").get_by_label("key", exact=True)
    key.fill("gentle")
    key.press("Tab")
    page.locator(".ab-panel [data-field=key] .ab-errors").get_by_text("another step is already called gentle").wait_for()
    key.fill("wait_again")
    key.press("Tab")
    card(page, "wait_again").wait_for()


def test_renaming_a_step_and_pressing_tab_goes_on_to_the_next_field(page, operator, dunning):
    """The keyboard stays in the form after a rename: Tab reaches the field after the key, and
    typing there edits the renamed step."""
    open_builder(page, dunning)
    card(page, "wait_3d").locator(".ab-select").click()
    key = page.locator(".ab-panel").get_by_label("key", exact=True)
    key.fill("wait_a_bit")
    key.press("Tab")
    card(page, "wait_a_bit").wait_for()
    page.wait_for_function("document.activeElement.closest('.ab-panel [data-field]')?.dataset.field === 'mode'"
                           " || document.activeElement.type === 'radio'")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.closest('[data-field]').dataset.field") == "duration"
    page.keyboard.press("Control+a")
    page.keyboard.type("5d")
    page.locator(".ab-panel").get_by_text("wait 5 days").first.wait_for()
    assert "wait 5 days" in card(page, "wait_a_bit").inner_text()
    # Enter commits the rename too, and the key field keeps the focus.
    key.fill("wait_five")
    key.press("Enter")
    card(page, "wait_five").wait_for()
    page.wait_for_function("document.activeElement.closest('[data-field]')?.dataset.field === 'key'")


def test_what_is_typed_into_a_renamed_steps_form_before_it_is_redrawn_edits_the_renamed_step(page, operator, dunning):
    """A rename redraws the step's form once the focus has moved on; a field of the form still on
    screen, typed into in that moment, edits the renamed step rather than the key it had."""
    open_builder(page, dunning)
    card(page, "wait_3d").locator(".ab-select").click()
    page.evaluate("""() => {  // in one task: nothing is redrawn between the rename and the typing
        const field = (name) => document.querySelector(`.ab-panel [data-field=${name}] input`);
        field("key").value = "wait_a_week";
        field("key").dispatchEvent(new Event("change"));
        field("duration").value = "7d";
        field("duration").dispatchEvent(new Event("input"));
    }""")
    card(page, "wait_a_week").get_by_text("wait 7 days").wait_for()
    assert page.locator(".ab-panel").get_by_label("duration", exact=True).input_value() == "7d"
    page.get_by_role("button", name="Undo").click()
    card(page, "wait_a_week").get_by_text("wait 3 days").wait_for()


def test_the_run_view_cancels_and_starts_a_run_now(page, operator, dunning):
    from automations.models import Execution
    from billing_events import emit

    emit("payment.failed", sample("payment.failed"), id="evt_run_view")
    execution = Execution.objects.get()
    login(page, "ops")
    page.goto(f"/admin/automations/execution/{execution.pk}/change/")
    page.get_by_role("button", name="Cancel execution").click()
    canceling = page.get_by_role("dialog", name=f"Cancel execution #{execution.pk}?")
    canceling.get_by_label("Reason").fill("test run")
    canceling.get_by_role("button", name="Cancel the execution").click()
    page.locator(".ab-run-summary").get_by_text(re.compile("^Canceled by ops in the admin: test run")).wait_for()
    execution.refresh_from_db()
    assert execution.status == "canceled"
    assert "canceled while waiting" in page.locator("#ab-run [data-step-key=wait_3d] .ab-status").inner_text()
    page.get_by_role("button", name="Start a new run").click()
    dialog = page.get_by_role("dialog", name="Start a new run of Payment dunning?")
    assert "it may charge INV-2026-0042 1,250.00 USD and send 4 emails" in dialog.inner_text()
    dialog.get_by_role("button", name="Start a new run").click()
    page.wait_for_url(lambda url: f"/execution/{execution.pk}/" not in url)
    newer = Execution.objects.exclude(pk=execution.pk).get()
    assert page.url.endswith(f"/admin/automations/execution/{newer.pk}/change/")
    assert newer.trigger["type"] == "manual" and newer.trigger["user"] == "ops"


def test_a_payment_retry_policy_that_could_pass_a_card_network_limit_is_flagged_in_its_panel(page, operator, dunning):
    from automations import services

    definition = services.current_definition(dunning)
    retry = definition["steps"][2]["then"][0]
    retry["retry"] = {"max_attempts": 12, "initial_interval": "1h", "backoff_coefficient": 1}
    services.update_draft(dunning, definition)
    open_builder(page, dunning)
    card(page, "retry").locator(".ab-select").click()
    panel = page.locator(".ab-panel")
    warning = panel.get_by_text("this policy can charge one card 11 times in 24 hours; Mastercard allows 10 retries")
    warning.wait_for()
    assert panel.get_by_label("When the card's retry limit is reached").locator("option").all_inner_texts() == [
        "(default)", "Wait until the card may be charged again", "Fail the step"]
    warning.scroll_into_view_if_needed()
    page.screenshot(path=str(screenshot_path("builder-retry-policy-card-limit")))
    assert "Activate" in page.locator(".ab-toolbar").inner_text(), "a warning, not a problem that blocks activation"
