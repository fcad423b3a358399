"""How an SMS is encoded and how many parts it costs. Pure: no I/O, no settings.

An SMS is GSM-7 (the GSM 03.38 alphabet: 160 characters in one part, 153 a part when concatenated; each
character of the extension table, such as `{` or `€`, takes two) unless a single character is outside
that alphabet: then the whole message is UCS-2 (70 characters, 67 a part). One "…", one curly quote
copied from a phone's keyboard, one emoji triples the cost of a long alert, and a gateway that sends one
part only (Kannel's default `max-messages = 1`) cuts it at 70 characters.

    fold(text)      the same text in the GSM-7 alphabet: typographic quotes, dashes, "…" and odd spaces
                    become their plain forms, accents the alphabet lacks are dropped (á -> a), emoji and
                    other symbols disappear, letters of other scripts become "?" -- or, with
                    keep_other_scripts (what the outbox does), stay: a name in another script is worth
                    the UCS-2 it costs, a curly quote is not
    is_gsm7(text)   whether it can be sent as GSM-7
    measure(text)   the encoding it goes out in, its length in that encoding, and its parts
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from typing import Literal

Encoding = Literal["gsm7", "ucs2"]

# GSM 03.38 default alphabet (the escape to the extension table, 0x1B, is not a character of its own).
GSM7_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM7_EXTENSION = frozenset("\f^{}\\[~]|€")  # each sent as escape + character: two septets
GSM7_CHARACTERS = GSM7_BASIC | GSM7_EXTENSION

# One part, and each part of a concatenated message (the rest of a part is its concatenation header).
SINGLE: dict[Encoding, int] = {"gsm7": 160, "ucs2": 70}
PART: dict[Encoding, int] = {"gsm7": 153, "ucs2": 67}

_FOLDS: dict[str, str] = {
    **dict.fromkeys("\u201c\u201d\u201e\u201f\u00ab\u00bb\u2033\u2036\u301d\u301e\uff02", '"'),
    **dict.fromkeys("\u2018\u2019\u201a\u201b\u2032\u2035\u00b4`\u02bb\u02bc\u02b9", "'"),
    **dict.fromkeys("\u2010\u2011\u2012\u2013\u2014\u2015\u2212\u2043\ufe58\ufe63\uff0d", "-"),
    **dict.fromkeys("\u2022\u2023\u2219\u25cf\u25e6\u00b7", "-"),
    # no-break, thin, ideographic and the other spaces; a tab (not in the alphabet) reads as a space too
    **dict.fromkeys("\t\u00a0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a", " "),
    **dict.fromkeys("\u202f\u205f\u3000", " "),
    **dict.fromkeys("\u2028\u2029\u0085", "\n"),
    # invisible: zero-width spaces and joiners, the byte-order mark, the soft hyphen
    **dict.fromkeys("\u200b\u200c\u200d\u2060\ufeff\u00ad", ""),
    "\u2026": "...",
    "\u2044": "/",
    "\u00d7": "x",
    "\u00f7": "/",
    "\u2264": "<=",
    "\u2265": ">=",
    "\u00a9": "(c)",
    "\u00ae": "(R)",
    "\u2122": "TM",
    "\u00a2": "c",
}
_REPLACED_BY_CATEGORY = {"Pd": "-", "Pi": '"', "Pf": '"', "Ps": "(", "Pe": ")", "Zs": " ", "Zl": "\n", "Zp": "\n"}
_UNKNOWN_LETTER = "?"  # a letter of another script: shown as missing, not silently dropped
_SPACES = re.compile(r" {2,}")


def is_gsm7(text: str) -> bool:
    return all(ch in GSM7_CHARACTERS for ch in text)


def septets(text: str) -> int:
    """Length in GSM-7 septets (extension characters count two). Meaningful for GSM-7 text only."""
    return sum(2 if ch in GSM7_EXTENSION else 1 for ch in text)


def _fold_char(ch: str, keep_other_scripts: bool = False) -> str | None:
    """The GSM-7 form of one character outside the alphabet; None: drop it."""
    if ch in _FOLDS:
        return _FOLDS[ch]
    category = unicodedata.category(ch)
    if category in _REPLACED_BY_CATEGORY:
        return _REPLACED_BY_CATEGORY[category]
    if category == "Nd":  # a digit of another script
        return str(unicodedata.digit(ch))
    # á -> a, ﬁ -> fi, ² -> 2, fullwidth Ａ -> A: the compatibility decomposition without its accents
    decomposed = "".join(c for c in unicodedata.normalize("NFKD", ch) if not unicodedata.combining(c))
    decomposed = "".join(_FOLDS.get(c, c) for c in decomposed)
    if decomposed and is_gsm7(decomposed):
        return decomposed
    if ch.upper() in GSM7_BASIC:  # Greek small letters: the alphabet has the capitals only
        return ch.upper()
    if category.startswith(("L", "N")):
        return ch if keep_other_scripts else _UNKNOWN_LETTER
    return None  # emoji, skin tones, other symbols and control characters


def fold(text: str, *, keep_other_scripts: bool = False) -> str:
    """`text` in the GSM-7 alphabet (but letters of other scripts with `keep_other_scripts`). Text already in
    it comes back unchanged; folding twice changes nothing."""
    if is_gsm7(text):
        return text
    out: list[str] = []
    dropped = False
    for ch in text:
        if ch in GSM7_CHARACTERS:
            out.append(ch)
            continue
        folded = _fold_char(ch, keep_other_scripts)
        if folded is None:
            dropped = True
        else:
            out.append(folded)
    result = "".join(out)
    # "api 🔥 besar" -> "api besar", not "api  besar"; spaces the sender typed twice stay as they were
    return _SPACES.sub(" ", result).strip() if dropped else result


@dataclass(frozen=True)
class SmsSize:
    encoding: Encoding
    length: int  # septets (GSM-7) or UTF-16 code units (UCS-2)
    segments: int


def _parts(costs: list[int], encoding: Encoding) -> int:
    """Parts needed; a two-unit character (escape + character, a surrogate pair) is never split."""
    if sum(costs) <= SINGLE[encoding]:
        return 1
    parts, used = 1, 0
    for cost in costs:
        if used + cost > PART[encoding]:
            parts, used = parts + 1, 0
        used += cost
    return parts


def measure(text: str) -> SmsSize:
    """How `text` goes out as it is (not folded): its encoding, length and number of parts."""
    if is_gsm7(text):
        costs = [2 if ch in GSM7_EXTENSION else 1 for ch in text]
        return SmsSize("gsm7", sum(costs), _parts(costs, "gsm7"))
    costs = [2 if ord(ch) > 0xFFFF else 1 for ch in text]
    return SmsSize("ucs2", sum(costs), _parts(costs, "ucs2"))
