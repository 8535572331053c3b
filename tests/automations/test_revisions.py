"""Draft revisions as the guard of concurrent saves: of two saves based on the same revision, racing
on real PostgreSQL connections, exactly one is written and the other is refused naming it."""
from __future__ import annotations

import copy

import pytest
from django.db import connection  # noqa: F401 (read by skipif)

from automations import library, services
from automations.errors import StaleRevision
from automations.revisions import current_revision
from tests.automations.engine.test_concurrency import in_parallel

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif("connection.vendor != 'postgresql'", reason="needs PostgreSQL's row locks"),
]


def test_two_saves_racing_on_the_same_revision_exactly_one_wins(django_user_model):
    library.install_email_templates("payment_dunning")
    automation = services.create_automation(copy.deepcopy(library.get_template("payment_dunning")["definition"]))
    revision = current_revision(automation)
    users = [django_user_model.objects.create_user(name) for name in ("tab_a", "tab_b")]

    def save(index: int) -> str:
        definition = copy.deepcopy(automation.draft_version.snapshot)
        definition["steps"][1]["duration"] = ("2m", "1d")[index]
        try:
            services.update_draft(automation, definition, user=users[index], revision=revision)
        except StaleRevision as exc:
            return f"refused: {exc.errors[0]['author']} {exc.errors[0]['changes']['lines']}"
        return "saved"

    results = in_parallel(save)

    assert sorted(results)[1] == "saved" and sorted(results)[0].startswith("refused")
    winner = results.index("saved")
    assert results[1 - winner] == (f"refused: tab_{'ab'[winner]} "
                                   f"['wait_3d: duration 3d -> {('2m', '1d')[winner]}']")
    automation.refresh_from_db()
    assert automation.draft_version.snapshot["steps"][1]["duration"] == ("2m", "1d")[winner]
    assert current_revision(automation) > revision


def test_a_save_and_an_activation_racing_on_the_same_revision_exactly_one_wins():
    library.install_email_templates("payment_dunning")
    automation = services.create_automation(copy.deepcopy(library.get_template("payment_dunning")["definition"]))
    revision = current_revision(automation)

    def act(index: int) -> str:
        try:
            if index == 0:
                definition = copy.deepcopy(automation.draft_version.snapshot)
                definition["steps"][1]["duration"] = "2m"
                services.update_draft(automation, definition, revision=revision)
            else:
                services.activate(automation, revision=revision)
        except StaleRevision:
            return "refused"
        return "done"

    results = in_parallel(act)

    assert sorted(results) == ["done", "refused"]
    automation.refresh_from_db()
    if results[1] == "done":  # activated what was read; the save, refused, left it alone
        assert automation.active_version.snapshot["steps"][1]["duration"] == "3d"
    else:  # saved; the activation of the revision before it was refused
        assert automation.active_version is None
