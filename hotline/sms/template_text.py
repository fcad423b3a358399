"""The text that fills a WhatsApp template's one variable ({{1}}), which WhatsApp caps at 1,024 characters (Meta
refuses a longer parameter; Twilio fails the message with 63021). A longer text is shortened at a word boundary
with an ellipsis, never mid-word; who sends it logs that it was (hotline/jobs/outbound.py `note_template_cut`)."""

from __future__ import annotations

import re

TEMPLATE_VARIABLE = 1024  # characters, WhatsApp's limit of a template body parameter
ELLIPSIS = "…"
_SPACE = re.compile(r"\s")


def would_cut(text: str, limit: int = TEMPLATE_VARIABLE) -> bool:
    return len(text) > limit


def fit(text: str, limit: int = TEMPLATE_VARIABLE) -> str:
    """`text` if it fits; else its longest start of whole words that fits with "…" after it. One word longer than
    half the room (a long link) is cut where the room ends: better than dropping half the text."""
    if len(text) <= limit:
        return text
    room = limit - len(ELLIPSIS)
    head = text[:room]
    if not _SPACE.match(text[room]):  # the room ends inside a word: back to the space before it
        spaces = [m.start() for m in _SPACE.finditer(head)]
        if spaces and spaces[-1] >= room // 2:
            head = head[: spaces[-1]]
    return head.rstrip() + ELLIPSIS
