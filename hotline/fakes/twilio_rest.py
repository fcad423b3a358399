"""A recording fake of Twilio's Messages and Calls REST API (2010-04-01) that also sends signed callbacks.

It answers what api.twilio.com answers: basic auth with the account SID and auth token, form-encoded
parameters, a 201 Message resource in JSON, Twilio's error JSON (code, message, more_info, status).
Point the real `twilio` client at it with TWILIO_API_BASE.

WhatsApp as Twilio speaks it (`whatsapp:` on both addresses): the fake knows each person's 24-hour customer
service window from `whatsapp_inbound(number)` (what Twilio learns from their messages); a free-form message
outside it is taken (201, queued) and then fails as on Twilio, status `failed` with error 63016, by the
StatusCallback. An approved template goes as `ContentSid` (`add_content` registers one, HX + 32 hex) with
`ContentVariables` (a JSON object; 21656 otherwise), rendered into the message's body; an unknown ContentSid is
21655, ContentVariables without ContentSid 21654 (docs: twilio.com/docs/content, /docs/api/errors/<code>).
"""

from __future__ import annotations

import asyncio
import base64
import json
import re
import threading
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from email.utils import formatdate
from typing import Any

import httpx
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response
from twilio.request_validator import RequestValidator

from hotline import clock
from hotline.fakes.serving import ThreadedServer


@dataclass
class FakeMessage:
    sid: str
    to: str
    from_: str
    body: str
    status_callback: str | None
    status: str = "queued"
    params: dict[str, str] = field(default_factory=dict)
    created: float = field(default_factory=lambda: clock.now().timestamp())  # the hotline clock, as DateSent filters
    error_code: int | None = None


@dataclass
class FakeCall:
    """An outbound call placed through Calls.json: Twilio would now ring `to` and, when answered, POST to `url`."""

    sid: str
    to: str
    from_: str
    url: str
    status_callback: str | None
    params: dict[str, str] = field(default_factory=dict)
    status: str = "queued"


@dataclass
class _Failure:
    status: int
    code: int
    message: str


def _iso_timestamp(value: str | None) -> float | None:
    """Twilio's date filters take ISO 8601 (what the client sends) as a POSIX timestamp."""
    if not value:
        return None
    return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()


CONTENT_SID = re.compile(r"^HX[0-9a-fA-F]{32}$")
WHATSAPP_WINDOW = 24 * 3600.0
OUTSIDE_WINDOW = 63016  # "Outside messaging window. For WhatsApp, use a Message Template instead"


def _render(template: str, variables: dict[str, str]) -> str:
    return re.sub(r"\{\{(\w+)\}\}", lambda m: variables.get(m.group(1), m.group(0)), template)


def _error(status: int, code: int, message: str) -> JSONResponse:
    return JSONResponse(
        {"code": code, "message": message, "more_info": f"https://www.twilio.com/docs/errors/{code}", "status": status},
        status_code=status,
    )


