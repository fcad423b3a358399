"""The edge picks where a transaction's work goes (hotline/core/dispatch.py, issue 16): the workers' queue, or the
simulator's quiet dispatcher, which keeps the rows and releases nothing. The same call through the real call
service on both: the domain code is the same, only the wiring differs."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from hotline.core import dispatch
from hotline.core.city import current_config
from hotline.core.queue import queue
from hotline.db import unit_of_work
from hotline.features.calls.calls import begin_call, continue_call
from hotline.ivr import actions as a
from hotline.models import OutboundMessage, OutboundStatus, Timer
from tests.conftest import HOTLINE_NUMBER, drain_queue
from tests.helpers import events

pytestmark = pytest.mark.usefixtures("backend")

CITIZEN = "+6281234567890"
# A report (roads, Bumiaji, a 12 s description): the caller hears the number first, the team is alerted after.
REPORT: list[a.Event] = [
    a.Digits("2"),
    a.Digits("1"),
    a.Digits("2"),
    a.Recorded("https://api.twilio.com/rec/RE1", 12.0),
]


def _call(dispatcher: dispatch.Dispatcher | None) -> None:
    for event in [None, *REPORT]:
        with unit_of_work() as s:
            if dispatcher is not None:
                dispatch.use(s, dispatcher)
            if event is None:
                begin_call(
                    s,
                    provider="console",
                    provider_call_id="SIM1",
                    caller=CITIZEN,
                    called=HOTLINE_NUMBER,
                    config=current_config(),
                )
            else:
                continue_call(s, provider="console", provider_call_id="SIM1", event=event, config=current_config())


def _timer_kinds() -> set[str]:
    with unit_of_work() as s:
        return set(s.scalars(select(Timer.kind)))


def _outbox() -> set[str]:
    with unit_of_work() as s:
        return set(s.scalars(select(OutboundMessage.status)))


def test_by_default_the_work_goes_to_the_workers_after_commit() -> None:
    _call(None)
    assert "alerted" not in events(1)  # the caller's number first: the alert follows on a deadline due now
    assert "activation" in _timer_kinds()
    assert queue().job_ids  # the citizen's SMS and the activation are on their way
    drain_queue()
    assert "alerted" in events(1) and OutboundStatus.SENT in _outbox()


def test_the_quiet_dispatcher_keeps_the_rows_and_releases_nothing() -> None:
    _call(dispatch.QUIET)
    assert "alerted" in events(1)  # no deadline will fire: the alert is made at once, in the turn
    assert _timer_kinds() == set()  # neither activation, failover nor the escalation chain's steps
    assert queue().job_ids == []
    assert _outbox() == {OutboundStatus.QUEUED}  # kept; the simulator marks them its own (hotline/simulate.py)
