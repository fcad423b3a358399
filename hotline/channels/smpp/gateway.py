"""The SMPP gateway as the worker sees it (`SmsGateway`): an SMS is handed to the link's holder through Redis
and the worker waits for the SMSC's answer, so a refusal or a link that is down fails over at once like any
other gateway's.

    send: the link is down (its state key says so, or nobody holds it): SendError at once, the next gateway
          takes it. Else XADD to the link's stream with a deadline, and wait on a reply list:
            ok        -> SendResult(provider_sid = the SMSC's message_id of the first part)
            refused   -> SendError (permanent unless the status is a temporary one)
            expired   -> SendError: the holder could not start sending it in time (throttled, link lost)
            no answer -> SendError: the holder died meanwhile; the entry stays in the stream and the next
                         holder finishes it only if its deadline has not passed (so the next gateway's copy
                         and ours cannot both go out)
"""

from __future__ import annotations

import json
import time
import uuid
from datetime import datetime
from functools import lru_cache
from typing import Any

from redis import Redis
from redis.exceptions import RedisError

import hotline.channels.smpp.keys as keys
from hotline.channels.gateway import OutgoingSms, SendError, SendResult
from hotline.channels.smpp.config import LinkConfig

START_WITHIN = 5.0  # the holder must start sending within this, or answer "expired"
TEMPORARY = {0x08, 0x14, 0x58, 0x64, 0xFE, 0xFF}  # RSYSERR, RMSGQFUL, RTHROTTLED, RX_T_APPN, delivery failure, unknown


@lru_cache(maxsize=4)
def _client(url: str, wait: float) -> Redis:
    # its own client: the queue's reads time out after 5 s, and the answer may take longer (throttled, a rebind)
    return Redis.from_url(url, socket_connect_timeout=2, socket_timeout=wait + 5, health_check_interval=30)


def _redis(wait: float) -> Redis:
    from hotline.settings import get_settings

    url = get_settings().redis_url
    if not url:
        from hotline.core.queue import redis_connection

        return redis_connection()  # raises: not configured
    return _client(url, wait)


class SmppGateway:
    kind = "smpp"

    def __init__(self, config: LinkConfig, redis: Redis | None = None):
        self.name = config.name
        self.config = config
        self._redis = redis

    @property
    def wait(self) -> float:
        """How long a worker waits for the holder's answer: it starts within START_WITHIN, then each part's
        response comes within the link's timeout (a lost bind: the rest after a rebind)."""
        return START_WITHIN + self.config.timeout_seconds * 2 + 1

    @property
    def redis(self) -> Redis:
        if self._redis is None:
            self._redis = _redis(self.wait)
        return self._redis

    def state(self) -> dict[str, Any]:
        return keys.read_state(self.redis.get(keys.key(self.name, "state")))

    def send(self, sms: OutgoingSms) -> SendResult:
        try:
            state = self.state()
            if state.get("state") != "bound":
                raise SendError(f"SMPP link {self.name} is down: {state.get('reason') or state.get('state')}")
            request = uuid.uuid4().hex
            reply = keys.key(self.name, "reply", request)
            now = time.time()
            fields = {
                "request": request,
                "message_id": str(sms.message_id),
                "to": sms.to,
                "body": sms.body,
                "sender": sms.sender or "",
                "validity": str(int(sms.validity.total_seconds())) if sms.validity is not None else "",
                "expires": f"{now + START_WITHIN:.3f}",
                "reply": reply,
            }
            self.redis.xadd(keys.key(self.name, "out"), fields)  # type: ignore[arg-type]
            got = self.redis.blpop([reply], timeout=self.wait)
        except RedisError as exc:
            raise SendError(f"SMPP link {self.name}: Redis unreachable ({exc})") from exc
        if got is None:
            raise SendError(
                f"SMPP link {self.name}: hotline smpp did not answer within {self.wait:.0f} s", code="timeout"
            )
        answer = json.loads(got[1])
        if answer["status"] == "ok":
            return SendResult(self.name, self.kind, answer["id"], "sent")
        if answer["status"] == "expired":
            raise SendError(f"SMPP link {self.name}: not sent in time ({answer.get('reason', '')})", code="expired")
        code = int(answer.get("code", 0xFF))
        raise SendError(
            f"SMPP link {self.name}: the SMSC refused it: {answer.get('reason', '')}",
            code=answer.get("reason", "")[:16] or str(code),
            permanent=code not in TEMPORARY,
        )

    def find_sent(self, sms: OutgoingSms, *, since: datetime, exclude: set[str]) -> SendResult | None:
        try:
            raw = self.redis.get(keys.key(self.name, "sent", str(sms.message_id)))
        except RedisError:
            return None
        if raw is None:
            return None
        first = json.loads(raw)["id"]
        return None if first in exclude else SendResult(self.name, self.kind, first, "sent")
