"""Console users, for admins (/console/users): who has an account; adding one, and on a user's own page
(/console/users/{id}) changing their role, setting a temporary password, disabling, enabling or signing them out
everywhere. The same domain functions as `hotline user add|role|password|disable|enable|revoke`; each change is
in the audit log."""

from __future__ import annotations

from collections.abc import Callable

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.orm import Session
from starlette.datastructures import FormData

from hotline.core.city import current_config
from hotline.features.accounts.accounts import (
    MIN_PASSWORD_LENGTH,
    AccountError,
    change_role,
    create_user,
    disable_user,
    enable_user,
    end_sessions,
    open_sessions,
    set_password,
)
from hotline.features.accounts.audit import audit
from hotline.features.accounts.token_list import valid_token_counts
from hotline.features.accounts.user_list import all_users
from hotline.features.open311.partners import list_partners
from hotline.features.wallboard.kiosk import list_kiosks
from hotline.models import ROLES, User
from hotline.web.api_schemas import RowId
from hotline.web.console.actions import field
from hotline.web.console.auth import ConsoleUser, FormDep, UserDep, render, require
from hotline.web.console.flash import error_url, flash_url
from hotline.web.console.shown_once import take
from hotline.web.db_session import DbSession, all_or_nothing

router = APIRouter(prefix="/console/users", include_in_schema=False)
PAGE = "/console/users"


def user_page(user_id: int) -> str:
    return f"{PAGE}/{user_id}"


@router.get("")
def users_page(request: Request, session: DbSession, user: UserDep) -> Response:
    require(user, user.principal.can_manage_users)
    shown = take(request, user)  # a partner key or kiosk link just made: on this page once
    return render_users(request, session, user, new_key=shown.get("partner_key"), kiosk_link=shown.get("kiosk_link"))


def admin_choices() -> dict[str, object]:
    """The role and agency choices of the admin forms, in the order people read them."""
    return {
        "roles": ROLES,
        "agencies": [(a.code, a.name) for a in current_config().agencies],
        "min_password": MIN_PASSWORD_LENGTH,
    }


def render_users(
    request: Request,
    session: Session,
    user: ConsoleUser,
    new_key: str | None = None,
    kiosk_link: str | None = None,
    kiosk_note: tuple[str, bool] | None = None,
) -> Response:
    """Users, the Open311 partner keys (hotline/web/console/partners.py) and the kiosk screens
    (hotline/web/console/kiosks.py); `new_key` / `kiosk_link` once, when just made; `kiosk_note`: (words, error)."""
    require(user, user.principal.can_manage_users)
    tokens = valid_token_counts(session)
    rows = [(u, open_sessions(session, user=u), tokens.get(u.id, 0)) for u in all_users(session)]
    context = {
        "rows": rows,
        "partners": list_partners(session),
        "new_key": new_key,
        "section": "users",
        **admin_choices(),
        "kiosks": list_kiosks(session),
        "kiosk_link": kiosk_link,
        "kiosk_note": kiosk_note,
    }
    response = render(request, "users.html", context, user=user)
    response.headers["Cache-Control"] = "no-store"  # a page with a new key or link on it stays out of caches
    return response


@router.get("/{user_id}")
def manage_page(request: Request, session: DbSession, user_id: RowId, user: UserDep) -> Response:
    require(user, user.principal.can_manage_users)
    row = session.get(User, user_id)
    if row is None:
        raise HTTPException(404, "no such user")
    context = {"row": row, "sessions": open_sessions(session, user=row), "section": "users", **admin_choices()}
    return render(request, "user.html", context, user=user)


def _account_error(path: str, exc: AccountError) -> Response:
    return RedirectResponse(error_url(path, exc.code, exc.params), status_code=303)


