"""What operators read about the junk-call shield: recent decisions, flagged numbers, callbacks to make,
and the month's false-block report.

False blocks: of the numbers held back in a month (a silent call, a rate limit, a flag, queued last, a
prank mark), how many turned out to be real callers later -- they replied "1" to the verification, an
operator cleared them, or they made a report that was routed and not cancelled. `summarize` is pure
(tested with tables); `false_block_report` reads the rows for it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, tzinfo

from sqlalchemy import func, literal, select, tuple_
from sqlalchemy.orm import Session, aliased

from hotline.features.scorecard import Month
from hotline.features.shield.shield import HELD_BACK, VINDICATED
from hotline.models import CallScreening, Ticket, TicketStatus, utcnow


@dataclass(frozen=True)
class Held:
    """One held-back decision about a number."""

    phone: str
    decision: str
    at: datetime


@dataclass(frozen=True)
class Vindication:
    """Proof that a number is a real caller: `how` is 'replied 1', 'cleared by <operator>' or 'ticket #<n>'."""

    phone: str
    at: datetime
    how: str


@dataclass(frozen=True)
class HeldNumber:
    phone: str
    first_held_at: datetime
    decisions: tuple[str, ...]  # what was decided about it this month, each once, in HELD_BACK order
    times_held: int
    confirmed_by: str | None  # the first vindication after it was first held back; None: not (yet)
    confirmed_at: datetime | None

    @property
    def false_block(self) -> bool:
        return self.confirmed_by is not None


@dataclass(frozen=True)
class DecisionRow:
    decision: str
    numbers: int
    false_blocks: int

    @property
    def rate(self) -> float | None:
        return self.false_blocks / self.numbers if self.numbers else None


@dataclass(frozen=True)
class ShieldReport:
    month: str
    numbers: tuple[HeldNumber, ...]
    by_decision: tuple[DecisionRow, ...]
    decision_counts: dict[str, int]  # every decision logged in the month, allowed included

    @property
    def held_numbers(self) -> int:
        return len(self.numbers)

    @property
    def false_blocks(self) -> int:
        return sum(1 for n in self.numbers if n.false_block)

    @property
    def false_block_rate(self) -> float | None:
        return self.false_blocks / self.held_numbers if self.numbers else None


def summarize(
    month: str, held: Iterable[Held], vindications: Iterable[Vindication], counts: dict[str, int]
) -> ShieldReport:
    """The report from the month's held-back decisions and every vindication known. Pure."""
    by_phone: dict[str, list[Held]] = {}
    for row in held:
        by_phone.setdefault(row.phone, []).append(row)
    proofs: dict[str, list[Vindication]] = {}
    for proof in vindications:
        proofs.setdefault(proof.phone, []).append(proof)
    numbers = []
    for phone, rows in by_phone.items():
        first = min(r.at for r in rows)
        later = sorted((p for p in proofs.get(phone, []) if p.at >= first), key=lambda p: p.at)
        kinds = tuple(k for k in HELD_BACK if any(r.decision == k for r in rows))
        numbers.append(
            HeldNumber(
                phone=phone,
                first_held_at=first,
                decisions=kinds,
                times_held=len(rows),
                confirmed_by=later[0].how if later else None,
                confirmed_at=later[0].at if later else None,
            )
        )
    numbers.sort(key=lambda n: (n.first_held_at, n.phone))
    by_decision = tuple(
        DecisionRow(
            kind,
            sum(1 for n in numbers if kind in n.decisions),
            sum(1 for n in numbers if kind in n.decisions and n.false_block),
        )
        for kind in HELD_BACK
    )
    return ShieldReport(month, tuple(numbers), by_decision, dict(counts))


