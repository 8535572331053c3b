"""The cursor: where a run is in a version's frozen definition (and that definition as runs walk it).

The cursor is a stack of frames, one for each body being run (the top-level steps, a branch's
``then``, a loop's ``steps`` for one item, an action's ``fallback``). It is plain JSON stored on the
execution, so a run resumes from it after a delay, a retry wait or a worker's death.

A loop's frame holds positions and counts only: ``item`` (the current item), ``count`` (how many
there are) and ``items_ref``, the reference of the items the run kept when the loop was entered (or
a collection's page was fetched; see ``Run.keep_items``). The cursor is written at every step, so
the items themselves stay out of it: a step costs the same in a loop over ten items or ten thousand.
Frames stored before that hold their items inline (``items``), and are still read.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from automations.status import VersionState
from automations.steps.lanes import walk

Frame = dict[str, Any]
ROOT = {"owner": None, "slot": "steps", "index": 0}


class Program:
    """Step lookup for one frozen definition."""

    def __init__(self, definition: dict[str, Any]) -> None:
        self.definition = definition
        self.steps: dict[str, dict[str, Any]] = {}
        for step in walk(definition["steps"]):
            self.steps[step["key"]] = step

    def body(self, frame: Frame) -> list[dict[str, Any]]:
        if frame["owner"] is None:
            return self.definition["steps"]
        return self.steps[frame["owner"]].get(frame["slot"], [])


#: Programs of versions that are no longer drafts: such a version's snapshot never changes, so every
#: step of every run in this process shares one parsed program instead of reading and indexing the
#: snapshot again. Keyed by id and creation time, because an id can come back on SQLite when the
#: transaction that created its first holder rolled back. Bounded, so a worker cannot grow it for ever.
_PROGRAMS: dict[tuple[int, Any], Program] = {}
PROGRAMS_KEPT = 512


def program_for(version: Any) -> Program:
    """The program of an :class:`~automations.models.AutomationVersion`, cached per process unless
    it is a draft (a draft's snapshot changes with every save). Steps are shared: read them only."""
    if version.pk is None or version.state == VersionState.DRAFT:
        return Program(version.snapshot)
    key = (version.pk, version.created_at)
    program = _PROGRAMS.get(key)
    if program is None:
        if len(_PROGRAMS) >= PROGRAMS_KEPT:
            del _PROGRAMS[next(iter(_PROGRAMS))]  # the oldest entry
        program = _PROGRAMS[key] = Program(version.snapshot)
    return program


@dataclass
class Position:
    """The next step to run, or why the run has nothing left to do."""

    step: dict[str, Any] | None = None
    #: Set when a loop over a collection has run through its page and another page is to be fetched.
    refill: dict[str, Any] | None = None
    #: Set when a fallback body ended and its step's ``on_failure`` is ``fail``.
    failed_step: str | None = None
    error: str = ""


def initial_cursor() -> list[Frame]:
    return [dict(ROOT)]


def is_loop(frame: Frame) -> bool:
    """Whether ``frame`` runs a loop's body, once per item."""
    return "count" in frame or "items" in frame


def item_count(frame: Frame) -> int:
    """How many items a loop's frame runs (for a collection: in its current page)."""
    return frame["count"] if "count" in frame else len(frame["items"])


def item_refs(cursor: list[Frame]) -> set[Any]:
    """The references of the loop items the cursor's frames run over."""
    return {frame["items_ref"] for frame in cursor if frame.get("items_ref") is not None}


def loop_index(cursor: list[Frame]) -> str:
    """Item positions of the enclosing loops, outermost first: ``""``, ``"2"``, ``"2.0"`` (over all
    pages of a collection, so the position stays unique)."""
    return ".".join(str(frame.get("offset", 0) + frame["item"]) for frame in cursor if is_loop(frame))


def loop_variables(cursor: list[Frame], items: Callable[[Any], list[Any]]) -> dict[str, Any]:
    """The current item of every enclosing loop, by its ``as`` name. ``items`` reads the items kept
    under a frame's ``items_ref`` (the run's ``loop_items``). A collection's frame between two pages
    has no current item."""
    return {frame["as"]: (frame["items"] if "items" in frame else items(frame["items_ref"]))[frame["item"]]
            for frame in cursor if is_loop(frame) and frame["item"] < item_count(frame)}


def wait_state(cursor: list[Frame]) -> dict[str, Any]:
    """The wait the run's innermost frame holds (a wait_for's events, an approval's request: its
    ``kind``, ``step`` and what it waits for), or an empty dict."""
    return (cursor[-1].get("wait") if cursor else None) or {}


def step_done(cursor: list[Frame]) -> None:
    """Move past the step at the top frame's index."""
    cursor[-1]["index"] += 1
    cursor[-1].pop("attempt", None)


def locate(program: Program, cursor: list[Frame]) -> Position:
    """Unwind finished bodies (next loop item, end of a fallback) and return the next step."""
    while cursor:
        frame = cursor[-1]
        body = program.body(frame)
        looping = is_loop(frame)
        has_item = not looping or frame["item"] < item_count(frame)
        if has_item and frame["index"] < len(body):
            return Position(step=body[frame["index"]])
        if looping and frame["item"] + 1 < item_count(frame):
            frame["item"] += 1
            frame["index"] = 0
            continue
        if frame.get("page"):
            return Position(refill=frame)
        cursor.pop()
        if frame.get("after") == "fail":
            return Position(failed_step=frame["owner"], error=frame.get("error", ""))
        if cursor:
            step_done(cursor)
    return Position()
