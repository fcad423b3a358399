"""A ticket's place (location_text, desa, kecamatan) is set or changed here and nowhere else once the ticket
is open, so a place learnt after the alert always reaches the crew.

Every path that learns a place later comes through `set_place` (or `fill_missing`): an operator's edit
(console, API), the reporter's follow-up SMS, a merged report that knows the place the ticket lacked, the
IVR's UpdateTicket when a caller gives the place after the ticket was opened. Each change is a
`place_changed` timeline event; when the ticket's crew was alerted already and the ticket is still open,
each alerted member gets `place_update` at once ("No. 245 (Kebakaran) LOKASI: Jl. ..., Sisir, Kec. Batu").
Nothing is recorded or sent when nothing changed, and no SMS goes out when what the crew reads is the same.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from sqlalchemy import select
from sqlalchemy.orm import Session

from hotline.cityconfig import CityConfig
from hotline.core.outbox import queue_sms
from hotline.core.wording import place, say, ticket_fields
from hotline.features.tickets.tickets import OPEN_STATUSES, record
from hotline.models import Member, OutboundPurpose, Ticket, TicketEvent, Urc, utcnow

MAX_LOCATION = 500  # tickets.location_text


class _Keep(Enum):
    KEEP = 0


KEEP = _Keep.KEEP  # leave this part of the place as it is
Part = str | None | _Keep  # a new value, None to clear it, or KEEP


@dataclass(frozen=True)
class Place:
    location: str | None
    desa: str | None
    kecamatan: str | None

    @classmethod
    def of(cls, ticket: Ticket) -> Place:
        return cls(ticket.location_text, ticket.desa, ticket.kecamatan)

    @property
    def crew_reads(self) -> str | None:
        return place(self.location, self.desa, self.kecamatan)


def _clean(value: str | None) -> str | None:
    return (" ".join(value.split())[:MAX_LOCATION] or None) if value else None


def set_place(
    session: Session,
    *,
    config: CityConfig,
    ticket: Ticket,
    actor: str,
    source: str,
    location: str | _Keep | None = KEEP,
    desa: str | _Keep | None = KEEP,
    kecamatan: str | _Keep | None = KEEP,
    inbound_id: int | None = None,
) -> list[str]:
    """Set the parts given (None clears one); returns the names of those that changed. `source` says how
    the place was learnt (operator, api, sms, merge, call); desa and kecamatan must be the names of
    routing/areas.yaml (callers check them)."""
    before = Place.of(ticket)
    after = Place(
        before.location if location is KEEP else _clean(location),
        before.desa if desa is KEEP else (desa or None),
        before.kecamatan if kecamatan is KEEP else (kecamatan or None),
    )
    changed = [name for name in ("location", "desa", "kecamatan") if getattr(before, name) != getattr(after, name)]
    if not changed:
        return []
    ticket.location_text, ticket.desa, ticket.kecamatan = after.location, after.desa, after.kecamatan
    ticket.updated_at = utcnow()
    told: list[str] = []
    if after.crew_reads != before.crew_reads:
        told = _tell_crew(session, config=config, ticket=ticket, inbound_id=inbound_id)
    record(
        session,
        ticket,
        "place_changed",
        actor=actor,
        source=source,
        fields=changed,
        location=after.location,
        desa=after.desa,
        kecamatan=after.kecamatan,
        previous={"location": before.location, "desa": before.desa, "kecamatan": before.kecamatan},
        told=told,
    )
    return changed


def fill_missing(
    session: Session,
    *,
    config: CityConfig,
    ticket: Ticket,
    actor: str,
    source: str,
    location: str | None,
    desa: str | None,
    kecamatan: str | None,
    inbound_id: int | None = None,
) -> list[str]:
    """Fill only the parts the ticket lacks: a later report never overwrites the place it has."""
    new_desa: str | _Keep | None = KEEP
    new_kecamatan: str | _Keep | None = KEEP
    if ticket.desa is None and desa:
        new_desa = desa
    if ticket.kecamatan is None and kecamatan:
        new_kecamatan = kecamatan
    return set_place(
        session,
        config=config,
        ticket=ticket,
        actor=actor,
        source=source,
        location=location if ticket.location_text is None and location else KEEP,
        desa=new_desa,
        kecamatan=new_kecamatan,
        inbound_id=inbound_id,
    )


def alerted_members(session: Session, ticket: Ticket) -> list[Member]:
    """The active members of the ticket's team that its latest alert went to; none before the alert
    (a ticket still waiting for its category, or whose alert is still to follow in a job)."""
    if ticket.urc_id is None or ticket.status not in OPEN_STATUSES:
        return []
    urc = session.get(Urc, ticket.urc_id)
    alerted = session.scalar(
        select(TicketEvent)
        .where(TicketEvent.ticket_id == ticket.id, TicketEvent.kind == "alerted")
        .order_by(TicketEvent.id.desc())
        .limit(1)
    )
    if urc is None or alerted is None or (alerted.data or {}).get("urc") != urc.code:
        return []
    phones = set((alerted.data or {}).get("members") or [])
    stmt = select(Member).where(Member.urc_id == urc.id, Member.active, Member.phone.in_(phones)).order_by(Member.id)
    return list(session.scalars(stmt))


def _tell_crew(session: Session, *, config: CityConfig, ticket: Ticket, inbound_id: int | None) -> list[str]:
    members = alerted_members(session, ticket)
    if not members:
        return []
    body = say(config, "place_update", "id", **ticket_fields(session, config, ticket, "id"))
    for member in members:
        queue_sms(
            session,
            to=member.phone,
            body=body,
            purpose=OutboundPurpose.NOTIFY,
            ticket_id=ticket.id,
            member_id=member.id,
            inbound_id=inbound_id,
        )
    return [m.phone for m in members]
