"""A total deadline for one outbound call, however slowly the other side answers.

A socket timeout bounds each read, and restarts with every byte: a server that trickles one byte
a second holds the call for as long as it likes. So a watchdog shuts the call's sockets down when
the deadline passes; the blocked read returns at once, the call fails, and the caller, seeing
``expired``, records the attempt as timed out (never left running until the worker is killed).
"""
from __future__ import annotations

import socket
import threading
from collections.abc import Callable
from types import TracebackType
from typing import Any

_current = threading.local()


class Deadline:
    """``with Deadline(30) as deadline:`` — the sockets the block's calls open (``watch``), or
    that the callables given to ``watch_later`` name at the deadline, are shut down then."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.expired = False
        self._sockets: list[socket.socket] = []
        self._finders: list[Callable[[], Any]] = []
        self._lock = threading.Lock()
        self._timer = threading.Timer(seconds, self._expire)
        self._timer.daemon = True

    def watch(self, sock: socket.socket | None) -> None:
        if sock is not None:
            with self._lock:
                self._sockets.append(sock)
            if self.expired:
                _shut(sock)

    def watch_later(self, find: Callable[[], Any]) -> None:
        """Shut down whatever socket ``find()`` returns at the deadline (a library's own connection)."""
        self._finders.append(find)

    def _expire(self) -> None:
        with self._lock:
            self.expired = True
            sockets = [*self._sockets, *(found for find in self._finders if (found := _found(find)) is not None)]
        for sock in sockets:
            _shut(sock)

    def __enter__(self) -> Deadline:
        self._outer = getattr(_current, "deadline", None)
        _current.deadline = self
        self._timer.start()
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 trace: TracebackType | None) -> None:
        self._timer.cancel()
        _current.deadline = self._outer


def watch(sock: socket.socket | None) -> None:
    """Put ``sock`` under the deadline of the block this thread is in, if any."""
    deadline = getattr(_current, "deadline", None)
    if deadline is not None:
        deadline.watch(sock)


def _found(find: Callable[[], Any]) -> socket.socket | None:
    try:
        found = find()
    except Exception:  # noqa: BLE001 (whatever the library's state, the deadline still fires)
        return None
    return found if isinstance(found, socket.socket) else None


def _shut(sock: socket.socket) -> None:
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass  # already closed
