"""A version's program: parsed once per process when the version can no longer change."""
from __future__ import annotations

import pytest

from automations import services
from automations.benchmarks.workload import TEN_STEPS
from automations.steps.cursor import program_for

pytestmark = pytest.mark.django_db


def test_an_activated_versions_program_is_parsed_once():
    automation = services.create_automation(TEN_STEPS)
    version = services.activate(automation)
    assert program_for(version) is program_for(version)


def test_a_drafts_program_follows_its_edits():
    automation = services.create_automation(TEN_STEPS)
    draft = automation.draft_version
    before = program_for(draft)
    services.update_draft(automation, {**TEN_STEPS, "steps": TEN_STEPS["steps"][:1]})
    draft.refresh_from_db()
    assert list(program_for(draft).steps) == ["open"] != list(before.steps)
