"""Messages the dialplan's fallback recorded (config/asterisk/extensions.conf [hotline-fallback]: a call while the
database was down, or while no ARI app ran) made into voice tickets, as the Twilio fallback's are.

The dialplan names each message `hotline-fallback-<UTC time>-<caller's digits>-<UNIQUEID>` in Asterisk's
recording folder, so ARI lists it (`GET /recordings/stored`) and the console plays it through the hotline. The
`hotline ari` process that holds the lease looks every `INTERVAL` seconds. Asterisk's UNIQUEID is the ARI
channel id: a call the app sent to the fallback (and spooled) gets the message on its own row and caller; a call
no app saw gets a row from the name. Idempotent on the channel id (features/calls/outage_calls.py): a message
already kept is skipped, and one that cannot be kept now (the database still down) is kept at a later look.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select

from hotline.channels.ari.media import stored_recording_url
from hotline.core.city import current_config
from hotline.db import DATABASE_UNAVAILABLE, unit_of_work
from hotline.features.calls.outage_calls import keep_voice_message
from hotline.models import Call
from hotline.spool.records import VoiceMessage

log = logging.getLogger(__name__)

PROVIDER = "asterisk"
INTERVAL = 30.0  # seconds between looks: a message waits at most this long for its ticket once the database is up
NAME = re.compile(r"^hotline-fallback-(?P<at>\d{8}-\d{6})-(?P<caller>\d*)-(?P<channel>[A-Za-z0-9._-]+)$")


@dataclass(frozen=True)
class FallbackMessage:
    name: str  # the stored recording's name in ARI
    channel_id: str
    caller: str  # digits only, as the dialplan wrote them (the call row's caller is preferred)
    recorded_at: datetime


def parse(name: str) -> FallbackMessage | None:
    """The message a stored recording's name describes; None for any other recording."""
    found = NAME.match(name)
    if found is None:
        return None
    at = datetime.strptime(found["at"], "%Y%m%d-%H%M%S").replace(tzinfo=UTC)
    return FallbackMessage(name, found["channel"], found["caller"], at)


def keep(messages: list[FallbackMessage], *, ari_url: str) -> int:
    """The messages not kept yet in the database; how many were new. Raises when the database is down."""
    kept = 0
    config = current_config()
    with unit_of_work() as session:  # a background look, no request; each message below is kept in its own
        ids = [m.channel_id for m in messages]
        done = set(
            session.scalars(
                select(Call.provider_call_id).where(
                    Call.provider == PROVIDER, Call.provider_call_id.in_(ids), Call.recording_url.is_not(None)
                )
            )
        )
    for message in messages:
        if message.channel_id in done:
            continue
        voice = VoiceMessage(
            provider=PROVIDER,
            call_id=message.channel_id,
            caller=message.caller,
            called="",
            recording_url=stored_recording_url(ari_url, message.name),
            seconds=None,
            arrived_at=message.recorded_at,
        )
        with unit_of_work() as session:  # one per message: those kept before a failure stay kept
            kept += keep_voice_message(session, config=config, message=voice)
    return kept


async def keep_fallback_messages(client: Any, *, ari_url: str) -> int:
    """One look: list the stored recordings, keep the fallback's messages. `client`: an AriClient."""
    stored = await client.request("GET", "/recordings/stored")
    messages = [m for r in stored if (m := parse(str(r.get("name", "")))) is not None]
    if not messages:
        return 0
    kept = await asyncio.to_thread(keep, messages, ari_url=ari_url)
    if kept:
        log.info("ARI: %d message(s) recorded by the dialplan's fallback kept as voice tickets", kept)
    return kept


async def watch(client: Any, *, ari_url: str, stop: asyncio.Event, interval: float = INTERVAL) -> None:
    """Look at once and then every `interval` seconds until `stop`; a failed look is tried at the next."""
    while not stop.is_set():
        try:
            await keep_fallback_messages(client, ari_url=ari_url)
        except DATABASE_UNAVAILABLE as exc:
            log.warning("ARI: fallback messages wait for the database (%s)", type(exc).__name__)
        except Exception:  # broad: the watch must go on (Asterisk away, an odd answer): the next look keeps them
            log.exception("ARI: looking for the fallback's messages failed")
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), interval)
