"""The junk-call shield: screen each call by its number, never drop one, log every decision.

At the start of a call (`screen_call`) the number is looked at, in this order, first match wins:

    no number / shield off / exempt                                                allowed
    an open ticket, under calls_per_hour/day                                       allowed
    an open ticket, over them but under the confirmed ceiling                      allowed, at the report
    confirmed or cleared lately, no silent call since, under the confirmed ceiling allowed
    flagged as a repeat offender (silent or prank calls)                           queued_last
    over calls_per_hour or calls_per_day (or the confirmed ceiling)                rate_limited
    anything else                                                                  allowed

A number that confirmed an emergency (replied 1), was cleared by a supervisor, or has an open report gets a
higher ceiling (`confirmed_calls_per_hour/day`, by default three times the limits), never none: replying 1
once no longer buys a junk caller unlimited calls (issue 18). A silent or prank call after the confirmation
voids it: the number is screened as any other again. An open report lets its caller past the normal limits
only to that report: the call starts at the flow's `screening: open_ticket` node (its status; the operator
queue behind everyone), not at the welcome menu.

`rate_limited` callers hear a short message (and may still press 1 for an operator); `queued_last`
callers get the normal flow. Both get a verification: an SMS "Jika darurat, balas 1" when the number
can receive one, else an operator callback (`callback_queued`). Both wait behind every other caller in
the operator queue (hotline/features/calls/call_queue.py).

Silent calls (no key, no voice at the greeting; the flow's `screen` node): a number's first one within
`offender_within_hours` is only logged (`silent_queued`): the caller is put through to an operator, and
gets no SMS. The flow learns at the start of the call how many the shield still counts
(`Screening.recent_silent_calls`); a repeat silent call is `silent`: it may get the verification SMS, and
enough silent calls of either kind flag the number for `flag_hours`.

"1" to an open verification (`confirm`) clears the number (`confirmed`) and puts it in the callback
list at normal priority. An operator can `clear` a number, mark a call `prank`, and mark a callback
done (`called_back`). Rows live in `call_screening` (hotline/models/screening.py); the database is the
truth, counted through its (phone, at) index.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Literal

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from hotline.cityconfig import CityConfig
from hotline.cityconfig.model import ShieldRules
from hotline.core.outbox import is_opted_out, queue_sms
from hotline.core.wording import say
from hotline.features.tickets.tickets import CLOSED_STATUSES
from hotline.models import CallScreening, OutboundPurpose, Ticket, utcnow
from hotline.phone import is_mobile

log = logging.getLogger(__name__)

YES = 1  # the digit the verification SMS asks for; filled into the template so text and code agree
# One of these per call: what the rate limits count.
PER_CALL = ("allowed", "rate_limited", "queued_last")
# Decisions that held a number back: the false-block report starts from these.
HELD_BACK = ("silent", "rate_limited", "flagged", "queued_last", "prank")
# Decisions that prove a held-back number was a real caller after all.
VINDICATED = ("confirmed", "cleared")
# Silent calls: the first within the window (put through to an operator) and the repeat ones.
SILENT = ("silent_queued", "silent", "prank")
DECISIONS = (
    *PER_CALL,
    "silent_queued",
    "silent",
    "prank",
    "flagged",
    "verification_sent",
    "callback_queued",
    *VINDICATED,
    "called_back",
)
# A start decision -> the flow's `screening:` key (hotline/ivr/actions.py Start.screening).
START_SCREENING = {"rate_limited": "rate_limited", "queued_last": "repeat_offender"}
FOLLOW_UP = "open_ticket"  # Start.screening of a caller over the limits let through to their open report

Priority = Literal["normal", "last"]


@dataclass(frozen=True)
class Screening:
    """What `screen_call` decided: the decision logged, and what the engine's Start gets."""

    decision: str  # allowed | rate_limited | queued_last
    reason: str
    screening: str = ""  # Start.screening ('' when allowed)
    verify_by: str = ""  # sms | callback | '' (no verification asked)
    recent_silent_calls: int = 0  # Start.recent_silent_calls: a silent call now would be a repeat one


def _rule(rules: ShieldRules) -> dict[str, float | int]:
    return {
        "calls_per_hour": rules.calls_per_hour,
        "calls_per_day": rules.calls_per_day,
        "confirmed_calls_per_hour": rules.trusted_per_hour,
        "confirmed_calls_per_day": rules.trusted_per_day,
        "offender_silent_calls": rules.offender_silent_calls,
        "offender_within_hours": rules.offender_within_hours,
        "flag_hours": rules.flag_hours,
    }


