"""The split step: each run goes down variant A or B by weight, the same invoice always the same way
(live, tested and tested on every path alike); the outcomes compare the variants, with a
two-proportion test; and "Keep this variant" drafts the automation without the split."""
from __future__ import annotations

import copy
import math
from collections import Counter
from datetime import timedelta
from decimal import Decimal

import pytest

from automations import clock, services
from automations.definition.serialize import definition_of
from automations.errors import StateConflict
from automations.models import Execution, Recovery, StepRun
from automations.outcomes.experiments import two_proportion_test
from automations.outcomes.fold import ending
from automations.retention import prune
from automations.steps.split import variant_for
from billing_events.errors import InvalidInput
from tests.automations.api.conftest import token_client
from tests.automations.outcomes.test_figures import DECLINES, PAYS, _failed

pytestmark = pytest.mark.django_db
DAY = 24 * 3600


def _with_split(definition: dict, **weights: int) -> dict:
    """The library's dunning with an experiment before it: variant A retries the card at once, B
    goes straight to the gentle email (the control)."""
    definition = copy.deepcopy(definition)
    retry = copy.deepcopy(next(step for step in definition["steps"][2]["then"] if step["key"] == "retry"))
    retry["key"] = "retry_now"
    split = {"key": "experiment", "type": "split", "weight_a": weights.get("a", 50), "weight_b": weights.get("b", 50),
             "a": [retry]}
    definition["steps"] = [split, *definition["steps"]]
    return definition


@pytest.fixture
def experiment(dunning):
    services.update_draft(dunning, _with_split(definition_of(dunning.active_version)))
    services.activate(dunning)
    dunning.refresh_from_db()
    return dunning


@pytest.fixture
def api_client(db, django_user_model):
    return token_client(django_user_model.objects.create_superuser("ops", "ops@example.com", "pw"))


# --- assignment ----------------------------------------------------------------------------------

def test_the_weights_share_the_runs_out_and_a_value_always_falls_in_the_same_variant():
    drawn = Counter(variant_for(f"in_{n}", 7, "experiment", {"a": 20, "b": 80}) for n in range(10_000))
    assert 1_850 < drawn["a"] < 2_150, drawn  # a fixed hash, not chance: the same every run
    assert {variant_for("in_1", 7, "experiment", {"a": 20, "b": 80}) for _ in range(5)} == {
        variant_for("in_1", 7, "experiment", {"a": 20, "b": 80})}
    assert {variant_for(f"in_{n}", 7, "experiment", {"a": 100, "b": 0}) for n in range(500)} == {"a"}
    assert {variant_for(f"in_{n}", 7, "experiment", {"a": 0, "b": 1}) for n in range(500)} == {"b"}


def test_the_test_takes_the_variant_the_live_run_takes_for_the_same_invoice(experiment, engine):
    for name in ("a1", "a2", "a3", "a4", "a5", "a6"):
        data = _failed(f"inv_{name}", PAYS)
        tested = services.test_run(experiment, data)
        engine.emit("payment.failed", data, id=f"evt_{name}")
        live = StepRun.objects.get(execution__event_id=f"evt_{name}", step_key="experiment")
        [entry] = [entry for entry in tested["timeline"] if entry["step"] == "experiment"]
        assert entry["variant"] == live.output["variant"], name
        assert live.output["reason"] == f"by invoice.id inv_{name}"
        assert Execution.objects.get(event_id=f"evt_{name}").outputs["experiment"] == {"variant": entry["variant"]}
    assert {row.output["variant"] for row in StepRun.objects.filter(step_key="experiment")} == {"a", "b"}


def test_a_test_can_choose_the_variant_and_every_path_takes_both(experiment):
    chosen = services.test_run(experiment, _failed("inv_x", PAYS), variants={"experiment": "b"})
    [entry] = [entry for entry in chosen["timeline"] if entry["step"] == "experiment"]
    assert (entry["variant"], entry["reason"]) == ("b", "chosen by the test")
    assert "retry_now" not in [entry["step"] for entry in chosen["timeline"]]

    paths = services.test_every_path(experiment, _failed("inv_x", PAYS))
    ways = {(way["step"], way["way"]) for path in paths["paths"] for way in path["ways"]}
    assert {("experiment", "variant a"), ("experiment", "variant b")} <= ways
    assert not [way for way in paths["unreached"] if way["step"] == "experiment"]

    with pytest.raises(StateConflict, match="no split step 'nope'"):
        services.test_run(experiment, variants={"nope": "a"})


@pytest.mark.parametrize("change, field, message", [
    ({"weight_a": 0, "weight_b": 0}, "weight_a", "cannot both weigh 0"),
    ({"weight_a": 101}, "weight_a", "from 0 to 100"),
    ({"weight_b": "half"}, "weight_b", "from 0 to 100"),
    ({"a": []}, "a", "at least one step"),
])
def test_a_split_that_cannot_share_runs_out_is_refused_naming_its_field(dunning, change, field, message):
    definition = _with_split(definition_of(dunning.active_version))
    definition["steps"][0].update(change)
    with pytest.raises(InvalidInput) as raised:
        services.update_draft(dunning, definition)
    assert any(error["field"] == f"steps.experiment.{field}" and message in error["message"]
               for error in raised.value.errors), raised.value.errors


