"""What the metrics say, read from the database when Prometheus scrapes: the outcome tallies (runs
started and ended, step attempts, action attempts' durations and failures by code, emails by
template, money recovered, events received and dispatched by type, how late runs woke after a
delay; counters that survive retention, as the tallies do) and the engine's state now (live runs, wake-ups due and how late the oldest is, events waiting for their
dispatch). Read at scrape time rather than counted in each worker, so the figures are the same
whichever process answers and however many processes the worker cluster has."""
from __future__ import annotations

from collections.abc import Iterator

from django.db.models import Count, Min, Sum
from prometheus_client.core import (CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily, Metric,
                                   SummaryMetricFamily)
from prometheus_client.registry import Collector

from automations import clock
from automations.models import Automation, EventTally, Execution, Recovery, Tally, TallyKind
from automations.outcomes.figures import FOLD_BATCHES_PER_READ
from automations.outcomes.fold import WAKE_BUCKETS, fold, uncounted_starts
from automations.status import LIVE_STATUSES, ExecutionStatus
from billing_events.models import Event

PREFIX = "billing_automations"


class AutomationsCollector(Collector):
    def collect(self) -> Iterator[Metric]:
        # As the figures do: what finished since the tick is counted first (a few transactions at
        # most; when nothing waits, two or three reads), so a scrape is not a tick behind.
        fold(batches=FOLD_BATCHES_PER_READ)
        names = dict(Automation.objects.values_list("pk", "name"))
        yield from self._runs(names)
        yield from self._steps(names)
        yield from self._actions()
        yield from self._money(names)
        yield from self._events()
        yield from self._engine()

    def _runs(self, names: dict[int, str]) -> Iterator[Metric]:
        started = CounterMetricFamily(f"{PREFIX}_runs_started", "Runs started.", labels=["automation"])
        ended = CounterMetricFamily(f"{PREFIX}_runs_ended", "Runs ended, by how: goal (an exit_on event), "
                                    "completed, stop:<step>, failed:<step>, canceled.", labels=["automation", "ending"])
        starts: dict[int, int] = {pk: 0 for pk in names}
        for automation, count in _sums(TallyKind.STARTED, "automation"):
            starts[automation] = starts.get(automation, 0) + count
        # Starts the tallies count once the run has finished: live runs' are read from the runs.
        for automation, count in (uncounted_starts().values_list("automation")
                                  .annotate(n=Count("pk")).values_list("automation", "n")):
            starts[automation] = starts.get(automation, 0) + count
        for automation, count in starts.items():
            started.add_metric([_label(names, automation)], count)
        for automation, ending, count in _sums(TallyKind.ENDED, "automation", "key"):
            ended.add_metric([_label(names, automation), ending], count)
        live = GaugeMetricFamily(f"{PREFIX}_runs_live", "Runs running or waiting now.", labels=["automation", "status"])
        for automation, status, count in (Execution.objects.filter(status__in=LIVE_STATUSES)
                                          .values_list("automation", "status").annotate(n=Count("pk"))
                                          .values_list("automation", "status", "n")):
            live.add_metric([_label(names, automation), status], count)
        yield from (started, ended, live)

    def _steps(self, names: dict[int, str]) -> Iterator[Metric]:
        attempts = CounterMetricFamily(f"{PREFIX}_step_attempts", "Step attempts, by outcome.",
                                       labels=["automation", "step", "outcome"])
        for kind in (TallyKind.SUCCEEDED, TallyKind.FAILED):
            for automation, step, count in _sums(kind, "automation", "key"):
                attempts.add_metric([_label(names, automation), step, kind], count)
        yield attempts

    def _actions(self) -> Iterator[Metric]:
        attempts = dict(_sums(TallyKind.ACTION_ATTEMPTS, "key"))
        milliseconds = dict(_sums(TallyKind.ACTION_MS, "key"))
        duration = SummaryMetricFamily(f"{PREFIX}_action_duration_seconds",
                                       "How long action attempts took (from the attempt's start to its outcome).",
                                       labels=["action"])
        for action, count in sorted(attempts.items()):
            duration.add_metric([action], count_value=count, sum_value=milliseconds.get(action, 0) / 1000)
        failures = CounterMetricFamily(f"{PREFIX}_action_failures", "Action attempts that failed, by action and "
                                       "code: a decline's code, the gateway's error code, http_<status>, "
                                       "smtp_<reply code>, else error.", labels=["action", "code"])
        for key, count in _sums(TallyKind.ACTION_FAILURES, "key"):
            action, _, code = key.partition(":")
            failures.add_metric([action, code], count)
        emails = CounterMetricFamily(f"{PREFIX}_emails", "Email attempts by template (\"\": written in the step) "
                                     "and outcome.", labels=["template", "outcome"])
        for kind, outcome in ((TallyKind.SENT, "sent"), (TallyKind.NOT_SENT, "failed")):
            for template, count in _sums(kind, "key"):
                emails.add_metric([template, outcome], count)
        yield from (duration, failures, emails)

    def _money(self, names: dict[int, str]) -> Iterator[Metric]:
        invoices = CounterMetricFamily(f"{PREFIX}_recovered_invoices", "Invoices paid while a run was live, by "
                                       "whom: retry (a retry_payment step) or customer.", labels=["automation", "by"])
        for automation, by, count in (Recovery.objects.values_list("automation", "by").annotate(n=Count("pk"))
                                      .values_list("automation", "by", "n")):
            invoices.add_metric([_label(names, automation), by], count)
        amount = CounterMetricFamily(f"{PREFIX}_recovered_amount", "Money recovered, in the currency's units.",
                                     labels=["automation", "currency"])
        for automation, currency, total in (Recovery.objects.values_list("automation", "currency")
                                            .annotate(total=Sum("amount")).values_list("automation", "currency", "total")):
            amount.add_metric([_label(names, automation), currency], float(total))
        yield from (invoices, amount)

    def _events(self) -> Iterator[Metric]:
        received = CounterMetricFamily(f"{PREFIX}_events_received", "Billing events stored, by type (a "
                                       "redelivery of a stored event is not counted again).", labels=["type"])
        dispatched = CounterMetricFamily(f"{PREFIX}_events_dispatched", "Billing events every automation has "
                                         "seen, by type.", labels=["type"])
        for kind, event_type, count in (EventTally.objects.values_list("kind", "event_type").annotate(n=Sum("count"))
                                        .order_by("kind", "event_type").values_list("kind", "event_type", "n")):
            (received if kind == "received" else dispatched).add_metric([event_type], count)
        wakes = dict(_sums(TallyKind.WAKES, "key"))
        late_ms = sum(count for _, count in _sums(TallyKind.WAKE_MS, "key"))
        buckets, running = [], 0
        for bound in [*map(str, WAKE_BUCKETS), "+Inf"]:
            running += wakes.get(bound, 0)
            buckets.append((bound if bound == "+Inf" else f"{float(bound)}", running))  # le="1.0", as clients write it
        lateness = HistogramMetricFamily(f"{PREFIX}_wakeup_lateness_seconds", "How late runs woke after a delay: "
                                         "from the end of the wait to the next step's start.",
                                         buckets=buckets, sum_value=late_ms / 1000)
        yield from (received, dispatched, lateness)

    def _engine(self) -> Iterator[Metric]:
        now = clock.now()
        due = Execution.objects.filter(status=ExecutionStatus.WAITING, wake_at__lte=now)
        oldest = due.aggregate(oldest=Min("wake_at"))["oldest"]
        yield GaugeMetricFamily(f"{PREFIX}_wakeups_due", "Waiting runs whose wake-up time has come.",
                                value=due.count())
        yield GaugeMetricFamily(f"{PREFIX}_queue_lag_seconds", "How late the oldest due wake-up is (0: none due): "
                                "the worker cluster's lag.", value=(now - oldest).total_seconds() if oldest else 0)
        yield GaugeMetricFamily(f"{PREFIX}_events_undispatched", "Billing events stored but not dispatched yet.",
                                value=Event.objects.filter(dispatched_at__isnull=True).count())


def _sums(kind: str, *fields: str) -> list[tuple]:
    """The tallies of ``kind`` summed over days and versions, by ``fields``."""
    return list(Tally.objects.filter(kind=kind).values_list(*fields).annotate(total=Sum("count"))
                .values_list(*fields, "total"))


def _label(names: dict[int, str], automation: int) -> str:
    """An automation as a label: its name and id (names may change and repeat; ids do neither)."""
    return f"{names.get(automation, 'deleted')} (#{automation})"
