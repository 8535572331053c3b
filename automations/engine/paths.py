"""Test every path: test mode run over the scenarios that reach each of a definition's ways on.

A way on is what an operator would want to have seen once: each branch's then and else, each
split's variants A and B, each action that succeeds and that fails for good (its fallback lane,
carrying on, or the run failing), each wait_for that gets its event and that times out, each
approval approved, rejected and timed out. The search starts from the plain test (every outcome as
predicted) and, for every choice a run met — an action's outcome, an approval's decision, whether
an awaited event comes, a split's variant — tries the
alternatives, keeping each scenario that showed something new, until nothing new comes or
``MAX_RUNS``. What no scenario reaches is listed: a branch whose condition only the data can make
true or false is the usual case (the operator then edits the test data).
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from automations.actions import registry as actions
from automations.steps.lanes import walk
from automations.steps.split import VARIANTS as SPLIT_VARIANTS

#: At most this many test runs for one request: each is a whole run in virtual time.
MAX_RUNS = 48

Way = tuple[str, str]  # (step key, which way it went)
Run = Callable[[dict[str, Any]], dict[str, Any]]


@dataclass
class Variant:
    """One scenario of the search, what a test run is told: each action's outcome (every attempt
    alike), each approval's decision, the events that arrive (one per awaited type, at the start
    of its wait)."""

    outcomes: dict[str, str] = field(default_factory=dict)
    decisions: dict[str, str] = field(default_factory=dict)
    events: tuple[str, ...] = ()
    variants: dict[str, str] = field(default_factory=dict)

    def key(self) -> tuple:
        return (tuple(sorted(self.outcomes.items())), tuple(sorted(self.decisions.items())), self.events,
                tuple(sorted(self.variants.items())))

    def as_request(self) -> dict[str, Any]:
        """The test's input: ``outcomes``, ``decisions``, ``events`` and ``variants`` as ``test_run``
        takes them."""
        request = {"outcomes": {key: [outcome] for key, outcome in self.outcomes.items()},
                   "decisions": dict(self.decisions),
                   "events": [{"type": kind, "after": "0s"} for kind in self.events]}
        if self.variants:
            request["variants"] = dict(self.variants)
        return request

    def varied(self, **changes: Any) -> Variant:
        return Variant(outcomes={**self.outcomes, **changes.get("outcomes", {})},
                        decisions={**self.decisions, **changes.get("decisions", {})},
                        events=changes.get("events", self.events),
                        variants={**self.variants, **changes.get("variants", {})})


def possible_ways(definition: dict[str, Any]) -> list[Way]:
    """Every way on the definition has, in definition order."""
    ways: list[Way] = []
    for step in walk(definition.get("steps") or []):
        key, kind = step.get("key", ""), step.get("type")
        if kind == "branch":
            ways += [(key, "then"), (key, "else")]
        elif kind == "split":
            ways += [(key, f"variant {variant}") for variant in SPLIT_VARIANTS]
        elif kind == "action":
            failed = ("fallback" if step.get("fallback") else
                      "carries on after failing" if step.get("on_failure") == "continue" else "fails the run")
            ways += [(key, "succeeds"), (key, failed)]
        elif kind == "wait_for":
            ways += [(key, "event arrives"), (key, "times out")]
        elif kind == "approval":
            ways += [(key, "approved"), (key, "rejected")] + ([(key, "timed out")] if step.get("timeout") else [])
    return ways


def ways_taken(result: dict[str, Any]) -> list[Way]:
    """The ways a test run's timeline went, in its order (an action's failed attempts that were
    retried are not a way: their last attempt is)."""
    taken: list[Way] = []
    for entry in result.get("timeline") or []:
        key, kind = entry["step"], entry["type"]
        if kind == "branch":
            if "branch" in entry:  # else its condition could not be evaluated: the run failed there
                taken.append((key, entry["branch"]))
        elif kind == "split":
            taken.append((key, f"variant {entry['variant']}"))
        elif kind == "action" and not (entry.get("deferred") or entry.get("skipped")):
            if "error" not in entry:
                taken.append((key, "succeeds"))
            elif entry.get("then") == "its fallback steps run":
                taken.append((key, "fallback"))
            elif entry.get("then") == "the run carries on":
                taken.append((key, "carries on after failing"))
            elif entry.get("then") == "the run fails":
                taken.append((key, "fails the run"))
        elif kind == "wait_for":
            taken.append((key, "times out" if (entry.get("output") or {}).get("timed_out") else "event arrives"))
        elif kind == "approval":
            output = entry.get("output") or {}
            taken.append((key, "timed out" if output.get("timed_out") else entry.get("decision", "")))
    return taken


def _choices(definition: dict[str, Any], result: dict[str, Any], scenario: Variant) -> list[Variant]:
    """The scenarios that differ from ``scenario`` at one choice this run met."""
    steps = {step.get("key"): step for step in walk(definition.get("steps") or [])}
    variants: list[Variant] = []
    for entry in result.get("timeline") or []:
        step = steps.get(entry["step"]) or {}
        if entry["type"] == "action":
            action = actions.get(step.get("action", ""))
            for outcome in (action.scenario_outcomes if action else {}):
                variants.append(scenario.varied(outcomes={entry["step"]: outcome}))
        elif entry["type"] == "approval":
            for decision in ("approved", "rejected", "timed_out"):
                variants.append(scenario.varied(decisions={entry["step"]: decision}))
        elif entry["type"] == "split":
            for variant in SPLIT_VARIANTS:
                variants.append(scenario.varied(variants={entry["step"]: variant}))
        elif entry["type"] == "wait_for":
            awaited = tuple(step.get("events") or ())[:1]
            others = tuple(kind for kind in scenario.events if kind not in awaited)
            variants.append(scenario.varied(events=others if set(awaited) <= set(scenario.events)
                                            else tuple(sorted({*scenario.events, *awaited}))))
    return variants


def explore(definition: dict[str, Any], run: Run) -> dict[str, Any]:
    """Run ``definition`` over scenarios (``run(request)`` is one test run) until every way on a
    scenario can reach has been taken; returns the scenarios that showed something new, each with
    its ending, the ways it took and the messages it would send, and the ways none reached."""
    possible = possible_ways(definition)
    seen: set[Way] = set()
    paths: list[dict[str, Any]] = []
    queue, tried, runs = [Variant()], set(), 0
    while queue and runs < MAX_RUNS and not set(possible) <= seen:
        scenario = queue.pop(0)
        if scenario.key() in tried:
            continue
        tried.add(scenario.key())
        result = run(scenario.as_request())
        runs += 1
        taken = ways_taken(result)
        new = [way for way in dict.fromkeys(taken) if way not in seen]
        if new or not paths:
            seen.update(taken)
            paths.append(_path(scenario, result, taken, new))
        queue += [variant for variant in _choices(definition, result, scenario) if variant.key() not in tried]
    return {"paths": paths, "runs": runs,
            "unreached": [{"step": key, "way": way} for key, way in possible if (key, way) not in seen]}


def _path(scenario: Variant, result: dict[str, Any], taken: list[Way], new: list[Way]) -> dict[str, Any]:
    messages = [{"step": entry["step"], "action": entry["action"],
                 "to": (entry.get("would") or {}).get("to"), "subject": (entry.get("would") or {}).get("subject")}
                for entry in result.get("timeline") or []
                if entry["type"] == "action" and "would" in entry and actions.get(entry["action"])
                and actions.get(entry["action"]).channel]
    return {"scenario": scenario.as_request(), "status": result.get("status"), "error": result.get("error", ""),
            "duration": result.get("duration", ""), "ways": [{"step": key, "way": way} for key, way in taken],
            "new": [{"step": key, "way": way} for key, way in new], "messages": messages,
            "steps": [entry["step"] for entry in result.get("timeline") or []]}