def log_decision(
    session: Session,
    *,
    phone: str,
    decision: str,
    reason: str = "",
    call_id: int | None = None,
    rule: Mapping[str, float | int | str] | None = None,
    actor: str = "system",
    until: datetime | None = None,
    at: datetime | None = None,
) -> CallScreening:
    if decision not in DECISIONS:
        raise ValueError(f"unknown screening decision {decision!r}")
    row = CallScreening(
        at=at or utcnow(),
        phone=phone[:32],
        call_id=call_id,
        decision=decision,
        reason=reason[:200],
        rule=dict(rule or {}),
        actor=actor[:64],
        until=until,
    )
    session.add(row)
    session.flush()
    return row


# --- at the start of a call ------------------------------------------------------------------------


def screen_call(
    session: Session, *, config: CityConfig, phone: str | None, call_id: int, open_ticket: int | None = None
) -> Screening:
    """Decide about a call that just came in from `phone` (E.164, or None for a withheld number) and log it.
    `open_ticket`: the caller's open ticket when the caller already looked it up (else it is looked up)."""
    rules = config.shield
    now = utcnow()
    screening = _decide(session, rules=rules, phone=phone, now=now, open_ticket=open_ticket)
    if screening.decision != "allowed" and phone is not None:
        priority: Priority = "last" if screening.decision == "queued_last" else "normal"
        kind = "shield_verify"
        screening = _with_verification(
            screening,
            request_verification(
                session, config=config, phone=phone, call_id=call_id, template=kind, priority=priority
            ),
        )
    log_decision(
        session,
        phone=phone or "anonymous",
        decision=screening.decision,
        reason=screening.reason,
        call_id=call_id,
        rule=_rule(rules) if rules.enabled else {},
    )
    if phone is not None and rules.enabled and phone not in rules.exempt:
        silent = recent_silent_calls(session, rules=rules, phone=phone, now=now)
        screening = replace(screening, recent_silent_calls=silent)
    return screening


def _with_verification(screening: Screening, verify_by: str) -> Screening:
    return replace(screening, verify_by=verify_by)


def recent_silent_calls(session: Session, *, rules: ShieldRules, phone: str, now: datetime | None = None) -> int:
    """Silent (or prank) calls from `phone` within `offender_within_hours`, since an operator or the caller
    last cleared the number: what makes the next silent call a repeat one, and what flags the number."""
    now = now or utcnow()
    since = now - timedelta(hours=rules.offender_within_hours)
    cleared = _latest(session, phone, VINDICATED)
    if cleared is not None and cleared.at > since:
        since = cleared.at  # what came before the number was cleared no longer counts
    stmt = select(func.count()).where(
        CallScreening.phone == phone, CallScreening.at >= since, CallScreening.decision.in_(SILENT)
    )
    return int(session.scalar(stmt) or 0)


def _decide(
    session: Session, *, rules: ShieldRules, phone: str | None, now: datetime, open_ticket: int | None
) -> Screening:
    if phone is None:
        return Screening("allowed", "withheld number: cannot be told apart")
    if not rules.enabled:
        return Screening("allowed", "shield off (no routing/shield.yaml)")
    if phone in rules.exempt:
        return Screening("allowed", "exempt number")
    open_ticket = open_ticket or session.scalar(
        select(Ticket.id)
        .where(Ticket.reporter_phone == phone, Ticket.status.not_in(CLOSED_STATUSES))
        .order_by(Ticket.id.desc())
        .limit(1)
    )
    hour = calls_since(session, phone=phone, since=now - timedelta(hours=1))
    day = calls_since(session, phone=phone, since=now - timedelta(hours=24))
    over = _over(rules.calls_per_hour, rules.calls_per_day, hour, day, "")
    ceiling = _over(rules.trusted_per_hour, rules.trusted_per_day, hour, day, " for a confirmed number")
    if open_ticket is not None:
        if over is None:
            return Screening("allowed", f"open ticket #{open_ticket}")
        if ceiling is None:
            return Screening("allowed", f"open ticket #{open_ticket}: {over}; a follow-up to it", FOLLOW_UP)
        return Screening("rate_limited", f"open ticket #{open_ticket}: {ceiling}", "rate_limited")
    vindicated = _latest(session, phone, VINDICATED)
    flag = active_flag(session, phone=phone, now=now)
    recent = vindicated is not None and vindicated.at > now - timedelta(hours=rules.flag_hours)
    if recent and vindicated is not None and (flag is None or flag.at < vindicated.at):
        silent_since = _latest(session, phone, SILENT)
        if silent_since is None or silent_since.at < vindicated.at:
            said = f"{vindicated.decision} {vindicated.at:%Y-%m-%d %H:%M} UTC"
            if ceiling is None:
                return Screening("allowed", said)
            return Screening("rate_limited", f"{said}, but {ceiling}", "rate_limited")
        # confirmed, then silent again: screened as any number is
    if flag is not None:
        until = f"{flag.until:%Y-%m-%d %H:%M} UTC" if flag.until else "?"
        return Screening("queued_last", f"repeat offender until {until}", START_SCREENING["queued_last"])
    if over is not None:
        return Screening("rate_limited", over, "rate_limited")
    return Screening("allowed", "")


