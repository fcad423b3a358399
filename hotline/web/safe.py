"""Small checks for what strangers send: secrets compared in constant time whatever their characters, and
numbers read only when they are plain ASCII digits of a sane length (issue 18: each of these was a 500)."""

from __future__ import annotations

import hmac
import math
from typing import Any


def same_secret(given: str, expected: str) -> bool:
    """hmac.compare_digest on the UTF-8 bytes: on str it raises TypeError for any non-ASCII character."""
    return hmac.compare_digest(given.encode("utf-8", "surrogatepass"), expected.encode("utf-8", "surrogatepass"))


def plain_int(raw: str, *, max_digits: int = 18) -> int | None:
    """`raw` as an int when it is 1-`max_digits` ASCII digits, else None. str.isdigit() alone accepts '²'
    (int() refuses it) and 5,000 digits (int() refuses more than 4,300)."""
    if not raw or len(raw) > max_digits or not raw.isascii() or not raw.isdigit():
        return None
    return int(raw)


def has_lone_surrogate(text: str) -> bool:
    """JSON may carry "\\ud800"; such a str cannot be encoded as UTF-8, so no database can store it."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def printable(value: Any) -> Any:
    """`value` with what cannot be written as JSON made writable: NaN and infinities as strings, lone
    surrogates replaced. Used on validation errors, which echo the input that was refused."""
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if isinstance(value, str):
        return value.encode("utf-8", "replace").decode("utf-8")
    if isinstance(value, dict):
        return {printable(k): printable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [printable(v) for v in value]
    return value
