"""End to end through a real django-q2 cluster (``automations_bench --cluster``).

- steps: E ``payment.failed`` events emitted for the ten-step automation, timed from the first
  emit until every execution has succeeded, beside E no-op tasks through the same cluster (what
  the carrier alone moves per second);
- dispatch: the time to dispatch one event with N unrelated active automations (listening to
  other event types) against none: the indexed trigger lookup should make them free;
- lateness: executions that wait one minute, started over a spread of time so their wake-ups fall
  at every phase of the tick; how long after its ``wake_at`` each one resumed (p50, p99);
- backlog: executions started at once whose webhook goes to a slow receiver (half a second an
  answer) that fails each first call with a 503, so every run waits for its retry behind the
  others: the tasks the cluster ran per execution (against one, the least a run can take), the
  longest queue seen, and how late the retries ran after their planned moment (p50, p99).

The cluster is forked from this process (django-q2's own ``Cluster``), so its workers use the
scratch database this process created, whatever the host's settings name.
"""
from __future__ import annotations

import math
import multiprocessing
import signal
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from django.db import connection, connections, transaction
from django.db.models import Count
from django_q.brokers import get_broker
from django_q.cluster import Cluster
from django_q.conf import Conf
from django_q.signals import post_execute
from django_q.tasks import async_task, count_group
from django.conf import settings
from django.test import override_settings

from automations import services
from automations.benchmarks.cpu import cpu_by_role
from automations.conf import app_settings
from automations.benchmarks.workload import NOOP, ten_steps_on
from automations.models import Automation, AutomationVersion, Execution, StepRun
from automations.status import ExecutionStatus
from automations.triggers.events import dispatch
from billing_events import emit
from billing_events.catalogue import event_type_names, get_event_type

WORKLOAD_EVENT = "payment.failed"
POLL_SECONDS = 0.2
WAKE_AFTER = "1m"
LATENESS_AUTOMATION = {
    "name": "Benchmark: wake-ups", "trigger": {"type": "manual"}, "reentry": "allow",
    "steps": [{"key": "wait", "type": "delay", "duration": WAKE_AFTER},
              {"key": "resume", "type": "action", "action": "create_task", "config": {"title": "woke"}}],
}


@dataclass
class ClusterFigures:
    workers: int
    broker: str
    events: int
    steps: int
    step_rate: float
    task_rate: float
    unrelated: int
    dispatch_bare_ms: float
    dispatch_crowded_ms: float
    waits: int
    lateness_p50: float
    lateness_p99: float
    tick_seconds: float
    backlog: int
    backlog_tasks_per_execution: float
    backlog_queue_peak: int
    backlog_late_p50: float
    backlog_late_p99: float
    #: CPU seconds per event while the steps ran, by role (cluster, postgres, benchmark); empty
    #: where ``/proc`` is not there to read.
    cpu_ms_per_event: dict[str, float]


class _EngineTasksRun:
    """Engine tasks the running cluster has finished, counted by its monitor process (which sees
    every task's result, stored or not) in memory it shares with this process."""

    def __init__(self) -> None:
        self._count = multiprocessing.Value("q", 0)

    @property
    def count(self) -> int:
        return self._count.value

    def __call__(self, sender: object, task: dict, **kwargs: object) -> None:
        if str(task.get("func", "")).startswith("automations.engine"):
            with self._count.get_lock():
                self._count.value += 1


ENGINE_TASKS_RUN = _EngineTasksRun()


@contextmanager
def running_cluster(workers: int) -> Iterator[str]:
    """A django-q2 cluster of ``workers`` on a queue of its own; yields the broker's name."""
    saved = (Conf.WORKERS, Conf.SYNC, Conf.SAVE_LIMIT, Conf.CLUSTER_NAME, Conf.PREFIX, Conf.RECYCLE, Conf.QUEUE_LIMIT)
    handlers = (signal.getsignal(signal.SIGTERM), signal.getsignal(signal.SIGINT))
    # Every result kept (the no-op baseline is counted by its results); a queue name of its own so
    # a Redis broker shared with a running demo does not mix their tasks. The prefix must equal the
    # name, or django-q2's scheduler leaves the tick (a schedule with no cluster named) alone.
    Conf.WORKERS, Conf.SYNC, Conf.SAVE_LIMIT = workers, False, 0
    Conf.CLUSTER_NAME = Conf.PREFIX = "automations-bench"
    # Workers that are not recycled mid-run (django-q2 replaces one after 500 tasks: a pause in the
    # figures, and a worker that leaves as the cluster stops can leave its stop waiting for ever on
    # a full queue), and the queue django-q2 sizes for this many workers.
    Conf.RECYCLE, Conf.QUEUE_LIMIT = 10**9, workers ** 2
    broker = get_broker()
    cluster = Cluster(broker)  # installs its own SIGTERM/SIGINT handlers: restored below
    # Forked processes must not inherit an open connection (creating the broker may open one): a
    # child closing its copy would end this process's session on the server.
    connections.close_all()
    post_execute.connect(ENGINE_TASKS_RUN, weak=False)  # before the fork: the monitor has it
    try:
        cluster.start()
        yield type(broker).__name__
    finally:
        cluster.stop()
        post_execute.disconnect(ENGINE_TASKS_RUN)
        broker.purge_queue()
        signal.signal(signal.SIGTERM, handlers[0])
        signal.signal(signal.SIGINT, handlers[1])
        Conf.WORKERS, Conf.SYNC, Conf.SAVE_LIMIT, Conf.CLUSTER_NAME, Conf.PREFIX, Conf.RECYCLE, Conf.QUEUE_LIMIT = saved


