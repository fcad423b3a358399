"""Refuse request bodies over a size limit with 413, before the app parses them (pure ASGI middleware).

A declared Content-Length over the limit is refused without reading a byte; a chunked body is counted as it
arrives and refused once it passes the limit. Twilio's webhooks are a few kilobytes: the limit only stops
floods of junk from tying up memory and the database slots."""

from __future__ import annotations

import json

from starlette.types import ASGIApp, Message, Receive, Scope, Send

DEFAULT_MAX_BODY_BYTES = 256 * 1024


class BodySizeLimit:
    """`larger` maps a path prefix to its own limit (an Open311 report with photos), for POSTs only."""

    def __init__(self, app: ASGIApp, max_bytes: int = DEFAULT_MAX_BODY_BYTES, larger: dict[str, int] | None = None):
        self.app, self.max_bytes, self.larger = app, max_bytes, larger or {}

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
            await self._refuse(send, limit)
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
                        await self._refuse(send, limit)
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

    async def _refuse(self, send: Send, limit: int) -> None:
        detail = f"request body too large: the limit is {limit} bytes"
        body = json.dumps({"detail": detail}, ensure_ascii=False).encode()
        await send(
            {
                "type": "http.response.start",
                "status": 413,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())],
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
