"""API tokens on the admin screens (/console/admin/tokens): every token with its owner, made (shown once, like a
partner key) and revoked here as with `hotline user token|revoke --token`; each change is in the audit log."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.orm import Session

from hotline.features.accounts.accounts import TOKEN_DAYS, AccountError, find_user, issue_token
from hotline.features.accounts.audit import audit
from hotline.features.accounts.token_list import list_tokens, revoke_token
from hotline.features.accounts.user_list import active_usernames
from hotline.models import utcnow
from hotline.web.api_schemas import RowId
from hotline.web.console.actions import field
from hotline.web.console.auth import ConsoleUser, FormDep, UserDep, render, require
from hotline.web.console.flash import error_url, flash_url
from hotline.web.console.shown_once import keep, take
from hotline.web.db_session import DbSession, all_or_nothing
from hotline.web.safe import plain_int

router = APIRouter(prefix="/console/admin/tokens", include_in_schema=False)
PAGE = "/console/admin/tokens"


@router.get("")
def tokens_page(request: Request, session: DbSession, user: UserDep) -> Response:
    require(user, user.principal.can_manage_users)
    shown = take(request, user)  # a token just made: on this page once
    return _render(request, session, user, new_token=shown.get("token"), owner=shown.get("owner"))


def _render(
    request: Request, session: Session, user: ConsoleUser, new_token: str | None = None, owner: str | None = None
) -> Response:
    require(user, user.principal.can_manage_users)
    context = {
        "tokens": list_tokens(session),
        "owners": active_usernames(session),
        "now": utcnow(),
        "new_token": new_token,
        "new_owner": owner,
        "default_days": TOKEN_DAYS,
        "section": "tokens",
    }
    response = render(request, "tokens.html", context, user=user)
    response.headers["Cache-Control"] = "no-store"  # the page with a new token on it stays out of caches
    return response


@router.post("")
def create(session: DbSession, user: UserDep, form: FormDep) -> Response:
    require(user, user.principal.can_manage_users)
    # NUL cannot be stored in a PostgreSQL text column: dropped rather than a 500.
    owner, name = field(form, "owner").replace("\x00", "").strip(), field(form, "name").replace("\x00", "").strip()
    days = plain_int(field(form, "days").strip() or str(TOKEN_DAYS), max_digits=5)
    if not name:
        return RedirectResponse(error_url(PAGE, "token_name_needed"), status_code=303)
    try:
        with all_or_nothing(session):
            row = find_user(session, owner)
            token = issue_token(session, user=row, name=name, days=days or 0)
            audit(
                session,
                actor=user.principal.username,
                action="token.issue",
                target_type="user",
                target_id=row.id,
                ip=user.ip,
                username=row.username,
                name=name[:100],
                days=days,
            )
    except AccountError as exc:
        return RedirectResponse(error_url(PAGE, exc.code, exc.params), status_code=303)
    # Shown once on the page the redirect leads to (never in a URL; a reload makes no second token): only its
    # hash is kept.
    return RedirectResponse(keep(user, PAGE, {"token": token, "owner": owner}), status_code=303)


@router.post("/{token_id}/revoke")
def revoke(session: DbSession, token_id: RowId, user: UserDep, form: FormDep) -> Response:
    require(user, user.principal.can_manage_users)
    try:
        with all_or_nothing(session):
            row = revoke_token(session, token_id=token_id)
            audit(
                session,
                actor=user.principal.username,
                action="token.revoke",
                target_type="token",
                target_id=row.id,
                ip=user.ip,
                name=row.name,
                user_id=row.user_id,
            )
    except AccountError as exc:
        return RedirectResponse(error_url(PAGE, exc.code, exc.params), status_code=303)
    return RedirectResponse(flash_url(PAGE, "token_revoked"), status_code=303)
