"""The Versions tab: restoring an old version into the draft says so — in the versions list, in the
draft's revisions and on the admin's History page — and unsaved changes are not dropped unasked."""
from __future__ import annotations

import pytest

from automations.definition.serialize import definition_of
from tests.browser.conftest import accessibility_problems, activate_version, screenshot
from tests.browser.test_builder_editing import card, open_builder

pytestmark = pytest.mark.django_db(transaction=True)


def set_wait(page, duration):
    card(page, "wait_3d").locator(".ab-select").click()
    page.locator(".ab-panel").get_by_label("duration", exact=True).fill(duration)


def test_a_version_restored_in_the_versions_tab_says_restored_from_v1(page, operator, dunning):
    open_builder(page, dunning)
    set_wait(page, "2d")
    page.get_by_role("button", name="Save draft").click()
    page.get_by_text("All changes saved").wait_for()
    activate_version(page, 2)

    # Unsaved changes are not dropped unasked: the restore asks first, and Cancel keeps them.
    set_wait(page, "5d")
    page.get_by_role("tab", name="Versions").click()
    page.get_by_role("button", name="Restore version 1 into the draft").click()
    ask = page.get_by_role("dialog", name="Restore version 1 into the draft?")
    assert "Your unsaved changes here are dropped" in ask.inner_text()
    ask.get_by_role("button", name="Cancel").click()
    assert "wait 5 days" in card(page, "wait_3d").inner_text()
    page.get_by_role("button", name="Restore version 1 into the draft").click()
    ask.get_by_role("button", name="Restore version 1").click()
    page.locator("#ab-live").get_by_text("Version 1 restored into the draft.").wait_for()
    assert "wait 3 days" in card(page, "wait_3d").inner_text()
    assert page.get_by_text("All changes saved").is_visible()

    page.get_by_role("tab", name="Versions").click()
    version_3 = page.locator(".ab-version").first
    version_3.get_by_text("restored from v1").wait_for()
    assert version_3.locator(".ab-version__head").inner_text().startswith("Version 3")
    assert "draft" in version_3.inner_text()
    assert page.locator(".ab-version").nth(1).get_by_text("restored from").count() == 0
    latest = page.locator(".ab-revision").first
    assert "Draft v3 saved" in latest.inner_text() and "Restored from v1" in latest.inner_text()
    assert accessibility_problems(page) == []
    screenshot(page, "builder-versions-restored")

    dunning.refresh_from_db()
    assert dunning.draft_version.restored_from == 1
    assert definition_of(dunning.draft_version) == definition_of(dunning.versions.get(number=1))

    page.goto(f"/admin/automations/automation/{dunning.pk}/history/")
    assert page.locator(".ab-revision-row").first.get_by_text("Restored from v1").is_visible()
    screenshot(page, "admin-history-restored")
