"""Outages under a running worker cluster, with the product's own time limits, leases and windows:
the database drops every connection and refuses new ones for a while (what its clients see of a
PostgreSQL restart), and Redis is killed and comes back empty. Work resumes within a minute of the
server's return, without waiting for a lease to expire; nothing is lost and nothing is done twice;
the cluster's puller and result saver wait the outage out instead of dying."""
from __future__ import annotations

import shutil
import socket
import subprocess
import time
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from django.db import connection

from automations import services
from automations.models import Execution, Task
from tests.fixtures.cluster import kill, start

pytestmark = [
    pytest.mark.crash,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif("connection.vendor != 'postgresql'", reason="a worker cluster needs PostgreSQL"),
]

RUNS = 12
#: How long the server stays away.
OUTAGE_SECONDS = 12
#: What the product promises: all work going again this soon after the server is back.
RECOVERY_SECONDS = 60
#: The cluster's processes lines that mean it did not wait the outage out.
DIED = ("Failed to pull task from broker", "reincarnated", "Could not save task result")


def definition(hook: str) -> dict:
    webhook = {"type": "action", "action": "send_webhook", "config": {"url": hook, "body": {"invoice": "{{ invoice.id }}"}}}
    return {"name": "Collect", "trigger": {"type": "event", "event": "invoice.issued"},
            "steps": [{"key": "announce", **webhook},
                      {"key": "pause", "type": "delay", "duration": "4s"},  # waits that fall due during the outage
                      {"key": "note", "type": "action", "action": "create_task", "config": {"title": "{{ invoice.id }}"}},
                      {"key": "report", **webhook}]}


def database_admin():
    """A connection to the server's maintenance database, to take the test database away."""
    import psycopg

    settings = connection.settings_dict
    return psycopg.connect(host=settings["HOST"] or "127.0.0.1", port=settings["PORT"] or 5432,
                           user=settings["USER"], password=settings["PASSWORD"] or None, dbname="postgres",
                           autocommit=True)


def database_outage(seconds: float) -> None:
    """Every connection to the test database dropped, new ones refused for ``seconds``."""
    name = connection.settings_dict["NAME"]
    with database_admin() as admin:
        admin.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS false')
        admin.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s", [name])
        connection.close()  # this test's own connection went with the others
        time.sleep(seconds)
        admin.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS true')


def settled(runs: int) -> bool:
    connection.close()  # the tests' connection may have gone with an outage
    return Execution.objects.count() == runs and not Execution.objects.exclude(status="succeeded").exists()


def wait_for(condition: Callable[[], bool], seconds: float) -> float | None:
    """Seconds until ``condition()`` held, or None if it did not within ``seconds``."""
    began = time.monotonic()
    while time.monotonic() - began < seconds:
        try:
            if condition():
                return time.monotonic() - began
        except Exception:  # the database may still be coming back
            pass
        time.sleep(0.25)
    return None


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class RedisServer:
    """A Redis server of the test's own on loopback, with nothing saved: killed, it comes back empty."""

    def __init__(self, directory: Path) -> None:
        self.port, self.directory, self.process = free_port(), directory, None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.process = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
             "--dir", str(self.directory)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        import redis

        client = redis.Redis.from_url(self.url)
        if wait_for(lambda: client.ping(), 10) is None:
            raise RuntimeError("the test's Redis server did not start")

    def kill(self) -> None:
        self.process.kill()
        self.process.wait()


@pytest.fixture
def collecting(http_server) -> Iterator[None]:
    http_server.delay = 0.3  # webhook calls in flight when the outage comes
    services.activate(services.create_automation(definition(f"{http_server.url}/hook")))
    yield


def emit(prefix: str, log, environment: dict[str, str]) -> None:
    """RUNS events from a billing process of their own, as the cluster's broker receives them."""
    start("-m", "tests.fixtures.emitter", prefix, str(RUNS), log=log, **environment).wait(60)


