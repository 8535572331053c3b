"""The layers of the two apps, checked with import-linter (contracts in pyproject.toml); no import
cycle between any of their modules, siblings in a layer included; and the rule that a
function-level import says why it is not at the top of its module."""
from __future__ import annotations

import ast
import json
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


#: Finds every import cycle between the modules of the given packages (grimp, which import-linter
#: is built on, reads function-level imports too: a cycle hidden inside a function still counts).
CYCLES = '''
import json, sys, grimp
graph = grimp.build_graph(*sys.argv[1:], cache_dir=None)
index, low, stack, on_stack, cycles = {}, {}, [], set(), []
for root in sorted(graph.modules):
    if root in index:
        continue
    work = [(root, iter(sorted(graph.find_modules_directly_imported_by(root))))]
    index[root] = low[root] = len(index); stack.append(root); on_stack.add(root)
    while work:
        module, children = work[-1]
        child = next(children, None)
        if child is not None:
            if child not in index:
                index[child] = low[child] = len(index); stack.append(child); on_stack.add(child)
                work.append((child, iter(sorted(graph.find_modules_directly_imported_by(child)))))
            elif child in on_stack:
                low[module] = min(low[module], index[child])
            continue
        work.pop()
        if work:
            low[work[-1][0]] = min(low[work[-1][0]], low[module])
        if low[module] == index[module]:
            component = []
            while True:
                member = stack.pop(); on_stack.discard(member); component.append(member)
                if member == module:
                    break
            if len(component) > 1:
                cycles.append(sorted(component))
print(json.dumps(cycles))
'''


def import_cycles(*packages: str, cwd: Path = ROOT) -> list[list[str]]:
    result = subprocess.run([sys.executable, "-c", CYCLES, *packages], cwd=cwd, capture_output=True, text=True,
                            timeout=120, env={"PYTHONPATH": str(cwd), "PATH": "/usr/bin:/bin"})
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_no_module_of_the_two_apps_imports_itself_through_others():
    cycles = import_cycles("automations", "billing_events")
    assert not cycles, "import cycles (move what they share down a layer):\n" + "\n".join(" <-> ".join(c) for c in cycles)


def test_a_cycle_is_found(tmp_path):
    package = tmp_path / "circular"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "first.py").write_text("from circular import second\n")
    (package / "second.py").write_text("def later():\n    from circular import first  # hidden in a function\n")
    (package / "third.py").write_text("from circular import first\n")
    assert import_cycles("circular", cwd=tmp_path) == [["circular.first", "circular.second"]]
