"""Open311 partner keys on the admin screen (/console/users): made (the key shown once) and revoked here as with
`hotline partner add|revoke`; each change is in the audit log."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException
from fastapi.responses import RedirectResponse, Response

from hotline.features.accounts.audit import audit
from hotline.features.open311.partners import PartnerError, add_partner
from hotline.models import PartnerKey
from hotline.web.api_schemas import RowId
from hotline.web.console.actions import field
from hotline.web.console.auth import FormDep, UserDep, require
from hotline.web.console.flash import error_url, flash_url
from hotline.web.console.revoking import revoke_row
from hotline.web.console.shown_once import keep
from hotline.web.console.users import PAGE
from hotline.web.db_session import DbSession, all_or_nothing
from hotline.web.safe import plain_int

router = APIRouter(prefix="/console/partners", include_in_schema=False)


@router.post("")
def add(session: DbSession, user: UserDep, form: FormDep) -> Response:
    require(user, user.principal.can_manage_users)
    name, per_minute = field(form, "name"), plain_int(field(form, "per_minute").strip() or "30", max_digits=5)
    try:
        with all_or_nothing(session):
            key = add_partner(session, name=name, created_by=user.principal.username, per_minute=per_minute or 0)
            audit(
                session,
                actor=user.principal.username,
                action="partner.add",
                target_type="partner",
                target_id=name.strip().lower(),
                ip=user.ip,
            )
    except PartnerError as exc:
        return RedirectResponse(error_url(PAGE, exc.code, exc.params), status_code=303)
    # Shown once on the page the redirect leads to (never in a URL; a reload makes no second key): only its hash
    # is kept.
    return RedirectResponse(keep(user, PAGE, {"partner_key": key}), status_code=303)


@router.post("/{partner_id}/revoke")
def revoke(session: DbSession, partner_id: RowId, user: UserDep, form: FormDep) -> Response:
    require(user, user.principal.can_manage_users)
    if not revoke_row(session, user, PartnerKey, partner_id, "partner"):
        raise HTTPException(404, "no such partner")
    return RedirectResponse(flash_url(PAGE, "partner_revoked"), status_code=303)