def wait_until(done: Callable[[], bool], timeout: float, what: str) -> float:
    """Poll ``done`` until it holds; the time it took. A RuntimeError naming ``what`` on timeout."""
    start = time.perf_counter()
    while not done():
        if time.perf_counter() - start > timeout:
            raise RuntimeError(f"the cluster did not finish {what} within {timeout:.0f} s")
        time.sleep(POLL_SECONDS)
    return time.perf_counter() - start


def measure_carrier(tasks: int) -> float:
    """No-op tasks per second through the running cluster, queue to result."""
    group = f"bench-noop-{uuid.uuid4().hex[:8]}"
    start = time.perf_counter()
    for _ in range(tasks):
        async_task(NOOP, group=group)
    wait_until(lambda: count_group(group) >= tasks, 60 + tasks, f"{tasks} no-op tasks")
    return tasks / (time.perf_counter() - start)


def _finished(automation: Automation, expected: int) -> bool:
    counts = dict(Execution.objects.filter(automation=automation).values_list("status").annotate(n=Count("pk")))
    failed = counts.get(ExecutionStatus.FAILED, 0) + counts.get(ExecutionStatus.CANCELED, 0)
    if failed:
        raise RuntimeError(f"{failed} benchmark executions did not succeed")
    return counts.get(ExecutionStatus.SUCCEEDED, 0) >= expected


def measure_steps(events: int) -> tuple[int, float, dict[str, float]]:
    """Steps per second end to end: emits, dispatch, every step of every execution; and the CPU
    milliseconds each event cost, by role."""
    automation = services.create_automation(ten_steps_on(WORKLOAD_EVENT))
    services.activate(automation)
    sample = get_event_type(WORKLOAD_EVENT).sample_data()
    run = uuid.uuid4().hex[:8]
    with cpu_by_role(connection.settings_dict["NAME"]) as cpu:
        start = time.perf_counter()
        for index in range(events):
            emit(WORKLOAD_EVENT, sample, id=f"bench_cluster_{run}_{index}")
        wait_until(lambda: _finished(automation, events), 60 + 2 * events, f"{events} executions")
        elapsed = time.perf_counter() - start
    steps = StepRun.objects.filter(execution__automation=automation).count()
    return steps, steps / elapsed, {role: seconds * 1000 / events for role, seconds in cpu.items()}


def _percentile(values: list[float], share: float) -> float:
    """Nearest rank: a value that was observed, not an interpolation."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(share * len(ordered)) - 1)]


def measure_lateness(waits: int, spread_seconds: float, tick_seconds: float) -> tuple[float, float]:
    """p50 and p99 of (resumed at − wake_at) in seconds, for ``waits`` one-minute waits."""
    automation = services.create_automation(LATENESS_AUTOMATION)
    services.activate(automation)
    data = get_event_type(WORKLOAD_EVENT).sample_data()
    for _ in range(waits):
        services.run_manual(automation, data)
        time.sleep(spread_seconds / waits)
    wait_until(lambda: _finished(automation, waits), 120 + 3 * tick_seconds, f"{waits} wake-ups")
    planned = {row.execution_id: datetime.fromisoformat(row.output["until"])
               for row in StepRun.objects.filter(execution__automation=automation, step_key="wait")}
    resumed = dict(StepRun.objects.filter(execution__automation=automation, step_key="resume", attempt=1)
                   .values_list("execution_id", "started_at"))
    lateness = [(resumed[pk] - planned[pk]).total_seconds() for pk in planned]
    return _percentile(lateness, 0.5), _percentile(lateness, 0.99)


#: The slow receiver's answer time, and the wait before a failed call is tried again.
RECEIVER_SECONDS = 0.5
RETRY_SECONDS = 5


class _SlowReceiver(BaseHTTPRequestHandler):
    """Half a second an answer; the first call of each webhook id fails with a 503."""

    seen: set[str] = set()

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        time.sleep(RECEIVER_SECONDS)
        webhook_id = self.headers.get("webhook-id", "")
        first = webhook_id not in self.seen
        self.seen.add(webhook_id)
        self.send_response(503 if first else 200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


@contextmanager
def slow_receiver() -> Iterator[str]:
    """The receiver on loopback, served by this process's threads (the forked workers call it)."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _SlowReceiver)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/hook"
    finally:
        server.shutdown()
        server.server_close()


