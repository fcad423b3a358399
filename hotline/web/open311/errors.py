"""Every Open311 refusal in the spec's format, `[{code, description}]` or `<errors><error>`, mapped once here:
`Open311Error` from the routes, the domain's `RequestRefused` (400) and `UnknownRequest` (404), and FastAPI's own
validation errors
(400 instead of its 422 body) for any path under /open311/."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response

from hotline.features.open311.open311_intake import RequestRefused
from hotline.features.open311.partner_updates import UnknownRequest
from hotline.web.open311.documents import document
from hotline.web.safe import printable

PREFIX = "/open311/"


class Open311Error(Exception):
    def __init__(self, status: int, description: str, headers: dict[str, str] | None = None):
        super().__init__(description)
        self.status, self.description, self.headers = status, description, headers or {}


def format_of(path: str) -> str:
    """The format the client asked for by extension; JSON when it named none."""
    return "xml" if path.endswith(".xml") else "json"


def error_document(path: str, status: int, description: str, headers: dict[str, str] | None = None) -> Response:
    response = document(format_of(path), "errors", "error", [{"code": status, "description": description}], status)
    response.headers.update(headers or {})
    return response


def too_large(path: str, limit: int) -> tuple[bytes, str] | None:
    """BodySizeLimit's 413 as an error document, for Open311 paths only."""
    if not path.startswith(PREFIX):
        return None
    answer = error_document(path, 413, f"request body too large: the limit is {limit} bytes (photos included)")
    return bytes(answer.body), answer.media_type or "application/json"


async def _open311_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, Open311Error)
    return error_document(request.url.path, exc.status, exc.description, exc.headers)


async def _refused(request: Request, exc: Exception) -> Response:
    return error_document(request.url.path, 400, str(exc))


async def _unknown(request: Request, exc: Exception) -> Response:
    return error_document(request.url.path, 404, str(exc))


def validation_error(request: Request, exc: RequestValidationError) -> Response | None:
    """FastAPI's refusal of an Open311 request as the spec's 400; None for any other path."""
    if not request.url.path.startswith(PREFIX):
        return None
    problems = "; ".join(
        f"{'.'.join(str(p) for p in err.get('loc', ())[1:]) or 'request'}: {err.get('msg', '')}" for err in exc.errors()
    )
    return error_document(request.url.path, 400, str(printable(problems)))


def register(app: FastAPI) -> None:
    app.add_exception_handler(Open311Error, _open311_error)
    app.add_exception_handler(RequestRefused, _refused)
    app.add_exception_handler(UnknownRequest, _unknown)