def _over(per_hour: int, per_day: int, hour: int, day: int, whose: str) -> str | None:
    """Why this call is over the limits (the calls so far within the hour and the day), or None."""
    if hour >= per_hour:
        return f"{hour + 1} calls within an hour (limit {per_hour}{whose})"
    if day >= per_day:
        return f"{day + 1} calls within 24 hours (limit {per_day}{whose})"
    return None


def calls_since(session: Session, *, phone: str, since: datetime) -> int:
    """Calls from `phone` since then (one per-call decision row each; the (phone, at) index answers it)."""
    stmt = select(func.count()).where(
        CallScreening.phone == phone, CallScreening.at >= since, CallScreening.decision.in_(PER_CALL)
    )
    return int(session.scalar(stmt) or 0)


def _latest(session: Session, phone: str, decisions: tuple[str, ...]) -> CallScreening | None:
    stmt = (
        select(CallScreening)
        .where(CallScreening.phone == phone, CallScreening.decision.in_(decisions))
        .order_by(CallScreening.at.desc(), CallScreening.id.desc())
        .limit(1)
    )
    return session.scalar(stmt)


def active_flag(session: Session, *, phone: str, now: datetime | None = None) -> CallScreening | None:
    now = now or utcnow()
    stmt = (
        select(CallScreening)
        .where(
            CallScreening.phone == phone,
            CallScreening.decision == "flagged",
            CallScreening.done_at.is_(None),
            CallScreening.until > now,
        )
        .order_by(CallScreening.id.desc())
        .limit(1)
    )
    return session.scalar(stmt)


# --- verification ------------------------------------------------------------------------------------


def can_text(session: Session, phone: str) -> bool:
    return phone.startswith("+") and is_mobile(phone) and not is_opted_out(session, phone)


def open_verification(session: Session, *, phone: str, now: datetime | None = None) -> CallScreening | None:
    """The verification SMS to `phone` that a "1" still answers, if any."""
    now = now or utcnow()
    stmt = (
        select(CallScreening)
        .where(
            CallScreening.phone == phone,
            CallScreening.decision == "verification_sent",
            CallScreening.done_at.is_(None),
            CallScreening.until > now,
        )
        .order_by(CallScreening.id.desc())
        .limit(1)
    )
    return session.scalar(stmt)


def pending_callback(session: Session, *, phone: str) -> CallScreening | None:
    stmt = (
        select(CallScreening)
        .where(
            CallScreening.phone == phone,
            CallScreening.decision == "callback_queued",
            CallScreening.done_at.is_(None),
        )
        .order_by(CallScreening.id.desc())
        .limit(1)
    )
    return session.scalar(stmt)


def request_verification(
    session: Session,
    *,
    config: CityConfig,
    phone: str,
    call_id: int | None,
    template: str,
    priority: Priority,
) -> str:
    """Ask the number to confirm an emergency: 'sms' (texted, or a text still open) or 'callback' (an
    operator will call back). One open question per number: a repeat caller is not texted again."""
    now = utcnow()
    if can_text(session, phone):
        if open_verification(session, phone=phone, now=now) is None:
            body = say(config, template, "id", yes=YES)
            queue_sms(session, to=phone, body=body, purpose=OutboundPurpose.REPLY)
            until = now + timedelta(hours=config.shield.verify_reply_hours)
            log_decision(
                session,
                phone=phone,
                decision="verification_sent",
                reason=template,
                call_id=call_id,
                rule={"reply_hours": config.shield.verify_reply_hours},
                until=until,
            )
        return "sms"
    if not phone.startswith("+"):
        return ""  # a raw caller id: no way to reach it
    if pending_callback(session, phone=phone) is None:
        log_decision(
            session,
            phone=phone,
            decision="callback_queued",
            reason="cannot receive SMS",
            call_id=call_id,
            rule={"priority": priority},
        )
    return "callback"


