"""Where a cluster benchmark's time goes: CPU seconds by role, read from Linux's ``/proc``.

The cluster's processes (forked from the benchmark's), the PostgreSQL backends serving the
benchmark's database, and the benchmark's own process (which emits the events and polls). Sampled
a few times a second, so a process that ends between two samples loses its last fraction of a
second. Elsewhere than Linux, nothing is measured.
"""
from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

SAMPLE_SECONDS = 0.2
PROC = Path("/proc")


def _stat(pid: int) -> tuple[int, float] | None:
    """(parent pid, user + system CPU seconds) of a process, or None once it is gone."""
    try:
        fields = (PROC / str(pid) / "stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    return int(fields[1]), (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _command(pid: int) -> str:
    try:
        return (PROC / str(pid) / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


def _roles(database: str) -> dict[int, tuple[str, float]]:
    """Each process of interest now: its role and CPU seconds so far."""
    me, stats = os.getpid(), {}
    for entry in PROC.iterdir():
        if entry.name.isdigit() and (stat := _stat(int(entry.name))) is not None:
            stats[int(entry.name)] = stat
    found = {}
    for pid, (parent, cpu) in stats.items():
        ancestors, cursor = set(), parent
        while cursor in stats and cursor not in ancestors and len(ancestors) < 8:
            ancestors.add(cursor)
            cursor = stats[cursor][0]
        if pid == me:
            found[pid] = ("benchmark", cpu)
        elif me in ancestors or parent == me:
            found[pid] = ("cluster", cpu)
        elif database and _command(pid).startswith("postgres:") and f" {database} " in _command(pid):
            found[pid] = ("postgres", cpu)
    return found


@contextmanager
def cpu_by_role(database: str) -> Iterator[dict[str, float]]:
    """Yields a dict filled, when the block ends, with CPU seconds spent in it by role."""
    totals: dict[str, float] = {}
    if not PROC.is_dir():
        yield totals
        return
    before = _roles(database)
    last: dict[int, tuple[str, float]] = dict(before)
    done = threading.Event()

    def sample() -> None:
        while not done.wait(SAMPLE_SECONDS):
            last.update(_roles(database))

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    try:
        yield totals
    finally:
        done.set()
        sampler.join()
        last.update(_roles(database))
        for pid, (role, cpu) in last.items():
            # a process started during the block (a worker, a backend) counts from zero
            totals[role] = totals.get(role, 0.0) + cpu - (before[pid][1] if pid in before else 0.0)