def run_cluster(tmp_path: Path, fault: Callable[[Callable[[], None]], None], *, runs: int = RUNS,
                **environment: str) -> tuple[float | None, str]:
    """Start a cluster and a ticker, emit the runs' events from a billing process, let the fault
    happen once some runs are under way (it may emit more, with the callable it is given); returns
    the seconds from the server's return until every run had succeeded (None: not within
    RECOVERY_SECONDS), and the cluster's log."""
    log_path = tmp_path / "cluster.log"
    environment = {"CLUSTER_TIMINGS": "product", **environment}
    with open(log_path, "wb") as log:
        cluster = start("manage.py", "qcluster", log=log, **environment)
        ticker = start("-m", "tests.fixtures.ticker", log=log, **environment)
        try:
            emit("o", log, environment)
            assert wait_for(lambda: Task.objects.count() >= 2, 60) is not None, log_path.read_text()[-3000:]
            fault(lambda: emit("p", log, environment))  # returns when the server is back: timed from here
            recovered = wait_for(lambda: settled(runs), RECOVERY_SECONDS)
        finally:
            kill(cluster)
            kill(ticker)
    return recovered, log_path.read_text(errors="replace")


def assert_nothing_lost_or_doubled(http_server, prefixes: str = "o") -> None:
    executions = list(Execution.objects.all())
    assert Counter(execution.event_id for execution in executions) == {
        f"evt_{prefix}{n}": 1 for prefix in prefixes for n in range(RUNS)}
    assert Counter(Task.objects.values_list("execution_id", flat=True)) == {e.pk: 1 for e in executions}
    ids = {received.headers["webhook-id"] for received in http_server.requests}
    assert ids == {f"{e.pk}:{key}:0" for e in executions for key in ("announce", "report")}


def test_a_database_restart_under_the_orm_broker(collecting, http_server, tmp_path):
    recovered, log = run_cluster(tmp_path, lambda emit_more: database_outage(OUTAGE_SECONDS))
    assert recovered is not None, f"not every run succeeded within {RECOVERY_SECONDS}s of the return\n{log[-4000:]}"
    assert_nothing_lost_or_doubled(http_server)
    assert not [line for line in log.splitlines() if any(sign in line for sign in DIED)], log[-4000:]
    print(f"ORM broker, database away {OUTAGE_SECONDS}s: every run done {recovered:.1f}s after its return")


@pytest.mark.skipif(shutil.which("redis-server") is None, reason="needs redis-server")
def test_a_database_restart_and_an_empty_redis_under_the_redis_broker(collecting, http_server, tmp_path):
    redis_server = RedisServer(tmp_path)
    redis_server.start()
    try:
        recovered, log = run_cluster(tmp_path, lambda emit_more: database_outage(OUTAGE_SECONDS),
                                     CLUSTER_REDIS_URL=redis_server.url)
        assert recovered is not None, f"database: not every run succeeded in {RECOVERY_SECONDS}s\n{log[-4000:]}"
        assert_nothing_lost_or_doubled(http_server)
        assert not [line for line in log.splitlines() if any(sign in line for sign in DIED)], log[-4000:]
        print(f"Redis broker, database away {OUTAGE_SECONDS}s: every run done {recovered:.1f}s after its return")
    finally:
        redis_server.kill()


@pytest.mark.skipif(shutil.which("redis-server") is None, reason="needs redis-server")
def test_redis_killed_and_back_empty_under_the_redis_broker(collecting, http_server, tmp_path):
    redis_server = RedisServer(tmp_path)
    redis_server.start()

    def restart_empty(emit_more: Callable[[], None]) -> None:
        emit_more()  # their dispatches wait in Redis behind the busy workers...
        redis_server.kill()  # ...and are gone with it, as are the wake-ups queued there
        time.sleep(OUTAGE_SECONDS)
        redis_server.start()

    try:
        recovered, log = run_cluster(tmp_path, restart_empty, runs=2 * RUNS, CLUSTER_REDIS_URL=redis_server.url)
        assert recovered is not None, f"not every run succeeded within {RECOVERY_SECONDS}s\n{log[-4000:]}"
        assert_nothing_lost_or_doubled(http_server, prefixes="op")
        assert "Failed to pull task from broker" not in log, log[-4000:]
        print(f"Redis broker, Redis killed for {OUTAGE_SECONDS}s and back empty: every run done {recovered:.1f}s "
              "after its return")
    finally:
        redis_server.kill()