@router.post("")
def add(session: DbSession, user: UserDep, form: FormDep) -> Response:
    require(user, user.principal.can_manage_users)
    username, role, agency = field(form, "username"), field(form, "role"), field(form, "agency") or None
    password = field(form, "password")
    if password != field(form, "password2"):
        return RedirectResponse(error_url(PAGE, "passwords_differ"), status_code=303)
    try:
        with all_or_nothing(session):
            made = create_user(
                session,
                config=current_config(),
                username=username,
                role=role,
                password=password,
                agency=agency if role == "agency_staff" else None,
            )
            audit(
                session,
                actor=user.principal.username,
                action="user.add",
                target_type="user",
                target_id=made.id,
                ip=user.ip,
                username=made.username,
                role=role,
            )
    except AccountError as exc:
        return _account_error(PAGE, exc)
    return RedirectResponse(flash_url(PAGE, "user_added"), status_code=303)


def _change(
    session: Session, user: ConsoleUser, user_id: int, action: str, change: Callable[[Session, User], object]
) -> None:
    """`change` on the user, audited as `action` by the signed-in admin, all or nothing; 404 if gone."""
    require(user, user.principal.can_manage_users)
    with all_or_nothing(session):
        row = session.get(User, user_id, with_for_update=True)
        if row is None:
            raise HTTPException(404, "no such user")
        change(session, row)
        audit(
            session,
            actor=user.principal.username,
            action=action,
            target_type="user",
            target_id=row.id,
            ip=user.ip,
            username=row.username,
            role=row.role,
            agency=row.agency_code,
        )


@router.post("/{user_id}/password")
def reset_password(session: DbSession, user_id: RowId, user: UserDep, form: FormDep) -> Response:
    """A temporary password the admin tells the user; every console session of the user ends."""
    require(user, user.principal.can_manage_users)
    password = field(form, "password")
    if password != field(form, "password2"):
        return RedirectResponse(error_url(user_page(user_id), "passwords_differ"), status_code=303)
    try:
        _change(
            session,
            user,
            user_id,
            "user.password",
            lambda session, row: set_password(session, user=row, password=password),
        )
    except AccountError as exc:
        return _account_error(user_page(user_id), exc)
    return RedirectResponse(flash_url(user_page(user_id), "password_reset"), status_code=303)


@router.post("/{user_id}/role")
def set_role(session: DbSession, user_id: RowId, user: UserDep, form: FormDep) -> Response:
    """A new role (and agency for agency staff); the user's sessions end so the new powers apply at once."""
    require(user, user.principal.can_manage_users)
    role, agency = field(form, "role"), field(form, "agency") or None
    if user_id == user.principal.user_id:  # an admin who demoted themselves could not undo it here
        return RedirectResponse(error_url(user_page(user_id), "own_role"), status_code=303)
    config = current_config()
    try:
        _change(
            session,
            user,
            user_id,
            "user.role",
            lambda session, row: change_role(session, config=config, user=row, role=role, agency=agency),
        )
    except AccountError as exc:
        return _account_error(user_page(user_id), exc)
    return RedirectResponse(flash_url(user_page(user_id), "role_changed"), status_code=303)


@router.post("/{user_id}/disable")
def disable(session: DbSession, user_id: RowId, user: UserDep, form: FormDep) -> Response:
    require(user, user.principal.can_manage_users)
    if user_id == user.principal.user_id:
        raise HTTPException(409, "an admin cannot disable their own account here (use `hotline user disable`)")
    _change(session, user, user_id, "user.disable", lambda session, row: disable_user(session, user=row))
    return RedirectResponse(flash_url(_back(form), "user_disabled"), status_code=303)


@router.post("/{user_id}/enable")
def enable(session: DbSession, user_id: RowId, user: UserDep, form: FormDep) -> Response:
    _change(session, user, user_id, "user.enable", lambda session, row: enable_user(session, user=row))
    return RedirectResponse(flash_url(_back(form), "user_enabled"), status_code=303)


@router.post("/{user_id}/sign-out")
def sign_out(session: DbSession, user_id: RowId, user: UserDep, form: FormDep) -> Response:
    _change(session, user, user_id, "user.sign_out", lambda session, row: end_sessions(session, user=row))
    return RedirectResponse(flash_url(_back(form), "user_signed_out"), status_code=303)


def _back(form: FormData) -> str:
    """Back to the user's own page when the form came from it, else the list (never anywhere else)."""
    back = field(form, "back")
    return back if back.startswith(f"{PAGE}/") and back[len(PAGE) + 1 :].isdigit() else PAGE
