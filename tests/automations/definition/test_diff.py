"""Version diffs by step key: one moved step reads as one move, field changes read from -> to."""
from __future__ import annotations

import copy

from automations import library
from automations.definition.diff import diff_definitions


def dunning():
    return copy.deepcopy(library.get_template("payment_dunning")["definition"])


def test_moving_one_step_up_reports_that_step_alone():
    old = dunning()
    new = copy.deepcopy(old)
    final = new["steps"].pop()
    new["steps"].insert(1, final)  # final passes every step after gentle
    diff = diff_definitions(old, new)
    assert diff["moved"] == [{"key": "final", "from": "steps[5]", "to": "steps[1]"}]
    assert diff["changed"] == [] and diff["lines"] == ["moved step final: steps[5] -> steps[1]"]


def test_a_step_moved_into_a_lane_is_a_move_and_its_neighbours_stay_put():
    old = dunning()
    new = copy.deepcopy(old)
    wait = new["steps"].pop(1)
    new["steps"][1]["then"].insert(0, wait)
    diff = diff_definitions(old, new)
    assert diff["moved"] == [{"key": "wait_3d", "from": "steps[1]", "to": "still_unpaid.then[0]"}]


def test_changes_read_field_by_field_with_old_and_new_values():
    old = dunning()
    new = copy.deepcopy(old)
    new["steps"][1]["duration"] = "2d"
    new["steps"][0]["config"]["to"] = "ops@example.com"
    new["exit_on"] = ["invoice.paid"]
    diff = diff_definitions(old, new)
    assert diff["changed"] == [
        {"key": "gentle", "fields": ["config"],
         "changes": [{"field": "config.to", "from": "{{ customer.email }}", "to": "ops@example.com"}]},
        {"key": "wait_3d", "fields": ["duration"], "changes": [{"field": "duration", "from": "3d", "to": "2d"}]},
    ]
    assert diff["settings"] == ["exit_on"]
    assert diff["lines"] == ['exit_on: ["invoice.paid", "invoice.voided"] -> ["invoice.paid"]',
                             "gentle: config.to {{ customer.email }} -> ops@example.com",
                             "wait_3d: duration 3d -> 2d"]


def test_added_and_removed_steps_and_no_changes():
    old = dunning()
    new = copy.deepcopy(old)
    new["steps"].pop()
    new["steps"].append({"key": "tag", "type": "action", "action": "add_tag", "config": {"tag": "late"}})
    diff = diff_definitions(old, new)
    assert diff["added"] == ["tag"] and diff["removed"] == ["final"] and diff["moved"] == []
    assert "added step tag (add_tag)" in diff["lines"]
    assert diff_definitions(old, copy.deepcopy(old))["summary"] == "no changes"


def test_the_first_version_says_what_it_holds_in_one_line():
    diff = diff_definitions(None, dunning())
    assert diff["lines"] == ["created with 15 steps: gentle, wait_3d, still_unpaid, retry, retry_worked, recovered, "
                             "card_unusable, update_card, urgent, follow_up, paid, wait_7d, paid_meanwhile, "
                             "paid_late, final"]
