"""``manage.py automations_bench``: throughput and sweep cost, as ratios to bare baselines.

It runs in a throw-away database created beside the configured one (same engine and server), so
the figures are the configured database's and its data is not touched.
"""
from __future__ import annotations

import tempfile
from pathlib import Path

import django
from django.core.management.base import BaseCommand, CommandParser
from django.db import connection


class Command(BaseCommand):
    help = "Benchmark event ingestion, step execution and the wake-up sweep against bare baselines."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--events", type=int, default=1000)
        parser.add_argument("--executions", type=int, default=50, help="runs of the 10-step automation")
        parser.add_argument("--waiting", type=int, default=100_000, help="the large waiting-executions count")

    def handle(self, *args, **options) -> None:
        import logging

        from automations.benchmark import run_benchmark

        logging.getLogger("django-q").setLevel(logging.WARNING)  # one INFO line per task otherwise

        original_name = connection.settings_dict["NAME"]
        tmp = tempfile.TemporaryDirectory()
        if connection.vendor == "sqlite":
            # a file, like the real one (an in-memory database would flatter every figure)
            connection.settings_dict["TEST"]["NAME"] = str(Path(tmp.name) / "bench.sqlite3")
        connection.creation.create_test_db(verbosity=0, autoclobber=True, serialize=False)
        try:
            figures = run_benchmark(options["events"], options["executions"], 1000, options["waiting"])
        finally:
            connection.creation.destroy_test_db(original_name, verbosity=0)
            tmp.cleanup()
        out = self.stdout.write
        out(f"Billing Automations benchmark — {connection.vendor}, Django {django.get_version()}")
        out(f"ingest   emit()              {figures.emit_rate:9.0f} events/s   "
            f"bare ORM insert     {figures.insert_rate:9.0f} rows/s    ratio {figures.emit_rate / figures.insert_rate:5.2f}")
        out(f"execute  10-step automation  {figures.step_rate:9.0f} steps/s    "
            f"bare django-q2 task {figures.task_rate:9.0f} tasks/s   ratio {figures.step_rate / figures.task_rate:5.2f}")
        out(f"sweep    {figures.small:>7,} waiting    {figures.sweep_small_ms:9.2f} ms/sweep  "
            f"{figures.large:>7,} waiting   {figures.sweep_large_ms:9.2f} ms/sweep  "
            f"ratio {figures.sweep_large_ms / figures.sweep_small_ms:5.2f} (flat is ~1)")