class FakeTwilio:
    def __init__(self, account_sid: str, auth_token: str):
        self.account_sid, self.auth_token = account_sid, auth_token
        self.messages: list[FakeMessage] = []
        self.call_updates: list[tuple[str, dict[str, str]]] = []  # (CallSid, form) of each Calls update
        self.calls: list[FakeCall] = []  # outbound calls placed (Calls.json)
        self.media: dict[str, tuple[bytes, str]] = {}  # media sid -> (bytes, content type): an MMS's pictures
        self.contents: dict[str, str] = {}  # Content SID -> its approved body, with {{1}}... (Content API)
        self.whatsapp_last_inbound: dict[str, float] = {}  # E.164 -> when they last wrote on WhatsApp (clock)
        self.requests = 0
        self._failures: list[_Failure] = []
        self._lock = threading.Lock()
        self._stalled = False
        self.app = self._build_app()
        self._serving = ThreadedServer(self.app, "fake Twilio")
        self.port = 0

    # --- test controls -------------------------------------------------------------------------
    def fail_next(
        self, count: int = 1, *, status: int = 500, code: int = 20500, message: str = "Internal Server Error"
    ) -> None:
        with self._lock:
            self._failures.extend(_Failure(status, code, message) for _ in range(count))

    def stall(self) -> None:
        """Accept (and record) each new message but keep its HTTP answer back until `release()`: the moment
        when a worker killed mid-send has handed the SMS over without learning it."""
        self._stalled = True

    def release(self) -> None:
        self._stalled = False

    def reset(self) -> None:
        with self._lock:
            self.messages.clear()
            self.call_updates.clear()
            self.calls.clear()
            self._failures.clear()
            self.whatsapp_last_inbound.clear()  # approved templates (contents) stay: they belong to the account
            self.requests = 0
        self._stalled = False

    def add_media(self, data: bytes, content_type: str) -> str:
        """A picture an MMS (or a WhatsApp message through Twilio) carries; returns its MediaUrl. As Twilio's
        media with HTTP authentication on, it is served only with the account's credentials (401 without),
        by a redirect to the media store, as Twilio answers."""
        sid = f"ME{uuid.uuid4().hex}"
        self.media[sid] = (data, content_type)
        return f"{self.base_url}/2010-04-01/Accounts/{self.account_sid}/Messages/MM{uuid.uuid4().hex}/Media/{sid}"

    def add_content(self, body: str, sid: str | None = None) -> str:
        """An approved WhatsApp template in the Content API (twilio/text with {{1}}...); returns its SID."""
        sid = sid or f"HX{uuid.uuid4().hex}"
        self.contents[sid] = body
        return sid

    def whatsapp_inbound(self, number: str) -> None:
        """`number` wrote to us on WhatsApp now (the hotline's clock): their 24-hour window opens."""
        self.whatsapp_last_inbound[number.removeprefix("whatsapp:")] = clock.now().timestamp()

    def _window_open(self, number: str) -> bool:
        last = self.whatsapp_last_inbound.get(number)
        return last is not None and clock.now().timestamp() - last < WHATSAPP_WINDOW

    def _fail_later(self, message: FakeMessage, code: int) -> None:
        """Twilio takes the message, then reports its failure by the StatusCallback (not in the 201)."""
        message.status, message.error_code = "failed", code
        if message.status_callback:
            later = threading.Timer(0.2, self._report_failure, args=(message.sid, code))
            later.daemon = True
            later.start()

    def _report_failure(self, sid: str, code: int) -> None:
        if any(m.sid == sid for m in self.messages):  # not when the test reset the fake meanwhile
            self.report_status(sid, "failed", str(code))

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

    def calls_to(self, number: str) -> list[FakeCall]:
        return [c for c in self.calls if c.to == number]

    def call_webhook(self, url: str, call: FakeCall, **params: str) -> httpx.Response:
        """POST a signed Voice webhook for an outbound call to `url` (its Url, a <Gather> action...), as Twilio
        does: the fields of an outbound-api call, plus `params`."""
        form = {
            "AccountSid": self.account_sid,
            "ApiVersion": "2010-04-01",
            "CallSid": call.sid,
            "CallStatus": call.status,
            "Called": call.to,
            "Caller": call.from_,
            "Direction": "outbound-api",
            "From": call.from_,
            "To": call.to,
            **params,
        }
        signature = RequestValidator(self.auth_token).compute_signature(url, form)
        return httpx.post(url, data=form, headers={"X-Twilio-Signature": signature})

    def answer(self, call: FakeCall) -> httpx.Response:
        """The callee picks up: Twilio fetches the call's TwiML from its Url."""
        call.status = "in-progress"
        return self.call_webhook(call.url, call)

    def report_call_status(self, call: FakeCall, status: str, **params: str) -> httpx.Response:
        """POST the call's signed status callback (busy, no-answer, completed, ...)."""
        assert call.status_callback, "call was placed without a StatusCallback"
        call.status = status
        return self.call_webhook(call.status_callback, call, CallStatus=status, **params)

    # --- the API -------------------------------------------------------------------------------
    def _authorised(self, request: Request) -> bool:
        expected = base64.b64encode(f"{self.account_sid}:{self.auth_token}".encode()).decode()
        return request.headers.get("authorization", "") == f"Basic {expected}"

    def _build_app(self) -> FastAPI:
        app = FastAPI()
        accounts = "/2010-04-01/Accounts/{account_sid}"
        app.add_api_route(f"{accounts}/Messages/{{message_sid}}/Media/{{media_sid}}", self._media, methods=["GET"])
        app.add_api_route("/media-store/{media_sid}", self._media_store, methods=["GET"])
        app.add_api_route(f"{accounts}/Messages.json", self._create_message, methods=["POST"])
        app.add_api_route(f"{accounts}/Messages.json", self._list_messages, methods=["GET"])
        app.add_api_route(f"{accounts}/Calls.json", self._create_call, methods=["POST"])
        app.add_api_route(f"{accounts}/Calls/{{call_sid}}.json", self._update_call, methods=["POST"])
        return app

    def _refused(self, request: Request, account_sid: str) -> JSONResponse | None:
        """Twilio's answer to a request with the wrong credentials or another account's path, else None."""
        if not self._authorised(request) or account_sid != self.account_sid:
            return _error(401, 20003, "Authenticate")
        return None

    def _next_failure(self) -> JSONResponse | None:
        """The error a test asked for with `fail_next`, answered instead of the next create."""
        with self._lock:
            failure = self._failures.pop(0) if self._failures else None
        return _error(failure.status, failure.code, failure.message) if failure else None

    async def _media(self, account_sid: str, message_sid: str, media_sid: str, request: Request) -> Response:
        if refused := self._refused(request, account_sid):
            return refused
        if media_sid not in self.media:
            return _error(404, 20404, f"The requested resource {request.url.path} was not found")
        return Response(status_code=307, headers={"Location": f"/media-store/{media_sid}"})

    async def _media_store(self, media_sid: str) -> Response:
        data, kind = self.media.get(media_sid, (b"", ""))
        return Response(data, media_type=kind) if kind else Response(status_code=404)

    async def _create_message(self, account_sid: str, request: Request) -> JSONResponse:
        self.requests += 1
        if refused := self._refused(request, account_sid):
            return refused
        form = {k: v for k, v in (await request.form()).items() if isinstance(v, str)}
        if failed := self._next_failure():
            return failed
        variables = self._accepted_variables(form)
        if isinstance(variables, JSONResponse):
            return variables
        content_sid = form.get("ContentSid")
        body = _render(self.contents[content_sid], variables) if content_sid else form.get("Body", "")
        to = form["To"].removeprefix("whatsapp:")  # Twilio's WhatsApp: both addresses `whatsapp:+...`
        message = FakeMessage(
            f"SM{uuid.uuid4().hex}", form["To"], form.get("From", ""), body, form.get("StatusCallback"), params=form
        )
        with self._lock:
            self.messages.append(message)
        if form["To"].startswith("whatsapp:") and not content_sid and not self._window_open(to):
            self._fail_later(message, OUTSIDE_WINDOW)
        while self._stalled:
            await asyncio.sleep(0.01)
        return JSONResponse(self._resource(message), status_code=201)

    def _accepted_variables(self, form: dict[str, str]) -> dict[str, str] | JSONResponse:
        """Twilio's 400 for a message it would refuse, in the order api.twilio.com checks; else the message's
        ContentVariables (empty without a template)."""
        if not form.get("To"):
            return _error(400, 21604, "A 'To' phone number is required.")
        if not form.get("From") and not form.get("MessagingServiceSid"):
            return _error(400, 21603, "A 'From' phone number is required.")
        content_sid = form.get("ContentSid")
        if form.get("ContentVariables") and not content_sid:
            return _error(400, 21654, "A ContentSid must be specified if ContentVariables are provided.")
        if content_sid and (not CONTENT_SID.match(content_sid) or content_sid not in self.contents):
            return _error(400, 21655, "The ContentSid is Invalid")
        try:
            variables = json.loads(form.get("ContentVariables") or "{}")
        except ValueError:
            variables = None
        if not isinstance(variables, dict) or any(not isinstance(v, str) or not v for v in variables.values()):
            return _error(400, 21656, "The ContentVariables Parameter is invalid")
        if not content_sid and not form.get("Body") and not form.get("MediaUrl"):
            return _error(400, 21602, "Message body is required.")
        to = form["To"].removeprefix("whatsapp:")
        if form["To"].startswith("whatsapp:") != form.get("From", "").startswith("whatsapp:"):
            return _error(400, 63007, "Twilio could not find a Channel with the specified From address")
        if not to.startswith("+") or not to[1:].isdigit():
            return _error(400, 21211, f"The 'To' number {form['To']} is not a valid phone number.")
        return variables

    async def _list_messages(self, account_sid: str, request: Request) -> JSONResponse:
        """Messages filtered as Twilio filters them: To, From, DateSent> (sent after), newest first."""
        if refused := self._refused(request, account_sid):
            return refused
        query = request.query_params
        after = _iso_timestamp(query.get("DateSent>"))
        with self._lock:
            found = [
                m
                for m in reversed(self.messages)
                if (not query.get("To") or m.to == query["To"])
                and (not query.get("From") or m.from_ == query["From"])
                and (after is None or m.created >= after)
            ]
        uri = f"/2010-04-01/Accounts/{self.account_sid}/Messages.json"
        return JSONResponse(
            {
                "messages": [self._resource(m) for m in found],
                "first_page_uri": uri,
                "next_page_uri": None,
                "previous_page_uri": None,
                "page": 0,
                "page_size": len(found),
                "start": 0,
                "end": max(0, len(found) - 1),
                "uri": uri,
            }
        )

    async def _create_call(self, account_sid: str, request: Request) -> JSONResponse:
        """Place an outbound call: To, From, and Url (or Twiml) are required, as on api.twilio.com."""
        self.requests += 1
        if refused := self._refused(request, account_sid):
            return refused
        form = {k: v for k, v in (await request.form()).items() if isinstance(v, str)}
        if failed := self._next_failure():
            return failed
        if not form.get("To"):
            return _error(400, 21201, "No 'To' number is specified")
        if not form.get("From"):
            return _error(400, 21213, "No 'From' number is specified")
        if not form.get("Url") and not form.get("Twiml") and not form.get("ApplicationSid"):
            return _error(400, 21205, "Url parameter is required.")
        if not form["To"].startswith("+") or not form["To"][1:].isdigit():
            return _error(400, 21211, f"The phone number you are attempting to call, {form['To']}, is not valid.")
        call = FakeCall(
            f"CA{uuid.uuid4().hex}", form["To"], form["From"], form.get("Url", ""), form.get("StatusCallback"), form
        )
        with self._lock:
            self.calls.append(call)
        return JSONResponse(self._call_resource(call), status_code=201)

    async def _update_call(self, account_sid: str, call_sid: str, request: Request) -> JSONResponse:
        """Redirect a live call to new TwiML (Twiml) or a new URL (Url), as an operator taking it does."""
        if refused := self._refused(request, account_sid):
            return refused
        form = {k: v for k, v in (await request.form()).items() if isinstance(v, str)}
        if not call_sid.startswith("CA"):
            return _error(404, 20404, f"The requested resource /Calls/{call_sid}.json was not found")
        if not form.get("Twiml") and not form.get("Url") and not form.get("Status"):
            return _error(400, 21205, "Url, Twiml or Status is required.")
        with self._lock:
            self.call_updates.append((call_sid, form))
        now = formatdate(usegmt=True)
        return JSONResponse(
            {
                "account_sid": self.account_sid,
                "api_version": "2010-04-01",
                "date_created": now,
                "date_updated": now,
                "direction": "inbound",
                "sid": call_sid,
                "status": "in-progress",
                "uri": f"/2010-04-01/Accounts/{self.account_sid}/Calls/{call_sid}.json",
            }
        )

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

    def _call_resource(self, c: FakeCall) -> dict[str, Any]:
        base = f"/2010-04-01/Accounts/{self.account_sid}/Calls/{c.sid}"
        return {
            "account_sid": self.account_sid,
            "annotation": None,
            "answered_by": None,
            "api_version": "2010-04-01",
            "caller_name": None,
            "date_created": None,
            "date_updated": None,
            "direction": "outbound-api",
            "duration": None,
            "end_time": None,
            "forwarded_from": None,
            "from": c.from_,
            "from_formatted": c.from_,
            "group_sid": None,
            "parent_call_sid": None,
            "phone_number_sid": "PN" + "0" * 32,
            "price": None,
            "price_unit": "USD",
            "queue_time": "0",
            "sid": c.sid,
            "start_time": None,
            "status": "queued",
            "subresource_uris": {
                "notifications": f"{base}/Notifications.json",
                "recordings": f"{base}/Recordings.json",
                "payments": f"{base}/Payments.json",
                "events": f"{base}/Events.json",
                "siprec": f"{base}/Siprec.json",
                "streams": f"{base}/Streams.json",
                "user_defined_message_subscriptions": f"{base}/UserDefinedMessageSubscriptions.json",
                "user_defined_messages": f"{base}/UserDefinedMessages.json",
            },
            "to": c.to,
            "to_formatted": c.to,
            "trunk_sid": None,
            "uri": f"{base}.json",
        }

    # --- lifecycle -----------------------------------------------------------------------------
    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> FakeTwilio:
        self.port = self._serving.start()
        return self

    def stop(self) -> None:
        self._serving.stop()
