"""A readable difference between two definitions, step by step key.

Settings and step fields are compared value by value (``wait_3d: duration 3d -> 2d``). A step is
"moved" when it changed lanes, or when it left the order of the steps that stayed in its lane: the
longest run of common steps in the same order stays put, so moving one step up does not report
every step it passed as moved.
"""
from __future__ import annotations

import json
from typing import Any

from automations.steps import lanes_of

Place = tuple[str, int]  # (lane, index): ("steps", 2) or ("still_unpaid.then", 0)


def _steps(steps: list[dict[str, Any]], lane: str = "steps") -> dict[str, tuple[Place, dict[str, Any]]]:
    """Every step by key, with where it sits and its own fields (bodies left out)."""
    found: dict[str, tuple[Place, dict[str, Any]]] = {}
    for position, step in enumerate(steps):
        own = {name: value for name, value in step.items() if name not in lanes_of(step)}
        found[step["key"]] = ((lane, position), own)
        for inner in lanes_of(step):
            found.update(_steps(step.get(inner, []), f"{step['key']}.{inner}"))
    return found


def _value_changes(old: dict[str, Any], new: dict[str, Any], prefix: str = "") -> list[dict[str, Any]]:
    """``[{"field", "from", "to"}]`` for each field that differs; objects such as ``config`` are
    compared one level down, so a changed subject reads ``config.subject``, not ``config``."""
    changes = []
    for name in sorted(set(old) | set(new)):
        before, after = old.get(name), new.get(name)
        if before == after:
            continue
        if not prefix and isinstance(before, dict) and isinstance(after, dict) and name in ("config", "retry"):
            changes += _value_changes(before, after, f"{name}.")
        else:
            changes.append({"field": f"{prefix}{name}", "from": before, "to": after})
    return changes


def _longest_common_order(old: list[str], new: list[str]) -> set[str]:
    """The keys of the longest subsequence that ``old`` and ``new`` share (classic LCS table)."""
    rows, cols = len(old), len(new)
    table = [[0] * (cols + 1) for _ in range(rows + 1)]
    for i in range(rows - 1, -1, -1):
        for j in range(cols - 1, -1, -1):
            table[i][j] = table[i + 1][j + 1] + 1 if old[i] == new[j] else max(table[i + 1][j], table[i][j + 1])
    kept, i, j = set(), 0, 0
    while i < rows and j < cols:
        if old[i] == new[j]:
            kept.add(old[i])
            i, j = i + 1, j + 1
        elif table[i + 1][j] >= table[i][j + 1]:
            i += 1
        else:
            j += 1
    return kept


def _moved(before: dict[str, tuple[Place, dict]], after: dict[str, tuple[Place, dict]]) -> list[dict[str, Any]]:
    common = [key for key in after if key in before]
    in_place: set[str] = set()
    lanes = {after[key][0][0] for key in common}
    for lane in lanes:
        stayed = [key for key in common if before[key][0][0] == lane and after[key][0][0] == lane]
        old_order = sorted(stayed, key=lambda key: before[key][0][1])
        new_order = sorted(stayed, key=lambda key: after[key][0][1])
        in_place |= _longest_common_order(old_order, new_order)
    return [{"key": key, "from": _place(before[key][0]), "to": _place(after[key][0])}
            for key in common if key not in in_place]


def _place(place: Place) -> str:
    lane, index = place
    return f"{lane}[{index}]"


def diff_definitions(old: dict[str, Any] | None, new: dict[str, Any]) -> dict[str, Any]:
    """``{"settings", "setting_changes", "added", "removed", "changed", "moved", "summary", "lines"}``.

    ``changed`` items are ``{"key", "fields", "changes": [{"field", "from", "to"}]}``; ``lines``
    says the same in sentences a person reads in a version list.
    """
    first = old is None
    old = old or {"steps": []}
    top_old = {name: value for name, value in old.items() if name != "steps"}
    top_new = {name: value for name, value in new.items() if name != "steps"}
    setting_changes = _value_changes(top_old, top_new)
    settings = [change["field"] for change in setting_changes]
    before, after = _steps(old.get("steps", [])), _steps(new.get("steps", []))
    added = [key for key in after if key not in before]
    removed = [key for key in before if key not in after]
    changed = []
    for key in after:
        if key in before and before[key][1] != after[key][1]:
            changes = _value_changes(before[key][1], after[key][1])
            changed.append({"key": key, "fields": sorted({c["field"].split(".")[0] for c in changes}),
                            "changes": changes})
    moved = _moved(before, after)
    parts = [f"{label}: {', '.join(items)}" for label, items in (
        ("settings changed", settings), ("steps added", added), ("steps removed", removed),
        ("steps changed", [c["key"] for c in changed]), ("steps moved", [m["key"] for m in moved])) if items]
    return {"settings": settings, "setting_changes": setting_changes, "added": added, "removed": removed,
            "changed": changed, "moved": moved, "summary": "; ".join(parts) or "no changes",
            # The first version has nothing to compare with: one line says what it holds.
            "lines": [f"created with {len(after)} step{'' if len(after) == 1 else 's'}: {', '.join(after)}"] if first
            else _lines(setting_changes, added, removed, changed, moved, after)}


def _short(value: Any) -> str:
    if value is None:
        return "(none)"
    text = value if isinstance(value, str) else json.dumps(value, sort_keys=True)
    return text if len(text) <= 80 else text[:77] + "..."


def _lines(setting_changes, added, removed, changed, moved, after) -> list[str]:
    lines = [f"{c['field']}: {_short(c['from'])} -> {_short(c['to'])}" for c in setting_changes]
    lines += [f"added step {key} ({after[key][1].get('action') or after[key][1].get('type')})" for key in added]
    lines += [f"removed step {key}" for key in removed]
    for item in changed:
        lines += [f"{item['key']}: {c['field']} {_short(c['from'])} -> {_short(c['to'])}" for c in item["changes"]]
    lines += [f"moved step {m['key']}: {m['from']} -> {m['to']}" for m in moved]
    return lines
