"""The fold: counts what runs did into the tallies, each thing once.

A finished run (its start, its end, what it recovered: ``recoveries``, and whether it converted
after the variant it took at a split step: ``experiments``) and each finished step
attempt (by step, and an email's by its template) carry a mark
(``Execution.tallied``, ``StepRun.tallied``) that the fold sets in the same transaction as it adds
them to the tallies, so nothing is counted twice when a worker dies mid-way (the transaction is
rolled back, mark and count together) and nothing is lost (unmarked rows are found again). One fold counts at a time (it locks
the one ``TallyFold`` row; another skips). Workers never touch the tallies: a step's own commit
stays as it was, and a hot automation's counters are not a row every worker waits on.
"""
from __future__ import annotations

import re
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from django.db import transaction
from django.db.models import Exists, F, OuterRef, Q, QuerySet, Subquery
from django.db.models.fields.json import KeyTextTransform, KeyTransform
from django.utils.dateparse import parse_datetime

from automations import clock
from automations.models import EventTally, Execution, Recovery, StepRun, Tally, TallyFold, TallyKind
from automations.outcomes.recoveries import recoveries_of
from automations.status import ExecutionStatus, RunTallied, StepRunStatus
from billing_events.models import Event

#: Rows one transaction of the fold counts: short enough not to hold the lock long.
BATCH = 2000
_COUNTED_STEP_STATUSES = (StepRunStatus.SUCCEEDED, StepRunStatus.FAILED)
TallyKey = tuple[int, int, object, str, str]  # automation, version number, day, kind, key


@dataclass
class Folded:
    runs: int = 0
    step_runs: int = 0
    events: int = 0

    def __bool__(self) -> bool:
        return bool(self.runs or self.step_runs or self.events)


def fold(*, batches: int | None = None) -> Folded:
    """Count what is not counted yet, ``BATCH`` rows a transaction, until none is left (or
    ``batches`` transactions); nothing when another fold is counting."""
    total, done = Folded(), 0
    if not _anything_to_count():
        return total  # nothing locked, nothing written
    marker = _marker_id()
    while batches is None or done < batches:
        folded = _fold_batch(marker)
        if folded is None:
            break
        total.runs += folded.runs
        total.step_runs += folded.step_runs
        total.events += folded.events
        done += 1
        if not folded:
            break
    return total


def _anything_to_count() -> bool:
    """Whether a finished run or attempt, or an event, waits to be counted (reads of partial indexes)."""
    return (Execution.objects.filter(tallied__lt=RunTallied.ALL, finished_at__isnull=False).exists()
            or StepRun.objects.filter(tallied=False).exclude(status=StepRunStatus.RUNNING).exists()
            or _uncounted_events().exists())


def _fold_batch(marker_id: int) -> Folded | None:
    try:
        with transaction.atomic():
            marker = TallyFold.objects.select_for_update(skip_locked=True).filter(pk=marker_id).first()
            if marker is None:
                return None  # another fold is counting
            counts: Counter[TallyKey] = Counter()
            runs = _count_runs(counts)
            step_runs = _count_step_runs(counts)
            _add(counts)
            events = _count_events()
            if runs or step_runs or events:  # "when the tallies last counted something"
                TallyFold.objects.filter(pk=marker.pk).update(folded_at=clock.now())
            return Folded(runs=runs, step_runs=step_runs, events=events)
    except _Moved:
        return Folded()  # counted nothing: the next fold reads the run as it is now


class _Moved(Exception):
    """A run the fold read as finished went on meanwhile (retried from its failed step)."""


#: The one row of ``TallyFold``.
_MARKER = 1


def _marker_id() -> int:
    marker, _ = TallyFold.objects.get_or_create(pk=_MARKER)
    return marker.pk


def counted_at() -> datetime | None:
    """When the tallies last counted something (None: never); nothing has finished uncounted since,
    unless a fold is due."""
    return TallyFold.objects.filter(pk=_MARKER).values_list("folded_at", flat=True).first()


