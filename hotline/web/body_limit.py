"""Refuse request bodies over a size limit with 413, before the app parses them (pure ASGI middleware).

A declared Content-Length over the limit is refused without reading a byte; a chunked body is counted as it
arrives and refused once it passes the limit. Twilio's webhooks are a few kilobytes: the limit only stops
floods of junk from tying up memory and the database slots."""

from __future__ import annotations

import json
from collections.abc import Callable

from starlette.types import ASGIApp, Message, Receive, Scope, Send

DEFAULT_MAX_BODY_BYTES = 256 * 1024


# (path, limit) -> (body, content type) of the 413, for paths whose clients read another error format.
Refusal = Callable[[str, int], tuple[bytes, str] | None]


def _detail(path: str, limit: int) -> tuple[bytes, str]:
    detail = f"request body too large: the limit is {limit} bytes"
    return json.dumps({"detail": detail}, ensure_ascii=False).encode(), "application/json"


class BodySizeLimit:
    """`larger` maps a path prefix to its own limit (an Open311 report with photos), for POSTs only;
    `refusal` may word the 413 for a path (Open311's error document), else it is {"detail": ...}."""

    def __init__(
        self,
        app: ASGIApp,
        max_bytes: int = DEFAULT_MAX_BODY_BYTES,
        larger: dict[str, int] | None = None,
        refusal: Refusal | None = None,
    ):
        self.app, self.max_bytes, self.larger, self.refusal = app, max_bytes, larger or {}, refusal

    def _limit(self, scope: Scope) -> int:
        if scope.get("method") == "POST":
            for prefix, limit in self.larger.items():
                if scope["path"].startswith(prefix):
                    return limit
        return self.max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self._limit(scope)
        declared = _content_length(scope)
        if declared is not None and declared > limit:
            await self._refuse(scope, send, limit)
            return
        received, started, refused = 0, False, False

        async def counting_receive() -> Message:
            nonlocal received, refused
            if refused:
                return {"type": "http.disconnect"}
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    # Answer 413 now, and tell the app the client went away: whatever it catches while
                    # parsing (a form parser answers 400 to anything odd), its answer is dropped below.
                    refused = True
                    if not started:
                        await self._refuse(scope, send, limit)
                    return {"type": "http.disconnect"}
            return message

        async def noting_send(message: Message) -> None:
            nonlocal started
            if refused:
                return
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        await self.app(scope, counting_receive, noting_send)

    async def _refuse(self, scope: Scope, send: Send, limit: int) -> None:
        worded = self.refusal(scope["path"], limit) if self.refusal else None
        body, kind = worded or _detail(scope["path"], limit)
        await send(
            {
                "type": "http.response.start",
                "status": 413,
                "headers": [(b"content-type", kind.encode()), (b"content-length", str(len(body)).encode())],
            }
        )
        await send({"type": "http.response.body", "body": body})


def _content_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", ()):
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None
