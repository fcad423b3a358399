"""The operator console at /console: server-rendered pages, form actions, live updates (SSE)."""

from fastapi import APIRouter
from fastapi.responses import RedirectResponse

from hotline.web.console import (
    actions,
    admin_tokens,
    attachments,
    audit_screen,
    auth,
    broadcasts,
    charts,
    farmers,
    kiosks,
    live,
    maps,
    media,
    pages,
    partners,
    recordings,
    shield,
    users,
    wallboard,
)

router = APIRouter()
for part in (
    auth,
    pages,
    charts,
    actions,
    live,
    shield,
    recordings,
    attachments,
    media,
    users,
    partners,
    admin_tokens,
    audit_screen,
    farmers,
    kiosks,
    maps,
    wallboard,
    broadcasts,
):
    router.include_router(part.router)


@router.get("/console/admin", include_in_schema=False)
def admin_home() -> RedirectResponse:
    """The admin screens start with the users (/console/users; tokens and the audit log beside it)."""
    return RedirectResponse("/console/users", status_code=307)


@router.get("/", include_in_schema=False)
def root() -> RedirectResponse:
    """The address `hotline up` prints: people land on the console (its sign-in page when signed out)."""
    return RedirectResponse("/console", status_code=307)


__all__ = ["router"]
