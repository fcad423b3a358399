"""A copy of the suite's city (tests/city) for the tests that break it on purpose, and the helpers they share."""

from __future__ import annotations

import shutil
from collections.abc import Iterable
from pathlib import Path

import pytest

from hotline.cityconfig import ConfigErrors, load_city_config
from tests.suite_city import CITY_DIR


def copy_city(target: Path, folders: Iterable[str] = ("routing", "sms")) -> Path:
    for folder in folders:
        shutil.copytree(CITY_DIR / folder, target / folder)
    return target


def edit(path: Path, old: str, new: str) -> int:
    """Replace the first `old` in the file; the line it stood on (what an error message should name)."""
    text = path.read_text()
    assert old in text, old
    line = text[: text.index(old)].count("\n") + 1
    path.write_text(text.replace(old, new, 1))
    return line


def config_errors(folder: Path) -> list[str]:
    with pytest.raises(ConfigErrors) as caught:
        load_city_config(folder)
    return [str(e) for e in caught.value.errors]
