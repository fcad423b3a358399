"""The console's own 403 and 404 pages: an operator who follows a stale link reads a sentence in their
language with a way back, not `{"detail": "Not Found"}`. The JSON API and webhooks keep JSON errors."""

from __future__ import annotations

from fastapi import Request
from fastapi.responses import Response

from hotline.catalog import has
from hotline.web.session import language
from hotline.web.templating import templates

STYLED = {403: "forbidden", 404: "page_not_found"}  # status -> the catalog's sentence (ui)
# a stream, files, a fragment, JSON for scripts
NOT_PAGES = (
    "/console/live",
    "/console/static/",
    "/console/vendor/",
    "/console/queue",
    "/console/map/",
    "/console/wallboard/",
)


def is_console_page(request: Request, status: int) -> bool:
    path = request.url.path
    if status not in STYLED or not (path == "/console" or path.startswith("/console/")):
        return False
    return not path.startswith(NOT_PAGES) and "X-Live-Refresh" not in request.headers


def error_page(request: Request, status: int, detail: object = None) -> Response:
    """The page for `status`; a `detail` that is a catalog code (ui) says more, e.g. "form_expired"."""
    lang = language(request)
    message = detail if isinstance(detail, str) and has("ui", detail, lang) else STYLED[status]
    context = {"lang": lang, "user": None, "csrf": "", "flash": None, "message": message, "status": status}
    return templates.TemplateResponse(request, "error.html", context, status_code=status)
