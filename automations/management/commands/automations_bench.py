"""``manage.py automations_bench``: what the engine costs, as ratios to bare baselines.

It runs in a throw-away database created beside the configured one (same engine and server), so
the figures are the configured database's and its data is not touched. ``--cluster`` measures end
to end through a real worker cluster instead of in this process.
"""
from __future__ import annotations

import logging
import os

import django
from django.core.management.base import BaseCommand, CommandParser
from django.db import connection

from automations.benchmarks.cluster import ClusterFigures, run_cluster_benchmark
from automations.benchmarks.in_process import Figures, run_benchmark
from automations.benchmarks.outcomes import OutcomeFigures, run_outcomes_benchmark
from automations.benchmarks.scratch import scratch_database
from automations.conf import app_settings


class Command(BaseCommand):
    help = ("Benchmark event ingestion, step execution and the wake-up sweep against bare baselines "
            "(--cluster: end to end; --outcomes: the outcome figures with many runs stored).")

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--events", type=int, default=None,
                            help="events to emit (default 1000 in process, 300 with --cluster)")
        parser.add_argument("--executions", type=int, default=50, help="runs of the 10-step automation")
        parser.add_argument("--waiting", type=int, default=100_000, help="the large waiting-executions count")
        parser.add_argument("--cluster", action="store_true",
                            help="end to end through a real django-q2 cluster started by the command")
        parser.add_argument("--workers", type=int, default=4, help="the cluster's workers (--cluster)")
        parser.add_argument("--unrelated", type=int, default=10_000,
                            help="unrelated active automations for the dispatch figure (--cluster)")
        parser.add_argument("--waits", type=int, default=30,
                            help="one-minute waits for the lateness figure; 0 skips it (--cluster)")
        parser.add_argument("--spread", type=float, default=60.0,
                            help="seconds over which the waits are started (--cluster)")
        parser.add_argument("--backlog", type=int, default=200,
                            help="runs started at once behind a slow, failing receiver; 0 skips it (--cluster)")
        parser.add_argument("--outcomes", action="store_true",
                            help="the outcome figures with many step runs stored (PostgreSQL)")
        parser.add_argument("--step-runs", type=int, default=1_000_000,
                            help="step runs stored for --outcomes (10,000,000 for the figure the docs quote)")

    def handle(self, *args, **options) -> None:
        logging.getLogger("django-q").setLevel(logging.WARNING)  # one INFO line per task otherwise
        with scratch_database():
            if options["outcomes"]:
                figures = run_outcomes_benchmark(options["step_runs"])
            elif options["cluster"]:
                figures = run_cluster_benchmark(
                    events=options["events"] or 300, workers=options["workers"], unrelated=options["unrelated"],
                    waits=options["waits"], spread_seconds=options["spread"],
                    tick_seconds=60.0 * app_settings.TICK_MINUTES, backlog=options["backlog"])
            else:
                figures = run_benchmark(options["events"] or 1000, options["executions"], 1000, options["waiting"])
        self.stdout.write(f"Billing Automations benchmark — {connection.vendor}, Django {django.get_version()}")
        if isinstance(figures, OutcomeFigures):
            self._outcomes(figures)
        elif isinstance(figures, ClusterFigures):
            self._cluster(figures)
        else:
            self._in_process(figures)

    def _in_process(self, figures: Figures) -> None:
        out = self.stdout.write
        out(f"ingest   emit()              {figures.emit_rate:9.0f} events/s   "
            f"bare ORM insert     {figures.insert_rate:9.0f} rows/s    ratio {figures.emit_rate / figures.insert_rate:5.2f}")
        out(f"execute  10-step automation  {figures.step_rate:9.0f} steps/s    "
            f"bare django-q2 task {figures.task_rate:9.0f} tasks/s   ratio {figures.step_rate / figures.task_rate:5.2f}")
        out(f"sweep    {figures.small:>7,} waiting    {figures.sweep_small_ms:9.2f} ms/sweep  "
            f"{figures.large:>7,} waiting   {figures.sweep_large_ms:9.2f} ms/sweep  "
            f"ratio {figures.sweep_large_ms / figures.sweep_small_ms:5.2f} (flat is ~1)")

    def _outcomes(self, figures: OutcomeFigures) -> None:
        out = self.stdout.write
        out(f"outcomes {figures.step_runs:,} step runs of {figures.runs:,} runs over 366 days "
            f"(written and counted in {figures.load_seconds:.0f} s)")
        out(f"stats    30 days {figures.stats_30_ms:8.2f} ms   366 days {figures.stats_366_ms:8.2f} ms   "
            f"API GET stats/ {figures.api_30_ms:8.2f} ms")
        out(f"bare     indexed count of the automation's waiting runs {figures.count_ms:8.2f} ms   "
            f"ratio {figures.api_30_ms / figures.count_ms:6.2f}")
        out(f"spared   30 days' step runs counted from the step log  {figures.scan_ms:8.2f} ms   "
            f"(what the tallies spare: {figures.scan_ms / figures.stats_30_ms:6.1f}x the figures)")

    def _cluster(self, figures: ClusterFigures) -> None:
        out = self.stdout.write
        out(f"cluster  {figures.workers} workers, {figures.broker}")
        out(f"execute  {figures.events} events, {figures.steps} steps end to end {figures.step_rate:9.1f} steps/s    "
            f"{figures.events} no-op tasks {figures.task_rate:9.1f} tasks/s   "
            f"ratio {figures.step_rate / figures.task_rate:5.2f}")
        if figures.cpu_ms_per_event:
            shares = "   ".join(f"{role} {ms:6.1f}" for role, ms in sorted(figures.cpu_ms_per_event.items()))
            wall_ms = 1000 * figures.steps / figures.step_rate / figures.events
            out(f"cpu      ms per event: {shares}   (wall {wall_ms:.1f} ms per event on {os.cpu_count()} cores)")
        out(f"dispatch no other automations {figures.dispatch_bare_ms:7.2f} ms/event   "
            f"{figures.unrelated:,} unrelated active {figures.dispatch_crowded_ms:7.2f} ms/event   "
            f"ratio {figures.dispatch_crowded_ms / figures.dispatch_bare_ms:5.2f} (flat is ~1)")
        if figures.waits:
            out(f"wake-up  {figures.waits} one-minute waits resumed late by p50 {figures.lateness_p50:6.1f} s   "
                f"p99 {figures.lateness_p99:6.1f} s (tick every {figures.tick_seconds:.0f} s)")
        if figures.backlog:
            out(f"backlog  {figures.backlog} runs behind a slow receiver failing each first call: "
                f"{figures.backlog_tasks_per_execution:5.2f} tasks/run (1 is the least)   "
                f"longest queue {figures.backlog_queue_peak} tasks   "
                f"retries late by p50 {figures.backlog_late_p50:6.1f} s  p99 {figures.backlog_late_p99:6.1f} s")
