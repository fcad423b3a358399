"""A recording fake of Twilio's Messages REST API (2010-04-01) that also sends signed status callbacks.

It answers what api.twilio.com answers: basic auth with the account SID and auth token, form-encoded
parameters, a 201 Message resource in JSON, Twilio's error JSON (code, message, more_info, status).
Point the real `twilio` client at it with TWILIO_API_BASE.
"""

from __future__ import annotations

import base64
import socket
import threading
import time
import uuid
from dataclasses import dataclass, field
from email.utils import formatdate
from typing import Any

import httpx
import uvicorn
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from twilio.request_validator import RequestValidator


@dataclass
class FakeMessage:
    sid: str
    to: str
    from_: str
    body: str
    status_callback: str | None
    status: str = "queued"
    params: dict[str, str] = field(default_factory=dict)


@dataclass
class _Failure:
    status: int
    code: int
    message: str


def _error(status: int, code: int, message: str) -> JSONResponse:
    return JSONResponse(
        {"code": code, "message": message, "more_info": f"https://www.twilio.com/docs/errors/{code}", "status": status},
        status_code=status,
    )


class FakeTwilio:
    def __init__(self, account_sid: str, auth_token: str):
        self.account_sid, self.auth_token = account_sid, auth_token
        self.messages: list[FakeMessage] = []
        self.requests = 0
        self._failures: list[_Failure] = []
        self._lock = threading.Lock()
        self.app = self._build_app()
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self.port = 0

    # --- test controls -------------------------------------------------------------------------
    def fail_next(
        self, count: int = 1, *, status: int = 500, code: int = 20500, message: str = "Internal Server Error"
    ) -> None:
        with self._lock:
            self._failures.extend(_Failure(status, code, message) for _ in range(count))

    def reset(self) -> None:
        with self._lock:
            self.messages.clear()
            self._failures.clear()
            self.requests = 0

    def sent_to(self, number: str) -> list[FakeMessage]:
        return [m for m in self.messages if m.to == number]

    def report_status(self, sid: str, status: str, error_code: str | None = None) -> httpx.Response:
        """POST a signed status callback for message `sid`, as Twilio does."""
        message = next(m for m in self.messages if m.sid == sid)
        assert message.status_callback, "message was sent without a StatusCallback"
        params = {
            "MessageSid": sid,
            "SmsSid": sid,
            "AccountSid": self.account_sid,
            "From": message.from_,
            "To": message.to,
            "MessageStatus": status,
            "SmsStatus": status,
            "ApiVersion": "2010-04-01",
        }
        if error_code:
            params["ErrorCode"] = error_code
        signature = RequestValidator(self.auth_token).compute_signature(message.status_callback, params)
        message.status = status
        return httpx.post(message.status_callback, data=params, headers={"X-Twilio-Signature": signature})

    # --- the API -------------------------------------------------------------------------------
    def _authorised(self, request: Request) -> bool:
        expected = base64.b64encode(f"{self.account_sid}:{self.auth_token}".encode()).decode()
        return request.headers.get("authorization", "") == f"Basic {expected}"

    def _build_app(self) -> FastAPI:
        app = FastAPI()

        @app.post("/2010-04-01/Accounts/{account_sid}/Messages.json")
        async def create_message(account_sid: str, request: Request) -> JSONResponse:
            self.requests += 1
            if not self._authorised(request) or account_sid != self.account_sid:
                return _error(401, 20003, "Authenticate")
            form = {k: v for k, v in (await request.form()).items() if isinstance(v, str)}
            with self._lock:
                failure = self._failures.pop(0) if self._failures else None
            if failure:
                return _error(failure.status, failure.code, failure.message)
            if not form.get("To"):
                return _error(400, 21604, "A 'To' phone number is required.")
            if not form.get("From") and not form.get("MessagingServiceSid"):
                return _error(400, 21603, "A 'From' phone number is required.")
            if not form.get("Body") and not form.get("MediaUrl"):
                return _error(400, 21602, "Message body is required.")
            if not form["To"].startswith("+") or not form["To"][1:].isdigit():
                return _error(400, 21211, f"The 'To' number {form['To']} is not a valid phone number.")
            message = FakeMessage(
                f"SM{uuid.uuid4().hex}",
                form["To"],
                form.get("From", ""),
                form["Body"],
                form.get("StatusCallback"),
                params=form,
            )
            with self._lock:
                self.messages.append(message)
            return JSONResponse(self._resource(message), status_code=201)

        return app

    def _resource(self, m: FakeMessage) -> dict[str, Any]:
        now = formatdate(usegmt=True)
        return {
            "account_sid": self.account_sid,
            "api_version": "2010-04-01",
            "body": m.body,
            "date_created": now,
            "date_sent": None,
            "date_updated": now,
            "direction": "outbound-api",
            "error_code": None,
            "error_message": None,
            "from": m.from_,
            "messaging_service_sid": None,
            "num_media": "0",
            "num_segments": "1",
            "price": None,
            "price_unit": "USD",
            "sid": m.sid,
            "status": "queued",
            "subresource_uris": {"media": f"/2010-04-01/Accounts/{self.account_sid}/Messages/{m.sid}/Media.json"},
            "to": m.to,
            "uri": f"/2010-04-01/Accounts/{self.account_sid}/Messages/{m.sid}.json",
        }

    # --- lifecycle -----------------------------------------------------------------------------
    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> FakeTwilio:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        config = uvicorn.Config(self.app, host="127.0.0.1", port=self.port, log_level="warning", access_log=False)
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, daemon=True)
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            if time.monotonic() > deadline:
                raise RuntimeError("fake Twilio did not start")
            time.sleep(0.02)
        return self

    def stop(self) -> None:
        if self._server:
            self._server.should_exit = True
        if self._thread:
            self._thread.join(10)
