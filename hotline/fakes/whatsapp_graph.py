"""A recording fake of the WhatsApp Business Cloud API (Graph API), as strict as the real one where it bites us,
built from Meta's published reference (messages, media, webhooks, error codes).

    POST /{version}/{phone-number-id}/messages   Bearer token, else 401 {"error": {"code": 190, "type":
        "OAuthException"}}. The body checked as Meta checks it: messaging_product "whatsapp", `to` digits, a
        known `type` (text: 1-4096 characters; interactive list: 1-10 rows over all sections, row titles <= 24,
        button label <= 20; interactive button: 1-3 reply buttons, titles <= 20; location_request_message;
        template: a name and language the fake has, else 404 code 132001), else 400 code 100. 200 with
        {"messaging_product", "contacts": [{"input", "wa_id"}], "messages": [{"id": "wamid..."}]}.
        As Meta does, a free-form message (anything but a template) to someone whose last message is more
        than 24 hours old is accepted (200) and then fails: a `failed` status webhook with code 131047.
    GET  /{version}/{media-id}    the media's URL, mime_type, sha256, file_size; 404 code 100 for an unknown id.
    GET  /media/{token}           the bytes, with the Bearer token only (401 without); 404 once the URL's
                                  5 minutes (`url_ttl`) are over: ask /{media-id} again for a fresh one.

Faults the tests set: `fail_next(status, code, times)` answers the next requests with that Graph error (401
code 190, 429 code 130429, 500/503 code 131000 ...); `down` answers every request 503; `latency` delays each
answer (a few tens of milliseconds, as Meta's edge does).

What the citizen does is driven by the test: `text`, `image`, `location`, ... build the webhook from the
fixture of that type (tests/fixtures/whatsapp/), with a fresh wamid, and POST it signed with the app secret
(X-Hub-Signature-256) to the registered webhook URL, as Meta does; `status` sends a status of a message we sent.
"""

from __future__ import annotations

import asyncio
import copy
import hashlib
import hmac
import json
import secrets
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response

from hotline.fakes.serving import ThreadedServer

VERSION = "v21.0"
WINDOW_SECONDS = 24 * 3600
LATENCY = 0.03  # seconds before each answer: Meta's edge is never instant (tests set 0 where they measure us)
FIXTURES = Path(__file__).resolve().parents[2] / "tests" / "fixtures" / "whatsapp"


@dataclass
class SentMessage:
    wamid: str
    to: str
    type: str
    body: dict[str, Any]
    statuses: list[str] = field(default_factory=list)

    @property
    def text(self) -> str:
        """What the person reads: a text's body, an interactive message's body, a template's parameters."""
        if self.type == "text":
            return str(self.body["text"]["body"])
        if self.type == "interactive":
            return str(self.body["interactive"]["body"]["text"])
        if self.type == "image":
            return str(self.body["image"].get("caption", ""))
        if self.type == "template":
            params = [
                p.get("text", "") for c in self.body["template"].get("components", []) for p in c.get("parameters", [])
            ]
            return " ".join(str(p) for p in params)
        return ""


@dataclass
class StoredMedia:
    media_id: str
    data: bytes
    mime_type: str
    token: str = ""
    url_expires: float = 0.0


def _graph_error(status: int, code: int, message: str, kind: str = "OAuthException") -> JSONResponse:
    body = {"error": {"message": message, "type": kind, "code": code, "fbtrace_id": secrets.token_urlsafe(12)}}
    return JSONResponse(body, status_code=status)


