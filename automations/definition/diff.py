"""A readable difference between two definitions: settings changed, steps added, removed or changed."""
from __future__ import annotations

from typing import Any

from automations.definition.serialize import BODIES


def _steps(steps: list[dict[str, Any]], parent: str = "") -> dict[str, tuple[str, dict[str, Any]]]:
    """Every step by key, with where it sits and its own fields (bodies left out)."""
    found: dict[str, tuple[str, dict[str, Any]]] = {}
    for position, step in enumerate(steps):
        own = {name: value for name, value in step.items() if name not in BODIES.get(step.get("type"), ())}
        found[step["key"]] = (f"{parent or 'steps'}[{position}]", own)
        for body in BODIES.get(step.get("type"), ()):
            found.update(_steps(step.get(body, []), f"{step['key']}.{body}"))
    return found


def diff_definitions(old: dict[str, Any] | None, new: dict[str, Any]) -> dict[str, Any]:
    """``{"settings": [...], "added": [...], "removed": [...], "changed": [...], "moved": [...], "summary": str}``."""
    old = old or {"steps": []}
    settings = sorted(name for name in set(old) | set(new) if name != "steps" and old.get(name) != new.get(name))
    before, after = _steps(old.get("steps", [])), _steps(new.get("steps", []))
    added = [key for key in after if key not in before]
    removed = [key for key in before if key not in after]
    changed, moved = [], []
    for key in after:
        if key in before:
            (old_place, old_fields), (new_place, new_fields) = before[key], after[key]
            if old_fields != new_fields:
                fields = sorted(name for name in set(old_fields) | set(new_fields)
                                if old_fields.get(name) != new_fields.get(name))
                changed.append({"key": key, "fields": fields})
            if old_place != new_place:
                moved.append({"key": key, "from": old_place, "to": new_place})
    parts = [f"{label}: {', '.join(items)}" for label, items in (
        ("settings changed", settings), ("steps added", added), ("steps removed", removed),
        ("steps changed", [c["key"] for c in changed]), ("steps moved", [m["key"] for m in moved])) if items]
    return {"settings": settings, "added": added, "removed": removed, "changed": changed, "moved": moved,
            "summary": "; ".join(parts) or "no changes"}
