"""GSM-7 or UCS-2: how an SMS text goes on the air, and how many segments it costs.

Every gateway asks `sms_coding(text)` for the text as it is sent (after the outbox folded it) and tells the
gateway so (Kannel `coding=0|2`, SMPP data_coding, ...). This is a minimal local check until
`hotline/sms/encoding.py` (GSM-7 detection, folding, segment counts) lands on main: then `sms_coding` is
pointed at it and this table goes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

# GSM 03.38 default alphabet (one septet each) and its extension table (two septets: ESC + char).
GSM7_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM7_EXTENSION = frozenset("^{}\\[~]|€\f")

Coding = Literal["gsm7", "ucs2"]


@dataclass(frozen=True)
class SmsCoding:
    coding: Coding
    units: int  # septets (GSM-7) or UTF-16 code units (UCS-2)
    segments: int

    @property
    def is_unicode(self) -> bool:
        return self.coding == "ucs2"


def sms_coding(text: str) -> SmsCoding:
    """GSM-7 when every character is in the GSM alphabet, else UCS-2 (one '…' makes the whole SMS UCS-2:
    70 characters a segment instead of 160). Segments as a phone counts them: 160/153 septets, 70/67 units."""
    if all(ch in GSM7_BASIC or ch in GSM7_EXTENSION for ch in text):
        septets = sum(2 if ch in GSM7_EXTENSION else 1 for ch in text)
        return SmsCoding("gsm7", septets, 1 if septets <= 160 else -(-septets // 153))
    units = len(text.encode("utf-16-le")) // 2
    return SmsCoding("ucs2", units, 1 if units <= 70 else -(-units // 67))
