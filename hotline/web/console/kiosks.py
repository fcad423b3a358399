"""Kiosk screens on the admin screen (/console/users): made (the link shown once) and revoked here as with
`hotline kiosk add|revoke`; each change is in the audit log."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import RedirectResponse, Response

from hotline.catalog import say
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
from hotline.web.db_session import DbSession, all_or_nothing

router = APIRouter(prefix="/console/kiosks", include_in_schema=False)


@router.post("")
def add(request: Request, session: DbSession, user: UserDep, form: FormDep) -> Response:
    require(user, user.principal.can_manage_users)
    name = field(form, "name")
    try:
        with all_or_nothing(session):
            token = add_kiosk(session, name=name, created_by=user.principal.username)
            audit(
                session,
                actor=user.principal.username,
                action="kiosk.add",
                target_type="kiosk",
                target_id=name.strip().lower(),
                ip=user.ip,
            )
    except KioskError as exc:
        note = (say("map", exc.code, user.lang, exc.params), True)
        return render_users(request, session, user, kiosk_note=note)
    # Shown once on the page the redirect leads to (never in its URL; a reload makes no second link): only the
    # token's hash is kept.
    link = f"{str(request.base_url).rstrip('/')}/console/wallboard?kiosk={token}"
    return RedirectResponse(keep(user, PAGE, {"kiosk_link": link}), status_code=303)


@router.post("/{kiosk_id}/revoke")
def revoke(session: DbSession, kiosk_id: RowId, user: UserDep, form: FormDep) -> Response:
    require(user, user.principal.can_manage_users)
    if not revoke_row(session, user, KioskToken, kiosk_id, "kiosk"):
        raise HTTPException(404, "no such kiosk")
    return RedirectResponse(flash_url(PAGE, "kiosk_revoked"), status_code=303)  # a reload revokes nothing again
