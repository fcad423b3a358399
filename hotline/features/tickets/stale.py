"""Tickets left open long past their deadline: out of the escalation loop, into a daily digest.

An escalation chain repeats its last step every `repeat_minutes` until someone answers. A ticket nobody closes
(the crew fixed it and never sent SELESAI, the road needs a budget) would do so for weeks: at a million tickets
of history, ~20k of them would send about 11 escalations a second, each an SMS to heads and the command center,
and people stop reading them. So (routing/escalation.yaml `stale:`, CityConfig.stale):

- When a chain is about to repeat its last step and the phase's deadline (accept-by while routed, finish-by
  once accepted) passed more than `after_hours` ago, it does not repeat: the ticket gets a `stale` event on its
  timeline and stays open, with every pending step done. The steps before the last all still fire; a ticket
  accepted, reopened or re-routed afterwards gets a fresh deadline and chain, and escalates as usual.
- Once a day at `digest_at` (city time) the command center's members get one SMS (sms/replies.yaml
  `stale_digest`): how many open tickets are past their deadline by more than `after_hours`, per agency, and the
  oldest numbers. Sent by a worker's sweeper, once a day across all workers; nothing is sent when none are.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from hotline.cityconfig import CityConfig
from hotline.core.outbox import queue_sms
from hotline.core.wording import say
from hotline.models import Agency, Member, OutboundMessage, OutboundPurpose, Ticket, TicketEvent, TicketStatus, Urc

log = logging.getLogger(__name__)
DIGEST_PURPOSE = OutboundPurpose.DIGEST
OLDEST_SHOWN = 3
WORKING = (TicketStatus.ACCEPTED, TicketStatus.ON_SITE)


def is_stale(config: CityConfig, *, phase_due: datetime, now: datetime) -> bool:
    """Whether a chain whose phase deadline is `phase_due` should stop repeating its last step now."""
    rules = config.stale
    return rules.enabled and now - phase_due > timedelta(hours=rules.after_hours)


def leave_repeat_loop(session: Session, *, config: CityConfig, ticket_id: int, phase: str) -> None:
    """The chain's decision point found the ticket stale: no next round; say so on the timeline."""
    session.add(
        TicketEvent(
            ticket_id=ticket_id,
            kind="stale",
            actor="system",
            data={"phase": phase, "after_hours": config.stale.after_hours},
        )
    )


@dataclass(frozen=True)
class Digest:
    date: str  # the city's date, DD-MM-YYYY
    per_agency: dict[str, int]
    oldest: list[int]
    sent_to: list[str]

    @property
    def count(self) -> int:
        return sum(self.per_agency.values())


def stale_tickets(session: Session, *, config: CityConfig, now: datetime) -> tuple[dict[str, int], list[int]]:
    """Open tickets past their running deadline by more than `after_hours`: count per agency code, and the
    numbers of the oldest few. Reads the partial indexes over open tickets (migration 0013) only."""
    cutoff = now - timedelta(hours=config.stale.after_hours)
    codes = {a.id: a.code for a in session.scalars(select(Agency))}
    per_agency: dict[str, int] = {}
    oldest: list[tuple[datetime, int]] = []
    phases = (
        (Ticket.accept_due_at, Ticket.status == TicketStatus.ROUTED),
        (Ticket.resolve_due_at, Ticket.status.in_(WORKING)),
    )
    for due, in_phase in phases:
        for agency_id, n in session.execute(
            select(Ticket.agency_id, func.count()).where(in_phase, due < cutoff).group_by(Ticket.agency_id)
        ):
            code = codes.get(agency_id or 0, "-")
            per_agency[code] = per_agency.get(code, 0) + n
        for when, number in session.execute(
            select(due, Ticket.id).where(in_phase, due < cutoff).order_by(due, Ticket.id).limit(OLDEST_SHOWN)
        ):
            if when is not None:
                oldest.append((when, number))
    return dict(sorted(per_agency.items())), [number for _, number in sorted(oldest)[:OLDEST_SHOWN]]


def _command_center_phones(session: Session) -> list[str]:
    stmt = (
        select(Member.phone)
        .join(Urc, Urc.id == Member.urc_id)
        .join(Agency, Agency.id == Urc.agency_id)
        .where(Agency.is_default, Agency.active, Urc.active, Member.active)
        .order_by(Member.id)
    )
    return list(dict.fromkeys(session.scalars(stmt)))


def send_digest_if_due(session: Session, *, config: CityConfig, now: datetime, tz: ZoneInfo) -> Digest | None:
    """At or after `digest_at` city time, once a city day: the digest SMS to the command center. None when it is
    not time, it went out already today, staleness is off, or no ticket is stale."""
    rules = config.stale
    if not rules.enabled:
        return None
    local = now.astimezone(tz)
    hour, minute = (int(part) for part in rules.digest_at.split(":"))
    due = datetime.combine(local.date(), time(hour, minute), tzinfo=tz)
    if local < due:
        return None
    already = session.scalar(
        select(OutboundMessage.id)
        .where(OutboundMessage.purpose == DIGEST_PURPOSE, OutboundMessage.created_at >= due)
        .limit(1)
    )
    if already is not None:
        return None
    per_agency, oldest = stale_tickets(session, config=config, now=now)
    if not per_agency:
        return None
    digest = Digest(local.strftime("%d-%m-%Y"), per_agency, oldest, _command_center_phones(session))
    body = say(
        config,
        "stale_digest",
        "id",
        date=digest.date,
        count=digest.count,
        hours=f"{rules.after_hours:g}",
        agencies=", ".join(f"{code} {n}" for code, n in per_agency.items()),
        oldest=", ".join(f"#{number}" for number in oldest),
    )
    for phone in digest.sent_to:
        queue_sms(session, to=phone, body=body, purpose=DIGEST_PURPOSE)
    return digest


def send_daily_digest() -> Digest | None:
    """The sweeper's entry point (hotline/jobs/sweeper.py), run every sweep: before `digest_at` it only reads the
    clock; once the day's digest is decided (sent, or nothing stale) a Redis mark for the city's date makes every
    later sweep that day one GET. The database stays the truth: a lost mark sends nothing twice."""
    from hotline import clock
    from hotline.core.city import current_config
    from hotline.core.queue import redis_connection
    from hotline.db import unit_of_work
    from hotline.features.scorecard import city_timezone
    from hotline.settings import get_settings

    config, tz, now = current_config(), city_timezone(), clock.now()
    if not config.stale.enabled or now.astimezone(tz).strftime("%H:%M") < config.stale.digest_at:
        return None
    mark = f"hotline:stale-digest:{get_settings().queue_name}:{now.astimezone(tz).date()}"
    redis = redis_connection()
    if redis.exists(mark):
        return None
    with unit_of_work() as session:
        digest = send_digest_if_due(session, config=config, now=now, tz=tz)
    redis.set(mark, "decided", ex=2 * 86400)  # after the commit: sent, already sent, or nothing stale today
    if digest is not None:
        log.info("stale-ticket digest: %s ticket(s) to %s phone(s)", digest.count, len(digest.sent_to))
    return digest
