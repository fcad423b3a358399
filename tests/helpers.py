from __future__ import annotations

import secrets
from datetime import timedelta
from typing import Any

import anyio
import httpx
from sqlalchemy import func, select

from hotline import clock
from hotline.db import unit_of_work
from hotline.models import Agency, AlertAttempt, AlertDelivery, InboundMessage, OutboundMessage, Ticket, TicketEvent


def count(model: type, url: str | None = None) -> int:
    with unit_of_work(url) as s:
        return s.scalar(select(func.count()).select_from(model)) or 0


def ticket(number: int, url: str | None = None) -> Ticket:
    with unit_of_work(url) as s:
        found = s.get(Ticket, number)
        assert found is not None
        return found


def events(number: int) -> list[str]:
    with unit_of_work() as s:
        return list(s.scalars(select(TicketEvent.kind).where(TicketEvent.ticket_id == number).order_by(TicketEvent.id)))


def outbound(url: str | None = None) -> list[OutboundMessage]:
    with unit_of_work(url) as s:
        return list(s.scalars(select(OutboundMessage).order_by(OutboundMessage.id)))


def inbound() -> list[InboundMessage]:
    with unit_of_work() as s:
        return list(s.scalars(select(InboundMessage).order_by(InboundMessage.id)))


def sms_ticket(*, reporter: str, text: str, category: str, status: str = "routed") -> int:
    """A citizen's earlier SMS report, opened and routed by the services, then moved on to `status`."""
    from hotline.core.city import current_config
    from hotline.features.tickets.tickets import open_ticket, transition

    with unit_of_work() as session:
        t = open_ticket(
            session,
            config=current_config(),
            channel="sms",
            reporter=reporter,
            text=text,
            language="id",
            category=category,
        )
        if status != "routed":
            transition(session, ticket=t, target=status, actor="test")
        return t.id


def scrape(base_url: str) -> str:
    """/metrics after the database gauges were refreshed (the API's refresher does that every
    HOTLINE_METRICS_INTERVAL seconds; a scrape itself never counts)."""
    import httpx

    from hotline.metrics import refresh_database_metrics

    refresh_database_metrics()
    return httpx.get(f"{base_url}/metrics", timeout=10).text


def agency_id(code: str) -> int:
    with unit_of_work() as session:
        found = session.scalar(select(Agency.id).where(Agency.code == code))
        assert found is not None
        return found


def open_tickets(code: str, dues: list[timedelta], status: str = "routed") -> list[int]:
    """Open tickets of one agency whose running deadline is now + each delta (negative: late)."""
    now = clock.now()
    ids = []
    with unit_of_work() as session:
        for delta in dues:
            t = Ticket(
                channel="sms",
                reporter_phone="+6281200000" + secrets.token_hex(2),
                category="roads",
                status=status,
                agency_id=agency_id(code),
                routed_at=now - timedelta(hours=1),
                accept_due_at=now + delta,
                resolve_due_at=now + delta,
            )
            session.add(t)
            session.flush()
            ids.append(t.id)
    return ids


def alert_attempts(number: str) -> list[tuple[str, str]]:
    """(channel, status) of each attempt to reach a member's number, in the order of the failover list."""
    with unit_of_work() as s:
        delivery = s.scalar(select(AlertDelivery).where(AlertDelivery.phone == number))
        assert delivery is not None
        rows = s.scalars(
            select(AlertAttempt).where(AlertAttempt.delivery_id == delivery.id).order_by(AlertAttempt.position)
        )
        return [(a.channel, a.status) for a in rows]


class AsgiClient:
    """Requests straight into the ASGI app (no server, and not Starlette's deprecated TestClient)."""

    def __init__(self, app: Any):
        self.app = app

    def request(self, method: str, path: str) -> httpx.Response:
        async def send() -> httpx.Response:
            transport = httpx.ASGITransport(app=self.app)
            async with httpx.AsyncClient(transport=transport, base_url="http://hotline.test") as client:
                return await client.request(method, path)

        return anyio.run(send)

    def get(self, path: str) -> httpx.Response:
        return self.request("GET", path)

    def head(self, path: str) -> httpx.Response:
        return self.request("HEAD", path)

    def post(self, path: str) -> httpx.Response:
        return self.request("POST", path)
