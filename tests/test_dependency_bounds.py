"""The suite runs on the newest version each upper bound allows.

The apps build on some libraries' internals (django-q2's broker, simple-history's manager
descriptor, …), so those dependencies have upper bounds. A bound is only safe if the newest version
under it passes: this test fails when the installed version of a bounded dependency is older than
the newest one the package index offers within the bound, so a run on a stale environment says
so instead of passing on old code. CI installs into a fresh environment (the newest allowed).
"""
from __future__ import annotations

import os
import subprocess
import sys
import tomllib
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.version import InvalidVersion, Version

PYPROJECT = Path(__file__).resolve().parent.parent / "pyproject.toml"


def bounded_requirements() -> list[Requirement]:
    """The runtime and extra requirements with an upper bound (``<`` or ``<=``)."""
    project = tomllib.loads(PYPROJECT.read_text())["project"]
    lines = [*project["dependencies"], *(line for extra in project["optional-dependencies"].values() for line in extra)]
    requirements = {}
    for line in lines:
        requirement = Requirement(line)
        if any(spec.operator in ("<", "<=") for spec in requirement.specifier):
            requirements[requirement.name] = requirement
    return list(requirements.values())


def offered_versions(name: str) -> list[Version] | None:
    """The versions the configured package index offers, or None when it cannot be reached."""
    answer = subprocess.run([sys.executable, "-m", "pip", "index", "versions", name, "--disable-pip-version-check"],
                            capture_output=True, text=True, timeout=60)
    listed = [line for line in answer.stdout.splitlines() if line.startswith("Available versions:")]
    if answer.returncode != 0 or not listed:
        return None
    versions = []
    for text in listed[0].partition(":")[2].split(","):
        try:
            versions.append(Version(text.strip()))
        except InvalidVersion:  # an ancient upload's name ("0.1.4.macosx-10.5-i386")
            continue
    return versions


def test_some_dependencies_are_bounded_above():
    assert {"django", "django-q2", "django-simple-history"} <= {requirement.name for requirement in bounded_requirements()}


@pytest.mark.parametrize("requirement", bounded_requirements(), ids=lambda requirement: requirement.name)
def test_the_newest_version_the_bound_allows_is_installed(requirement: Requirement):
    try:
        installed = Version(version(requirement.name))
    except PackageNotFoundError:
        pytest.skip(f"{requirement.name} is not installed (an extra this environment does not have)")
    offered = offered_versions(requirement.name)
    if offered is None:
        if os.environ.get("REQUIRE_INDEX"):
            pytest.fail("the package index cannot be reached")
        pytest.skip("the package index cannot be reached")
    # pip lists only the versions this Python can install (Django 6 needs Python 3.12).
    allowed = [candidate for candidate in offered if requirement.specifier.contains(candidate)]
    newest = max(allowed, default=installed)
    assert installed >= newest, (f"{requirement.name} {installed} is installed, but {requirement} allows {newest}: "
                                 f"upgrade it, the bound must hold for the newest version it allows")
