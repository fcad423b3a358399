"""/api/v1/shield: the junk-call shield's decisions, flagged numbers, callbacks and false-block report, and
clearing a number. For the command center: agency staff tokens get 403; clearing needs a supervisor's or
supervisor's or admin's token and is written to the audit log."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Path, Query, Request
from pydantic import BaseModel

from hotline import clock
from hotline.features.accounts.accounts import Principal
from hotline.features.accounts.audit import audit
from hotline.features.scorecard import Month, city_timezone
from hotline.features.shield import shield
from hotline.features.shield.shield_report import (
    false_block_report,
    flagged_numbers,
    numbers_page,
    pending_callbacks,
    recent_decisions,
)
from hotline.models import CallScreening
from hotline.phone import to_e164
from hotline.reports.shield import as_dict
from hotline.settings import get_settings
from hotline.web.api_auth import PrincipalDep, SupervisorDep, client_ip
from hotline.web.api_schemas import MAX_ID
from hotline.web.db_session import DbSession

router = APIRouter(prefix="/api/v1/shield", tags=["shield"])
FOR_COMMAND_CENTER: dict[int | str, dict[str, Any]] = {403: {"description": "agency staff"}}


class ScreeningOut(BaseModel):
    id: int
    at: datetime
    phone: str
    call: int | None
    decision: str
    reason: str
    rule: dict[str, Any]
    actor: str
    until: datetime | None
    done_at: datetime | None

    @classmethod
    def of(cls, row: CallScreening) -> ScreeningOut:
        return cls(
            id=row.id,
            at=row.at,
            phone=row.phone,
            call=row.call_id,
            decision=row.decision,
            reason=row.reason,
            rule=row.rule or {},
            actor=row.actor,
            until=row.until,
            done_at=row.done_at,
        )


class DecisionRowOut(BaseModel):
    decision: str
    numbers: int
    false_blocks: int
    rate: float | None


class HeldNumberOut(BaseModel):
    phone: str
    first_held_at: str
    decisions: list[str]
    times_held: int
    false_block: bool
    confirmed_by: str | None
    confirmed_at: str | None


class ShieldReportOut(BaseModel):
    month: str
    held_numbers: int
    false_blocks: int
    false_block_rate: float | None
    by_decision: list[DecisionRowOut]
    decision_counts: dict[str, int]
    numbers: list[HeldNumberOut]


class ClearIn(BaseModel):
    note: str = ""


def _command_center(principal: Principal) -> None:
    if not principal.sees_all_agencies:
        raise HTTPException(403, "the call shield is for the command center")


def _number(raw: str) -> str:
    number = to_e164(raw, get_settings().default_region)
    if number is None:
        raise HTTPException(422, "not a valid phone number")
    return number


@router.get("/decisions", response_model=list[ScreeningOut], responses=FOR_COMMAND_CENTER)
def decisions(
    session: DbSession,
    principal: PrincipalDep,
    phone: Annotated[str | None, Query(max_length=40)] = None,
    include_allowed: bool = False,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    before: Annotated[int | None, Query(ge=1, le=MAX_ID, description="the id of the last decision seen")] = None,
) -> list[ScreeningOut]:
    """Decisions about callers' numbers, newest first (`allowed` only with include_allowed), `limit` at a time;
    the next page: `before` = the last one's id."""
    _command_center(principal)
    number = _number(phone) if phone else None
    rows = recent_decisions(session, limit=limit, phone=number, include_allowed=include_allowed, before=before)
    return [ScreeningOut.of(r) for r in rows]


@router.get("/flagged", response_model=list[ScreeningOut], responses=FOR_COMMAND_CENTER)
def flagged(
    session: DbSession,
    principal: PrincipalDep,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    before: Annotated[int | None, Query(ge=1, le=MAX_ID, description="the id of the last flag seen")] = None,
) -> list[ScreeningOut]:
    """Numbers flagged as repeat offenders right now, newest first: their calls are served after everyone else's.
    The next page: `before` = the last one's id."""
    _command_center(principal)
    return [ScreeningOut.of(r) for r in flagged_numbers(session, limit=limit, before=before)]


@router.get("/callbacks", response_model=list[ScreeningOut], responses=FOR_COMMAND_CENTER)
def callbacks(
    session: DbSession,
    principal: PrincipalDep,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    after: Annotated[int | None, Query(ge=1, le=MAX_ID, description="the id of the newest callback seen")] = None,
) -> list[ScreeningOut]:
    """Numbers to call back (the `limit` oldest): confirmed emergencies first, then landlines that could not get
    the SMS. The next page: `after` = the id of the newest of the page (the largest `at`)."""
    _command_center(principal)
    return [ScreeningOut.of(r) for r in pending_callbacks(session, limit=limit, after=after)]


@router.get("/report", response_model=ShieldReportOut, responses=FOR_COMMAND_CENTER)
def report(
    session: DbSession,
    principal: PrincipalDep,
    month: Annotated[str | None, Query(max_length=7, description="YYYY-MM; default this month")] = None,
    limit: Annotated[int, Query(ge=1, le=500, description="numbers in `numbers`")] = 100,
    after: Annotated[str | None, Query(max_length=40, description="the last number of the page before")] = None,
) -> ShieldReportOut:
    """Numbers held back in the month and how many were real callers after all (false blocks): the figures are the
    whole month's; `numbers` lists `limit` of them (first held back first), the next page after=<its last phone>."""
    _command_center(principal)
    tz = city_timezone()
    chosen = Month.parse(month) if month else Month.containing(clock.now(), tz)  # MonthError: 422 (domain_errors)
    found = false_block_report(session, month=chosen, tz=tz)
    page = replace(found, numbers=numbers_page(found, limit=limit, after=after))
    whole = as_dict(found)  # the month's figures count every number, not only the page's
    return ShieldReportOut.model_validate({**whole, "numbers": as_dict(page)["numbers"]})


@router.post("/numbers/{phone}/clear", response_model=ScreeningOut, responses=FOR_COMMAND_CENTER)
def clear(
    session: DbSession,
    principal: SupervisorDep,
    request: Request,
    phone: Annotated[str, Path(max_length=40)],
    body: ClearIn | None = None,
) -> ScreeningOut:
    """Clear a number: its flag and open verification end; its next call is served normally."""
    _command_center(principal)
    number = _number(phone)
    note = (body.note if body else "").strip()[:200]
    row = shield.clear(session, phone=number, actor=principal.username, note=note)
    audit(
        session,
        actor=principal.username,
        action="shield.clear",
        target_type="phone",
        target_id=number,
        ip=client_ip(request),
        detail=note or None,
        screening_id=row.id,
    )
    return ScreeningOut.of(row)
