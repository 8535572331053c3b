"""The figures of an automation (or one of its versions) over a period of days: read from the
tallies (a few rows a day, whatever the number of runs) after counting what is not counted yet,
and what is live now from the live executions."""
from __future__ import annotations

from collections import Counter, defaultdict
from datetime import date, datetime, time, timedelta, timezone
from typing import Any

from django.db.models import Count, OuterRef, QuerySet, Subquery, Sum
from django.db.models.functions import Coalesce

from automations import clock
from automations.models import Automation, Execution, StepRun, Tally, TallyKind
from automations.outcomes.fold import counted_at, fold, uncounted_starts
from automations.status import ExecutionStatus, LIVE_STATUSES

#: Transactions of the fold a request may spend counting before it answers (the sweep counts the
#: rest): the figures are at most that far behind.
FOLD_BATCHES_PER_READ = 3
GOAL = "goal"


def figures(automation: Automation, *, start: date, end: date, version: int | None = None) -> dict[str, Any]:
    """Runs started and how they ended, conversion to the goal, per step reached, succeeded, failed
    and waiting there now, and the daily series, from ``start`` to ``end`` (days, both included)."""
    fold(batches=FOLD_BATCHES_PER_READ)
    tallies = Tally.objects.filter(automation=automation, day__gte=start, day__lte=end)
    if version is not None:
        tallies = tallies.filter(version_number=version)
    totals: dict[tuple[str, str], int] = {(kind, key): count for kind, key, count in
                                          tallies.values_list("kind", "key").annotate(total=Sum("count"))
                                          .values_list("kind", "key", "total")}
    # Starts of runs not finished yet (or not counted yet) are read from the executions: the fold
    # counts a run once it has finished, so it never holds a live one.
    uncounted = uncounted_starts().filter(automation=automation, started_at__gte=_midnight(start),
                                          started_at__lt=_midnight(end + timedelta(days=1)))
    if version is not None:
        uncounted = uncounted.filter(version__number=version)
    uncounted_by_day = Counter(moment.date() for moment in uncounted.values_list("started_at", flat=True))
    started = totals.get((TallyKind.STARTED, ""), 0) + sum(uncounted_by_day.values())
    endings = {key: count for (kind, key), count in sorted(totals.items()) if kind == TallyKind.ENDED and count}
    waiting = waiting_at_steps(automation, version)
    steps: dict[str, dict[str, Any]] = defaultdict(lambda: {"reached": 0, "succeeded": 0, "failed": 0, "waiting": 0})
    for (kind, key), count in totals.items():
        if kind in (TallyKind.REACHED, TallyKind.SUCCEEDED, TallyKind.FAILED):
            steps[key][kind] = count
    for key, count in waiting.items():
        steps[key]["waiting"] = count
    for figures_of_step in steps.values():
        figures_of_step["share"] = _share(figures_of_step["reached"], started)
    live = Execution.objects.filter(automation=automation, status__in=LIVE_STATUSES)
    if version is not None:
        live = live.filter(version__number=version)
    folded_at = counted_at()
    return {
        "automation": automation.pk, "version": version, "from": start.isoformat(), "to": end.isoformat(),
        "runs": {"started": started, "live": live.count(), "ended": endings,
                 "goal": endings.get(GOAL, 0), "conversion": _share(endings.get(GOAL, 0), started)},
        "steps": dict(sorted(steps.items())),
        "daily": _daily(tallies, start, end, uncounted_by_day),
        "counted_at": folded_at.isoformat() if folded_at else None,
    }


def waiting_at_steps(automation: Automation, version: int | None = None) -> dict[str, int]:
    """How many runs wait at each step now: at the step a wait names (an event, a decision), else
    the last step that ran (a delay, a failed attempt before its retry, a held message)."""
    waiting = Execution.objects.filter(automation=automation, status=ExecutionStatus.WAITING)
    if version is not None:
        waiting = waiting.filter(version__number=version)
    last_step = StepRun.objects.filter(execution=OuterRef("pk")).order_by("-started_at", "-pk").values("step_key")[:1]
    counts: dict[str, int] = defaultdict(int)
    for cursor, last in waiting.annotate(last_step=Subquery(last_step)).values_list("cursor", "last_step"):
        state = (cursor[-1].get("wait") if cursor else None) or {}
        step = state.get("step") or last
        if step:
            counts[step] += 1
    return dict(counts)


def _daily(tallies: Any, start: date, end: date, uncounted_starts: Counter[date]) -> list[dict[str, Any]]:
    by_day: dict[date, dict[str, int]] = defaultdict(lambda: {"started": 0, "ended": 0, GOAL: 0})
    for day, count in uncounted_starts.items():
        by_day[day]["started"] += count
    for day, kind, key, count in tallies.filter(kind__in=[TallyKind.STARTED, TallyKind.ENDED]).values_list(
            "day", "kind", "key").annotate(total=Sum("count")).values_list("day", "kind", "key", "total"):
        by_day[day]["started" if kind == TallyKind.STARTED else "ended"] += count
        if kind == TallyKind.ENDED and key == GOAL:
            by_day[day][GOAL] += count
    days = (end - start).days + 1
    return [{"day": (start + timedelta(days=n)).isoformat(), **by_day[start + timedelta(days=n)]} for n in range(days)]


def _midnight(day: date) -> datetime:
    return datetime.combine(day, time(), timezone.utc)


def _share(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def with_recent_figures(automations: QuerySet, days: int = 30) -> QuerySet:
    """``automations`` annotated with ``recent_started`` and ``recent_goal``: runs started in the
    last ``days`` days (today included, UTC) and runs of theirs that reached the goal, in one query
    (the automations list)."""
    first = clock.now().date() - timedelta(days=days - 1)

    def tally(kind: str, key: str) -> Subquery:
        return Subquery(Tally.objects.filter(automation=OuterRef("pk"), kind=kind, key=key, day__gte=first)
                        .values("automation").annotate(n=Sum("count")).values("n"))

    uncounted = Subquery(uncounted_starts().filter(automation=OuterRef("pk"), started_at__gte=_midnight(first))
                         .values("automation").annotate(n=Count("pk")).values("n"))
    return automations.annotate(
        recent_started=Coalesce(tally(TallyKind.STARTED, ""), 0) + Coalesce(uncounted, 0),
        recent_goal=Coalesce(tally(TallyKind.ENDED, GOAL), 0))
