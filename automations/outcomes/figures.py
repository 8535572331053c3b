"""The figures of an automation (or one of its versions) over a period of days: read from the
tallies (a few rows a day, whatever the number of runs) after counting what is not counted yet,
and what is live now from the live executions."""
from __future__ import annotations

import math
from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from decimal import Decimal
from typing import Any

from django.db.models import Count, OuterRef, QuerySet, Subquery, Sum
from django.db.models.functions import Coalesce

from automations import clock
from automations.definition.serialize import definition_of
from automations.models import Automation, Execution, RecoveredBy, Recovery, Tally, TallyKind
from automations.outcomes.experiments import experiments
from automations.outcomes.fold import counted_at, fold, uncounted_starts
from automations.status import ExecutionStatus, LIVE_STATUSES
from automations.steps.lanes import walk
from automations.steps.split import weights_of

#: Transactions of the fold a request may spend counting before it answers (the sweep counts the
#: rest): the figures are at most that far behind.
FOLD_BATCHES_PER_READ = 3
GOAL = "goal"


def figures(automation: Automation, *, start: date, end: date, version: int | None = None) -> dict[str, Any]:
    """Runs started and how they ended, conversion to the goal, money recovered (``recoveries``), per
    step reached, succeeded, failed, waiting there now and recovered, emails by template, and the
    daily series, from ``start`` to ``end`` (days, both included)."""
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
    steps: dict[str, dict[str, Any]] = defaultdict(lambda: {"reached": 0, "succeeded": 0, "failed": 0, "waiting": 0,
                                                             "recovered": 0, "recovered_amounts": {}})
    for (kind, key), count in totals.items():
        if kind in (TallyKind.REACHED, TallyKind.SUCCEEDED, TallyKind.FAILED):
            steps[key][kind] = count
    for key, count in waiting.items():
        steps[key]["waiting"] = count
    for figures_of_step in steps.values():
        figures_of_step["share"] = _share(figures_of_step["reached"], started)
    recoveries = Recovery.objects.filter(automation=automation, day__gte=start, day__lte=end)
    if version is not None:
        recoveries = recoveries.filter(version_number=version)
    recovered = RecoveredInPeriod.read(recoveries)
    for key, count, amounts in recovered.by_step():
        steps[key]["recovered"], steps[key]["recovered_amounts"] = count, amounts
    live = Execution.objects.filter(automation=automation, status__in=LIVE_STATUSES)
    if version is not None:
        live = live.filter(version__number=version)
    folded_at = counted_at()
    return {
        "automation": automation.pk, "version": version, "from": start.isoformat(), "to": end.isoformat(),
        "runs": {"started": started, "live": live.count(), "ended": endings,
                 "goal": endings.get(GOAL, 0), "conversion": _share(endings.get(GOAL, 0), started)},
        "recovered": recovered.summary(recoveries),
        "steps": dict(sorted(steps.items())),
        "templates": _templates(totals),
        "experiments": experiments(totals, recoveries, splits_of(automation, version)),
        "daily": _daily(tallies, start, end, uncounted_by_day, recovered.by_day),
        "counted_at": folded_at.isoformat() if folded_at else None,
    }


def splits_of(automation: Automation, version: int | None) -> dict[str, dict[str, int]]:
    """The split steps of the version shown (else the active one, else the draft), with their weights."""
    shown = (automation.versions.filter(number=version).first() if version is not None
             else automation.active_version or automation.draft_version)
    if shown is None:
        return {}
    return {step["key"]: weights_of(step) for step in walk(definition_of(shown).get("steps") or [])
            if step.get("type") == "split"}


def waiting_at_steps(automation: Automation, version: int | None = None) -> dict[str, int]:
    """How many runs wait at each step now: at the step a wait names (an event, a decision), else
    the last step that ran (a delay, a failed attempt before its retry, a held message)."""
    waiting = Execution.objects.filter(automation=automation, status=ExecutionStatus.WAITING).exclude(waiting_at="")
    if version is not None:
        waiting = waiting.filter(version__number=version)
    # The step is written with the wait (``Execution.waiting_at``): one grouped count on an index.
    return dict(waiting.order_by().values_list("waiting_at").annotate(n=Count("pk")).values_list("waiting_at", "n"))


