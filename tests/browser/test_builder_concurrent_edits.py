"""Two tabs on one draft: a save made on top of someone else's newer save is refused with a dialog
saying who saved what and when; Reload takes theirs (and undo starts again from it, so nothing
undone can be saved over theirs), Overwrite saves mine over it, an activation or a restore of a
draft the tab has not seen is refused the same way, and each notice goes once it no longer holds."""
from __future__ import annotations

import pytest

from automations.steps import walk
from automations.definition.serialize import definition_of
from tests.browser.conftest import activate_version, login, screenshot

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def alice(transactional_db, django_user_model):
    return django_user_model.objects.create_superuser("alice", "alice@example.com", "pw")


def open_builder(page, automation, username):
    login(page, username)
    page.goto(f"/admin/automations/automation/{automation.pk}/builder/")
    page.locator("#ab-builder[data-validated]").wait_for(state="attached")


def card(page, key):
    return page.locator(f"[data-step-key={key}] > .ab-card")


def panel(page):
    return page.locator(".ab-panel")


def set_wait(page, duration):
    card(page, "wait_3d").locator(".ab-select").click()
    panel(page).get_by_label("duration", exact=True).fill(duration)


def set_priority(page, priority):
    card(page, "follow_up").locator(".ab-select").click()
    panel(page).get_by_label("priority", exact=True).select_option(priority)


def save(page):
    page.get_by_role("button", name="Save draft").click()


def draft(automation):
    """The saved draft's steps by key."""
    automation.refresh_from_db()
    return {step["key"]: step for step in walk(automation.draft_version.snapshot["steps"])}


def save_on_a_stale_draft(tab_a, tab_b, dunning):
    """Both tabs open the draft; tab A (alice) sets the wait to 2 minutes and saves; tab B (ops),
    still on what it opened, changes the task's priority and saves: refused, with a dialog."""
    open_builder(tab_a, dunning, "alice")
    open_builder(tab_b, dunning, "ops")
    set_wait(tab_a, "2m")
    save(tab_a)
    tab_a.get_by_text("All changes saved").wait_for()
    tab_a.wait_for_load_state("networkidle")  # the checks that follow a save, before the test reads the database
    set_priority(tab_b, "urgent")
    save(tab_b)
    dialog = tab_b.get_by_role("dialog", name="Your changes were not saved")
    dialog.wait_for()
    return dialog


def test_a_save_on_a_stale_draft_asks_and_reload_shows_the_other_tabs_change(page, other_page, operator, alice,
                                                                                dunning):
    tab_a, tab_b = page, other_page
    dialog = save_on_a_stale_draft(tab_a, tab_b, dunning)
    said = dialog.inner_text()
    assert "alice saved draft v2 at 2026-" in said and "after you opened this draft" in said
    assert tab_b.get_by_text("Unsaved changes").is_visible()
    assert tab_b.locator(".ab-notice--error").inner_text().startswith("Not saved: alice saved draft v2")
    # The keyboard starts on the first choice, and Tab walks the choices.
    assert tab_b.evaluate("document.activeElement.textContent") == "Reload"
    tab_b.keyboard.press("Tab")
    assert tab_b.evaluate("document.activeElement.textContent") == "Compare"
    screenshot(tab_b, "builder-stale-save-dialog")

    tab_b.keyboard.press("Enter")  # Compare: what alice changed, and what overwriting would change
    compare = dialog.get_by_role("region", name="Differences")
    compare.wait_for()
    assert dialog.get_by_role("button", name="Compare").get_attribute("aria-expanded") == "true"
    lists = compare.locator(".ab-diff").all_inner_texts()
    assert lists[0] == "wait_3d: duration 3d -> 2m"
    assert set(lists[1].splitlines()) == {"wait_3d: duration 2m -> 3d", "follow_up: config.priority high -> urgent"}
    screenshot(tab_b, "builder-stale-save-compare")

    dialog.get_by_role("button", name="Reload").click()
    tab_b.get_by_text("All changes saved").wait_for()
    tab_b.wait_for_load_state("networkidle")  # the checks that follow a save, before the test reads the database
    assert "wait 2 minutes" in card(tab_b, "wait_3d").inner_text()
    assert tab_b.locator(".ab-notices").inner_text().startswith("Reloaded: alice saved draft v2 at 2026-")
    card(tab_b, "wait_3d").locator(".ab-select").click()
    assert panel(tab_b).get_by_label("duration", exact=True).input_value() == "2m"
    screenshot(tab_b, "builder-stale-save-reloaded")
    assert draft(dunning)["wait_3d"]["duration"] == "2m"
    assert draft(dunning)["follow_up"]["config"].get("priority") == "high"


def test_overwrite_saves_mine_over_theirs_and_an_unseen_draft_is_not_activated(page, other_page, operator, alice,
                                                                              dunning):
    tab_a, tab_b = page, other_page
    dialog = save_on_a_stale_draft(tab_a, tab_b, dunning)
    dialog.get_by_role("button", name="Overwrite").click()
    tab_b.get_by_text("All changes saved").wait_for()
    tab_b.wait_for_load_state("networkidle")  # the checks that follow a save, before the test reads the database
    assert not dialog.is_visible()
    assert draft(dunning)["follow_up"]["config"]["priority"] == "urgent"
    assert draft(dunning)["wait_3d"]["duration"] == "3d"  # tab B's, over alice's

    # Tab A still shows its 2 minutes: activating that is refused, nothing goes live.
    tab_a.get_by_role("button", name="Activate").click()
    tab_a.get_by_role("dialog", name="Activate version 2?").get_by_role("button", name="Activate version 2").click()
    refused = tab_a.get_by_role("dialog", name="Not activated: the draft has changed")
    refused.wait_for()
    assert "ops saved draft v2" in refused.inner_text()
    screenshot(tab_a, "builder-stale-activation-dialog")
    tab_a.keyboard.press("Escape")
    assert not refused.is_visible()
    dunning.refresh_from_db()
    assert dunning.active_version.number == 1
    assert "Not activated: ops saved draft v2" in tab_a.locator(".ab-notice--error").inner_text()