def false_block_report(session: Session, *, month: Month, tz: tzinfo) -> ShieldReport:
    """The month's report. The numbers held back are matched to their proofs inside the database (a subquery of
    the month's held-back numbers), never sent to it as a list of values: a busy month holds back hundreds."""
    start, end = month.bounds(tz)
    held_where = (
        CallScreening.at >= start,
        CallScreening.at < end,
        CallScreening.decision.in_(HELD_BACK),
        CallScreening.phone != "anonymous",  # a withheld number cannot be confirmed or blamed
    )
    held = [
        Held(phone, decision, at)
        for phone, decision, at in session.execute(
            select(CallScreening.phone, CallScreening.decision, CallScreening.at).where(*held_where)
        )
    ]
    proofs: list[Vindication] = []
    if held:
        logged = aliased(CallScreening)
        held_phones = select(logged.phone).where(
            logged.at >= start,
            logged.at < end,
            logged.decision.in_(HELD_BACK),
            logged.phone != "anonymous",
        )
        for phone, decision, at, actor in session.execute(
            select(CallScreening.phone, CallScreening.decision, CallScreening.at, CallScreening.actor).where(
                CallScreening.phone.in_(held_phones), CallScreening.decision.in_(VINDICATED), CallScreening.at >= start
            )
        ):
            proofs.append(Vindication(phone, at, "replied 1" if decision == "confirmed" else f"cleared by {actor}"))
        for phone, number, created in session.execute(
            select(Ticket.reporter_phone, Ticket.id, Ticket.created_at).where(
                Ticket.reporter_phone.in_(held_phones),
                Ticket.routed_at.is_not(None),
                Ticket.status != TicketStatus.CANCELLED,
                Ticket.created_at >= start,
            )
        ):
            proofs.append(Vindication(phone, created, f"ticket #{number}"))
    counts = {
        decision: n
        for decision, n in session.execute(
            select(CallScreening.decision, func.count())
            .where(CallScreening.at >= start, CallScreening.at < end)
            .group_by(CallScreening.decision)
        )
    }
    return summarize(str(month), held, proofs, counts)


def numbers_page(report: ShieldReport, *, limit: int, after: str | None = None) -> tuple[HeldNumber, ...]:
    """`limit` of the report's numbers (in its order: first held back first) after the number `after` (none when
    that number is not in the report): the API's pages."""
    numbers = report.numbers
    if after is not None:
        at = next((i for i, n in enumerate(numbers) if n.phone == after), None)
        numbers = () if at is None else numbers[at + 1 :]
    return numbers[:limit]


# --- the console's lists ---------------------------------------------------------------------------


SHIELD_PAGE = 100  # rows a list shows at once; older ones page by `before=` (the last row's id), never by offset


def recent_decisions(
    session: Session,
    *,
    limit: int = SHIELD_PAGE,
    phone: str | None = None,
    include_allowed: bool = False,
    before: int | None = None,
) -> list[CallScreening]:
    """Decisions newest first, `limit` of them, older than the decision `before` when given (none if it does not
    exist). An index walk of (at, id): held-back decisions have a partial index of their own, as 96 % are
    `allowed`."""
    stmt = select(CallScreening).order_by(CallScreening.at.desc(), CallScreening.id.desc()).limit(limit)
    if before is not None:
        anchor = session.get(CallScreening, before)
        if anchor is None:
            return []
        stmt = stmt.where(tuple_(CallScreening.at, CallScreening.id) < tuple_(literal(anchor.at), literal(anchor.id)))
    if phone:
        stmt = stmt.where(CallScreening.phone == phone)
    if not include_allowed:
        stmt = stmt.where(CallScreening.decision != "allowed")
    return list(session.scalars(stmt))


def flagged_numbers(
    session: Session, *, now: datetime | None = None, limit: int = SHIELD_PAGE, before: int | None = None
) -> list[CallScreening]:
    """Numbers queued last right now (one row each: its flag), newest first, older than the flag `before` when
    given (none if it is not a flag); a partial index holds the flags not cleared, searched by `until`, so flags
    that ran out long ago are never read."""
    stmt = (
        select(CallScreening)
        .where(
            CallScreening.decision == "flagged",
            CallScreening.done_at.is_(None),
            CallScreening.until > (now or utcnow()),
        )
        .order_by(CallScreening.at.desc(), CallScreening.id.desc())
        .limit(limit)
    )
    if before is not None:
        anchor = session.get(CallScreening, before)
        if anchor is None or anchor.decision != "flagged":
            return []
        stmt = stmt.where(tuple_(CallScreening.at, CallScreening.id) < tuple_(literal(anchor.at), literal(anchor.id)))
    return list(session.scalars(stmt))


def pending_callbacks(session: Session, *, limit: int = SHIELD_PAGE, after: int | None = None) -> list[CallScreening]:
    """Numbers an operator should call back: `limit` of the oldest (after the callback `after` when given: the
    next page; none if it is not a callback), confirmed emergencies (normal priority) first within the page,
    oldest first (a partial index holds only the callbacks not made)."""
    stmt = (
        select(CallScreening)
        .where(CallScreening.decision == "callback_queued", CallScreening.done_at.is_(None))
        .order_by(CallScreening.at, CallScreening.id)
        .limit(limit)
    )
    if after is not None:
        anchor = session.get(CallScreening, after)
        if anchor is None or anchor.decision != "callback_queued":
            return []
        stmt = stmt.where(tuple_(CallScreening.at, CallScreening.id) > tuple_(literal(anchor.at), literal(anchor.id)))
    rows = list(session.scalars(stmt))
    return sorted(rows, key=lambda r: (r.rule.get("priority") == "last", r.at, r.id))
