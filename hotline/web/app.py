"""The FastAPI application: webhooks, health, the JSON API, and (later) the console."""

from __future__ import annotations

import importlib
import logging
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import APIRouter, FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exception_handlers import http_exception_handler
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from sqlalchemy.exc import DataError, OperationalError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from hotline import __version__
from hotline.channels.gateways import gateway_types
from hotline.channels.voice_gateways import voice_types
from hotline.metrics import UNMATCHED_ROUTE, WEBHOOK_SECONDS, MetricsRefresher
from hotline.settings import get_settings
from hotline.spool.replay import SpoolReplayer
from hotline.web.api import router as api_router
from hotline.web.api_broadcasts import router as api_broadcasts_router
from hotline.web.api_shield import router as api_shield_router
from hotline.web.api_tickets import router as api_tickets_router
from hotline.web.body_limit import BodySizeLimit
from hotline.web.console import router as console_router
from hotline.web.console.errors import error_page, is_console_page
from hotline.web.domain_errors import register as register_domain_errors
from hotline.web.edge import ClientAddress, SecurityHeaders
from hotline.web.health import router as health_router
from hotline.web.open311 import register_errors as register_open311_errors
from hotline.web.open311 import router as open311_router
from hotline.web.open311.errors import PREFIX as OPEN311_PREFIX
from hotline.web.open311.errors import error_document as open311_error_document
from hotline.web.open311.errors import too_large as open311_too_large
from hotline.web.open311.errors import validation_error as open311_validation_error
from hotline.web.prompts import router as prompts_router
from hotline.web.public_media import router as public_media_router
from hotline.web.safe import printable
from hotline.web.templating import STATIC_DIR
from hotline.web.vendor import mount_vendor
from hotline.wiring import wire

log = logging.getLogger(__name__)


WEBHOOK_PREFIXES = ("/twilio/", "/kannel/", "/android-sms/")


def route_label(scope: Scope) -> str:
    """The template of the route that answered (the router notes it in the scope), never the raw path: a path
    no route knows (a 404) is one value, so random URLs cannot grow the number of series."""
    route = scope.get("route")
    path = getattr(route, "path", None)
    return path if isinstance(path, str) else UNMATCHED_ROUTE


class WebhookTimer:
    """Pure ASGI middleware (BaseHTTPMiddleware costs a task per request) timing the gateways' webhooks."""

    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scope["path"].startswith(WEBHOOK_PREFIXES):
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
            WEBHOOK_SECONDS.labels(route_label(scope), str(status)).observe(time.perf_counter() - started)


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    """Each API process runs the metrics refresher (a Redis lease lets one of them count at a time) and the
    spool's replayer (a file lock lets one per host replay: hotline/spool/replay.py)."""
    refresher = MetricsRefresher()
    refresher.start()
    replayer = SpoolReplayer()
    replayer.start()
    try:
        yield
    finally:
        replayer.stop()
        refresher.stop()


def _imported_router(path: str) -> APIRouter:
    """A gateway type's webhook router, named "module:attribute" (hotline/channels/gateway.py `GatewayType`)."""
    module, _, attribute = path.partition(":")
    router = getattr(importlib.import_module(module), attribute)
    if not isinstance(router, APIRouter):
        raise TypeError(f"gateway router {path!r} is not a FastAPI APIRouter")
    return router


def create_app() -> FastAPI:
    wire()  # the composition root (hotline/wiring.py)
    settings = get_settings()
    docs = settings.docs_enabled  # off in production unless HOTLINE_API_DOCS=true
    app = FastAPI(
        title="Hotline",
        version=__version__,
        lifespan=lifespan,
        docs_url="/docs" if docs else None,
        redoc_url="/redoc" if docs else None,
        openapi_url="/openapi.json" if docs else None,
    )
    app.include_router(health_router)
    for gateway_type in gateway_types().values():  # each SMS gateway type's webhooks (hotline/wiring.py lists them)
        if gateway_type.router is not None:
            app.include_router(_imported_router(gateway_type.router))
    for voice_type in voice_types().values():
        for router in voice_type.routers:
            app.include_router(_imported_router(router))
    app.include_router(public_media_router)
    app.include_router(api_router)
    app.include_router(api_tickets_router)
    app.include_router(api_shield_router)
    app.include_router(api_broadcasts_router)
    app.include_router(open311_router)
    app.include_router(console_router)
    app.mount("/console/static", StaticFiles(directory=STATIC_DIR), name="console-static")
    mount_vendor(app)  # Leaflet for the map, from its Python package
    app.include_router(prompts_router)

    app.add_middleware(WebhookTimer)
    app.add_middleware(SecurityHeaders)
    # The client's real address (audit log, login limits, Kannel's ALLOW) before anything reads it.
    app.add_middleware(ClientAddress)
    # Added last, so it runs first: an oversized body is refused before anything reads it.
    app.add_middleware(
        BodySizeLimit,
        max_bytes=settings.max_body_bytes,
        larger={
            "/open311/v2/requests.": max(settings.open311_media_bytes, settings.max_body_bytes),
            # Dinas Pertanian's registry spreadsheet (hotline/web/console/farmers.py): 3,000 farmers are ~250 KB
            "/console/farmers/import": max(8 * 1024 * 1024, settings.max_body_bytes),
        },
        refusal=open311_too_large,
    )

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        if is_console_page(request, exc.status_code):  # a person reads it: the console's page, in their words
            return error_page(request, exc.status_code, exc.detail)
        return await http_exception_handler(request, exc)

    register_domain_errors(app, http_error)  # a feature's error, answered as its HTTPException would be

    @app.exception_handler(RequestValidationError)
    async def refused_input(request: Request, exc: RequestValidationError) -> Response:
        if (open311 := open311_validation_error(request, exc)) is not None:
            return open311  # Open311 clients read the spec's error documents, never FastAPI's 422 body
        # FastAPI's own 422, except that the input it echoes may be NaN or a lone surrogate, which its JSON
        # answer could not write (a 500 instead of the 422).
        return JSONResponse({"detail": printable(jsonable_encoder(exc.errors()))}, status_code=422)

    @app.exception_handler(OperationalError)
    async def database_unavailable(request: Request, exc: OperationalError) -> Response:
        # Twilio retries on 5xx; nothing was half written because every write is one transaction.
        log.error("database unavailable: %s", exc)
        if request.url.path.startswith(OPEN311_PREFIX):  # a partner app logs the spec's document, and retries
            return open311_error_document(request.url.path, 503, "the database is unavailable; try again later")
        return JSONResponse({"detail": "database unavailable, try again"}, status_code=503)

    @app.exception_handler(DataError)
    async def value_the_database_refuses(request: Request, exc: DataError) -> JSONResponse:
        # A NUL byte or an over-long field that reached an INSERT: the sender's input, not our outage.
        log.error("%s: a value the database cannot store: %s", request.url.path, exc.orig)
        return JSONResponse({"detail": "a field holds a value that cannot be stored (NUL byte or too long)"}, 400)

    register_open311_errors(app)
    return app
