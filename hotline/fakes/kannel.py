"""A recording fake of Kannel's smsbox HTTP interface (`/cgi-bin/sendsms`) that sends delivery reports as
Kannel does: a GET of the message's dlr-url with its escape codes filled in (%d the report type, %A the SMSC's
answer, %T the time, %p/%P the numbers). It stays silent unless told to report (`report`, or `auto_report`).

Answers as smsbox answers: 202 "0: Accepted for delivery", 403 "Authorization failed for sendsms", 400 for a
missing receiver or text, and whatever `fail_next` asks for. Point HOTLINE_BACKUP_SMS_URL at `sendsms_url`.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from urllib.parse import quote

import httpx
from fastapi import FastAPI, Request
from fastapi.responses import PlainTextResponse

from hotline.fakes.serving import ThreadedServer

DELIVERED, NOT_DELIVERED, BUFFERED, SMSC_SUBMIT, SMSC_REJECT = 1, 2, 4, 8, 16


@dataclass
class KannelMessage:
    to: str
    from_: str
    text: str
    dlr_mask: int
    dlr_url: str | None
    params: dict[str, str] = field(default_factory=dict)
    reports: list[int] = field(default_factory=list)  # the report types sent back so far


class FakeKannel:
    def __init__(self, username: str = "hotline", password: str = "kannel-test-password"):
        self.username, self.password = username, password
        self.messages: list[KannelMessage] = []
        self.auto_report: int | None = None  # a report type to send at once after each accepted SMS
        self._failures: list[tuple[int, str]] = []
        self._lock = threading.Lock()
        self.app = self._build_app()
        self._serving = ThreadedServer(self.app, "fake Kannel")
        self.port = 0

    # --- test controls -------------------------------------------------------------------------
    def fail_next(self, count: int = 1, *, status: int = 503, body: str = "Sending failed.") -> None:
        with self._lock:
            self._failures.extend((status, body) for _ in range(count))

    def reset(self) -> None:
        with self._lock:
            self.messages.clear()
            self._failures.clear()
        self.auto_report = None

    def sent_to(self, number: str) -> list[KannelMessage]:
        return [m for m in self.messages if m.to == number]

    def report(self, message: KannelMessage, report: int, answer: str = "") -> httpx.Response:
        """Call the message's dlr-url as Kannel does when a delivery report of this type arrives."""
        assert message.dlr_url, "message was sent without a dlr-url"
        assert message.dlr_mask & report, f"report type {report} is not in the dlr-mask {message.dlr_mask}"
        message.reports.append(report)
        return httpx.get(self.expand(message, report, answer))

    def expand(self, message: KannelMessage, report: int, answer: str = "") -> str:
        """The dlr-url with Kannel's escape codes replaced (values URL-encoded, as Kannel does)."""
        assert message.dlr_url
        codes = {
            "%d": str(report),
            "%A": quote(answer or ("id:0 sub:001 dlvrd:001 stat:DELIVRD" if report == 1 else "")),
            "%T": str(int(time.time())),
            "%p": quote(message.to),
            "%P": quote(message.from_),
        }
        url = message.dlr_url
        for code, value in codes.items():
            url = url.replace(code, value)
        return url

    # --- the API -------------------------------------------------------------------------------
    def _build_app(self) -> FastAPI:
        app = FastAPI()

        @app.api_route("/cgi-bin/sendsms", methods=["GET", "POST"])
        async def sendsms(request: Request) -> PlainTextResponse:
            params = dict(request.query_params)
            if request.method == "POST":
                params.update({k: v for k, v in (await request.form()).items() if isinstance(v, str)})
            if params.get("username") != self.username or params.get("password") != self.password:
                return PlainTextResponse("Authorization failed for sendsms", status_code=403)
            with self._lock:
                failure = self._failures.pop(0) if self._failures else None
            if failure:
                return PlainTextResponse(failure[1], status_code=failure[0])
            if not params.get("to"):
                return PlainTextResponse("Missing receiver number", status_code=400)
            if "text" not in params:
                return PlainTextResponse("Missing text", status_code=400)
            mask = int(params["dlr-mask"]) if params.get("dlr-mask", "").isdigit() else 0
            if mask and not params.get("dlr-url"):
                return PlainTextResponse("dlr-mask given without dlr-url", status_code=400)
            message = KannelMessage(
                params["to"], params.get("from", ""), params["text"], mask, params.get("dlr-url"), params
            )
            with self._lock:
                self.messages.append(message)
            if self.auto_report is not None and mask & self.auto_report:
                report = self.auto_report
                threading.Thread(target=self.report, args=(message, report), daemon=True).start()
            return PlainTextResponse("0: Accepted for delivery", status_code=202)

        return app

    # --- lifecycle -----------------------------------------------------------------------------
    @property
    def sendsms_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/cgi-bin/sendsms"

    def start(self) -> FakeKannel:
        self.port = self._serving.start()
        return self

    def stop(self) -> None:
        self._serving.stop()
