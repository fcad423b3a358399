"""The FastAPI application: webhooks, health, and (later) the API and console."""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from sqlalchemy.exc import OperationalError

from hotline import __version__
from hotline.channels.twilio.webhooks import router as twilio_router
from hotline.web.health import router as health_router

log = logging.getLogger(__name__)


def create_app() -> FastAPI:
    app = FastAPI(title="Hotline", version=__version__)
    app.include_router(health_router)
    app.include_router(twilio_router)

    @app.exception_handler(OperationalError)
    async def database_unavailable(request: Request, exc: OperationalError) -> JSONResponse:
        # Twilio retries on 5xx; nothing was half written because every write is one transaction.
        log.error("database unavailable: %s", exc)
        return JSONResponse({"detail": "database unavailable, try again"}, status_code=503)

    return app
