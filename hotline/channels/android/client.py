"""Send SMS through SMS Gateway for Android's API with its maintained client (`android-sms-gateway`).

    POST {URL}/messages  {"id", "phoneNumbers": [to], "textMessage": {"text"}, "withDeliveryReport": true,
                          "ttl": seconds, "simNumber": 1-3}                 -> 202 {"id", "state": "Pending", ...}
    400 invalid, 401/403 credentials                                        -> permanent failure
    409 "Message with such ID already exists"                               -> it was taken before: sent
    503 "Queue limits exceeded; ensure device is online", 5xx, network      -> worth a retry (or the next gateway)

The message id is ours ("hl-<outbox id>-<created>"): a retry after a timeout sends the same id, which the app
refuses with 409 if it already has it, so a retry never becomes a second SMS; and the app's sms:sent /
sms:delivered / sms:failed events name it (hotline/channels/android/webhook.py). The text goes as Unicode
either way; the phone's own SMS stack chooses GSM-7 or UCS-2 from the text, as our check does.
"""

from __future__ import annotations

from datetime import datetime

import httpx
from android_sms_gateway import APIClient, domain
from android_sms_gateway.errors import APIError
from android_sms_gateway.http import HttpxHttpClient

from hotline.channels.gateway import DeliveryStatus, OutgoingSms, SendError, SendResult

STATES: dict[str, DeliveryStatus] = {
    "Pending": "queued",
    "Processed": "queued",
    "Sent": "sent",
    "Delivered": "delivered",
    "Failed": "failed",
}


def android_message_id(sms: OutgoingSms) -> str:
    """Ours, stable for one outbox row (at most 36 characters, as the API allows)."""
    created = int(sms.created_at.timestamp()) if sms.created_at else 0
    return f"hl-{sms.message_id}-{created}"


class AndroidSmsGateway:
    kind = "android"

    def __init__(self, *, url: str, username: str | None, password: str, sim: int | None = None, name: str = "android"):
        self.name = name
        self._url, self._username, self._password, self._sim = url.rstrip("/"), username, password, sim

    def _client(self, http: httpx.Client) -> APIClient:
        return APIClient(self._username, self._password, base_url=self._url, http=HttpxHttpClient(http))

    def send(self, sms: OutgoingSms) -> SendResult:
        sim = int(sms.line) if sms.line and sms.line.isdigit() and 1 <= int(sms.line) <= 3 else self._sim
        message = domain.Message(
            phone_numbers=[sms.to],
            text_message=domain.TextMessage(text=sms.body),
            with_delivery_report=True,
            sim_number=sim,
            ttl=max(5, int(sms.validity.total_seconds())) if sms.validity is not None else None,
            id=android_message_id(sms),
        )
        try:
            with httpx.Client(timeout=10.0) as http:
                state = self._client(http).send(message, skip_phone_validation=not sms.to.startswith("+"))
        except APIError as exc:
            status = exc.status_code or 0
            if status == 409:  # it has this id already: an earlier attempt got through
                return SendResult(self.name, self.kind, message.id or "", "queued")
            detail = (exc.response or {}).get("message") if isinstance(exc.response, dict) else None
            text = f"SMS Gateway for Android {status}: {detail or exc}"
            raise SendError(text, code=str(status), permanent=400 <= status < 500 and status != 429) from exc
        except httpx.HTTPError as exc:  # the phone is off the network, a timeout
            raise SendError(f"SMS Gateway for Android unreachable: {type(exc).__name__}: {exc}") from exc
        return SendResult(self.name, self.kind, state.id, STATES.get(state.state.value, "queued"))

    def find_sent(self, sms: OutgoingSms, *, since: datetime, exclude: set[str]) -> SendResult | None:
        wanted = android_message_id(sms)
        if wanted in exclude:
            return None
        try:
            with httpx.Client(timeout=10.0) as http:
                state = self._client(http).get_state(wanted)
        except APIError as exc:
            if exc.status_code == 404:
                return None
            raise SendError(f"could not check for an earlier send: {exc}") from exc
        except httpx.HTTPError as exc:  # cannot tell; sending again keeps the same id, which the app refuses
            raise SendError(f"could not check for an earlier send: {type(exc).__name__}: {exc}") from exc
        return SendResult(self.name, self.kind, state.id, STATES.get(state.state.value, "queued"))