# --- outcomes ------------------------------------------------------------------------------------

@pytest.fixture
def scripted(experiment, engine):
    """Twenty invoices over ten days, each paid by a card that pays or declines by its number."""
    day0 = clock.now().date()
    for n in range(20):
        engine.emit("payment.failed", _failed(f"inv_{n}", PAYS if n % 3 else DECLINES), id=f"evt_{n}")
    engine.advance(days=3)  # the first retry of variant B's runs
    engine.advance(days=7)
    return experiment, day0


def _expected_by_rows(automation) -> dict[str, dict]:
    """Each variant's runs, conversions and recoveries, from the runs' own rows."""
    variant_of = dict(StepRun.objects.filter(execution__automation=automation, step_key="experiment")
                      .values_list("execution_id", "output__variant"))
    recovered = {recovery.execution_id: recovery for recovery in Recovery.objects.all()}
    expected = {variant: {"runs": 0, "converted": 0, "amount": Decimal(0), "seconds": []} for variant in "ab"}
    for run in Execution.objects.filter(automation=automation, finished_at__isnull=False).values(
            "pk", "status", "status_reason", "error"):
        mine = expected[variant_of[run["pk"]]]
        mine["runs"] += 1
        if ending(run) == "goal" or run["pk"] in recovered:
            mine["converted"] += 1
        if run["pk"] in recovered:
            mine["amount"] += recovered[run["pk"]].amount
            mine["seconds"].append(recovered[run["pk"]].seconds_to_recover)
    return expected


def test_the_variants_outcomes_are_what_their_runs_did_and_outlive_them(scripted, api_client):
    automation, day0 = scripted
    expected = _expected_by_rows(automation)
    assert expected["a"]["runs"] and expected["b"]["runs"]

    period = {"from": day0.isoformat(), "to": (day0 + timedelta(days=10)).isoformat()}
    figures = api_client.get(f"/api/automations/{automation.pk}/stats/", period).json()

    [experiment] = figures["experiments"]
    assert experiment["step"] == "experiment" and experiment["in_definition"]
    for variant in "ab":
        shown, mine = experiment["variants"][variant], expected[variant]
        assert (shown["runs"], shown["converted"], shown["weight"]) == (mine["runs"], mine["converted"], 50)
        assert shown["recovered"] == {"USD": f"{mine['amount']:.2f}"}
        assert shown["invoices"] == len(mine["seconds"])
    # A retries at once: its runs recover with no wait; B's wait three days for the first retry.
    assert experiment["variants"]["a"]["time_to_recover"]["median"] == 0
    assert experiment["variants"]["b"]["time_to_recover"]["median"] == 3 * DAY
    comparison = experiment["comparison"]
    a, b = expected["a"], expected["b"]
    assert comparison["p_value"] == two_proportion_test(a["converted"], a["runs"], b["converted"], b["runs"]).p_value
    assert comparison["significant"] is False and "keep the experiment running" in comparison["statement"]

    prune(clock.now() + timedelta(days=1), days=0)
    assert not Execution.objects.filter(automation=automation, finished_at__isnull=False).exists()
    again = api_client.get(f"/api/automations/{automation.pk}/stats/", period).json()
    assert again["experiments"] == figures["experiments"]


def test_the_two_proportion_test_gives_the_textbook_figures():
    # 45 of 100 against 30 of 100: pooled 0.375, standard error 0.06847, z = 2.1909, p = 0.02846.
    result = two_proportion_test(45, 100, 30, 100)
    assert math.isclose(result.z, 2.1909, abs_tol=1e-4) and math.isclose(result.p_value, 0.02846, abs_tol=1e-5)
    assert result.significant
    assert not two_proportion_test(4, 10, 2, 10).significant, "too few runs for the approximation"
    same = two_proportion_test(0, 50, 0, 50)
    assert (same.p_value, same.significant) == (1.0, False)
    assert two_proportion_test(3, 10, 0, 0).p_value is None


# --- keep this variant ---------------------------------------------------------------------------

def test_keeping_a_variant_drafts_the_automation_with_its_steps_in_place_of_the_split(experiment, api_client):
    answer = api_client.post(f"/api/automations/{experiment.pk}/keep-variant/",
                             {"step": "experiment", "variant": "a"}, format="json")

    assert answer.status_code == 200, answer.json()
    experiment.refresh_from_db()
    draft = definition_of(experiment.draft_version)
    assert [step["key"] for step in draft["steps"][:2]] == ["retry_now", "gentle"]
    assert not [step for step in draft["steps"] if step["type"] == "split"]
    assert definition_of(experiment.active_version)["steps"][0]["type"] == "split", "the live version is untouched"

    control = api_client.post(f"/api/automations/{experiment.pk}/keep-variant/",
                              {"step": "experiment", "variant": "b"}, format="json")
    assert control.status_code == 409 and "no split step" in str(control.json()), "the draft has no split any more"


def test_keeping_a_variant_of_a_split_that_does_not_exist_names_the_field(dunning, api_client):
    answer = api_client.post(f"/api/automations/{dunning.pk}/keep-variant/", {"step": "nope", "variant": "a"},
                             format="json")
    assert answer.status_code == 409
    assert answer.json()["errors"] == [{"field": "step", "message": "the automation has no split step 'nope'"}]
