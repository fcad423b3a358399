"""The broad-handler check CI runs beside ruff's BLE001 (ci_checks/broad_excepts.py, issue 16): a handler that
catches everything says why on its line, or raises; hotline/ keeps to it. A check that could not fail would let
unexplained ones back in unseen."""

from __future__ import annotations

from pathlib import Path

import pytest

from ci_checks.broad_excepts import check, unexplained

pytestmark = pytest.mark.unit

SAMPLE = """
import contextlib
import logging

log = logging.getLogger(__name__)


def run(work):
    try:
        work()
    except Exception:  # line 11: flagged
        log.exception("unexplained")
    try:
        work()
    except (ValueError, BaseException):  # line 15: flagged (a tuple that holds BaseException)
        log.exception("unexplained")
    try:
        work()
    except:  # line 19: flagged
        pass
    with contextlib.suppress(Exception):  # line 21: flagged
        work()
    try:
        work()
    except Exception:  # broad: the loop must outlive any one turn
        log.exception("said why")
    try:
        work()
    except (
        Exception
    ):  # broad: said on the handler's own lines
        log.exception("said why")
    try:
        work()
    except BaseException:
        work()
        raise
    try:
        work()
    except Exception as exc:
        raise RuntimeError("the port's error") from exc
    try:
        work()
    except (OSError, ValueError):
        log.warning("narrow: no word needed")
    with contextlib.suppress(OSError):
        work()
    with contextlib.suppress(Exception):  # broad: closing anyway
        work()
"""


def test_only_the_broad_handlers_that_neither_say_why_nor_raise_are_found() -> None:
    assert unexplained(SAMPLE) == [11, 15, 19, 21]


def test_a_comment_on_the_line_above_or_in_the_body_is_not_the_handlers() -> None:
    source = "try:\n    pass\n# broad: too far\nexcept Exception:\n    pass  # broad: too late\n"
    assert unexplained(source) == [4]


def test_every_broad_handler_in_hotline_says_why() -> None:
    assert check(Path(__file__).parent.parent / "hotline") == []
