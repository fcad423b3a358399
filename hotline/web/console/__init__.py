"""The operator console at /console: server-rendered pages, form actions, live updates (SSE)."""

from fastapi import APIRouter
from fastapi.responses import RedirectResponse

from hotline.web.console import (
    actions,
    attachments,
    auth,
    broadcasts,
    live,
    pages,
    partners,
    recordings,
    shield,
    users,
)

router = APIRouter()
for part in (auth, pages, actions, live, shield, recordings, attachments, users, partners, broadcasts):
    router.include_router(part.router)


@router.get("/", include_in_schema=False)
def root() -> RedirectResponse:
    """The address `hotline up` prints: people land on the console (its sign-in page when signed out)."""
    return RedirectResponse("/console", status_code=307)


__all__ = ["router"]