def measure_backlog(executions: int, hook: str) -> tuple[float, int, float, float]:
    """Tasks run per execution, the longest queue, and the retries' lateness p50/p99 in seconds."""
    automation = services.create_automation({
        "name": "Benchmark: slow receiver", "trigger": {"type": "manual"}, "reentry": "allow",
        "retry": {"max_attempts": 3, "initial_interval": f"{RETRY_SECONDS}s", "backoff_coefficient": 1,
                  "max_interval": f"{RETRY_SECONDS}s"},
        "steps": [{"key": "notify", "type": "action", "action": "send_webhook",
                   "config": {"url": hook, "body": {"n": "{{ execution.id }}"}, "timeout": 5}}]})
    services.activate(automation)
    data = get_event_type(WORKLOAD_EVENT).sample_data()
    broker = get_broker()
    tasks_before = ENGINE_TASKS_RUN.count
    for _ in range(executions):
        services.run_manual(automation, data)
    peak = 0

    def finished() -> bool:
        nonlocal peak
        peak = max(peak, broker.queue_size())
        return _finished(automation, executions)

    wait_until(finished, 60 + executions * 2 * RECEIVER_SECONDS, f"{executions} runs behind a slow receiver")
    tasks = ENGINE_TASKS_RUN.count - tasks_before
    attempts = {(row.execution_id, row.attempt): row for row in
                StepRun.objects.filter(execution__automation=automation, step_key="notify")}
    late = [(retry.started_at - attempts[pk, 1].finished_at).total_seconds() - RETRY_SECONDS
            for (pk, attempt), retry in attempts.items() if attempt == 2]
    return tasks / executions, peak, _percentile(late, 0.5), _percentile(late, 0.99)


def add_unrelated_automations(count: int) -> None:
    """``count`` active automations listening to every event type but the workload's."""
    others = [name for name in event_type_names() if name != WORKLOAD_EVENT]
    with transaction.atomic():
        automations = Automation.objects.bulk_create(
            Automation(name=f"Unrelated {n}", trigger_type="event", trigger_event=others[n % len(others)])
            for n in range(count))
        versions = AutomationVersion.objects.bulk_create(
            AutomationVersion(automation=automation, number=1, state="active", name=automation.name,
                              trigger={"type": "event", "event": automation.trigger_event},
                              snapshot={"name": automation.name, "steps": [],
                                        "trigger": {"type": "event", "event": automation.trigger_event}})
            for automation in automations)
        for automation, version in zip(automations, versions):
            automation.active_version = version
        Automation.objects.bulk_update(automations, ["active_version"], batch_size=1000)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")


def _dispatch_ms(events: int) -> float:
    """Median milliseconds to dispatch one workload event (emitted untimed first)."""
    sample = get_event_type(WORKLOAD_EVENT).sample_data()
    run = uuid.uuid4().hex[:8]
    ids = [emit(WORKLOAD_EVENT, sample, id=f"bench_dispatch_{run}_{n}").pk for n in range(events)]
    timings = []
    for event_id in ids:
        start = time.perf_counter()
        dispatch(event_id)
        timings.append((time.perf_counter() - start) * 1000)
    return _percentile(timings, 0.5)


def measure_dispatch(events: int, unrelated: int) -> tuple[float, float]:
    """Dispatch time with no unrelated automations, then with ``unrelated`` of them."""
    bare = _dispatch_ms(events)
    add_unrelated_automations(unrelated)
    return bare, _dispatch_ms(events)


def run_cluster_benchmark(*, events: int, workers: int, unrelated: int, waits: int, spread_seconds: float,
                          tick_seconds: float, backlog: int) -> ClusterFigures:
    allowed = [*app_settings.OUTBOUND_ALLOWED_HOSTS, "127.0.0.1"]  # the slow receiver, on loopback
    with (slow_receiver() as hook, override_settings(AUTOMATIONS={**getattr(settings, "AUTOMATIONS", {}), "OUTBOUND_ALLOWED_HOSTS": allowed}),
          running_cluster(workers) as broker):
        task_rate = measure_carrier(events)
        steps, step_rate, cpu = measure_steps(events)
        p50, p99 = measure_lateness(waits, spread_seconds, tick_seconds) if waits else (0.0, 0.0)
        backlog_figures = measure_backlog(backlog, hook) if backlog else (0.0, 0, 0.0, 0.0)
    # Without the cluster: the dispatch function itself, timed in this process.
    bare, crowded = measure_dispatch(min(events, 200), unrelated)
    return ClusterFigures(workers, broker, events, steps, step_rate, task_rate, unrelated, bare, crowded, waits,
                          p50, p99, tick_seconds, backlog, *backlog_figures, cpu)