def uncounted_starts() -> QuerySet[Execution]:
    """Runs whose start the tallies do not hold yet (live ones, and finished ones the fold has not
    reached): readers add them to the tallies' starts, so a run is counted from the moment it starts."""
    return Execution.objects.filter(tallied=RunTallied.NOTHING)


def _count_runs(counts: Counter[TallyKey]) -> int:
    """Finished runs not counted yet: their end, and their start unless that is counted (a run
    retried from its failed step). A live run's start is not counted here: the figures read
    uncounted starts from the executions (``figures``), so a run is never held by the fold."""
    # A run that ended while an attempt of its was under way waits until the sweep has settled the
    # attempt (``settle_orphaned_attempts``): what that attempt did is part of how the run did.
    unsettled = StepRun.objects.filter(execution=OuterRef("pk"), status=StepRunStatus.RUNNING)
    runs = list(Execution.objects.filter(tallied__lt=RunTallied.ALL, finished_at__isnull=False)
                .exclude(Exists(unsettled)).order_by("pk")
                .values("pk", "automation_id", "version__number", "status", "status_reason", "error",
                        "started_at", "finished_at", "tallied",
                        invoice_id=KeyTextTransform("id", KeyTransform("invoice", "data")))[:BATCH])
    ids = [run["pk"] for run in runs]
    variants = variants_taken(ids)
    recoveries = recoveries_of(runs)
    recovered = {recovery.execution_id for recovery in recoveries}
    for run in runs:
        version = (run["automation_id"], run["version__number"])
        if run["tallied"] == RunTallied.NOTHING:
            counts[(*version, run["started_at"].date(), TallyKind.STARTED, "")] += 1
        how = ending(run)
        counts[(*version, run["finished_at"].date(), TallyKind.ENDED, how)] += 1
        for split, variant in variants.get(run["pk"], {}).items():
            counts[(*version, run["finished_at"].date(), TallyKind.VARIANT_RUNS, f"{split}:{variant}")] += 1
            if how == "goal" or run["pk"] in recovered:
                counts[(*version, run["finished_at"].date(), TallyKind.VARIANT_CONVERTED, f"{split}:{variant}")] += 1
    if (Execution.objects.filter(pk__in=ids, tallied__lt=RunTallied.ALL, finished_at__isnull=False)
            .update(tallied=RunTallied.ALL)) != len(ids):
        raise _Moved()
    for recovery in recoveries:
        recovery.variants = variants.get(recovery.execution_id, {})
    # A run retried from its failed step has its recovery already: it is one run, paid once.
    Recovery.objects.bulk_create(recoveries, ignore_conflicts=True)
    return len(ids)


def variants_taken(execution_ids: list[int]) -> dict[int, dict[str, str]]:
    """The variant each run took at each split step it passed (the split's step-log output)."""
    taken: dict[int, dict[str, str]] = {}
    for execution_id, step_key, variant in (
            StepRun.objects.filter(execution_id__in=execution_ids, step_type="split", status=StepRunStatus.SUCCEEDED)
            .values_list("execution_id", "step_key", KeyTextTransform("variant", "output"))):
        if variant:
            taken.setdefault(execution_id, {})[step_key] = variant
    return taken


def uncount_end(execution: Execution) -> None:
    """Take back a finished run's counted end before it goes on again (retried from its failed
    step; its start stays counted): its new end is counted when it comes. Call it in the
    transaction that moves the run, with its row locked."""
    if execution.tallied != RunTallied.ALL:
        return
    run = {"status": execution.status, "status_reason": execution.status_reason, "error": execution.error}
    Tally.objects.filter(automation_id=execution.automation_id, version_number=execution.version.number,
                         day=execution.finished_at.date(), kind=TallyKind.ENDED, key=ending(run)[:120]
                         ).update(count=F("count") - 1)
    Execution.objects.filter(pk=execution.pk).update(tallied=RunTallied.START)
    execution.tallied = RunTallied.START


