"""`hotline simulate call`: the IVR in the terminal, driven by typed lines (CliRunner input and a real pipe),
on the real services and database; SMS are shown and kept as 'simulated', never sent."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from hotline.cli import app
from hotline.core.queue import queue
from hotline.db import dispose
from hotline.models import Ticket
from hotline.simulate import simulation_database_path, simulation_database_url
from tests.conftest import drain_queue
from tests.helpers import count, outbound, ticket
from tests.suite_city import choice, prompt

pytestmark = pytest.mark.usefixtures("backend", "fresh_simulation")

runner = CliRunner()


def sim() -> str:
    """The simulators' own database (hotline/simulate.py), not the suite's."""
    return simulation_database_url()


@pytest.fixture
def fresh_simulation() -> None:
    """Each test starts the simulation database empty, as `--reset` would."""
    dispose(sim())
    for suffix in ("", "-wal", "-shm"):
        Path(f"{simulation_database_path()}{suffix}").unlink(missing_ok=True)


def said(key: str, language: str = "id") -> str:
    """The line the simulator prints when the flow plays `key`, with the suite's text for it."""
    return f"  [{key}] {prompt(key, language)}"


def simulate(typed: list[str], *options: str) -> str:
    result = runner.invoke(app, ["simulate", "call", *options], input="".join(f"{line}\n" for line in typed))
    assert result.exit_code == 0, result.output
    return result.output


def test_a_whole_report_typed_in_the_terminal(fake_twilio: Any) -> None:
    out = simulate(["2", "1", "2", "Jalan berlubang di depan balai desa"], "--from", "0812-3456-7890")
    lines = out.splitlines()
    assert said("welcome") in lines
    assert f"  [choice_category_routine_roads] {choice('category', 'Jalan, jembatan dan saluran', 1)}" in lines
    assert "keys> 1" in lines and "say> Jalan berlubang di depan balai desa" in lines
    assert "  [beep]" in lines
    assert lines.count(f"  [digits 1] {prompt('digit_1')}") == 1  # the number once: the SMS has it too
    assert "  [hangup] the hotline ends the call" in lines
    assert "call: status=completed outcome=completed stopped_at=goodbye" in lines
    assert "ticket #1: status=routed category=roads priority=normal rule=roads-to-pupr location=Kec. Bumiaji" in lines
    assert "recording transcript: Jalan berlubang di depan balai desa" in lines
    assert "Laporan No. 1 (Jalan" in out and "Kec. Bumiaji. Jalan, jembatan" in out and "Koordinator URC PUPR" in out

    t = ticket(1, sim())
    assert (t.channel, t.reporter_phone, t.text) == ("voice", "+6281234567890", "Jalan berlubang di depan balai desa")
    assert [(m.purpose, m.status) for m in outbound(sim())] == [("alert", "simulated")] * 2 + [("reply", "simulated")]
    assert queue().job_ids == []  # nothing was released to be sent
    drain_queue()
    assert fake_twilio.messages == []


def test_silence_is_re_prompted_and_the_end_of_input_hangs_up() -> None:
    out = simulate(["2", "", "", ""])  # a report, then the category menu three times; no answer in the queue
    lines = out.splitlines()
    assert lines.count(said("no_input")) == 2
    assert "  [queue operators] waiting for an operator (up to 120 s)" in lines
    assert "  [you hung up]" in lines
    assert "call: status=completed outcome=hung_up stopped_at=operator" in lines
    assert "no ticket" in lines and "no SMS would be sent" in lines
    assert count(Ticket, sim()) == 0


def test_h_hangs_up_and_keeps_a_partial_ticket() -> None:
    out = simulate(["2", "4", "3", "h"])
    lines = out.splitlines()
    assert "say> h" in lines and "  [you hung up]" in lines
    assert "call: status=completed outcome=hung_up stopped_at=description" in lines
    assert "description: hangup" in next(line for line in lines if line.startswith("path: "))
    assert any(line.startswith("ticket #1:") and line.endswith("PARTIAL (stopped at description)") for line in lines)
    t = ticket(1, sim())
    assert (t.partial, t.partial_node, t.kecamatan, t.category) == (True, "description", "Junrejo", "other")
    assert "Supervisor Command Center" in out  # the command center is alerted even so


