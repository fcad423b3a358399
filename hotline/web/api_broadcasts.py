"""/api/v1/broadcasts: early warnings' progress, their check-in tally per desa (the map reads it), and the
subscribers per desa. For the command center (agency staff tokens get 403). Drafting and approving are done in
the console or by `hotline broadcast` (two people, audited)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Path

from hotline.core.city import current_config
from hotline.features.accounts.accounts import Principal
from hotline.features.broadcasts.progress import recent
from hotline.features.broadcasts.subscribers import counts_per_desa
from hotline.features.broadcasts.views import progress_json, tally_json
from hotline.web.api_auth import PrincipalDep
from hotline.web.api_schemas import MAX_ID
from hotline.web.db_session import DbSession

router = APIRouter(prefix="/api/v1/broadcasts", tags=["broadcasts"])
RESPONSES: dict[int | str, dict[str, Any]] = {403: {"description": "agency staff"}, 404: {"description": "none"}}
BroadcastId = Annotated[int, Path(ge=1, le=MAX_ID)]


def _command_center(principal: Principal) -> None:
    if not principal.sees_all_agencies:
        raise HTTPException(403, "broadcasts are for the command center")


@router.get("", responses=RESPONSES)
def list_broadcasts(session: DbSession, principal: PrincipalDep) -> list[dict[str, Any]]:
    """The latest 50 broadcasts, newest first, with their progress."""
    _command_center(principal)
    return [progress_json(session, broadcast_id=b.id) for b in recent(session)]


@router.get("/subscribers", responses=RESPONSES)
def subscribers(session: DbSession, principal: PrincipalDep) -> dict[str, int]:
    """Active subscribers per desa (opted-out numbers not counted)."""
    _command_center(principal)
    return counts_per_desa(session)


@router.get("/{number}", responses=RESPONSES)
def one(session: DbSession, principal: PrincipalDep, number: BroadcastId) -> dict[str, Any]:
    """Recipients per status (queued, sending, sent, delivered, failed, skipped, cancelled) and the percentage done."""
    _command_center(principal)
    return progress_json(session, broadcast_id=number)  # NotFound: 404 (web/domain_errors.py)


@router.get("/{number}/tally", responses=RESPONSES)
def tally(session: DbSession, principal: PrincipalDep, number: BroadcastId) -> dict[str, Any]:
    """Check-in answers per desa: recipients, sent, aman, bantu, no_answer, with the desa's lat/lon for the map."""
    _command_center(principal)
    return tally_json(session, config=current_config(), broadcast_id=number)  # NotFound: 404 (domain_errors)
