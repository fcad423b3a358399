"""The one place where the kinds of timer are wired to the timer core (hotline/jobs/timers.py registers these
the first time it is asked for its kinds).

A new kind of deadline (a broadcast retry, a verification expiry) is a handler module with a `TimerKind` and
one line here; its rows are written with `hotline.core.deadlines.add(session, Due(kind, ref), at)`."""

from __future__ import annotations

from hotline.jobs import activation, alert_timers, escalation
from hotline.jobs.timer_kind import TimerKind

KINDS: tuple[TimerKind, ...] = (
    escalation.KIND,  # steps of a ticket's pinned escalation chain
    alert_timers.KIND,  # an alert with no delivery report in time moves to its next channel
    activation.KIND,  # a voice ticket's deadlines and URC alert, right after the caller's turn
)
