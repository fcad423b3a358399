"""Screenshots from the browser tests, kept for people to look at (issue 19): every browser test's last
screen, and any the test takes on the way with `shot`. They go under test-artifacts/screenshots/ (or
$HOTLINE_TEST_ARTIFACTS/screenshots/), one folder per test module; CI keeps that folder as an artifact."""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent


def artifacts_dir() -> Path:
    return Path(os.environ.get("HOTLINE_TEST_ARTIFACTS") or ROOT / "test-artifacts") / "screenshots"


def _file_name(text: str) -> str:
    return re.sub(r"[^\w.-]+", "_", text).strip("_")[:120] or "screen"


def shot(page: Any, name: str) -> Path:
    """Save what `page` shows now as <module>/<test>--<name>.png; returns the path."""
    test = os.environ.get("PYTEST_CURRENT_TEST", "unknown::test").split(" ")[0]
    module, _, function = test.partition("::")
    folder = artifacts_dir() / _file_name(Path(module).stem)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{_file_name(function)}--{_file_name(name)}.png"
    page.screenshot(path=str(path), full_page=True)
    return path
