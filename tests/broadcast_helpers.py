"""Running the broadcast sender in the test's process, and reading what it did."""

from __future__ import annotations

from sqlalchemy import select

from hotline.db import unit_of_work
from hotline.jobs.broadcast_sender import Sender, build_route
from hotline.models import BroadcastRecipient
from hotline.settings import get_settings


def send_broadcasts(sender: Sender | None = None, *, turns: int | None = None) -> Sender:
    """What `hotline worker`'s sender does, here: resume, then turns until nothing is due (or `turns` ran)."""
    sender = sender or Sender(build_route(), get_settings().broadcast_batch)
    sender.resume()
    done = 0
    while turns is None or done < turns:
        handled = sender.turn()
        assert handled >= 0, "tests run the sender without a TPS limit"
        if handled == 0:
            break
        done += 1
    sender.finish()
    return sender


def recipients(broadcast_id: int) -> list[BroadcastRecipient]:
    with unit_of_work() as session:
        rows = list(
            session.scalars(
                select(BroadcastRecipient)
                .where(BroadcastRecipient.broadcast_id == broadcast_id)
                .order_by(BroadcastRecipient.id)
            )
        )
        session.expunge_all()
    return rows


def statuses(broadcast_id: int) -> dict[str, str]:
    return {r.phone: r.status for r in recipients(broadcast_id)}
