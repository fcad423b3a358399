"""The call service on the real database and Redis: calls become routed voice tickets, SMS leave through
the outbox after commit, partial reports are kept and marked, webhooks may repeat."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import delete, select

from hotline.core.city import current_config
from hotline.core.queue import queue, redis_connection
from hotline.db import unit_of_work
from hotline.features.calls.calls import UnknownCall, begin_call, call_log, continue_call
from hotline.ivr import actions as a
from hotline.ivr.media_json import media_from_json, media_to_json
from hotline.ivr.turn import Turn
from hotline.jobs.activation import activate_routed_ticket
from hotline.jobs.timers import fire_timer, reconcile
from hotline.models import Call, CallEvent, OutboundMessage, Ticket, TicketEvent
from tests.conftest import HOTLINE_NUMBER, drain_queue
from tests.farmers import empty_registry
from tests.helpers import count, events, outbound, sms_ticket, ticket
from tests.suite_city import members

pytestmark = pytest.mark.usefixtures("backend")  # real database and Redis, cleaned before each test

CITIZEN = "+6281234567890"
PMK = members("PMK")
PUPR = members("PUPR")
DESK = members("COMMAND")  # the command center: the default rule's team
FLOW = current_config().default_flow
assert FLOW is not None
HAPPY = ["2", "1", "2", "rec:12"]  # a report: roads, Bumiaji, a 12 s description (desa, street, what)


def event(text: str) -> a.Event:
    """'4' digits, '.' silence, 'rec:12' a 12 s recording, 'hangup', 'answered'/'unanswered' queue."""
    if text == ".":
        return a.NoInput()
    if text == "silence":  # no key and no voice (a listening Gather)
        return a.Silence()
    if text == "speech":  # a voice but no key (a listening Gather)
        return a.Speech("halo")
    if text.startswith("rec:"):
        return a.Recorded(f"https://api.twilio.com/rec/RE{text[4:]}", float(text[4:]))
    return {"hangup": a.HangUp(), "answered": a.QueueLeft(True), "unanswered": a.QueueLeft(False)}.get(
        text, a.Digits(text)
    )


@dataclass
class PhoneCall:
    """One call driven turn by turn, one unit of work per turn, as webhooks would."""

    sid: str
    caller: str = CITIZEN

    def begin(self) -> Turn:
        with unit_of_work() as session:
            _, turn = begin_call(
                session,
                provider="twilio",
                provider_call_id=self.sid,
                caller=self.caller,
                called=HOTLINE_NUMBER,
                config=current_config(),
            )
            return turn

    def send(self, what: str | a.Event, transcript: str | None = None) -> Turn:
        with unit_of_work() as session:
            return continue_call(
                session,
                provider="twilio",
                provider_call_id=self.sid,
                event=event(what) if isinstance(what, str) else what,
                config=current_config(),
                transcript=transcript,
            )

    def run(self, inputs: list[str]) -> list[Turn]:
        return [self.begin(), *self.run_on(inputs)]

    def run_on(self, inputs: list[str]) -> list[Turn]:
        return [self.send(x) for x in inputs]

    def row(self) -> Call:
        with unit_of_work() as session:
            call = session.scalar(select(Call).where(Call.provider_call_id == self.sid))
            assert call is not None
            return call

    def path(self) -> list[tuple[str, str | None]]:
        with unit_of_work() as session:
            return [(e.node, e.input) for e in call_log(session, call_id=self.row().id)]


def keys(turn: Turn) -> list[str]:
    """Prompt keys in the order they play (a menu's own prompts first), other media by their type."""
    out: list[str] = []
    for m in turn.media:
        if isinstance(m, a.Prompt):
            out.append(m.key)
            continue
        out += [p.key for p in m.prompts] if isinstance(m, a.Gather | a.Record) else []
        out.append(type(m).__name__)
    return out


def voice_tickets() -> list[Ticket]:
    with unit_of_work() as session:
        return list(session.scalars(select(Ticket).where(Ticket.channel == "voice").order_by(Ticket.id)))


def ticket_event(number: int, kind: str) -> TicketEvent:
    """The first event of this kind (by id: without an order PostgreSQL may give any of them)."""
    with unit_of_work() as session:
        stmt = select(TicketEvent).where(TicketEvent.ticket_id == number, TicketEvent.kind == kind)
        found = session.scalar(stmt.order_by(TicketEvent.id).limit(1))
        assert found is not None, (kind, events(number))
        return found


def existing_ticket(status: str = "routed", reporter: str = CITIZEN, category: str = "fire") -> int:
    return sms_ticket(reporter=reporter, text="KEBAKARAN", category=category, status=status)


# --- a whole call --------------------------------------------------------------------------------------


def test_a_full_call_opens_a_routed_voice_ticket_alerts_the_urc_and_texts_the_caller(fake_twilio: Any) -> None:
    call = PhoneCall("CA-full")
    turns = call.run(HAPPY)
    assert keys(turns[-1]) == ["your_number_is", "ReadDigits", "sms_sent", "goodbye", "Hangup"]  # the number once
    assert turns[-1].media[1] == FLOW.read_digits("1", "id")
    t = ticket(1)
    assert (t.channel, t.reporter_phone, t.category, t.kecamatan, t.desa, t.location_text) == (
        "voice",
        CITIZEN,
        "roads",
        "Bumiaji",
        None,
        "Kec. Bumiaji",
    )
    assert (t.status, t.routing_rule, t.priority, t.partial, t.partial_node) == (
        "routed",
        "roads-to-pupr",
        "normal",
        False,
        None,
    )
    # The caller's turn routed the ticket and queued their SMS; the deadlines and the URC alert follow in a
    # job right after that commit (activate_routed_ticket), so the caller hears the number sooner.
    assert (t.accept_due_at, t.escalation_chain) == (None, None)
    assert events(1) == ["created", "routed", "recording"]
    assert [(m.to_number, m.purpose, m.status) for m in outbound()] == [(CITIZEN, "reply", "queued")]
    activation, reply_sms = queue().get_jobs()
    assert (activation.func_name, activation.args) == ("hotline.jobs.timers.fire_timer", ("activation", 1, 0))
    assert reply_sms.func_name == "hotline.jobs.outbound.send_outbound_sms"
    assert activate_routed_ticket(1) == "activated" and activate_routed_ticket(1) == "nothing to do"
    t = ticket(1)
    assert t.accept_due_at == t.routed_at + timedelta(minutes=t.sla_accept_minutes or 0)  # from the routing
    assert t.escalation_chain  # pinned like an SMS ticket
    assert events(1) == ["created", "routed", "recording", "alerted"]
    assert ticket_event(1, "recording").data["url"] == "https://api.twilio.com/rec/RE12"

    # Nothing was sent during the call: the outbox rows leave after commit, through the queue.
    assert [(m.to_number, m.purpose, m.status) for m in outbound()] == [
        (CITIZEN, "reply", "queued"),
        (PUPR[0], "alert", "queued"),
        (PUPR[1], "alert", "queued"),
    ]
    assert fake_twilio.messages == []
    drain_queue()
    [reply] = fake_twilio.sent_to(CITIZEN)
    assert reply.body.startswith("Laporan No. 1 (Jalan, jembatan dan saluran) diterima, diteruskan ke DPUPR Kota Batu")
    for member in PUPR:
        [alert] = fake_twilio.sent_to(member)
        assert alert.body.startswith("Kec. Bumiaji. Jalan, jembatan dan saluran BIASA, No. 1.")  # the place first

    row = call.row()
    assert (row.provider, row.caller, row.called, row.status, row.outcome, row.stopped_at, row.ticket_id) == (
        "twilio",
        CITIZEN,
        HOTLINE_NUMBER,
        "completed",
        "completed",
        "goodbye",
        1,
    )
    assert (row.flow_id, row.flow_version) == (FLOW.id, FLOW.version)
    assert (row.recording_url, row.recording_seconds) == ("https://api.twilio.com/rec/RE12", 12.0)
    assert row.ended_at is not None and row.ended_at >= row.started_at
    assert call.path() == [
        ("greet", None),
        ("welcome", None),
        ("welcome", "2"),
        ("routine", None),
        ("routine", "1"),
        ("kecamatan", None),
        ("kecamatan", "2"),
        ("description", None),
        ("description", "recorded"),
        ("save", None),
        ("save", "ticket:1"),
        ("sms", None),
        ("number", None),
        ("goodbye", None),
    ]


def test_a_turn_whose_transaction_fails_leaves_no_ticket_and_sends_nothing() -> None:
    call = PhoneCall("CA-rollback")
    call.run(HAPPY[:-1])
    with pytest.raises(RuntimeError), unit_of_work() as session:
        turn = continue_call(
            session, provider="twilio", provider_call_id=call.sid, event=event("rec:12"), config=current_config()
        )
        assert turn.state.ticket_number == 1  # opened inside the transaction...
        raise RuntimeError("the webhook died before commit")
    assert count(Ticket) == 0 and count(OutboundMessage) == 0  # ...and gone with it
    assert queue().job_ids == []
    assert call.row().state["node"] == "description"  # the call waits where it was: a retry works
    assert keys(call.send("rec:12"))[0] == "your_number_is"
    [t] = voice_tickets()  # (its number may skip one: PostgreSQL sequences do not roll back)
    assert call.row().ticket_id == t.id and t.category == "roads"


def test_the_recording_transcript_becomes_the_ticket_text() -> None:
    call = PhoneCall("CA-words")
    call.run(HAPPY[:-1])
    call.send("rec:4", transcript="Jalan berlubang di depan balai desa")
    assert ticket(1).text == "Jalan berlubang di depan balai desa"
    assert call.row().recording_transcript == "Jalan berlubang di depan balai desa"


# --- the caller's open ticket --------------------------------------------------------------------------


def test_a_caller_with_an_open_ticket_hears_its_number_and_status() -> None:
    number = existing_ticket("accepted")
    call = PhoneCall("CA-status", caller="0812-3456-7890")  # the same citizen, written the national way
    assert keys(call.begin()) == ["welcome_known", "Gather"]  # offered by a key, never read out unasked
    turn = call.send("3")
    assert keys(turn) == ["open_ticket_intro", "ReadDigits", "status_accepted", "open_ticket_menu", "Gather"]
    assert turn.media[1] == FLOW.read_digits(str(number), "id")
    assert keys(call.send(".")) == ["goodbye", "Hangup"]
    assert count(Ticket) == 1  # nothing new
    assert ticket(number).partial is False
    assert call.row().ticket_id is None


def test_closed_tickets_are_not_read_out() -> None:
    existing_ticket("resolved")
    call = PhoneCall("CA-closed")
    assert keys(call.begin()) == ["welcome", "Gather"]  # no key 3: nothing open to hear about


def test_an_activation_lost_with_redis_is_redone_by_the_reconciler() -> None:
    PhoneCall("CA-lost").run(HAPPY)
    assert reconcile(only=["activation"]).requeued == 0  # its job is queued: on its way
    redis_connection().flushdb()  # Redis lost the activation job (a restart without AOF)
    assert reconcile(only=["activation"]).requeued == 1  # its timer is due and no job will run it: queued again
    assert reconcile(only=["activation"]).requeued == 0  # not twice
    drain_queue()
    t = ticket(1)
    assert t.escalation_chain and events(1)[-1] == "alerted"
    assert [m.to_number for m in outbound() if m.purpose == "alert"] == PUPR
    assert reconcile(only=["activation"]).pending_in_horizon == 0  # activated: its timer is gone, never twice

    # A routed ticket with a chain but no 'alerted' event (made outside the services) is not activated again.
    with unit_of_work() as s:
        s.execute(delete(TicketEvent).where(TicketEvent.ticket_id == 1, TicketEvent.kind == "alerted"))
    assert fire_timer("activation", 1) == "nothing to do" and activate_routed_ticket(1) == "nothing to do"


def test_a_withheld_number_hears_no_one_s_ticket_and_gets_no_sms() -> None:
    existing_ticket(reporter="anonymous")
    call = PhoneCall("CA-anon", caller="anonymous")
    turns = call.run(HAPPY)
    assert keys(turns[0])[0] == "welcome"
    [t] = voice_tickets()
    assert t.reporter_phone == "anonymous"
    drain_queue()  # the ticket's activation: the URC alert
    assert [m.purpose for m in outbound() if m.ticket_id == t.id] == ["alert", "alert"]  # the URC, not the caller


# --- hanging up anywhere -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Hangup:
    inputs: list[str]  # before the hang-up
    stopped_at: str
    ticket: str | None  # None: no ticket; "complete"; or "partial@<node>"
    open_ticket: bool = False
    outcome: str = "hung_up"
    caller: str = CITIZEN
    shield: str = ""  # "limit": the number used up its calls this hour; "silent": a silent call an hour ago
    farmer: bool = False  # the caller is in the farmer registry (issue 22)


LANDLINE = "+62341512345"  # Malang area code: no SMS reaches it


def register_farmer(phone: str) -> None:
    """The number in the farmer registry (hotline/features/farming/), as the console adds one."""
    from hotline.features.farming.registry import save_farmer

    empty_registry()
    with unit_of_work() as session:
        raw = {"name": "Pak Tani", "phone": phone, "desa": "Punten", "commodities": "apel"}
        save_farmer(session, config=current_config(), raw=raw, region="ID", actor="tests")


def shield_history(phone: str, kind: str) -> None:
    """What the junk-call shield knows of the number before the call (hotline/features/shield/shield.py)."""
    from datetime import timedelta

    from hotline.features.shield import shield
    from hotline.models import utcnow

    earlier = utcnow() - timedelta(minutes=10)
    with unit_of_work() as session:
        if kind == "limit":
            for _ in range(current_config().shield.calls_per_hour):
                shield.log_decision(session, phone=phone, decision="allowed", at=earlier)
        elif kind == "flag":
            shield.log_decision(session, phone=phone, decision="flagged", at=earlier, until=earlier + timedelta(days=1))
        elif kind == "silent":
            shield.log_decision(session, phone=phone, decision="silent_queued", at=earlier)


REPORT = ["2", "4", "3"]  # a report: other, Junrejo; resting at the recording
DONE = [*REPORT, "rec:9"]  # the flow finishes in the turn the recording arrives
PLACE = ["1", "unanswered", "2", "3"]  # an emergency; no operator in 30 s: landslide, Junrejo; at the desa menu
HANGUPS: dict[str, Hangup] = {
    "greet": Hangup([], "welcome", None),
    "welcome": Hangup([], "welcome", None),
    "welcome_known": Hangup([], "welcome_known", None, open_ticket=True),
    "welcome_farmer": Hangup([], "welcome_farmer", None, caller="+6285899077777", farmer=True),
    # the emergency ticket is complete as soon as it is opened; hanging up in the queue adds nothing
    **{
        node: Hangup(["1"], "emergency_queue", "complete") for node in ("emergency", "emergency_sms", "emergency_queue")
    },
    "emergency_category": Hangup(["1", "unanswered"], "emergency_category", "complete"),
    "emergency_kecamatan": Hangup(["1", "unanswered", "2"], "emergency_kecamatan", "partial@emergency_kecamatan"),
    **{node: Hangup(PLACE, "emergency_desa", "complete") for node in ("emergency_place", "emergency_desa")},
    "emergency_back": Hangup([*PLACE, "5"], "emergency_queue", "complete"),
    **{
        node: Hangup(["1", "unanswered", ".", ".", "unanswered"], "emergency_record", "complete")
        for node in ("emergency_details", "emergency_record")
    },
    "operator": Hangup(["0"], "operator", None),
    "operators_busy": Hangup(["0", "unanswered"], "operators_busy", None),
    "continue_report": Hangup(["2", "4", "0", "unanswered", "2"], "kecamatan", "partial@operator"),
    **{node: Hangup(["silence"], "silent_queue", None) for node in ("silent_check", "silent_first", "silent_queue")},
    "hello": Hangup(["silence"], "hello", None, shield="silent"),
    **{
        node: Hangup(["silence", "silence"], "silent_goodbye", None, outcome="completed", shield="silent")
        for node in ("silent_call", "silent_goodbye")
    },
    "routine": Hangup(["2"], "routine", None),
    "kecamatan": Hangup(["2", "4"], "kecamatan", "partial@kecamatan"),
    "description": Hangup(REPORT, "description", "partial@description"),
    **{node: Hangup(DONE, "goodbye", "complete", outcome="completed") for node in ("save", "sms", "number", "goodbye")},
    **{
        node: Hangup(["3"], "open_ticket_menu", None, open_ticket=True)
        for node in ("open_ticket_number", "open_ticket_status", "open_ticket_menu")
    },
    "goodbye_status": Hangup(["3", "."], "goodbye_status", None, open_ticket=True, outcome="completed"),
    # over the limits with an open report: the call starts at that report (the shield's `open_ticket`)
    "follow_up": Hangup([], "open_ticket_menu", None, open_ticket=True, shield="limit"),
    "over_limit": Hangup([], "over_limit_sms", None, shield="limit"),
    "over_limit_sms": Hangup([], "over_limit_sms", None, shield="limit"),
    "over_limit_callback": Hangup([], "over_limit_callback", None, caller=LANDLINE, shield="limit"),
    "over_limit_bye": Hangup(["."], "over_limit_bye", None, outcome="completed", shield="limit"),
}


def test_the_hangup_table_covers_every_node_of_the_flow() -> None:
    assert set(HANGUPS) == set(FLOW.nodes)


@pytest.mark.parametrize("node", sorted(HANGUPS))
def test_hanging_up_at_any_node_keeps_what_was_said_in_a_marked_ticket(
    node: str, request: pytest.FixtureRequest
) -> None:
    case = HANGUPS[node]
    earlier = existing_ticket("on_site") if case.open_ticket else None
    if case.shield:
        shield_history(case.caller, case.shield)
    if case.farmer:
        register_farmer(case.caller)
        request.addfinalizer(empty_registry)
    call = PhoneCall(f"CA-hangup-{node}", caller=case.caller)
    call.run(case.inputs)
    last = call.send("hangup")
    assert last.media == ()

    row = call.row()
    assert (row.status, row.outcome, row.stopped_at) == ("completed", case.outcome, case.stopped_at)
    path = call.path()
    assert node in {n for n, _ in path}
    if case.outcome == "hung_up":
        assert (case.stopped_at, "hangup") in path
    tickets = voice_tickets()
    collected = any(row.state["fields"].get(k) for k in ("category", "kecamatan", "desa", "recording_url"))
    emergency = ("emergency", None) in path
    assert bool(tickets) == (collected or emergency)  # something worth keeping was said, or the emergency key
    if case.ticket is None:
        assert tickets == [] and row.ticket_id is None
    else:
        [t] = tickets
        assert row.ticket_id == t.id and t.status == "routed"
        assert (f"partial@{t.partial_node}" if t.partial else "complete") == case.ticket
        if t.partial:
            partial = ticket_event(t.id, "partial")
            assert partial.data["node"] == t.partial_node and partial.note == f"call ended at node {t.partial_node}"
    if earlier is not None:
        assert ticket(earlier).partial is False and ticket(earlier).status == "on_site"


def test_a_partial_ticket_is_completed_when_the_caller_finishes_after_the_queue() -> None:
    call = PhoneCall("CA-resume")
    call.run(["2", "1", "0"])  # the operator key at the kecamatan: the category is saved first
    t = ticket(1)
    assert (t.partial, t.partial_node, t.category) == (True, "operator", "roads")
    assert ticket_event(1, "partial").data["reason"] == "operator"
    assert call.row().status == "queued"
    call.send("unanswered")  # operators busy
    for step in ("2", "1", "rec:5"):  # 2: carry on where the caller left it (the kecamatan)
        turn = call.send(step)
    assert keys(turn)[-1] == "Hangup"
    t = ticket(1)
    assert (t.partial, t.partial_node, t.kecamatan, t.desa) == (False, None, "Batu", None)
    drain_queue()  # the ticket's activation: deadlines and the URC alert
    assert events(1) == [
        "created",
        "routed",
        "partial",
        "place_changed",
        "info_added",
        "recording",
        "partial_cleared",
        "alerted",
    ]
    assert [m.purpose for m in outbound() if m.to_number == CITIZEN] == ["reply"]


# --- emergencies and the operator queue ----------------------------------------------------------------


def test_the_emergency_key_opens_a_critical_ticket_alerts_the_command_center_and_queues_the_caller_first(
    fake_twilio: Any,
) -> None:
    call = PhoneCall("CA-emergency")
    turns = call.run(["1"])
    assert keys(turns[-1]) == ["emergency_hold", "Enqueue"]  # within the first key: no number read out
    assert turns[-1].media[-1] == a.Enqueue("operators", None, 30, "emergency")
    t = ticket(1)
    assert (t.category, t.urgent, t.priority, t.status, t.partial) == (None, True, "critical", "routed", False)
    assert t.routing_rule == "default-command-center"  # no category yet: the command center
    row = call.row()
    assert (row.status, row.queue_priority, row.ticket_id) == ("queued", "emergency", 1)
    assert row.queued_at is not None

    drain_queue()  # the activation job: the desk is alerted; the caller gets the number by SMS
    assert events(1) == ["created", "routed", "alerted"]
    for member in DESK:
        [alert] = fake_twilio.sent_to(member)
        assert "No. 1." in alert.body and alert.body.startswith("LOKASI BELUM DIKETAHUI")
    [sms] = fake_twilio.sent_to(CITIZEN)
    assert sms.body.startswith("Hotline Kota Batu: laporan darurat Anda kami terima, No. 1.")

    assert call.send("answered").media == ()
    row = call.row()
    assert (row.status, row.outcome, row.stopped_at, row.ended_at) == (
        "with-operator",
        "operator",
        "emergency_queue",
        None,
    )
    assert call.send("hangup").media == ()  # the operator's call ends: Twilio's status callback
    row = call.row()
    assert (row.status, row.outcome) == ("completed", "operator") and row.ended_at is not None
    assert (ticket(1).partial, count(Ticket)) == (False, 1)


def test_nobody_answers_an_emergency_in_30_s_what_and_where_reach_the_ticket_and_the_team(
    fake_twilio: Any,
) -> None:
    call = PhoneCall("CA-emergency-busy")
    call.run(["1"])
    drain_queue()  # the command center has the alert
    first_queued = call.row().queued_at
    assert keys(call.send("unanswered"))[0] == "ask_emergency_category"
    call.send("1")  # fire
    turn = call.send("2")  # Bumiaji: category and kecamatan reach the ticket now
    assert keys(turn)[0] == "ask_desa"
    t = ticket(1)
    assert (t.category, t.priority, t.kecamatan, t.location_text, t.routing_rule) == (
        "fire",
        "critical",
        "Bumiaji",
        "Kec. Bumiaji",
        "fire-to-pmk",
    )
    assert call.row().status == "in-progress"  # answering the menu: out of the queue for a moment
    drain_queue()
    for member in PMK:  # the fire brigade gets the report with its place
        [alert] = fake_twilio.sent_to(member)
        assert alert.body.startswith("Kec. Bumiaji. Kebakaran KRITIS, No. 1.")
    back = call.send("6")  # Punten: back in the queue for the rest of the wait
    assert keys(back) == ["emergency_hold", "Enqueue"]
    assert back.media[-1] == a.Enqueue("operators", None, 90, "emergency")
    t = ticket(1)
    assert (t.desa, t.location_text, t.partial) == ("Punten", "Punten, Kec. Bumiaji", False)
    row = call.row()
    assert (row.status, row.queue_priority, row.queued_at) == ("queued", "emergency", first_queued)  # kept its turn
    assert events(1) == [  # the desk hears the kecamatan, the fire brigade is alerted with it, then hears the desa
        "created", "routed", "alerted", "place_changed", "category_set", "routed", "alerted", "info_added",
        "place_changed", "info_added",
    ]  # fmt: skip
    assert ticket_event(1, "info_added").data == {"channel": "voice", "kecamatan": "Bumiaji", "category": "fire"}
    assert [m.purpose for m in outbound() if m.to_number == CITIZEN] == ["reply"]  # one SMS per call
    assert count(Ticket) == 1


def test_hanging_up_during_the_place_questions_keeps_what_was_said() -> None:
    call = PhoneCall("CA-emergency-hangup")
    call.run(["1", "unanswered", "2", "hangup"])
    t = ticket(1)
    assert (t.category, t.partial, t.partial_node) == ("landslide", True, "emergency_kecamatan")


def test_the_operator_queue_serves_emergencies_then_talkers_then_silent_callers_then_screened_numbers() -> None:
    from hotline.features.calls.call_queue import waiting_calls

    flagged = "+6281200000004"
    shield_history(flagged, "flag")
    calls = [  # oldest first: the queue must not serve them in this order
        ("screened", PhoneCall("CA-q-flagged", caller=flagged), ["speech"]),
        ("silent", PhoneCall("CA-q-silent", caller="+6281200000003"), ["silence"]),
        ("talker", PhoneCall("CA-q-talker", caller="+6281200000002"), ["speech"]),
        ("fire", PhoneCall("CA-q-fire", caller="+6281200000001"), ["1"]),
        ("flood", PhoneCall("CA-q-flood", caller="+6281200000005"), ["1"]),
    ]
    for _, call, inputs in calls:
        call.run(inputs)
    calls[3][1].run_on(["unanswered", ".", "."])  # the first emergency left to answer the place menus and came back
    with unit_of_work() as session:
        waiting = waiting_calls(session)
    by_sid = {c.sid: name for name, c, _ in calls}
    assert [(by_sid[w.provider_call_id], w.priority) for w in waiting] == [
        ("fire", "emergency"),
        ("flood", "emergency"),
        ("talker", "normal"),
        ("silent", "silent"),
        ("screened", "screened"),
    ]
    assert [w.last for w in waiting] == [False, False, False, False, True]
    assert [w.ticket_number is not None for w in waiting] == [True, True, False, False, False]


def test_a_ticket_that_cannot_be_opened_gets_an_apology_and_the_operator(monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("routing table is gone")

    monkeypatch.setattr("hotline.features.calls.call_tickets.open_or_merge", broken)
    call = PhoneCall("CA-failed")
    turns = call.run(HAPPY)
    assert keys(turns[-1]) == ["technical_problem", "please_hold", "Enqueue"]
    assert count(Ticket) == 0 and count(OutboundMessage) == 0
    row = call.row()  # the rest of the turn was committed: the call is in the queue with its path
    assert (row.status, row.ticket_id) == ("queued", None)
    assert ("save", "ticket_failed") in call.path()


# --- webhooks that repeat, come late, or name no call --------------------------------------------------


def test_a_repeated_begin_answers_with_the_stored_turn_without_stepping() -> None:
    call = PhoneCall("CA-again")
    first = call.begin()
    again = call.begin()
    assert again.media == first.media and keys(again) == ["welcome", "Gather"]
    assert again.state == first.state
    menu = call.send("2")
    retried = call.begin()  # Twilio retries the first webhook after the caller moved on
    assert retried.media == menu.media and keys(retried)[0] == "ask_category"
    assert count(Call) == 1
    assert len(call.path()) == len(menu.state.path) == 4


def test_events_after_the_call_ended_change_nothing() -> None:
    call = PhoneCall("CA-late")
    call.run(HAPPY)
    before = (call.row().state, events(1), len(outbound()), count(CallEvent))
    for late in ("1", "hangup", "rec:3", "."):
        turn = call.send(late)
        assert (turn.media, turn.actions) == ((), ())
    assert (call.row().state, events(1), len(outbound()), count(CallEvent)) == before
    assert call.row().status == "completed"


def test_an_unknown_call_is_a_domain_error() -> None:
    PhoneCall("CA-known").begin()
    with pytest.raises(UnknownCall, match="no twilio call 'CA-nobody'") as raised, unit_of_work() as session:
        continue_call(
            session, provider="twilio", provider_call_id="CA-nobody", event=a.Digits("1"), config=current_config()
        )
    assert isinstance(raised.value, LookupError) and raised.value.provider_call_id == "CA-nobody"
    with pytest.raises(UnknownCall), unit_of_work() as session:  # the id is only unique per provider
        continue_call(
            session, provider="asterisk", provider_call_id="CA-known", event=a.Digits("1"), config=current_config()
        )


def test_the_stored_media_round_trip_through_json() -> None:
    call = PhoneCall("CA-media")
    turns = call.run(["2", "1", "2", "rec:4"])
    media = [m for turn in turns for m in turn.media]
    assert {type(m) for m in media} >= {a.Gather, a.Prompt, a.ReadDigits, a.Record, a.Hangup}
    assert media_from_json(media_to_json(tuple(media))) == tuple(media)
    assert media_from_json(call.row().last_media) == turns[-1].media
