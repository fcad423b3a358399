"""requirements.lock pins every dependency; it must agree with pyproject.toml and be what is installed.

An unpinned install once brought redis-py 8.2, whose stop joins RQ's 60 s listener thread: CI went red on a
fresh machine with no change of ours. README, "Dependencies", says how to update the lock."""

from __future__ import annotations

import importlib.metadata
import re
import tomllib
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parent.parent
LOCK = ROOT / "requirements.lock"
NOT_LOCKED = {"hotline", "pip"}  # the project itself; the venv's installer


def _pyproject_requirements() -> list[Requirement]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    listed = [*project["dependencies"], *(r for extra in project["optional-dependencies"].values() for r in extra)]
    return [Requirement(line) for line in listed]


def _lock() -> tuple[dict[str, list[Requirement]], set[str]]:
    """The pins by package (one per environment marker), and the packages the lock says pyproject asks for."""
    pins: dict[str, list[Requirement]] = {}
    direct: set[str] = set()
    current: str | None = None
    for raw in LOCK.read_text().splitlines():
        line = raw.strip()
        if not line:
            continue
        if line.startswith("#"):
            if current and re.search(r"\bhotline \(pyproject\.toml\)", line):
                direct.add(current)
            continue
        requirement = Requirement(line)
        assert len(requirement.specifier) == 1 and next(iter(requirement.specifier)).operator == "==", line
        current = canonicalize_name(requirement.name)
        pins.setdefault(current, []).append(requirement)
    return pins, direct


def _pinned_here(pins: list[Requirement]) -> str | None:
    for pin in pins:
        if pin.marker is None or pin.marker.evaluate():
            return next(iter(pin.specifier)).version
    return None


def test_every_dependency_of_pyproject_is_pinned_within_its_range() -> None:
    pins, _ = _lock()
    problems = []
    for requirement in _pyproject_requirements():
        name = canonicalize_name(requirement.name)
        version = _pinned_here(pins.get(name, []))
        if version is None:
            problems.append(f"{requirement.name} is not in requirements.lock")
        elif not requirement.specifier.contains(version, prereleases=True):
            problems.append(f"{requirement.name}=={version} in the lock is outside {requirement.specifier}")
    assert not problems, problems


def test_the_lock_lists_nothing_pyproject_no_longer_asks_for() -> None:
    _, direct = _lock()
    asked = {canonicalize_name(r.name) for r in _pyproject_requirements()}
    assert direct == asked, {"locked as direct but not in pyproject": direct - asked, "missing": asked - direct}


def test_what_is_installed_is_exactly_the_lock() -> None:
    """The environment running these tests was installed from the lock (README's first command, .ci/run)."""
    pins, _ = _lock()
    problems = []
    for dist in importlib.metadata.distributions():
        name = canonicalize_name(dist.metadata["Name"])
        if name in NOT_LOCKED:
            continue
        version = _pinned_here(pins.get(name, []))
        if version != dist.version:
            problems.append(f"{name} {dist.version} installed, lock: {version or 'not listed'}")
    assert not problems, "reinstall with: .venv/bin/pip install -c requirements.lock -e '.[dev]'\n" + "\n".join(
        sorted(problems)
    )
