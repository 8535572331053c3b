"""The replay: each stored trigger event, in the order the events occurred, runs the definition in
test mode (virtual time from the moment it occurred, no side effects, the billing data as it is
now), and the rules that join runs together are applied as the engine applies them — a run that
would not have started is counted with why (entry conditions, trigger parameters, ``reentry``),
and an ``exit_on`` event ends the runs of its correlation value that are live at its moment.

Memory holds one page of events, the runs still live at the current moment (an exit event may
still end them) and, with ``reentry: once``, the correlation values that have started a run."""
from __future__ import annotations

import heapq
import time
from collections import defaultdict
from collections.abc import Callable
from datetime import datetime
from itertools import count
from typing import Any

from automations import clock
from automations.backtest.events import PAGE_SIZE, events_between, pages
from automations.backtest.tally import Run, Tally
from automations.card_retries import RehearsedCharge
from automations.correlation import correlation_value
from automations.engine.simulation import simulate
from automations.status import ExecutionStatus, Reentry
from automations.triggers.events import trigger_matches
from billing_events.models import Event

Progress = Callable[[int, int], None]


def _moment(entry: dict[str, Any]) -> datetime:
    return datetime.fromisoformat(entry["at"])


class Replay:
    """Runs fed one event at a time, in occurred order; finished runs go to ``tally``."""

    def __init__(self, definition: dict[str, Any], *, automation_id: int | None, version: int | None,
                 tally: Tally) -> None:
        self.definition = definition
        self.automation_id = automation_id
        self.version = version
        self.tally = tally
        self.trigger = definition["trigger"]
        self.event_type = self.trigger["event"]
        self.key = definition.get("correlation_key") or ""
        self.reentry = definition.get("reentry") or Reentry.ALLOW
        # Without a correlation key, exit_on matches nothing (as when a version is activated).
        self.exit_types = set(definition.get("exit_on") or []) if self.key else set()
        self.live: dict[str, list[Run]] = defaultdict(list)
        self._ends: list[tuple[datetime, int, Run]] = []
        self._order = count()
        self.once_started: set[str] = set()
        # The card charges the replayed runs made, which the card rules count across runs as the
        # ledger counts live ones.
        self.rehearsal: dict[str, list[Any]] = {}

    @property
    def types(self) -> list[str]:
        return sorted({self.event_type} | self.exit_types)

    def latest_end(self) -> datetime | None:
        """When the last run still live ends (exit events up to then may still end it)."""
        return max((run.finished_at for runs in self.live.values() for run in runs), default=None)

    def state(self) -> dict[str, Any]:
        """The runs still live and the values ``reentry: once`` has seen, as JSON (for a checkpoint)."""
        return {"live": {value: [run.state() for run in runs] for value, runs in self.live.items()},
                "once_started": sorted(self.once_started),
                "card_charges": [charge.state() for charge in self.rehearsal.get("card_charges", [])]}

    def restore(self, state: dict[str, Any]) -> None:
        for value, runs in state["live"].items():
            for run in map(Run.from_state, runs):
                self.live[value].append(run)
                heapq.heappush(self._ends, (run.finished_at, next(self._order), run))
        self.once_started = set(state["once_started"])
        self.rehearsal["card_charges"] = [RehearsedCharge.from_state(saved) for saved in state.get("card_charges", [])]

    def feed(self, event: Event, *, exits_only: bool = False) -> None:
        self._settle(event.occurred_at)
        if event.type in self.exit_types:
            self._exit(event)  # first, as dispatch does: an invoice.paid ends its dunning before anything reacts
        if event.type == self.event_type and not exits_only:
            self._trigger(event)

    def finish(self) -> None:
        while self._ends:
            self._done(heapq.heappop(self._ends)[2])

    def _settle(self, moment: datetime) -> None:
        """Runs that have ended by ``moment`` are no longer live: count them."""
        while self._ends and self._ends[0][0] <= moment:
            self._done(heapq.heappop(self._ends)[2])

    def _done(self, run: Run) -> None:
        runs = self.live.get(run.correlation)
        if runs is None or run not in runs:
            return  # already ended by an exit event
        runs.remove(run)
        if not runs:
            del self.live[run.correlation]
        self.tally.add(run)

    def _exit(self, event: Event) -> None:
        value = correlation_value(self.key, event.data)
        for run in self.live.pop(value, []) if value else []:
            # Steps due at the exit's moment ran first; the rest never happens.
            run.timeline = [entry for entry in run.timeline if _moment(entry) <= event.occurred_at]
            run.status, run.ending, run.finished_at = ExecutionStatus.CANCELED, f"exit:{event.type}", event.occurred_at
            run.reason = f"exit_on: {event.type} ({event.id}) for {value}"
            self.tally.add(run)

    def _trigger(self, event: Event) -> None:
        run = Run(event_id=event.id, occurred_at=event.occurred_at)
        if not trigger_matches(self.trigger, event):
            run.started, run.ending = False, "trigger_parameters"
            run.reason = "the event's parameters (days_before, threshold_percent) do not match the trigger's"
            self.tally.add(run)
            return
        run.correlation = correlation_value(self.key, event.data)
        trigger = {"type": "event", "event_id": event.id, "event_type": event.type,
                   "occurred_at": event.occurred_at.isoformat()}
        charges = self.rehearsal.setdefault("card_charges", [])
        before = len(charges)
        with clock.virtual_time(event.occurred_at):
            outcome = simulate(self.definition, event.data, automation_id=self.automation_id, trigger=trigger,
                               version=self.version, rehearsal=self.rehearsal)
        made, charges[before:] = charges[before:], []  # kept below for a run that starts, up to its exit
        if outcome["status"] == "not_entered":
            run.started, run.ending = False, "entry_conditions"
            run.reason = f"entry conditions do not hold: {outcome.get('conditions', '')}"
            self.tally.add(run)
            return
        if not outcome.get("entered", True):  # the conditions could not be evaluated: a failed run, at once
            run.status, run.ending, run.error = ExecutionStatus.FAILED, "failed:conditions", outcome.get("error", "")
            run.finished_at = event.occurred_at
            self.tally.add(run)
            return
        if run.correlation and self._refused(run):
            self.tally.add(run)
            return
        charges.extend(self._made_before_exit(made, run))
        self._started(run, outcome)

    def _made_before_exit(self, made: list[RehearsedCharge], run: Run) -> list[RehearsedCharge]:
        """The card charges a run made that happen: those before the first exit event that will
        end it (later runs replayed before that event is fed must not count the others)."""
        if not made or not self.exit_types or not run.correlation:
            return made
        latest = max(charge.at for charge in made)
        exits = events_between(sorted(self.exit_types), run.occurred_at, latest, include_end=True)
        cut = next((exit.occurred_at for exit in exits.order_by("occurred_at", "id").iterator()
                    if exit.occurred_at > run.occurred_at and correlation_value(self.key, exit.data) == run.correlation),
                   None)
        return [charge for charge in made if cut is None or charge.at <= cut]

    def _refused(self, run: Run) -> bool:
        """Whether ``reentry`` lets no run start for this correlation value (and why, on ``run``)."""
        if self.reentry == Reentry.SKIP_IF_RUNNING and self.live.get(run.correlation):
            earlier = self.live[run.correlation][0]
            run.started, run.ending = False, "reentry_skip_if_running"
            run.reason = f"reentry skip_if_running: the run started by {earlier.event_id} for {run.correlation} is live"
            return True
        if self.reentry == Reentry.ONCE:
            if run.correlation in self.once_started:
                run.started, run.ending = False, "reentry_once"
                run.reason = f"reentry once: a run for {run.correlation} has already started"
                return True
            self.once_started.add(run.correlation)
        return False

    def _started(self, run: Run, outcome: dict[str, Any]) -> None:
        timeline = outcome.get("timeline") or []
        last = timeline[-1] if timeline else None
        failed_at = next((entry["step"] for entry in reversed(timeline) if entry.get("error")), "")
        run.status, run.error, run.timeline = outcome["status"], outcome.get("error") or "", timeline
        run.finished_at = datetime.fromisoformat(outcome["finished_at"]) if outcome.get("finished_at") else None
        if last is not None and last["type"] == "stop":
            run.ending = f"stop:{last['step']}"
        elif run.status == ExecutionStatus.CANCELED and outcome.get("exited_on"):
            # the exit_on event one of its own steps emitted (a retry that paid: invoice.paid)
            run.ending, run.error = f"exit:{outcome['exited_on']}", ""
        elif run.status == ExecutionStatus.FAILED:
            run.ending = f"failed:{failed_at}" if failed_at else "failed"
        else:
            run.ending = "end"
        run.finished_at = run.finished_at or run.occurred_at
        if run.correlation and (self.exit_types or self.reentry == Reentry.SKIP_IF_RUNNING) \
                and run.finished_at > run.occurred_at:
            self.live[run.correlation].append(run)
            heapq.heappush(self._ends, (run.finished_at, next(self._order), run))
        else:
            self.tally.add(run)



