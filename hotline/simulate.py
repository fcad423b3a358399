"""`hotline simulate sms`: an inbound SMS through the real intake, without a provider; nothing is sent.

Simulations run on a scratch database of their own (HOTLINE_DATA_DIR/simulate.db), never the hotline's: a
simulated ticket in the real database was seen by the worker like any other, its alerts timed out without a
delivery report and failed over to automated calls, and it escalated to agency heads 10 minutes later."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from hotline.core import dispatch
from hotline.core.city import current_config
from hotline.core.outbox import CREATED
from hotline.db import dispose, transaction_state, unit_of_work, using_database
from hotline.features.sms.sms_intake import process_inbound, store_inbound_sms
from hotline.models import InboundMessage, Member, OutboundMessage, OutboundStatus, Ticket
from hotline.phone import sender_id
from hotline.settings import get_settings


def simulation_database_path() -> Path:
    return (get_settings().data_dir / "simulate.db").resolve()


def simulation_database_url() -> str:
    return f"sqlite:///{simulation_database_path()}"


@contextmanager
def simulation_database(*, reset: bool = False) -> Iterator[Path]:
    """Every unit of work inside runs on the scratch database, migrated and loaded with routing/ first.
    It keeps its tickets between runs (`simulate sms ... TERIMA 1` answers the ticket of the run before);
    `reset` empties it first. Nothing reads it but the simulators: no worker, timer, failover or escalation."""
    from hotline.core.city import sync_routing
    from hotline.migrate import upgrade

    path, url = simulation_database_path(), simulation_database_url()
    if reset:
        dispose(url)
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
    with using_database(url):
        upgrade()
        with unit_of_work() as session:
            sync_routing(session, config=current_config())
        yield path


@dataclass
class SimulatedSms:
    to: str
    to_name: str | None
    purpose: str
    body: str


@dataclass
class SimulationResult:
    outcome: str | None
    ticket: dict[str, object] | None
    messages: list[SimulatedSms]


def simulate_sms(from_number: str, text: str) -> SimulationResult:
    config = current_config()
    with unit_of_work() as session:
        dispatch.use(session, dispatch.QUIET)  # keep the rows, send nothing
        inbound_id, _ = store_inbound_sms(
            session,
            provider="simulator",
            provider_sid=f"SIM{uuid.uuid4().hex}",
            from_raw=from_number,
            from_e164=sender_id(from_number, get_settings().default_region),
            to_number="simulator",
            body=text,
            payload={"From": from_number, "Body": text},
        )
        message = process_inbound(session, inbound_id=inbound_id, config=config)
        assert isinstance(message, InboundMessage)
        ticket = session.get(Ticket, message.ticket_id) if message.ticket_id else None
        return SimulationResult(
            message.outcome or message.status, ticket_summary(ticket) if ticket else None, simulated_messages(session)
        )


def simulated_messages(session: Session) -> list[SimulatedSms]:
    """The SMS queued in this unit of work (kept in the outbox as 'simulated', never sent)."""
    created = transaction_state(session).get(CREATED, [])
    if not created:
        return []
    stmt = select(OutboundMessage).where(OutboundMessage.id.in_(created)).order_by(OutboundMessage.id)
    rows = session.scalars(stmt).all()
    names = {m.id: m.name for m in session.scalars(select(Member))}
    out = []
    for row in rows:
        row.status = OutboundStatus.SIMULATED
        out.append(SimulatedSms(row.to_number, names.get(row.member_id or 0), row.purpose, row.body))
    return out


def ticket_summary(ticket: Ticket) -> dict[str, object]:
    return {
        "number": ticket.id,
        "status": ticket.status,
        "category": ticket.category,
        "priority": ticket.priority,
        "routing_rule": ticket.routing_rule,
        "location": ticket.location_text,
        "kecamatan": ticket.kecamatan,
    }
