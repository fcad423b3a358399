"""Tests that move `hotline.clock` forward instead of sleeping: set it, tick it, and the SMS that goes with it."""

from __future__ import annotations

from datetime import datetime, timedelta

from hotline import clock
from tests.conftest import Phone, drain_queue


def set_clock(moment: datetime) -> None:
    clock.reset()
    clock.advance(moment - clock.now())


def tick(minutes: float) -> None:
    """Move the clock, rebuild escalation timers from the database, run what is due."""
    from hotline.jobs.timers import reconcile

    clock.advance(timedelta(minutes=minutes))
    reconcile(only=["escalation"])
    drain_queue()


def sms(phone: Phone, sender: str, text: str) -> None:
    assert phone.sms(sender, text).status_code == 200
    drain_queue()
