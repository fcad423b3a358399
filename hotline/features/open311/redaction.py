"""Take personal details out of free text before it is published (Open311's public answers).

Phone numbers in Indonesian forms (08xx, +62, 62..., landlines like 0341-512345, with spaces, dots or dashes),
e-mail addresses, NIK-like numbers (16 digits), and names the caller knows (the reporter's) become a marker.
The full text stays in the database and the console."""

from __future__ import annotations

import re
from collections.abc import Iterable

PHONE_MARK = "[telepon]"
EMAIL_MARK = "[email]"
NIK_MARK = "[NIK]"
NAME_MARK = "[nama]"

EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+", re.UNICODE)
# 16 digits, alone or in groups of 4 or 6-6-4 (how a KTP number is copied); it starts with a province code (11-94),
# never 0, and is no continuation of other digit groups (two phone numbers in a row are not a NIK).
NIK = re.compile(r"(?<![\d+])(?<!\d[ .-])[1-9](?:\d{15}|\d{5}[ .-]\d{6}[ .-]\d{4}|\d{3}(?:[ .-]\d{4}){3})(?!\d)")
# +62 / 62 / 0, then digits in groups separated by one space, dot or dash, maybe an area code in brackets; a
# letter may come right before it (texters write "HP081234567890", "wa0812..."), a digit may not. A space before
# 02-09 or + starts the next number ("0812 3456 7890 0813 1111 2222" is two).
PHONE = re.compile(r"(?<![\d+])(?:\+\s?62|62|\(?0)[\s.-]?\(?\d(?:[\d.()-]|\s(?!0[2-9]|\+)){6,18}\d(?!\d)")
MIN_PHONE_DIGITS, MAX_PHONE_DIGITS = 8, 15
# A date written day first (07-12-2026, 01/02/2026) has 8 digits and may start with 0: it is not a number.
DATE = re.compile(r"\d{1,2}([-/.])\d{1,2}\1(?:19|20)\d\d")


def _phone(match: re.Match[str]) -> str:
    text = match.group()
    digits = sum(ch.isdigit() for ch in text)
    if DATE.fullmatch(text):
        return text
    return PHONE_MARK if MIN_PHONE_DIGITS <= digits <= MAX_PHONE_DIGITS else text


def number_forms(e164: str) -> list[str]:
    """How a citizen may write their own number +6281234567890: 6281..., 081..., 81... (for `numbers`)."""
    digits = "".join(ch for ch in e164 if ch.isdigit())
    if not e164.startswith("+62") or len(digits) < MIN_PHONE_DIGITS:
        return [e164] if len(digits) >= MIN_PHONE_DIGITS else []
    national = digits[2:]
    return [e164, digits, "0" + national, national]


WORD = re.compile(r"\w+")
HAS_DIGIT = re.compile(r"\d")
DIGIT_RUN = re.compile(r"\+?\d+")
# Digits in groups (812 3456 7890, 812-3456-7890): the reporter's own number written without 0 or 62.
GROUPED_RUN = re.compile(r"\+?\d(?:[ .-]?\d)*")
NAME_RUN = re.compile(rf"{re.escape(NAME_MARK)}(?:\s+{re.escape(NAME_MARK)})+")


def _own_number(run: str, own: set[str]) -> str:
    """A run of digit groups that is one of the reporter's numbers, or that holds one as a group of its own."""
    if "".join(ch for ch in run if ch.isdigit()) in own:
        return PHONE_MARK
    return DIGIT_RUN.sub(lambda m: PHONE_MARK if m.group().lstrip("+") in own else m.group(), run)


def redact(text: str, *, names: Iterable[str] = (), numbers: Iterable[str] = ()) -> str:
    """`names`: the reporters' names (each of their words is hidden, any case; "Siti Aminah" becomes one
    marker); `numbers`: their numbers in the forms they may write them (number_forms), also where no 0/62
    prefix gives them away. Only precompiled patterns: a page of 1,000 requests compiles nothing."""
    if "@" in text:  # the patterns scan every position: skip those that cannot match
        text = EMAIL.sub(EMAIL_MARK, text)
    if HAS_DIGIT.search(text):
        text = NIK.sub(NIK_MARK, text)
        own = {n.lstrip("+") for n in numbers if n}
        if own:
            text = GROUPED_RUN.sub(lambda m: _own_number(m.group(), own), text)
        text = PHONE.sub(_phone, text)
    words = {w.casefold() for name in names if name for w in WORD.findall(name) if len(w) >= 2}
    if words:
        text = WORD.sub(lambda m: NAME_MARK if m.group().casefold() in words else m.group(), text)
        text = NAME_RUN.sub(NAME_MARK, text)
    return text
