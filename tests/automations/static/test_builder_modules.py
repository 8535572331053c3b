"""The builder page's pure ES modules (tree edits, moves, undo/redo, variable scope, summaries,
error placement, conditions), tested with Node's own test runner: ``node --test``."""
from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

HERE = Path(__file__).parent / "builder"


def test_the_builder_modules_pass_node_test():
    node = shutil.which("node")
    if node is None:
        if os.environ.get("REQUIRE_NODE"):
            pytest.fail("REQUIRE_NODE is set but node is not installed")
        pytest.skip("Node.js is not installed")
    files = sorted(str(path) for path in HERE.glob("*.test.js"))
    assert files, "no node tests found"
    result = subprocess.run([node, "--test", *files], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    assert "# fail 0" in result.stdout
