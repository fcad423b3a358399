"""Console users, for admins (/console/users): who has an account, and disabling, enabling or signing a user
out everywhere. The same as `hotline user list|disable|enable|revoke`; each change is in the audit log."""

from __future__ import annotations

from collections.abc import Callable

from anyio.to_thread import run_sync
from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from hotline.db import unit_of_work
from hotline.features.accounts.accounts import disable_user, enable_user, end_sessions, open_sessions
from hotline.features.accounts.audit import audit
from hotline.features.open311.partners import list_partners
from hotline.features.wallboard.kiosk import list_kiosks
from hotline.models import User
from hotline.web.api_schemas import RowId
from hotline.web.console.auth import ConsoleUser, FormDep, UserDep, render, require
from hotline.web.console.flash import flash_url

router = APIRouter(prefix="/console/users", include_in_schema=False)
PAGE = "/console/users"


@router.get("")
def users_page(request: Request, user: UserDep) -> Response:
    return render_users(request, user)


def render_users(
    request: Request,
    user: ConsoleUser,
    new_key: str | None = None,
    kiosk_link: str | None = None,
    kiosk_note: tuple[str, bool] | None = None,
) -> Response:
    """Users, the Open311 partner keys (hotline/web/console/partners.py) and the kiosk screens
    (hotline/web/console/kiosks.py); `new_key` / `kiosk_link` once, when just made; `kiosk_note`: (words, error)."""
    require(user, user.principal.can_manage_users)
    with unit_of_work() as session:
        rows = [(u, open_sessions(session, user=u)) for u in session.scalars(select(User).order_by(User.username))]
        partners = list_partners(session)
        kiosks = list_kiosks(session)
    context = {
        "rows": rows,
        "partners": partners,
        "new_key": new_key,
        "kiosks": kiosks,
        "kiosk_link": kiosk_link,
        "kiosk_note": kiosk_note,
    }
    return render(request, "users.html", context, user=user)


async def _change(user: ConsoleUser, user_id: int, action: str, change: Callable[[Session, User], object]) -> None:
    require(user, user.principal.can_manage_users)

    def run() -> bool:
        with unit_of_work() as session:
            row = session.get(User, user_id, with_for_update=True)
            if row is None:
                return False
            change(session, row)
            audit(
                session,
                actor=user.principal.username,
                action=action,
                target_type="user",
                target_id=row.id,
                ip=user.ip,
                username=row.username,
            )
            return True

    if not await run_sync(run):
        raise HTTPException(404, "no such user")


@router.post("/{user_id}/disable")
async def disable(user_id: RowId, user: UserDep, form: FormDep) -> Response:
    if user_id == user.principal.user_id:
        raise HTTPException(409, "an admin cannot disable their own account here (use `hotline user disable`)")
    await _change(user, user_id, "user.disable", lambda session, row: disable_user(session, user=row))
    return RedirectResponse(flash_url(PAGE, "user_disabled"), status_code=303)


@router.post("/{user_id}/enable")
async def enable(user_id: RowId, user: UserDep, form: FormDep) -> Response:
    await _change(user, user_id, "user.enable", lambda session, row: enable_user(session, user=row))
    return RedirectResponse(flash_url(PAGE, "user_enabled"), status_code=303)


@router.post("/{user_id}/sign-out")
async def sign_out(user_id: RowId, user: UserDep, form: FormDep) -> Response:
    await _change(user, user_id, "user.sign_out", lambda session, row: end_sessions(session, user=row))
    return RedirectResponse(flash_url(PAGE, "user_signed_out"), status_code=303)