def confirm(session: Session, *, config: CityConfig, phone: str, verification: CallScreening) -> CallScreening:
    """A "1" to the verification SMS: the number is cleared and goes to the callback list at normal priority."""
    now = utcnow()
    verification.done_at = now
    _close_flags(session, phone=phone, now=now)
    row = log_decision(session, phone=phone, decision="confirmed", reason="replied 1", actor=phone)
    callback = pending_callback(session, phone=phone)
    if callback is None:
        log_decision(
            session,
            phone=phone,
            decision="callback_queued",
            reason="confirmed an emergency",
            rule={"priority": "normal"},
        )
    else:
        callback.rule = {**callback.rule, "priority": "normal"}
    return row


def clear(session: Session, *, phone: str, actor: str, note: str = "") -> CallScreening:
    """An operator clears a number: flags and open verifications end; its next call is allowed."""
    now = utcnow()
    _close_flags(session, phone=phone, now=now)
    session.execute(
        update(CallScreening)
        .where(
            CallScreening.phone == phone,
            CallScreening.decision == "verification_sent",
            CallScreening.done_at.is_(None),
        )
        .values(done_at=now)
    )
    return log_decision(session, phone=phone, decision="cleared", reason=note or "cleared by an operator", actor=actor)


def called_back(session: Session, *, callback_id: int, actor: str) -> CallScreening | None:
    """An operator called the number back: the callback leaves the list. None: no such pending callback."""
    row = session.get(CallScreening, callback_id, with_for_update=True)
    if row is None or row.decision != "callback_queued" or row.done_at is not None:
        return None
    row.done_at = utcnow()
    return log_decision(session, phone=row.phone, decision="called_back", reason=f"callback #{row.id}", actor=actor)


def _close_flags(session: Session, *, phone: str, now: datetime) -> None:
    session.execute(
        update(CallScreening)
        .where(CallScreening.phone == phone, CallScreening.decision == "flagged", CallScreening.done_at.is_(None))
        .values(done_at=now)
    )


# --- silent and prank calls ------------------------------------------------------------------------


def record_silent(
    session: Session, *, config: CityConfig, phone: str | None, call_id: int, decision: str = "silent"
) -> CallScreening:
    """The flow classified the call as silent. `silent_queued` (a first silent call, put through to an
    operator): logged, nothing more. `silent` (a repeat one): logged, the number flagged if it keeps doing
    it, and a caller who may not be able to speak asked by SMS whether it is an emergency."""
    if decision not in ("silent_queued", "silent"):
        raise ValueError(f"unknown silent-call decision {decision!r}")
    reason = "no key, no voice: put through to an operator" if decision == "silent_queued" else "no key, no voice"
    row = log_decision(session, phone=phone or "anonymous", decision=decision, reason=reason, call_id=call_id)
    if phone is None or not config.shield.enabled or decision == "silent_queued":
        return row
    _maybe_flag(session, rules=config.shield, phone=phone, call_id=call_id)
    if config.shield.verify_after_silent_call:
        request_verification(
            session, config=config, phone=phone, call_id=call_id, template="shield_verify_silent", priority="last"
        )
    return row


def mark_prank(
    session: Session, *, config: CityConfig, phone: str, actor: str, call_id: int | None = None, note: str = ""
) -> CallScreening:
    """An operator marks a call (or a number) as a prank: counts like a silent call towards a flag."""
    row = log_decision(
        session, phone=phone, decision="prank", reason=note or "marked by an operator", call_id=call_id, actor=actor
    )
    if config.shield.enabled:
        _maybe_flag(session, rules=config.shield, phone=phone, call_id=call_id)
    return row


def _maybe_flag(session: Session, *, rules: ShieldRules, phone: str, call_id: int | None) -> CallScreening | None:
    now = utcnow()
    if active_flag(session, phone=phone, now=now) is not None:
        return None
    count = recent_silent_calls(session, rules=rules, phone=phone, now=now)
    if count < rules.offender_silent_calls:
        return None
    return log_decision(
        session,
        phone=phone,
        decision="flagged",
        reason=f"{count} silent/prank calls within {rules.offender_within_hours:g} h",
        call_id=call_id,
        rule=_rule(rules),
        until=now + timedelta(hours=rules.flag_hours),
    )


# --- what a ticket's timeline says about its caller ------------------------------------------------


def screening_of_call(session: Session, *, call_id: int) -> CallScreening | None:
    """The call's own screening decision, when it was held back (rate limited, queued last)."""
    stmt = (
        select(CallScreening)
        .where(CallScreening.call_id == call_id, CallScreening.decision.in_(("rate_limited", "queued_last")))
        .order_by(CallScreening.id)
        .limit(1)
    )
    return session.scalar(stmt)