class FakeGraph:
    def __init__(
        self,
        *,
        access_token: str = "fake-graph-access-token-for-tests",
        app_secret: str = "fake-graph-app-secret-for-tests",
        phone_number_id: str = "106540352242922",
        display_number: str = "6281100000099",
        templates: dict[str, set[str]] | None = None,
    ):
        self.access_token, self.app_secret = access_token, app_secret
        self.phone_number_id, self.display_number = phone_number_id, display_number
        self.templates = templates if templates is not None else {}
        self.sent: list[SentMessage] = []
        self.media: dict[str, StoredMedia] = {}
        self.requests: list[tuple[str, str, int]] = []  # (method, path, status) of every request
        self.last_inbound: dict[str, float] = {}  # wa_id -> when they last wrote (the 24-hour window)
        self.webhook_url = ""
        self.url_ttl = 300.0
        self.latency = LATENCY
        self.down = False
        self._faults: list[tuple[int, int]] = []
        self._lock = threading.Lock()
        self.app = self._build_app()
        self._serving = ThreadedServer(self.app, "fake Graph API")
        self.port = 0

    # --- serving -------------------------------------------------------------------------------
    def start(self) -> FakeGraph:
        self.port = self._serving.start()
        return self

    def stop(self) -> None:
        self._serving.stop()

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/{VERSION}"

    def reset(self) -> None:
        with self._lock:
            self.sent.clear()
            self.media.clear()
            self.requests.clear()
            self.last_inbound.clear()
            self._faults.clear()
        self.down, self.latency, self.url_ttl = False, LATENCY, 300.0

    def fail_next(self, status: int, code: int, times: int = 1) -> None:
        with self._lock:
            self._faults.extend([(status, code)] * times)

    def sent_to(self, number: str) -> list[SentMessage]:
        wa = number.lstrip("+")
        return [m for m in self.sent if m.to == wa]

    # --- the citizen's side: webhooks ----------------------------------------------------------
    def upload(self, data: bytes, mime_type: str) -> str:
        media_id = str(10**15 + secrets.randbelow(10**15))
        with self._lock:
            self.media[media_id] = StoredMedia(media_id, data, mime_type)
        return media_id

    def webhook(self, fixture: str, sender: str, **content: Any) -> dict[str, Any]:
        """The fixture's body from `sender` (E.164), with a fresh wamid and `content` merged into the message's
        own object (the `text`, `image`, `location`... part)."""
        body = json.loads((FIXTURES / f"{fixture}.json").read_text())
        value = body["entry"][0]["changes"][0]["value"]
        value["metadata"] = {"display_phone_number": self.display_number, "phone_number_id": self.phone_number_id}
        wa = sender.lstrip("+")
        for contact in value.get("contacts", []):
            contact["wa_id"] = wa
        for message in value.get("messages", []):
            message.update({"from": wa, "id": self.new_wamid(), "timestamp": str(int(time.time()))})
            kind = message["type"]
            if content and isinstance(message.get(kind), dict):
                message[kind] = {**message[kind], **content}
        return body

    def deliver(self, body: dict[str, Any], *, secret: str | None = None) -> httpx.Response:
        """POST a webhook body to our endpoint, signed as Meta signs it."""
        raw = json.dumps(body).encode()
        sig = "sha256=" + hmac.new((secret or self.app_secret).encode(), raw, hashlib.sha256).hexdigest()
        for message in body["entry"][0]["changes"][0]["value"].get("messages", []):
            self.last_inbound[message["from"]] = time.time()
        headers = {"Content-Type": "application/json", "X-Hub-Signature-256": sig}
        return httpx.post(self.webhook_url, content=raw, headers=headers, timeout=30)

    def text(self, sender: str, text: str) -> httpx.Response:
        return self.deliver(self.webhook("text", sender, body=text))

    def image(self, sender: str, data: bytes, *, mime_type: str = "image/jpeg", caption: str = "") -> httpx.Response:
        media_id = self.upload(data, mime_type)
        sha = hashlib.sha256(data).hexdigest()
        body = self.webhook("image", sender, id=media_id, mime_type=mime_type, caption=caption, sha256=sha)
        if not caption:
            del body["entry"][0]["changes"][0]["value"]["messages"][0]["image"]["caption"]
        return self.deliver(body)

    def voice(self, sender: str, data: bytes) -> httpx.Response:
        media_id = self.upload(data, "audio/ogg; codecs=opus")
        return self.deliver(self.webhook("audio_voice", sender, id=media_id))

    def location(self, sender: str, lat: float, lon: float, name: str = "", address: str = "") -> httpx.Response:
        body = self.webhook("location_pin", sender, latitude=lat, longitude=lon)
        loc = body["entry"][0]["changes"][0]["value"]["messages"][0]["location"]
        loc.update({k: v for k, v in (("name", name), ("address", address)) if v})
        return self.deliver(body)

    def reply(self, sender: str, kind: str, reply_id: str, title: str) -> httpx.Response:
        """The citizen taps a row of a list ("list_reply") or a reply button ("button_reply")."""
        fixture = "interactive_list_reply" if kind == "list_reply" else "interactive_button_reply"
        body = self.webhook(fixture, sender)
        body["entry"][0]["changes"][0]["value"]["messages"][0]["interactive"] = {
            "type": kind,
            kind: {"id": reply_id, "title": title},
        }
        return self.deliver(body)

    def status(self, message: SentMessage, status: str, *, code: int | None = None, title: str = "") -> httpx.Response:
        body = json.loads(
            (FIXTURES / ("status_failed.json" if status == "failed" else "status_delivered.json")).read_text()
        )
        value = body["entry"][0]["changes"][0]["value"]
        value["metadata"] = {"display_phone_number": self.display_number, "phone_number_id": self.phone_number_id}
        entry = value["statuses"][0]
        entry.update(
            {"id": message.wamid, "status": status, "recipient_id": message.to, "timestamp": str(int(time.time()))}
        )
        if status == "failed" and code is not None:
            entry["errors"] = [{"code": code, "title": title or "failed", "message": title or "failed"}]
        message.statuses.append(status)
        return self.deliver(body)

    @staticmethod
    def new_wamid() -> str:
        return "wamid." + secrets.token_urlsafe(42)  # about 60 characters, as Meta's are

    # --- the Graph API -------------------------------------------------------------------------
    def _authorised(self, request: Request) -> bool:
        given = request.headers.get("authorization", "")
        return hmac.compare_digest(given, f"Bearer {self.access_token}")

    def _fault(self) -> JSONResponse | None:
        if self.down:
            return _graph_error(503, 131000, "Something went wrong", "OAuthException")
        with self._lock:
            fault = self._faults.pop(0) if self._faults else None
        if fault is None:
            return None
        status, code = fault
        messages = {190: "Error validating access token", 130429: "Rate limit hit", 131000: "Something went wrong"}
        return _graph_error(status, code, messages.get(code, "error"))

    def _build_app(self) -> FastAPI:
        app = FastAPI()

        @app.middleware("http")
        async def record(request: Request, call_next: Any) -> Response:
            if self.latency:
                await asyncio.sleep(self.latency)
            response: Response = await call_next(request)
            self.requests.append((request.method, request.url.path, response.status_code))
            return response

        @app.post(f"/{VERSION}/{{number_id}}/messages")
        async def messages(number_id: str, request: Request) -> Response:
            if not self._authorised(request):
                return _graph_error(401, 190, "Invalid OAuth access token - Cannot parse access token")
            fault = self._fault()
            if fault is not None:
                return fault
            if number_id != self.phone_number_id:
                return _graph_error(
                    400,
                    100,
                    f"Unsupported post request. Object with ID '{number_id}' does not exist",
                    "GraphMethodException",
                )
            try:
                body = json.loads(await request.body())
            except ValueError:
                return _graph_error(400, 100, "Invalid JSON")
            problem = _check_message(body, self.templates)
            if problem is not None:
                status, code, text = problem
                return _graph_error(status, code, text)
            wamid = self.new_wamid()
            sent = SentMessage(wamid, body["to"], body["type"], copy.deepcopy(body))
            with self._lock:
                self.sent.append(sent)
            window_closed = time.time() - self.last_inbound.get(body["to"], 0.0) > WINDOW_SECONDS
            if window_closed and body["type"] != "template":
                threading.Thread(target=self._late_failure, args=(sent,), daemon=True).start()
            return JSONResponse(
                {
                    "messaging_product": "whatsapp",
                    "contacts": [{"input": body["to"], "wa_id": body["to"]}],
                    "messages": [{"id": wamid}],
                }
            )

        @app.get(f"/{VERSION}/{{media_id}}")
        async def media_info(media_id: str, request: Request) -> Response:
            if not self._authorised(request):
                return _graph_error(401, 190, "Invalid OAuth access token")
            fault = self._fault()
            if fault is not None:
                return fault
            stored = self.media.get(media_id)
            if stored is None:
                return _graph_error(
                    404,
                    100,
                    f"Unsupported get request. Object with ID '{media_id}' does not exist",
                    "GraphMethodException",
                )
            stored.token, stored.url_expires = secrets.token_urlsafe(16), time.time() + self.url_ttl
            return JSONResponse(
                {
                    "messaging_product": "whatsapp",
                    "url": f"http://127.0.0.1:{self.port}/media/{stored.token}?mid={media_id}",
                    "mime_type": stored.mime_type,
                    "sha256": hashlib.sha256(stored.data).hexdigest(),
                    "file_size": len(stored.data),
                    "id": media_id,
                }
            )

        @app.get("/media/{token}")
        async def download(token: str, request: Request) -> Response:
            if not self._authorised(request):
                return Response("", status_code=401)
            fault = self._fault()
            if fault is not None:
                return fault
            stored = next((m for m in self.media.values() if m.token and m.token == token), None)
            if stored is None or time.time() > stored.url_expires:
                return Response("URL signature expired", status_code=404, media_type="text/plain")
            return Response(stored.data, media_type=stored.mime_type.split(";")[0])

        return app

    def _late_failure(self, sent: SentMessage) -> None:
        """Meta's answer to a free-form message outside the window: accepted, then a failed status."""
        if self.webhook_url:
            self.status(sent, "failed", code=131047, title="Re-engagement message")


