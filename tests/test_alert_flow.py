"""The URC voice alert as a flow (tests/city/ivr_flows/urc_alert.yaml) on the pure engine: what the member hears
and what pressing 1 asks of the services (the `accept_ticket` node), whatever the transport. The same flow on
Twilio: tests/test_alert_failover.py; on Asterisk: tests/test_ari_voice_alert.py."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from hotline.cityconfig import load_city_config
from hotline.ivr import actions as a
from hotline.ivr.engine import start
from hotline.ivr.flow import Flow
from hotline.ivr.state import CallState
from hotline.ivr.turn import Turn, run_turn
from tests.city_files import config_errors, copy_city, edit
from tests.suite_city import CITY_DIR

FLOW: Flow = load_city_config(CITY_DIR).ivr_flows["urc_alert"]
MEMBER = "+6285700000111"


@dataclass
class Accepting:
    """A `CallServices` whose accept_ticket answers `outcome` (and the status after it); only accepting is used."""

    outcome: str = "accepted"
    status: str = "accepted"
    asked: list[a.AcceptTicket] = field(default_factory=list)

    def accept_ticket(self, action: a.AcceptTicket) -> a.AcceptAnswered:
        self.asked.append(action)
        return a.AcceptAnswered(self.outcome, self.status)

    def create_ticket(self, action: a.CreateTicket) -> int:
        raise AssertionError("an alert call opens no ticket")

    def update_ticket(self, action: a.UpdateTicket) -> None:
        raise AssertionError("an alert call changes no ticket")

    def send_sms(self, action: a.SendSms) -> None:
        raise AssertionError("an alert call sends no SMS")

    def screen_call(self, action: a.ScreenCall) -> None:
        raise AssertionError("an alert call is not screened")


def heard(turn: Turn) -> list[str]:
    """The turn's media, compactly: prompt keys, digits read out, and what it waits for."""
    out: list[str] = []
    for media in turn.media:
        if isinstance(media, a.Gather):
            out += [p.key for p in media.prompts] + [f"gather {media.max_digits} key, {media.timeout_seconds:g} s"]
        elif isinstance(media, a.Prompt):
            out.append(media.key)
        elif isinstance(media, a.ReadDigits):
            out.append(f"digits {media.digits}")
        else:
            out.append(type(media).__name__)
    return out


def begin(status: str = "routed", category: str | None = "fire") -> tuple[CallState, Turn]:
    turn = run_turn(FLOW, start(FLOW), a.Start(MEMBER, open_ticket=a.OpenTicket(12, status, category)), Accepting())
    return turn.state, turn


ALERT = ["alert_report_number", "digits 12", "alert_category_fire", "alert_press_1", "gather 1 key, 8 s"]


def test_the_alert_reads_the_report_and_asks_for_1() -> None:
    _, turn = begin()
    assert heard(turn) == ALERT
    _, unsorted = begin(category=None)  # routed before its kind was known: the number, then the question
    assert heard(unsorted) == ["alert_report_number", "digits 12", "alert_press_1", "gather 1 key, 8 s"]


def test_pressing_1_asks_the_services_to_accept_for_this_phone() -> None:
    state, _ = begin()
    services = Accepting()
    turn = run_turn(FLOW, state, a.Digits("1"), services)
    assert services.asked == [a.AcceptTicket(12, MEMBER)]
    assert heard(turn) == ["alert_accepted", "digits 12", "alert_accepted_next", "Hangup"]
    assert turn.state.ended and turn.state.outcome == "completed"


def test_accepted_by_someone_else_or_not_a_member_is_said_so() -> None:
    state, _ = begin()
    closed = run_turn(FLOW, state, a.Digits("1"), Accepting("closed", "accepted"))
    assert heard(closed) == ["alert_closed", "digits 12", "status_accepted", "alert_no_action", "Hangup"]
    refused = run_turn(FLOW, state, a.Digits("1"), Accepting("refused", "routed"))
    assert heard(refused) == ["alert_refused", "Hangup"]


def test_a_report_no_longer_waiting_is_not_asked_about() -> None:
    _, turn = begin(status="on_site")
    assert heard(turn) == ["alert_closed", "digits 12", "status_on_site", "alert_no_action", "Hangup"]


def test_no_key_hears_the_alert_again_then_how_to_accept_by_sms() -> None:
    state, _ = begin()
    services = Accepting()
    again = run_turn(FLOW, state, a.NoInput(), services)
    assert heard(again) == ALERT
    wrong = run_turn(FLOW, again.state, a.Digits("5"), services)
    assert heard(wrong) == ["alert_goodbye", "digits 12", "alert_thanks", "Hangup"] and services.asked == []


def test_9_says_it_in_english_and_0_is_an_operator() -> None:
    state, _ = begin()
    english = run_turn(FLOW, state, a.Digits("9"), Accepting())
    assert heard(english) == ALERT and {m.language for m in english.media if isinstance(m, a.Prompt)} == {"en"}
    operator = run_turn(FLOW, state, a.Digits("0"), Accepting())
    assert isinstance(operator.media[-1], a.Enqueue) and operator.media[-1].queue == "operators"


def test_the_check_refuses_accepting_before_the_call_knows_its_report(tmp_path: Path) -> None:
    city = copy_city(tmp_path, ("routing", "sms", "ivr_flows"))
    flow = city / "ivr_flows/urc_alert.yaml"
    edit(
        flow,
        "      - {when: {has_open_ticket: true}, next: check_status}\n    else: nothing_to_do",
        "      - {when: {has_open_ticket: true}, next: check_status}\n    else: accept",
    )
    errors = config_errors(city)
    assert any("urc_alert.yaml:" in e and "node accept can run before open_ticket_number is set" in e for e in errors)
    edit(flow, "    accepted: accepted\n", "    accepted: nowhere\n")
    assert any("'nowhere' is not a node" in e for e in config_errors(city))
