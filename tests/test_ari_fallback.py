"""Asterisk calls while the database cannot be reached (issue 18): the ARI app does not drop the call and does
not queue it for operators who could not take it (the console needs the database). It continues the channel in
the dialplan's fallback (config/asterisk/extensions.conf [hotline-fallback]: the desk phones, then a recorded
message), against the fake ARI, and spools the call, which has its row once the database is back."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from hotline.channels.ari.fallback_messages import keep_fallback_messages
from hotline.db import DATABASE_UNAVAILABLE, unit_of_work
from hotline.fakes.fake_ari import FakeAri, FakeRecording
from hotline.models import Call, Ticket
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


def _message(fake: FakeAri, channel: str, caller_digits: str = "081234567890") -> str:
    """What the dialplan's fallback leaves after a message: a stored recording named as extensions.conf names it."""
    name = f"hotline-fallback-20261207-101500-{caller_digits}-{channel}"
    fake.stored[name] = FakeRecording(name, channel, "wav", state="done", duration=9)
    return name


def _voice_tickets() -> list[tuple[str, str | None, str]]:
    with unit_of_work() as session:
        rows = session.execute(
            select(Call.provider_call_id, Call.recording_url, Ticket.reporter_phone)
            .join(Ticket, Ticket.id == Call.ticket_id)
            .where(Call.provider == "asterisk", Ticket.channel == "voice")
        )
        return [tuple(r) for r in rows]  # type: ignore[misc]


def test_the_message_the_fallback_recorded_becomes_a_voice_ticket_of_the_caller_once() -> None:
    """Issue 18: a call during an outage reaches an operator or records a message that is kept. Asterisk kept
    it on its disk only; the command center had to look in a folder. Now it is a ticket, as on Twilio."""

    async def scenario() -> tuple[str, int, int, int]:
        async with ari_line() as line:
            with database_unreachable():
                channel = await line.dial(CITIZEN)
            replay()  # the call's row, from the spool
            replayed()
            _message(line.fake, channel, caller_digits="")  # a caller id the dialplan could not read
            _message(line.fake, "1700000000.99")  # a call no app saw (the app away): a row from the name
            _message(line.fake, "1700000000.98", caller_digits="")  # ... from a withheld number
            line.fake.stored["hotline-1700000000.5-0"] = FakeRecording("hotline-1700000000.5-0", "x", "wav")
            first = await keep_fallback_messages(line.client, ari_url=line.fake.base_url)
            again = await keep_fallback_messages(line.client, ari_url=line.fake.base_url)
            with database_unreachable():  # a later message while the database is down again waits for it
                later = _message(line.fake, "1700000001.7")
                with pytest.raises(DATABASE_UNAVAILABLE):
                    await keep_fallback_messages(line.client, ari_url=line.fake.base_url)
            assert later in line.fake.stored
            last = await keep_fallback_messages(line.client, ari_url=line.fake.base_url)
            return channel, first, again, last

    channel, first, again, last = run(scenario())
    assert (first, again, last) == (3, 0, 1)
    tickets = {call_id: (url, reporter) for call_id, url, reporter in _voice_tickets()}
    assert set(tickets) == {channel, "1700000000.99", "1700000000.98", "1700000001.7"}  # not the call recording
    url, reporter = tickets[channel]
    assert reporter == CITIZEN  # the caller the app saw, not the name's empty digits
    assert url is not None and url.endswith(f"/ari/recordings/stored/hotline-fallback-20261207-101500--{channel}/file")
    assert tickets["1700000000.99"][1] == CITIZEN  # 081234567890 read in the city's region
    assert tickets["1700000000.98"][1] == ""  # no number to call back, the message still a ticket
    assert len(_calls()) == 4  # one row per call, nothing twice
