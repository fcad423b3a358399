"""Bearer tokens for /api/v1: `Authorization: Bearer htl_...` (issued with `hotline user token NAME`)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, HTTPException, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from hotline.db import unit_of_work
from hotline.features.accounts.accounts import Principal, principal_of, user_for_token
from hotline.features.tickets.ticket_actions import Actor

bearer = HTTPBearer(auto_error=False, description="an API token from `hotline user token USERNAME`")


def token_principal(token: str) -> Principal | None:
    with unit_of_work() as session:  # its own: "last used" is kept when the request fails; no row lock held through it
        user = user_for_token(session, token)
        return principal_of(user) if user else None


def require_principal(
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> Principal:
    principal = token_principal(credentials.credentials) if credentials else None
    if principal is None:
        raise HTTPException(
            401, "a valid API token is required (Authorization: Bearer ...)", headers={"WWW-Authenticate": "Bearer"}
        )
    return principal


def require_editor(principal: Annotated[Principal, Depends(require_principal)]) -> Principal:
    if not principal.can_edit_tickets:
        raise HTTPException(403, f"{principal.role} may read but not change tickets")
    return principal


def client_ip(request: Request) -> str | None:
    return request.client.host if request.client else None


def actor_for(principal: Principal, request: Request) -> Actor:
    return Actor(principal, client_ip(request))


def require_supervisor(principal: Annotated[Principal, Depends(require_principal)]) -> Principal:
    if not principal.can_supervise:
        raise HTTPException(403, f"{principal.role} may not do this; a supervisor or admin may")
    return principal


PrincipalDep = Annotated[Principal, Depends(require_principal)]
EditorDep = Annotated[Principal, Depends(require_editor)]
SupervisorDep = Annotated[Principal, Depends(require_supervisor)]