def _check_message(body: Any, templates: dict[str, set[str]]) -> tuple[int, int, str] | None:
    if not isinstance(body, dict) or body.get("messaging_product") != "whatsapp":
        return 400, 100, "The parameter messaging_product is required."
    to = body.get("to")
    if not isinstance(to, str) or not to.isdigit() or not 8 <= len(to) <= 15:
        return 400, 100, "Invalid parameter: to"
    kind = body.get("type", "text")
    part = body.get(kind)
    if not isinstance(part, dict):
        return 400, 100, f"The parameter {kind} is required."
    if kind == "text":
        text = part.get("body")
        if not isinstance(text, str) or not text.strip() or len(text) > 4096:
            return 400, 100, "Param text['body'] must be 1-4096 characters"
        return None
    if kind == "interactive":
        return _check_interactive(part)
    if kind == "template":
        name, language = part.get("name"), (part.get("language") or {}).get("code")
        if name not in templates or language not in templates[name]:
            return 404, 132001, f"Template name does not exist in the translation ({name}, {language})"
        return None
    if kind in ("image", "audio", "document", "video"):
        has_one = isinstance(part.get("id"), str) or str(part.get("link", "")).startswith(("https://", "http://"))
        if not has_one or len(str(part.get("caption", ""))) > 1024:
            return 400, 100, f"Param {kind} needs an id or an http(s) link, and a caption of at most 1024 characters"
        return None
    if kind == "location":
        return None
    return 400, 100, f"Unsupported message type {kind}"


