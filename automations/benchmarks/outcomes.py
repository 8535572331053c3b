"""What the outcome figures cost with many runs stored: the library's dunning with ``step_runs`` step
runs (ten a run) over the last 366 days, written by ``INSERT … SELECT generate_series`` (not through
the engine) and counted into the tallies and recoveries as the fold counts them; then the figures
for 30 and 366 days, in process and through the REST API, beside a bare indexed count of the same
automation's runs and the scan of its step runs that the tallies spare. PostgreSQL only: the
figures at this size are a production database's."""
from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import connection, models

from automations import clock, library, services
from automations.models import Execution, Recovery, StepRun, Tally, TallyKind
from automations.outcomes.figures import figures
from automations.status import ExecutionStatus, RunTallied
from automations.steps.lanes import walk

STEPS_PER_RUN = 10
#: Of every 100 runs: 20 reach the goal (the customer paid: a recovery), 1 still waits.
GOAL_EVERY, WAITING_EVERY, FAILED_STEP_EVERY = 5, 100, 7
REPEATS = 15


@dataclass
class OutcomeFigures:
    step_runs: int
    runs: int
    load_seconds: float
    stats_30_ms: float
    stats_366_ms: float
    api_30_ms: float
    count_ms: float
    scan_ms: float


def run_outcomes_benchmark(step_runs: int) -> OutcomeFigures:
    if connection.vendor != "postgresql":
        raise RuntimeError("the outcomes benchmark writes its runs with generate_series: run it on PostgreSQL")
    automation = library.instantiate("payment_dunning")
    services.activate(automation)
    automation.refresh_from_db()
    version = automation.active_version
    keys = [step["key"] for step in walk(version.snapshot["steps"])][:STEPS_PER_RUN]
    runs = max(1, step_runs // STEPS_PER_RUN)
    started = time.perf_counter()
    first = _insert_runs(automation.pk, version.pk, runs, keys[-1])
    _insert_step_runs(first, runs * STEPS_PER_RUN, keys)
    _count_as_the_fold_does(automation.pk, version.number)
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")  # as autovacuum leaves a table at rest: index-only scans possible
    load = time.perf_counter() - started

    today = clock.now().date()
    api = _api_client()
    url = f"/api/automations/{automation.pk}/stats/"
    return OutcomeFigures(
        step_runs=runs * STEPS_PER_RUN, runs=runs, load_seconds=load,
        stats_30_ms=_median_ms(lambda: figures(automation, start=today - timedelta(days=29), end=today)),
        stats_366_ms=_median_ms(lambda: figures(automation, start=today - timedelta(days=365), end=today)),
        api_30_ms=_median_ms(lambda: _ok(api.get(url, HTTP_HOST=_host()))),
        count_ms=_median_ms(lambda: Execution.objects.filter(automation=automation,
                                                             status=ExecutionStatus.WAITING).count()),
        scan_ms=_median_ms(lambda: StepRun.objects.filter(execution__automation=automation,
                                                          started_at__gte=clock.now() - timedelta(days=30))
                           .values("step_key", "status").annotate(n=models.Count("pk")).count(), repeats=3),
    )


def _median_ms(func: Callable[[], Any], repeats: int = REPEATS) -> float:
    func()  # warm: the first call pays for connections and caches
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        func()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def _ok(response: Any) -> None:
    if response.status_code != 200:
        raise RuntimeError(f"GET stats/ answered {response.status_code}")


def _host() -> str:
    """A host name the settings allow (the request goes through the whole middleware stack)."""
    allowed = [host for host in settings.ALLOWED_HOSTS if host and not host.startswith(".") and host != "*"]
    return allowed[0] if allowed else "localhost"


def _api_client() -> Any:
    from rest_framework.test import APIClient  # a test helper: loaded only by the command that needs it

    user = get_user_model().objects.create_superuser("bench", "bench@example.com", None)
    client = APIClient()
    client.force_authenticate(user)
    return client


def _insert(model: type[models.Model], count: int, expressions: dict[str, tuple[str, list[Any]]]) -> None:
    """``count`` rows of ``model`` numbered ``i`` = 1…count: ``expressions`` give the SQL of some
    columns (of ``i``) with its parameters; every other column takes its field's default."""
    columns, selects, params = [], [], []
    for field in model._meta.concrete_fields:
        if field.primary_key:
            continue
        if field.attname in expressions:
            sql, values = expressions[field.attname]
            columns.append(field.column)
            selects.append(sql)
            params.extend(values)
        elif field.has_default() or not field.null:
            default = field.get_default()  # a text field without one has ""
            if default is None and not field.null:
                raise ValueError(f"{model.__name__}.{field.attname} needs a value")
            columns.append(field.column)
            selects.append("%s")
            params.append(field.get_db_prep_save(default, connection))
    sql = (f"INSERT INTO {model._meta.db_table} ({', '.join(columns)}) "
           f"SELECT {', '.join(selects)} FROM generate_series(1, %s) AS g(i)")
    with connection.cursor() as cursor:
        cursor.execute(sql, [*params, count])


def _insert_runs(automation_id: int, version_id: int, runs: int, waiting_at: str) -> int:
    """The runs, spread over the last 366 days: one in ``GOAL_EVERY`` ended by the customer's
    payment, one in ``WAITING_EVERY`` still waiting, the rest stopped at ``recovered``. Returns
    the first run's id."""
    start = clock.now() - timedelta(days=366)
    goal, waiting = GOAL_EVERY, WAITING_EVERY
    started = "%s::timestamptz + (i %% 366) * interval '1 day' + (i %% 86400) * interval '1 second'"
    _insert(Execution, runs, {
        "automation_id": ("%s", [automation_id]), "version_id": ("%s", [version_id]),
        "status": (f"CASE WHEN i %% {waiting} = 0 THEN 'waiting' WHEN i %% {goal} = 0 THEN 'canceled' "
                   "ELSE 'succeeded' END", []),
        "status_reason": (f"CASE WHEN i %% {waiting} = 0 THEN '' WHEN i %% {goal} = 0 "
                          "THEN 'exit_on: invoice.paid (evt_bench_' || i || ') for inv_' || i "
                          "ELSE 'stopped at step recovered' END", []),
        "correlation_value": ("'inv_' || i", []),
        "started_at": (started, [start]),
        "finished_at": (f"CASE WHEN i %% {waiting} = 0 THEN NULL ELSE {started} + interval '3 days' END", [start]),
        "wake_at": (f"CASE WHEN i %% {waiting} = 0 THEN now() + interval '3 days' END", []),
        # the step a run waits at, as the engine writes it with the wait: its tenth step's
        "waiting_at": (f"CASE WHEN i %% {waiting} = 0 THEN %s ELSE '' END", [waiting_at]),
        "tallied": (f"CASE WHEN i %% {waiting} = 0 THEN {RunTallied.NOTHING} ELSE {RunTallied.ALL} END", []),
    })
    return Execution.objects.filter(automation_id=automation_id).order_by("pk").values_list("pk", flat=True)[0]


def _insert_step_runs(first_run: int, count: int, keys: list[str]) -> None:
    """An attempt at each of a run's first ten steps (``keys``), one in ``FAILED_STEP_EVERY`` failed."""
    per_run = STEPS_PER_RUN
    _insert(StepRun, count, {
        "execution_id": (f"%s + (i - 1) / {per_run}", [first_run]),
        "step_key": (f"(%s::text[])[((i - 1) %% {len(keys)}) + 1]", [keys]),
        "step_type": ("'action'", []), "action": ("'send_email'", []),
        "status": (f"CASE WHEN i %% {FAILED_STEP_EVERY} = 0 THEN 'failed' ELSE 'succeeded' END", []),
        "started_at": ("now() - (i %% 366) * interval '1 day'", []),
        "finished_at": ("now() - (i %% 366) * interval '1 day' + interval '1 second'", []),
        "tallied": ("true", []),
    })


def _count_as_the_fold_does(automation_id: int, version_number: int) -> None:
    """The tallies and recoveries the fold would have written for these rows, in a few statements."""
    tally, execution, step_run, recovery = (Tally._meta.db_table, Execution._meta.db_table,
                                            StepRun._meta.db_table, Recovery._meta.db_table)
    finished = f"FROM {execution} WHERE automation_id = %s AND finished_at IS NOT NULL"
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {tally} (automation_id, version_number, day, kind, key, count) "
            f"SELECT %s, %s, (started_at AT TIME ZONE 'UTC')::date, '{TallyKind.STARTED}', '', count(*) {finished} "
            "GROUP BY 3", [automation_id, version_number, automation_id])
        cursor.execute(
            f"INSERT INTO {tally} (automation_id, version_number, day, kind, key, count) "
            f"SELECT %s, %s, (finished_at AT TIME ZONE 'UTC')::date, '{TallyKind.ENDED}', "
            "CASE WHEN status = 'canceled' THEN 'goal' ELSE 'stop:recovered' END, count(*) "
            f"{finished} GROUP BY 3, 5", [automation_id, version_number, automation_id])
        for kind, condition in ((TallyKind.REACHED, "attempt = 1"), (TallyKind.SUCCEEDED, "status = 'succeeded'"),
                                (TallyKind.FAILED, "status = 'failed'")):
            cursor.execute(
                f"INSERT INTO {tally} (automation_id, version_number, day, kind, key, count) "
                f"SELECT %s, %s, (s.finished_at AT TIME ZONE 'UTC')::date, '{kind}', s.step_key, count(*) "
                f"FROM {step_run} s JOIN {execution} e ON e.id = s.execution_id "
                f"WHERE e.automation_id = %s AND {condition.replace('status', 's.status').replace('attempt', 's.attempt')} "
                "GROUP BY 3, 5", [automation_id, version_number, automation_id])
        cursor.execute(
            f"INSERT INTO {recovery} (automation_id, version_number, execution_id, invoice_id, step_key, by, amount, "
            "currency, paid_at, day, seconds_to_recover, variants) "
            "SELECT automation_id, %s, id, correlation_value, 'gentle', 'customer', 1250.00, 'USD', finished_at, "
            "(finished_at AT TIME ZONE 'UTC')::date, 259200, '{}'::jsonb "
            f"{finished} AND status = 'canceled'", [version_number, automation_id])
