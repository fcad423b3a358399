"""The FastAPI application: webhooks, health, the JSON API, and (later) the console."""

from __future__ import annotations

import logging
import time

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from sqlalchemy.exc import OperationalError
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from hotline import __version__
from hotline.channels.twilio.voice_webhooks import router as voice_router
from hotline.channels.twilio.webhooks import router as twilio_router
from hotline.metrics import WEBHOOK_SECONDS
from hotline.web.api import router as api_router
from hotline.web.health import router as health_router
from hotline.web.prompts import router as prompts_router

log = logging.getLogger(__name__)


class WebhookTimer:
    """Pure ASGI middleware (BaseHTTPMiddleware costs a task per request) timing /twilio/ webhooks."""

    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scope["path"].startswith("/twilio/"):
            await self.app(scope, receive, send)
            return
        started, status = time.perf_counter(), 500

        async def send_and_note_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_and_note_status)
        finally:
            WEBHOOK_SECONDS.labels(scope["path"], str(status)).observe(time.perf_counter() - started)


def create_app() -> FastAPI:
    app = FastAPI(title="Hotline", version=__version__)
    app.include_router(health_router)
    app.include_router(twilio_router)
    app.include_router(voice_router)
    app.include_router(api_router)
    app.include_router(prompts_router)

    app.add_middleware(WebhookTimer)

    @app.exception_handler(OperationalError)
    async def database_unavailable(request: Request, exc: OperationalError) -> JSONResponse:
        # Twilio retries on 5xx; nothing was half written because every write is one transaction.
        log.error("database unavailable: %s", exc)
        return JSONResponse({"detail": "database unavailable, try again"}, status_code=503)

    return app
