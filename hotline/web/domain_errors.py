"""Domain errors at the HTTP edge, mapped once (issue 16): a feature raises its error and the endpoint lets it go;
the app answers it as the HTTPException below would be answered (JSON `{"detail": message}` for the API, the
console's error page for a person). The transaction it left is already rolled back by `unit_of_work`.

Console forms that answer an error on the form itself (a flash, the form again with its values) still catch
it where they render; what they do is a page, not a status."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from fastapi import FastAPI, Request, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from hotline.features.broadcasts.errors import NotFound as BroadcastNotFound
from hotline.features.scorecard.month import MonthError
from hotline.features.tickets.ticket_actions import ActionError

# The error, and the status it is answered with; its message is written for the client (it names the field).
DOMAIN_ERRORS: tuple[tuple[type[Exception], int], ...] = (
    (ActionError, 422),  # an operator action the ticket's state or the input refuses
    (MonthError, 422),  # a month that is no YYYY-MM
    (BroadcastNotFound, 404),  # no broadcast with that number (the console's pages catch it themselves)
)

HttpErrorHandler = Callable[[Request, StarletteHTTPException], Awaitable[Response]]


def register(app: FastAPI, http_error: HttpErrorHandler) -> None:
    """Answer each domain error through the app's own HTTPException handler `http_error`."""
    for error, status in DOMAIN_ERRORS:

        async def answer(request: Request, exc: Exception, status: int = status) -> Response:
            return await http_error(request, StarletteHTTPException(status, str(exc)))

        app.add_exception_handler(error, answer)
