"""A WhatsApp template's text that had to be shortened (hotline/sms/template_text.py) is logged once per message:
not again for a retry, a second gateway or another worker. One Redis marker per message, kept a week."""

from __future__ import annotations

import logging

from redis import RedisError

from hotline.core.queue import RedisNotConfigured, redis_connection
from hotline.settings import get_settings
from hotline.sms.template_text import TEMPLATE_VARIABLE, fit, would_cut

log = logging.getLogger(__name__)
KEEP_SECONDS = 7 * 86400  # longer than any retry of one message (the outbox gives up within the hour)


def _key(message: str) -> str:
    return f"hotline:template-cut:{get_settings().queue_name}:{message}"


def note(message: str, *, purpose: str, text: str, limit: int = TEMPLATE_VARIABLE) -> None:
    """If `text` would be cut in a template, say so (`message`: "outbox:12", "broadcast:3"), the first time only.
    Never raises: a send never waits on its log line (Redis down: logged again rather than not at all)."""
    if not would_cut(text, limit):
        return
    try:
        first = bool(redis_connection().set(_key(message), 1, nx=True, ex=KEEP_SECONDS))
    except (RedisError, RedisNotConfigured):  # Redis away: logged again rather than not at all
        first = True
    if first:
        log.warning(
            "WhatsApp template text of %s (purpose %s) is %d characters, over WhatsApp's %d: sent shortened to %d "
            "at a word boundary with an ellipsis",
            message,
            purpose,
            len(text),
            limit,
            len(fit(text, limit)),
        )