def notices(page):
    return page.locator(".ab-notices").inner_text()


def test_after_reload_undo_cannot_bring_back_what_would_overwrite_the_other_tab(page, other_page, operator, alice,
                                                                             dunning):
    tab_a, tab_b = page, other_page
    dialog = save_on_a_stale_draft(tab_a, tab_b, dunning)
    dialog.get_by_role("button", name="Reload").click()
    tab_b.get_by_text("All changes saved").wait_for()
    tab_b.wait_for_load_state("networkidle")  # the checks that follow a save, before the test reads the database
    assert "Reloaded: alice saved draft v2" in notices(tab_b)
    # Undo starts again from alice's draft: the button is off and Ctrl+Z changes nothing.
    assert tab_b.get_by_role("button", name="Undo").is_disabled()
    card(tab_b, "wait_3d").focus()
    tab_b.keyboard.press("Control+z")
    assert "wait 2 minutes" in card(tab_b, "wait_3d").inner_text()
    assert tab_b.get_by_text("All changes saved").is_visible()

    # An edit after the reload: the reload's notice no longer holds and goes; saving keeps alice's wait.
    set_priority(tab_b, "urgent")
    tab_b.get_by_text("Unsaved changes").wait_for()
    assert "Reloaded" not in notices(tab_b)
    save(tab_b)
    tab_b.get_by_text("All changes saved").wait_for()
    tab_b.wait_for_load_state("networkidle")  # the checks that follow a save, before the test reads the database
    assert not tab_b.get_by_role("dialog", name="Your changes were not saved").is_visible()
    assert draft(dunning)["wait_3d"]["duration"] == "2m"
    assert draft(dunning)["follow_up"]["config"]["priority"] == "urgent"
    # Undo now takes back tab B's own edit only, never alice's.
    tab_b.get_by_role("button", name="Undo").click()
    assert panel(tab_b).get_by_label("priority", exact=True).input_value() == "high"
    assert "wait 2 minutes" in card(tab_b, "wait_3d").inner_text()
    assert not tab_b.get_by_role("button", name="Undo").is_enabled()
    screenshot(tab_b, "builder-reloaded-then-saved")


def test_a_refusal_notice_stays_while_it_holds_and_goes_once_written_over(page, other_page, operator, alice,
                                                                          dunning):
    tab_a, tab_b = page, other_page
    dialog = save_on_a_stale_draft(tab_a, tab_b, dunning)
    dialog.get_by_role("button", name="Cancel and keep editing").click()
    assert notices(tab_b).startswith("Not saved: alice saved draft v2")  # still true: theirs is newer
    save(tab_b)
    dialog.wait_for()
    dialog.get_by_role("button", name="Overwrite").click()
    tab_b.get_by_text("All changes saved").wait_for()
    tab_b.wait_for_load_state("networkidle")  # the checks that follow a save, before the test reads the database
    assert notices(tab_b) == "", "the refusal no longer holds once mine is saved over theirs"
    assert draft(dunning)["follow_up"]["config"]["priority"] == "urgent"

    # Tab A's activation of the draft it has not seen is refused; Overwrite saves A's over B's,
    # and once A activates, nothing about the conflict is left on the page.
    tab_a.get_by_role("button", name="Activate").click()
    tab_a.get_by_role("dialog", name="Activate version 2?").get_by_role("button", name="Activate version 2").click()
    refused = tab_a.get_by_role("dialog", name="Not activated: the draft has changed")
    refused.get_by_role("button", name="Overwrite").click()
    tab_a.get_by_text("Your draft is saved over theirs. Activate it when you are ready.").wait_for()
    assert "Not activated" not in notices(tab_a)
    activate_version(tab_a, 2)
    assert notices(tab_a) == "Version 2 is active."
    dunning.refresh_from_db()
    assert dunning.active_version.number == 2
    assert definition_of(dunning.active_version)["steps"][1]["duration"] == "2m"


def test_a_restore_of_a_draft_the_tab_has_not_seen_is_refused_with_the_same_choices(page, other_page, operator,
                                                                                     alice, dunning):
    tab_a, tab_b = page, other_page
    open_builder(tab_a, dunning, "alice")
    open_builder(tab_b, dunning, "ops")
    set_wait(tab_a, "2m")
    save(tab_a)
    tab_a.get_by_text("All changes saved").wait_for()
    tab_a.wait_for_load_state("networkidle")  # the checks that follow a save, before the test reads the database
    tab_b.get_by_role("tab", name="Versions").click()
    tab_b.get_by_role("button", name="Restore version 1 into the draft").click()
    refused = tab_b.get_by_role("dialog", name="Not restored: the draft has changed")
    refused.wait_for()
    assert "alice saved draft v2" in refused.inner_text()
    assert notices(tab_b).startswith("Not restored: alice saved draft v2")
    refused.get_by_role("button", name="Restore anyway").click()
    tab_b.locator("#ab-live").get_by_text("Version 1 restored into the draft.").wait_for()
    assert notices(tab_b) == ""
    assert draft(dunning)["wait_3d"]["duration"] == "3d"
    assert "wait 3 days" in card(tab_b, "wait_3d").inner_text()