def _count_step_runs(counts: Counter[TallyKey]) -> int:
    previous = (StepRun.objects.filter(execution=OuterRef("execution"))
                .filter(Q(started_at__lt=OuterRef("started_at")) | Q(started_at=OuterRef("started_at"), pk__lt=OuterRef("pk")))
                .order_by("-started_at", "-pk").values("pk")[:1])
    rows = list(StepRun.objects.filter(tallied=False).exclude(status=StepRunStatus.RUNNING).order_by("pk")
                .annotate(previous=Subquery(previous))
                .values("pk", "previous", "execution__automation_id", "execution__version__number", "step_key", "attempt",
                        "status", "finished_at", "started_at", "action", "error",
                        template=KeyTextTransform("template", "input"),
                        decline_code=KeyTextTransform("decline_code", "output"),
                        code=KeyTextTransform("code", "output"),
                        status_code=KeyTextTransform("status_code", "output"))[:BATCH])
    woken = _delays_before(rows)
    for row in rows:
        if row["previous"] in woken:
            _count_wake_up(counts, row, woken[row["previous"]])
        if row["status"] not in _COUNTED_STEP_STATUSES:
            continue  # a deferral or an interrupted attempt: not an outcome (its settlement is)
        version = (row["execution__automation_id"], row["execution__version__number"])
        day = (row["finished_at"] or row["started_at"]).date()
        if row["attempt"] == 1:
            counts[(*version, day, TallyKind.REACHED, row["step_key"])] += 1
        counts[(*version, day, TallyKind(row["status"]), row["step_key"])] += 1
        if row["action"]:
            _count_action(counts, version, day, row)
        if row["action"] == "send_email":  # by template: "" for an email the step writes itself
            sent = TallyKind.SENT if row["status"] == StepRunStatus.SUCCEEDED else TallyKind.NOT_SENT
            counts[(*version, day, sent, row["template"] or "")] += 1
    StepRun.objects.filter(pk__in=[row["pk"] for row in rows]).update(tallied=True)
    return len(rows)


#: The wake-up lateness histogram's buckets, in seconds (the metrics' ``le`` labels).
WAKE_BUCKETS = (1, 5, 15, 60, 300, 900, 3600)


def _delays_before(rows: list[dict]) -> dict[int, datetime]:
    """The delays among the steps logged just before ``rows`` that made their run wait, by step-run
    id: when each wait was to end (a delay already over at its step made nobody wait)."""
    delays = StepRun.objects.filter(pk__in={row["previous"] for row in rows if row["previous"]}, step_type="delay",
                                    status=StepRunStatus.SUCCEEDED).values_list("pk", "started_at", "output")
    woken = {}
    for pk, started_at, output in delays:
        until = parse_datetime(str((output or {}).get("until") or ""))
        if until is not None and until > started_at:
            woken[pk] = until
    return woken


def _count_wake_up(counts: Counter[TallyKey], row: dict, until: datetime) -> None:
    """The first step after a delay: how late the run woke (from the delay's end to this step)."""
    version = (row["execution__automation_id"], row["execution__version__number"])
    late = max(0.0, (row["started_at"] - until).total_seconds())
    bucket = next((str(bound) for bound in WAKE_BUCKETS if late <= bound), "+Inf")
    counts[(*version, row["started_at"].date(), TallyKind.WAKES, bucket)] += 1
    counts[(*version, row["started_at"].date(), TallyKind.WAKE_MS, "")] += round(late * 1000)


def _uncounted_events() -> QuerySet[Event]:
    """Events whose receipt, or whose dispatch once it came, the event tallies do not hold yet."""
    return Event.objects.filter(Q(counted=0) | Q(counted=1, dispatched_at__isnull=False), counted__lt=2)