class Job:
    """A backtest's replay, page by page: it can stop after any page (past a deadline) and go on
    later from its ``checkpoint()``, in another task."""

    def __init__(self, definition: dict[str, Any], start: datetime, end: datetime, *,
                 automation_id: int | None = None, version: int | None = None,
                 checkpoint: dict[str, Any] | None = None) -> None:
        self.start, self.end = start, end
        self.tally = Tally(definition)
        self.replay = Replay(definition, automation_id=automation_id, version=version, tally=self.tally)
        saved = checkpoint or {}
        self.phase = saved.get("phase", "period")  # then "after": exit events after the period
        self.after = (datetime.fromisoformat(saved["after"][0]), saved["after"][1]) if saved.get("after") else None
        self.done, self.total = saved.get("done", 0), saved.get("total")
        self.events = saved.get("events", {"in_period": 0, "triggers": 0, "exits_after_period": 0})
        self.latest = datetime.fromisoformat(saved["latest"]) if saved.get("latest") else None
        if saved:
            self.tally.restore(saved["tally"])
            self.replay.restore(saved["replay"])

    def checkpoint(self) -> dict[str, Any]:
        return {"phase": self.phase, "after": [self.after[0].isoformat(), self.after[1]] if self.after else None,
                "done": self.done, "total": self.total, "events": self.events,
                "latest": self.latest.isoformat() if self.latest else None,
                "tally": self.tally.state(), "replay": self.replay.state()}

    def run(self, *, page_size: int = PAGE_SIZE, deadline: float | None = None,
            progress: Progress | None = None) -> dict[str, Any] | None:
        """Replay the events from ``start`` to before ``end``; then, while runs are still live, the
        exit events after ``end`` up to their last step. Calls ``progress(done, total)`` after each
        page. Returns the counts, or None when ``deadline`` (a ``time.monotonic()``) passed first."""
        report = progress or (lambda done, total: None)
        replay = self.replay
        if self.phase == "period":
            in_period = events_between(replay.types, self.start, self.end)
            if self.total is None:
                self.total = self.events["in_period"] = in_period.count()
                report(self.done, self.total)
            for page in pages(in_period, page_size, self.after):
                for event in page:
                    replay.feed(event)
                    self.events["triggers"] += event.type == replay.event_type
                if self._page_done(page, report, deadline):
                    return None
            self.phase, self.after = "after", None
            latest = replay.latest_end()
            if replay.exit_types and latest is not None and latest >= self.end:
                self.latest = latest
                self.total += events_between(sorted(replay.exit_types), self.end, latest, include_end=True).count()
                report(self.done, self.total)
        if self.latest is not None:
            after = events_between(sorted(replay.exit_types), self.end, self.latest, include_end=True)
            for page in pages(after, page_size, self.after):
                for event in page:
                    replay.feed(event, exits_only=True)
                self.events["exits_after_period"] += len(page)
                if self._page_done(page, report, deadline):
                    return None
        replay.finish()
        return {"events": self.events, **self.tally.result()}

    def _page_done(self, page: list[Event], report: Progress, deadline: float | None) -> bool:
        """Note the page as done; whether the deadline has passed."""
        self.after = (page[-1].occurred_at, page[-1].id)
        self.done += len(page)
        report(self.done, self.total)
        return deadline is not None and time.monotonic() >= deadline
