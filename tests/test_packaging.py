"""The wheel `pip install .` builds (the Docker image installs it that way, not editable) holds every file of
the package: templates, static files and migrations are read at run time, and a glob in pyproject.toml that
misses a new folder would only show up in production."""

from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from hotline.settings import PROJECT_ROOT

pytestmark = pytest.mark.system  # starts hotline processes (or builds the package): see tests/README.md


def test_the_wheel_holds_every_file_of_the_package(tmp_path: Path) -> None:
    source = tmp_path / "source"  # a copy: building writes build/ and *.egg-info beside the sources
    source.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(PROJECT_ROOT / name, source / name)
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    shutil.copytree(PROJECT_ROOT / "hotline", source / "hotline", ignore=ignore)
    done = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(tmp_path), "."],
        cwd=source,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    [wheel] = tmp_path.glob("hotline-*.whl")
    packed = {name for name in zipfile.ZipFile(wheel).namelist() if name.startswith("hotline/")}
    expected = {path.relative_to(source).as_posix() for path in (source / "hotline").rglob("*") if path.is_file()}
    assert expected - packed == set(), "add these to [tool.setuptools.package-data] in pyproject.toml"
    assert {"hotline/web/templates/base.html", "hotline/migrations/script.py.mako"} <= packed