def _count_events() -> int:
    """Count ``BATCH`` events not counted yet: received on the day they came, dispatched on the day
    they were; each marked in this transaction (an undispatched one stays half counted)."""
    rows = list(_uncounted_events().values_list("pk", "type", "received_at", "dispatched_at", "counted")[:BATCH])
    counts: Counter[tuple[object, str, str]] = Counter()
    for _, event_type, received_at, dispatched_at, counted in rows:
        if counted == 0:
            counts[(received_at.date(), "received", event_type)] += 1
        if dispatched_at is not None:
            counts[(dispatched_at.date(), "dispatched", event_type)] += 1
    for counted, ids in ((1, [row[0] for row in rows if row[3] is None]),
                         (2, [row[0] for row in rows if row[3] is not None])):
        if ids and Event.objects.filter(pk__in=ids, counted__lt=counted).update(counted=counted) != len(ids):
            raise _Moved()  # an event deleted meanwhile: the next fold counts what is left
    _increment(EventTally, ("day", "kind", "event_type"), counts)
    return len(rows)


def _count_action(counts: Counter[TallyKey], version: tuple[int, int], day: object, row: dict) -> None:
    """An action's attempt: how long it took, and when it failed, why (the metrics' figures)."""
    counts[(*version, day, TallyKind.ACTION_ATTEMPTS, row["action"])] += 1
    if row["finished_at"] is not None:
        took = row["finished_at"] - row["started_at"]
        counts[(*version, day, TallyKind.ACTION_MS, row["action"])] += max(0, round(took.total_seconds() * 1000))
    if row["status"] == StepRunStatus.FAILED:
        counts[(*version, day, TallyKind.ACTION_FAILURES, f"{row['action']}:{failure_code(row)}")] += 1


#: An SMTP server's reply code at the start of a failed send's error ("could not send email: (451, ...").
_SMTP_CODE = re.compile(r"^could not send email: \((\d{3}),")


def failure_code(row: dict) -> str:
    """What a failed attempt's code is: a decline's code, the gateway's error code, the HTTP status
    answered (``http_503``), the SMTP reply code (``smtp_451``), else ``error``."""
    if row.get("decline_code"):
        return str(row["decline_code"])
    if row.get("code"):
        return str(row["code"])
    if row.get("status_code"):
        return f"http_{row['status_code']}"
    smtp = _SMTP_CODE.match(row.get("error") or "")
    return f"smtp_{smtp[1]}" if smtp else "error"


def _add(counts: Counter[TallyKey]) -> None:
    cut: Counter[TallyKey] = Counter()
    for (*rest, key), count in counts.items():
        cut[(*rest, key[:120])] += count  # keys alike in their first 120 characters share a row
    _increment(Tally, ("automation_id", "version_number", "day", "kind", "key"), cut)


def _increment(model: type[Tally] | type[EventTally], fields: tuple[str, ...], counts: Mapping[tuple, int]) -> None:
    """Add each count to the row of ``model`` its key names (``fields`` in order), creating the row
    the first time (one fold counts at a time: no other writer races it)."""
    for key, count in counts.items():
        row = dict(zip(fields, key))
        if not model.objects.filter(**row).update(count=F("count") + count):
            model.objects.create(**row, count=count)


def ending(run: dict) -> str:
    """How a run ended, as the tallies name it: ``goal`` (an exit_on event ended it), ``completed``
    (past its last step), ``stop:<step>``, ``failed:<step>`` or ``canceled``."""
    reason, status = run["status_reason"] or "", run["status"]
    if reason.startswith("stopped at step "):
        return f"stop:{reason.removeprefix('stopped at step ')}"
    if status == ExecutionStatus.CANCELED:
        return "goal" if reason.startswith("exit_on:") else "canceled"
    if status == ExecutionStatus.FAILED:
        error = run["error"] or ""
        step = error.removeprefix("step ").partition(":")[0] if error.startswith("step ") else ""
        return f"failed:{step}" if step else "failed"
    return "completed"