def test_the_emergency_key_queues_the_caller_with_an_alerted_critical_ticket_and_reads_no_number() -> None:
    out = simulate(["abc", "1", "y"])
    lines = out.splitlines()
    assert "  (not understood; Enter alone for silence, speak to say something, h to hang up)" in lines
    assert said("emergency_hold") in lines
    queued = lines.index("  [queue operators] waiting for an operator (up to 30 s)")
    assert lines[queued - 1] == said("emergency_hold")
    assert not any(line.startswith("  [digits") for line in lines)  # the number goes by SMS only
    assert "operator answers? [y/N/h] y" in lines
    assert "call: status=completed outcome=operator stopped_at=emergency_queue" in lines
    t = ticket(1, sim())
    assert (t.category, t.priority, t.routing_rule, t.urgent) == (None, "critical", "default-command-center", True)
    assert "Supervisor Command Center" in out and "Operator Command Center" in out  # the alert, at once
    assert "laporan darurat Anda kami terima, No. 1." in out  # the caller's SMS


def test_the_place_when_no_operator_answers_in_30_s() -> None:
    out = simulate(["1", "", "2", "3", "5", "y"])  # landslide, Junrejo, Tlekung, then an operator
    lines = out.splitlines()
    assert said("ask_emergency_category") in lines and said("ask_desa") in lines
    assert "  [queue operators] waiting for an operator (up to 90 s)" in lines
    t = ticket(1, sim())
    place = ("landslide", "Junrejo", "Tlekung", "Tlekung, Kec. Junrejo")
    assert (t.category, t.kecamatan, t.desa, t.location_text) == place
    assert t.routing_rule == "disasters-to-bpbd" and "Ketua TRC BPBD" in out  # re-routed to its team, alerted


def test_english_from_the_start_and_the_open_ticket_by_its_key() -> None:
    simulate(["2", "2", "3"])  # a first report (waste, Junrejo), left at the recording: an open, partial ticket
    out = simulate(["3", ""], "--lang", "en")  # ...then the same number calls again and presses 3
    lines = out.splitlines()
    assert said("welcome_known", "en") in lines
    assert said("open_ticket_intro", "en") in lines
    assert f"  [digits 1] {prompt('digit_1', 'en')}" in lines
    assert "heard the status of open ticket #1" in lines and "no ticket" in lines
    again = simulate(["2", "h"])  # a known caller who wants a new report is not read the old one
    assert "heard the status" not in again and said("open_ticket_intro") not in again.splitlines()


def test_an_unknown_language_is_refused() -> None:
    result = runner.invoke(app, ["simulate", "call", "--lang", "jv"], input="")
    assert result.exit_code == 2
    assert "--lang must be one of id, en" in result.output


def test_piped_stdin_to_the_real_command() -> None:
    typed = "\n".join(["9", "2", "2", "1", "Rubbish piled up by the market"]) + "\n"
    done = subprocess.run(
        [sys.executable, "-m", "hotline", "simulate", "call", "--from", "081299990000"],
        input=typed,
        capture_output=True,
        text=True,
        timeout=120,
        env=dict(os.environ),
    )
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert "keys> 9" in lines and said("ask_category", "en") in lines
    assert "ticket #1: status=routed category=waste priority=low rule=waste-to-dlh location=Kec. Batu" in lines
    assert ticket(1, sim()).reporter_phone == "+6281299990000" and ticket(1, sim()).language == "en"


def test_a_silent_first_time_caller_is_queued_for_an_operator_with_no_ticket() -> None:
    out = simulate([""])  # no key and no voice
    lines = out.splitlines()
    assert said("please_hold") in lines
    assert "  [queue operators] waiting for an operator (up to 120 s)" in lines
    assert "call: status=completed outcome=hung_up stopped_at=silent_queue" in lines
    assert "no ticket" in lines and "no SMS would be sent" in lines  # no report, no alert, no accusing text
    assert count(Ticket, sim()) == 0


def test_a_repeat_silent_caller_is_asked_once_more_and_speaking_reaches_an_operator() -> None:
    simulate([""])  # the first silent call from this number
    out = simulate(["", "speak halo?", "h"])
    lines = out.splitlines()
    assert said("silence_hello") in lines
    assert "  [queue operators] waiting for an operator (up to 120 s)" in lines
    silent_again = simulate(["", ""])
    assert any(line.startswith("  [silent_goodbye] ") for line in silent_again.splitlines())
    assert "call: status=completed outcome=completed stopped_at=silent_goodbye" in silent_again.splitlines()
