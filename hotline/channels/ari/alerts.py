"""Alert calls on Asterisk, as both sides of the ARI app see them: the channel the voice gateway originates
(hotline/channels/ari/voice_gateway.py) and the events the app gets for it (hotline/channels/ari/executor.py).

A channel originated with `app` is the app's from the start: it gets the channel's events while it rings and,
once the far end answers, StasisStart with appArgs `alert,<attempt>`. One that is never answered ends with
ChannelDestroyed and a hang-up cause (Q.850, as Asterisk reports them), read here in our words: 17 busy,
21 rejected (Twilio says busy for a declined call too), 18/19 no answer, 16 normal clearing (after an answer:
completed), anything else (1 unallocated number, 3 no route, 27 out of order, 34 congestion, ...) failed.
"""

from __future__ import annotations

import uuid

from hotline.channels.voice import CallStatus

ALERT_ARG = "alert"  # appArgs of an alert call: alert,<attempt id>
CHANNEL_PREFIX = "alert-"  # channel ids of alert calls: alert-<attempt id>-<random>
CAUSES = {
    16: CallStatus.COMPLETED,
    17: CallStatus.BUSY,
    18: CallStatus.NO_ANSWER,
    19: CallStatus.NO_ANSWER,
    21: CallStatus.BUSY,
}


def alert_channel_id(attempt_id: int) -> str:
    return f"{CHANNEL_PREFIX}{attempt_id}-{uuid.uuid4().hex[:12]}"


def alert_attempt(channel_id: str) -> int | None:
    """The alert attempt an alert call's channel id names; None for any other channel."""
    if not channel_id.startswith(CHANNEL_PREFIX):
        return None
    number = channel_id.removeprefix(CHANNEL_PREFIX).split("-", 1)[0]
    return int(number) if number.isdigit() else None


def status_of_cause(cause: int) -> CallStatus:
    return CAUSES.get(cause, CallStatus.FAILED)
