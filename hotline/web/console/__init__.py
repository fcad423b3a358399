"""The operator console at /console: server-rendered pages, form actions, live updates (SSE)."""

from fastapi import APIRouter

from hotline.web.console import actions, attachments, auth, live, pages, partners, recordings, shield, users

router = APIRouter()
for part in (auth, pages, actions, live, shield, recordings, attachments, users, partners):
    router.include_router(part.router)

__all__ = ["router"]
