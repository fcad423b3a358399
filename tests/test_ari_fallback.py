"""Asterisk calls while the database cannot be reached (issue 18): the ARI app does not drop the call and does
not queue it for operators who could not take it (the console needs the database). It continues the channel in
the dialplan's fallback (config/asterisk/extensions.conf [hotline-fallback]: the desk phones, then a recorded
message), against the fake ARI, and spools the call, which has its row once the database is back."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from hotline.db import unit_of_work
from hotline.models import Call
from hotline.spool.replay import replay
from hotline.spool.store import current_spool
from tests.ari_harness import ari_line, requires_ari_docs, run
from tests.outage import database_unreachable, empty_spool, replayed

pytestmark = requires_ari_docs

CITIZEN = "+6281234567890"
FALLBACK = ("hotline-fallback", "s", 1)


@pytest.fixture(autouse=True)
def _backend(backend: dict[str, Any]) -> None:
    empty_spool()


def _calls() -> list[Call]:
    with unit_of_work() as session:
        return list(session.scalars(select(Call).where(Call.provider == "asterisk")))


def test_a_call_arriving_while_the_database_is_down_goes_to_the_dialplan_fallback_and_is_kept() -> None:
    async def scenario() -> tuple[str, tuple[str, str, int] | None, list[tuple[str, str]]]:
        async with ari_line() as line:
            with database_unreachable():
                channel = await line.dial(CITIZEN)
                assert current_spool().depth() == 1
            asked = [(r.method, r.operation) for r in line.requests(channel)]
            return channel, line.fake.channels[channel].dialplan, asked

    channel, dialplan, asked = run(scenario())
    assert dialplan == FALLBACK  # on to the desk phones and the recorded message, in Asterisk itself
    assert ("POST", "continueInDialplan") in asked
    assert ("DELETE", "hangup") not in asked  # never dropped
    replay()  # or the replayer of an app server in this process
    replayed()
    [call] = _calls()
    assert (call.provider_call_id, call.caller, call.stopped_at) == (channel, CITIZEN, "outage_fallback")
    assert replay().stored == 0  # nothing left, nothing twice


def test_a_call_whose_database_goes_away_mid_call_goes_to_the_fallback_at_its_next_step() -> None:
    async def scenario() -> tuple[str, tuple[str, str, int] | None, bool]:
        async with ari_line() as line:
            channel = await line.dial(CITIZEN)
            await line.press(channel, "2")  # the welcome's "a report": the category menu
            with database_unreachable():
                await line.press(channel, "1")  # the answer cannot be kept
                assert current_spool().depth() == 1
            return channel, line.fake.channels[channel].dialplan, channel in line.app.calls

    channel, dialplan, still_ours = run(scenario())
    assert dialplan == FALLBACK and not still_ours
    replay()
    replayed()
    [call] = _calls()  # the row the call had before the outage
    assert call.provider_call_id == channel
