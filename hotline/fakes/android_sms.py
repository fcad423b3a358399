"""A recording fake of SMS Gateway for Android's API (the app's local server, or its cloud), built from its
published API description (the app's `swagger.json`, "SMSGate API") and its webhook documentation.

    POST /messages        basic auth (or Bearer): 401 without; the body checked as the API checks it: 400 for
                          no phoneNumbers (1-100), no or an empty textMessage.text, both ttl and validUntil, a ttl
                          under 5, a simNumber outside 1-3, an id over 36 characters; 409 for an id it has;
                          503 "Queue limits exceeded; ensure device is online" while `offline`; else 202 with
                          the message's state (Pending) and a Location header.
    GET  /messages/{id}   the state, or 404.
    GET|POST /webhooks, DELETE /webhooks/{id}   registrations (one event each, as the app keeps them).

What the phone does is driven by the test: `receive_sms` (a citizen texts the phone: an sms:received event)
and `report` (sms:sent, sms:delivered, sms:failed for a message) POST the events, each signed as the app signs
them (X-Signature: hex HMAC-SHA256 of body + X-Timestamp under the signing key), to every webhook registered
for that event. Like the real app it sends nothing until told, and it does not retry a webhook that failed
(the app would, for days: our endpoint must not need it).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import threading
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import httpx
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response

from hotline.fakes.serving import ThreadedServer

EVENTS = ("sms:received", "sms:data-received", "sms:sent", "sms:delivered", "sms:failed", "system:ping")


@dataclass
class AndroidMessage:
    id: str
    phone_numbers: list[str]
    text: str
    sim_number: int | None
    ttl: int | None
    with_delivery_report: bool
    body: dict[str, Any]
    state: str = "Pending"
    events: list[str] = field(default_factory=list)


def _error(status: int, message: str) -> JSONResponse:
    return JSONResponse({"code": status, "message": message}, status_code=status)


class FakeAndroidGateway:
    def __init__(self, username: str = "hotline", password: str = "android-test-password", signing_key: str = ""):
        self.username, self.password = username, password
        self.signing_key = signing_key or secrets.token_hex(8)
        self.device_id = "ffffffffceb0b1db0000018e937c815b"
        self.messages: list[AndroidMessage] = []
        self.webhooks: dict[str, dict[str, str]] = {}
        self.deliveries: list[tuple[str, int]] = []  # (event, status code our endpoint answered)
        self.offline = False  # 503 on POST /messages, as the cloud answers when the phone is away
        self._lock = threading.Lock()
        self.app = self._build_app()
        self._serving = ThreadedServer(self.app, "fake SMS Gateway for Android")
        self.port = 0

    # --- test controls -------------------------------------------------------------------------
    def reset(self) -> None:
        with self._lock:
            self.messages.clear()
            self.deliveries.clear()
        self.offline = False

    def sent_to(self, number: str) -> list[AndroidMessage]:
        return [m for m in self.messages if number in m.phone_numbers]

    def register(self, url: str, *events: str) -> None:
        """Register our webhook as a city does with curl (one registration per event)."""
        for event in events or ("sms:received", "sms:sent", "sms:delivered", "sms:failed"):
            response = httpx.post(f"{self.base_url}/webhooks", json={"url": url, "event": event}, auth=self.auth)
            response.raise_for_status()

    def receive_sms(self, sender: str, text: str, *, sim: int | None = 1, event_id: str | None = None) -> list[int]:
        """A citizen texts the phone. Returns the status codes the webhooks answered."""
        payload = {
            "messageId": hashlib.sha256(f"{sender}{text}".encode()).hexdigest()[:16],  # from the content, as the app
            "message": text,
            "phoneNumber": sender,
            "sender": sender,
            "recipient": None,
            "simNumber": sim,
            "receivedAt": datetime.now(UTC).astimezone().isoformat(timespec="milliseconds"),
        }
        return self.emit("sms:received", payload, event_id=event_id)

    def report(self, message: AndroidMessage, event: str, reason: str = "") -> list[int]:
        """The phone sent, got a delivery report for, or failed to send `message`."""
        assert event in ("sms:sent", "sms:delivered", "sms:failed"), event
        assert message.with_delivery_report or event != "sms:delivered", "no delivery report was asked for"
        now = datetime.now(UTC).astimezone().isoformat(timespec="milliseconds")
        message.state = {"sms:sent": "Sent", "sms:delivered": "Delivered", "sms:failed": "Failed"}[event]
        message.events.append(event)
        codes: list[int] = []
        for number in message.phone_numbers:
            payload: dict[str, Any] = {
                "messageId": message.id,
                "phoneNumber": number,
                "simNumber": message.sim_number,
            }
            if event == "sms:sent":
                payload.update(sentAt=now, partsCount=1)
            elif event == "sms:delivered":
                payload.update(deliveredAt=now)
            else:
                payload.update(failedAt=now, reason=reason or "RESULT_ERROR_GENERIC_FAILURE")
            codes += self.emit(event, payload)
        return codes

    def emit(self, event: str, payload: dict[str, Any], *, event_id: str | None = None) -> list[int]:
        envelope = {
            "deviceId": self.device_id,
            "event": event,
            "id": event_id or uuid.uuid4().hex[:21],
            "payload": payload,
        }
        codes = []
        for hook_id, hook in list(self.webhooks.items()):
            if hook["event"] != event:
                continue
            body = json.dumps({**envelope, "webhookId": hook_id}).encode()
            stamp = str(int(time.time()))
            sig = hmac.new(self.signing_key.encode(), body + stamp.encode(), hashlib.sha256).hexdigest()
            response = httpx.post(
                hook["url"],
                content=body,
                headers={"Content-Type": "application/json", "X-Signature": sig, "X-Timestamp": stamp},
                timeout=30,
            )
            self.deliveries.append((event, response.status_code))
            codes.append(response.status_code)
        return codes

    # --- the API -------------------------------------------------------------------------------
    def _authorised(self, request: Request) -> bool:
        header = request.headers.get("authorization", "")
        if header.startswith("Basic "):
            try:
                user, _, password = base64.b64decode(header[6:]).decode().partition(":")
            except ValueError:
                return False
            return hmac.compare_digest(user, self.username) and hmac.compare_digest(password, self.password)
        return False

    def _build_app(self) -> FastAPI:
        app = FastAPI()

        @app.post("/messages")
        async def enqueue(request: Request) -> Response:
            if not self._authorised(request):
                return _error(401, "Unauthorized")
            try:
                body = json.loads(await request.body())
            except ValueError:
                return _error(400, "invalid JSON")
            if not isinstance(body, dict):
                return _error(400, "invalid request")
            numbers = body.get("phoneNumbers")
            if not isinstance(numbers, list) or not 1 <= len(numbers) <= 100:
                return _error(400, "phoneNumbers: 1 to 100 recipients are required")
            if not all(isinstance(n, str) and n for n in numbers):
                return _error(400, "phoneNumbers: invalid phone number")
            text_message = body.get("textMessage")
            text = text_message.get("text") if isinstance(text_message, dict) else body.get("message")
            if not isinstance(text, str) or not text or len(text) > 65535:
                return _error(400, "textMessage.text: 1 to 65535 characters are required")
            if body.get("ttl") is not None and body.get("validUntil") is not None:
                return _error(400, "ttl and validUntil are mutually exclusive")
            ttl = body.get("ttl")
            if ttl is not None and (not isinstance(ttl, int) or ttl < 5):
                return _error(400, "ttl: at least 5 seconds")
            sim = body.get("simNumber")
            if sim is not None and (not isinstance(sim, int) or not 1 <= sim <= 3):
                return _error(400, "simNumber: 1 to 3")
            message_id = body.get("id") or uuid.uuid4().hex[:21]
            if not isinstance(message_id, str) or len(message_id) > 36:
                return _error(400, "id: at most 36 characters")
            if self.offline:
                return _error(503, "Queue limits exceeded; ensure device is online")
            with self._lock:
                if any(m.id == message_id for m in self.messages):
                    return _error(409, "Message with such ID already exists")
                message = AndroidMessage(
                    message_id, list(numbers), text, sim, ttl, bool(body.get("withDeliveryReport", True)), body
                )
                self.messages.append(message)
            return JSONResponse(
                self._state(message), status_code=202, headers={"Location": f"{self.base_url}/messages/{message_id}"}
            )

        @app.get("/messages/{message_id}")
        async def state(message_id: str, request: Request) -> Response:
            if not self._authorised(request):
                return _error(401, "Unauthorized")
            for message in self.messages:
                if message.id == message_id:
                    return JSONResponse(self._state(message))
            return _error(404, "message not found")

        @app.get("/webhooks")
        async def list_webhooks(request: Request) -> Response:
            if not self._authorised(request):
                return _error(401, "Unauthorized")
            return JSONResponse([{"id": i, **hook} for i, hook in self.webhooks.items()])

        @app.post("/webhooks")
        async def create_webhook(request: Request) -> Response:
            if not self._authorised(request):
                return _error(401, "Unauthorized")
            body = json.loads(await request.body() or b"{}")
            if body.get("event") not in EVENTS or not str(body.get("url", "")).startswith(("http://", "https://")):
                return _error(400, "event and url are required")
            hook_id = str(body.get("id") or uuid.uuid4())
            self.webhooks[hook_id] = {"url": body["url"], "event": body["event"]}
            return JSONResponse({"id": hook_id, "url": body["url"], "event": body["event"]}, status_code=201)

        @app.delete("/webhooks/{hook_id}")
        async def delete_webhook(hook_id: str, request: Request) -> Response:
            if not self._authorised(request):
                return _error(401, "Unauthorized")
            self.webhooks.pop(hook_id, None)
            return Response(status_code=204)

        return app

    def _state(self, message: AndroidMessage) -> dict[str, Any]:
        return {
            "id": message.id,
            "deviceId": self.device_id,
            "state": message.state,
            "isHashed": False,
            "isEncrypted": False,
            "recipients": [{"phoneNumber": n, "state": message.state} for n in message.phone_numbers],
            "states": {},
        }

    # --- lifecycle -----------------------------------------------------------------------------
    @property
    def auth(self) -> tuple[str, str]:
        return self.username, self.password

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> FakeAndroidGateway:
        self.port = self._serving.start()
        return self

    def stop(self) -> None:
        self._serving.stop()
