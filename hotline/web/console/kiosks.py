"""Kiosk screens on the admin screen (/console/users): made (the link shown once) and revoked here as with
`hotline kiosk add|revoke`; each change is in the audit log."""

from __future__ import annotations

from anyio.to_thread import run_sync
from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import RedirectResponse, Response

from hotline.catalog import say
from hotline.db import unit_of_work
from hotline.features.accounts.audit import audit
from hotline.features.wallboard.kiosk import KioskError, add_kiosk
from hotline.models import KioskToken
from hotline.web.api_schemas import RowId
from hotline.web.console.actions import field
from hotline.web.console.auth import FormDep, UserDep, require
from hotline.web.console.flash import flash_url
from hotline.web.console.revoking import revoke_row
from hotline.web.console.shown_once import keep
from hotline.web.console.users import PAGE, render_users

router = APIRouter(prefix="/console/kiosks", include_in_schema=False)


@router.post("")
async def add(request: Request, user: UserDep, form: FormDep) -> Response:
    require(user, user.principal.can_manage_users)
    name = field(form, "name")

    def run() -> str:
        with unit_of_work() as session:
            token = add_kiosk(session, name=name, created_by=user.principal.username)
            target = name.strip().lower()
            audit(
                session,
                actor=user.principal.username,
                action="kiosk.add",
                target_type="kiosk",
                target_id=target,
                ip=user.ip,
            )
            return token

    try:
        token = await run_sync(run)
    except KioskError as exc:
        note = (say("map", exc.code, user.lang, exc.params), True)
        return await run_sync(lambda: render_users(request, user, kiosk_note=note))
    # Shown once on the page the redirect leads to (never in its URL; a reload makes no second link): only the
    # token's hash is kept.
    link = f"{str(request.base_url).rstrip('/')}/console/wallboard?kiosk={token}"
    return RedirectResponse(await run_sync(keep, user, PAGE, {"kiosk_link": link}), status_code=303)


@router.post("/{kiosk_id}/revoke")
async def revoke(request: Request, kiosk_id: RowId, user: UserDep, form: FormDep) -> Response:
    require(user, user.principal.can_manage_users)
    if not await revoke_row(user, KioskToken, kiosk_id, "kiosk"):
        raise HTTPException(404, "no such kiosk")
    return RedirectResponse(flash_url(PAGE, "kiosk_revoked"), status_code=303)  # a reload revokes nothing again
