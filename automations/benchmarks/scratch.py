"""A throw-away database beside the configured one, so benchmarks never touch real data."""
from __future__ import annotations

import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from django.db import connection


@contextmanager
def scratch_database() -> Iterator[None]:
    """Create, migrate and finally drop a database on the configured server (same engine)."""
    original_name = connection.settings_dict["NAME"]
    with tempfile.TemporaryDirectory() as tmp:
        if connection.vendor == "sqlite":
            # a file, like the real one (an in-memory database would flatter every figure)
            connection.settings_dict["TEST"]["NAME"] = str(Path(tmp) / "bench.sqlite3")
        connection.creation.create_test_db(verbosity=0, autoclobber=True, serialize=False)
        try:
            yield
        finally:
            connection.creation.destroy_test_db(original_name, verbosity=0)
