"""The layers of the two apps, checked with import-linter (contracts in pyproject.toml), and the
rule that a function-level import says why it is not at the top of its module."""
from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LINT = "from importlinter.cli import lint_imports; raise SystemExit(lint_imports(config_filename={!r}, no_cache=True))"


def lint(config: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", LINT.format(str(config))], cwd=ROOT, capture_output=True,
                          text=True, timeout=120)


def test_the_import_contracts_are_kept():
    result = lint(ROOT / "pyproject.toml")
    assert "No module named 'importlinter'" not in result.stderr, "import-linter is missing: pip install -e '.[dev]'"
    assert result.returncode == 0, f"an import contract is broken:\n{result.stdout}{result.stderr}"


def test_a_broken_contract_fails_the_check(tmp_path):
    config = tmp_path / "contracts.toml"
    config.write_text('[tool.importlinter]\nroot_packages = ["automations", "billing_events"]\n\n'
                      '[[tool.importlinter.contracts]]\nname = "the engine without step types (broken on purpose)"\n'
                      'type = "forbidden"\nsource_modules = ["automations.engine"]\n'
                      'forbidden_modules = ["automations.steps"]\n')
    result = lint(config)
    assert result.returncode != 0 and "BROKEN" in result.stdout


def _unexplained_function_imports(path: Path) -> list[str]:
    lines = path.read_text().splitlines()
    found = []
    for node in ast.walk(ast.parse("\n".join(lines))):
        if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            continue
        for statement in ast.walk(node):
            if not isinstance(statement, (ast.Import, ast.ImportFrom)):
                continue
            above = statement.lineno - 2  # the lines above it, up to the start of its import block
            while above >= 0 and (not lines[above].strip() or lines[above].strip().startswith(("from ", "import "))):
                above -= 1
            explained = any("#" in lines[number - 1] for number in range(statement.lineno, statement.end_lineno + 1))
            explained = explained or (above >= 0 and lines[above].strip().startswith("#"))
            if not explained:
                found.append(f"{path.relative_to(ROOT)}:{statement.lineno}: {lines[statement.lineno - 1].strip()}")
    return found


def test_a_function_level_import_says_why():
    sources = [path for package in ("automations", "billing_events") for path in (ROOT / package).rglob("*.py")
               if "migrations" not in path.parts]
    unexplained = [line for path in sorted(sources) for line in _unexplained_function_imports(path)]
    assert not unexplained, "import at the top of the module, or say why not in a comment:\n" + "\n".join(unexplained)