@dataclass
class RecoveredInPeriod:
    """The period's recoveries, read in one grouped query (by day, step, whom and currency: a few
    rows a day however many invoices) and summed here in each way the figures need."""

    rows: list[tuple[date, str, str, str, int, Decimal]]

    @classmethod
    def read(cls, recoveries: QuerySet[Recovery]) -> RecoveredInPeriod:
        return cls(list(recoveries.values_list("day", "step_key", "by", "currency")
                        .annotate(n=Count("pk"), total=Sum("amount")).order_by()
                        .values_list("day", "step_key", "by", "currency", "n", "total")))

    @property
    def by_day(self) -> Counter[date]:
        days: Counter[date] = Counter()
        for day, _, _, _, count, _ in self.rows:
            days[day] += count
        return days

    def by_step(self) -> list[tuple[str, int, dict[str, str]]]:
        counts: Counter[str] = Counter()
        amounts: dict[str, dict[str, Decimal]] = defaultdict(lambda: defaultdict(Decimal))
        for _, key, _, currency, count, total in self.rows:
            counts[key] += count
            amounts[key][currency] += total
        return [(key, counts[key], _written(amounts[key])) for key in counts if key]

    def summary(self, recoveries: QuerySet[Recovery]) -> dict[str, Any]:
        """How many invoices were paid while a run was live, by whom, how much in each currency,
        and how long after the run's start (median and 90th percentile, nearest rank, in seconds:
        read from the rows themselves)."""
        by: Counter[str] = Counter()
        amounts: dict[str, Decimal] = defaultdict(Decimal)
        for _, _, whom, currency, count, total in self.rows:
            by[whom] += count
            amounts[currency] += total
        count = sum(by.values())
        return {"invoices": count, "by_retry": by[RecoveredBy.RETRY], "by_customer": by[RecoveredBy.CUSTOMER],
                "amounts": _written(amounts),
                "time_to_recover": {"median": _percentile(recoveries, count, 0.5),
                                    "p90": _percentile(recoveries, count, 0.9)}}


def _written(amounts: dict[str, Decimal]) -> dict[str, str]:
    return {currency: f"{total:.2f}" for currency, total in sorted(amounts.items())}


def _percentile(recoveries: QuerySet[Recovery], count: int, share: float) -> int | None:
    if not count:
        return None
    rank = max(1, math.ceil(share * count))
    return recoveries.order_by("seconds_to_recover").values_list("seconds_to_recover", flat=True)[rank - 1]


def _templates(totals: dict[tuple[str, str], int]) -> dict[str, dict[str, int]]:
    """Emails sent and failed by template ("" names the emails steps write themselves)."""
    templates: dict[str, dict[str, int]] = defaultdict(lambda: {"sent": 0, "failed": 0})
    for (kind, key), count in totals.items():
        if kind == TallyKind.SENT:
            templates[key]["sent"] += count
        elif kind == TallyKind.NOT_SENT:
            templates[key]["failed"] += count
    return dict(sorted(templates.items()))


def _daily(tallies: Any, start: date, end: date, uncounted_starts: Counter[date],
           recovered_by_day: Counter[date]) -> list[dict[str, Any]]:
    by_day: dict[date, dict[str, int]] = defaultdict(lambda: {"started": 0, "ended": 0, GOAL: 0, "recovered": 0})
    for day, count in uncounted_starts.items():
        by_day[day]["started"] += count
    for day, count in recovered_by_day.items():
        by_day[day]["recovered"] += count
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


def recent_recovered(automation_ids: list[int], days: int = 30) -> dict[int, dict[str, Decimal]]:
    """Money recovered in the last ``days`` days (today included, UTC) by each of the automations,
    by currency, in one query (the automations list's page)."""
    first = clock.now().date() - timedelta(days=days - 1)
    recovered: dict[int, dict[str, Decimal]] = defaultdict(dict)
    for automation_id, currency, total in (
            Recovery.objects.filter(automation_id__in=automation_ids, day__gte=first)
            .values_list("automation_id", "currency").annotate(total=Sum("amount")).order_by("currency")
            .values_list("automation_id", "currency", "total")):
        recovered[automation_id][currency] = total
    return dict(recovered)