def _check_interactive(part: dict[str, Any]) -> tuple[int, int, str] | None:
    kind = part.get("type")
    text = (part.get("body") or {}).get("text")
    if not isinstance(text, str) or not text.strip() or len(text) > 4096:
        return 400, 100, "Param interactive['body']['text'] must be 1-4096 characters"
    action = part.get("action") or {}
    if kind == "list":
        rows = [r for s in action.get("sections", []) for r in s.get("rows", [])]
        label = action.get("button")
        if not isinstance(label, str) or not 1 <= len(label) <= 20:
            return 400, 131009, "Parameter value is not valid: button label must be 1-20 characters"
        if not 1 <= len(rows) <= 10:
            return 400, 131009, "Parameter value is not valid: a list has 1-10 rows"
        if any(not 1 <= len(str(r.get("title", ""))) <= 24 or not r.get("id") for r in rows):
            return 400, 131009, "Parameter value is not valid: row title 1-24 characters and an id"
        return None
    if kind == "button":
        buttons = action.get("buttons") or []
        if not 1 <= len(buttons) <= 3:
            return 400, 131009, "Parameter value is not valid: 1-3 buttons"
        if any(not 1 <= len(str((b.get("reply") or {}).get("title", ""))) <= 20 for b in buttons):
            return 400, 131009, "Parameter value is not valid: button title 1-20 characters"
        return None
    if kind == "location_request_message":
        return None if action.get("name") == "send_location" else (400, 131009, "action.name must be send_location")
    return 400, 100, f"Unsupported interactive type {kind}"
