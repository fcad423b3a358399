"""Attention in real Chromium (issue 19): a tone (WebAudio, counted by wrapping OscillatorNode.start) and a desktop
notification (counted by wrapping window.Notification) for a caller who joins the queue and a report that becomes
critical; the operator's mute, kept across pages; queue rows coloured and labelled by urgency and the shield."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest

from hotline.db import unit_of_work
from hotline.models import Call, CallScreening
from hotline.models.base import utcnow
from tests.accounts import make_user
from tests.conftest import Caller, Phone, drain_queue
from tests.screens import shot
from tests.test_console_browser import expect, page, pytestmark, sign_in  # noqa: F401

# Runs before the console's script on every page: what the page played and showed is kept for the test to read
# (page.evaluate reads it; wait_for_function would need 'unsafe-eval', which the console's CSP refuses).
INSTRUMENT = """
window.__tones = 0;
window.__notes = [];
const realStart = OscillatorNode.prototype.start;
OscillatorNode.prototype.start = function (...args) { window.__tones += 1; return realStart.apply(this, args); };
const RealNotification = window.Notification;
window.Notification = class extends RealNotification {
  constructor(title, options) {
    window.__notes.push({ title, body: (options || {}).body || "" });
    document.documentElement.dataset.notes = String(window.__notes.length);  // for expect() to wait on
    super(title, options);
  }
};
"""


@pytest.fixture
def alerted(browser: Any, server: str) -> Iterator[Any]:
    """A tab whose site may show notifications (as after "Turn on notifications"), instrumented."""
    size = {"width": 1366, "height": 768}
    context = browser.new_context(base_url=server, viewport=size, permissions=["notifications"])
    context.set_default_timeout(10_000)
    context.add_init_script(INSTRUMENT)
    tab = context.new_page()
    yield tab
    shot(tab, "last")
    context.close()


def notes(tab: Any) -> list[str]:
    return [n["title"] for n in tab.evaluate("window.__notes")]


def test_a_new_caller_and_a_critical_report_ring_and_notify(alerted: Any, phone: Phone) -> None:
    make_user("ani", "operator")
    sign_in(alerted, "ani")
    expect(alerted.locator("#notify-button")).to_have_text("Pemberitahuan aktif")  # allowed already: nothing to ask
    expect(alerted.locator("#sound-toggle")).to_have_text("Suara: nyala")
    expect(alerted.locator("#live-status")).to_have_attribute("data-state", "on")
    assert alerted.evaluate("window.__tones") == 0  # nothing happened yet: no sound
    caller = Caller(phone)
    caller.dial()
    caller.press("1")  # the emergency key: critical ticket #1, and the caller waits for an operator
    expect(alerted.locator("html")).to_have_attribute("data-notes", "2")
    assert sorted(notes(alerted)) == ["Laporan kritis #1", "Penelepon baru di antrean"]
    assert alerted.evaluate("window.__tones") > 0
    row = alerted.locator("#queue tr[data-call]")
    expect(row).to_have_class(re.compile(r"\bq-critical\b"))
    expect(row).to_contain_text("darurat")  # in words too, not by colour alone
    shot(alerted, "rang")
    drain_queue()


def test_muted_no_tone_but_a_critical_sms_report_still_notifies(alerted: Any, phone: Phone) -> None:
    make_user("ani", "operator")
    sign_in(alerted, "ani")
    sound = alerted.locator("#sound-toggle")
    sound.click()
    expect(sound).to_have_text("Suara: mati")
    expect(sound).to_have_attribute("aria-pressed", "true")
    alerted.goto("/console/tickets")  # kept for the operator across pages (localStorage)
    expect(sound).to_have_text("Suara: mati")
    expect(alerted.locator("#live-status")).to_have_attribute("data-state", "on")
    assert phone.sms("+6281234567890", "KEBAKARAN di Jl. Diponegoro 12 Sisir").status_code == 200
    drain_queue()  # the worker's part: the SMS becomes ticket #1, a fire, critical
    expect(alerted.locator("html")).to_have_attribute("data-notes", "1")
    assert notes(alerted) == ["Laporan kritis #1"]
    assert alerted.evaluate("window.__notes[0].body").startswith("Kebakaran")
    assert alerted.evaluate("window.__tones") == 0  # muted: the tone is played before the notice, so none came
    shot(alerted, "muted")


def _queued(caller: str, minutes: int, priority: str = "normal", category: str | None = None) -> int:
    with unit_of_work() as session:
        call = Call(
            provider="twilio",
            provider_call_id=f"CA{caller[-6:]}",
            caller=caller,
            flow_id="kota_batu",
            flow_version="v",
            state={"fields": {"category": category}} if category else {},
            status="queued",
            queue_priority=priority,
            queued_at=utcnow() - timedelta(minutes=minutes),
        )
        session.add(call)
        session.flush()
        return call.id


def test_queue_rows_by_urgency_and_shield_longest_waiting_first(page: Any) -> None:  # noqa: F811
    _queued("+6281200000001", 1, "emergency")
    _queued("+6281200000002", 5, category="roads")
    _queued("+6281200000003", 3, category="landslide")
    _queued("+6281200000004", 2, category="flood")
    held = _queued("+6281200000005", 10)
    with unit_of_work() as session:
        session.add(CallScreening(phone="+6281200000005", call_id=held, decision="queued_last", reason="over_hour"))
    make_user("ani", "operator")
    sign_in(page, "ani")
    rows = page.locator("#queue tr[data-call]")
    expect(rows).to_have_count(5)
    # Emergencies, then everyone who talks by how long they have waited, then the shield's: served last.
    callers = [t.split()[0] for t in rows.all_inner_texts()]
    assert callers == ["+6281200000001", "+6281200000002", "+6281200000003", "+6281200000004", "+6281200000005"]
    levels = [rows.nth(i).get_attribute("data-urgency") for i in range(5)]
    assert levels == ["critical", "normal", "critical", "high", "normal"]
    expect(rows.nth(2)).to_contain_text("kritis")
    expect(rows.nth(3)).to_contain_text("prioritas tinggi")
    expect(rows.nth(4)).to_have_class(re.compile(r"\bq-shield\b"))
    expect(rows.nth(4)).to_contain_text("ditahan saringan panggilan iseng: dilayani terakhir")
    expect(page.locator("#notify-button")).to_have_text("Aktifkan pemberitahuan")  # not allowed yet: offered
    shot(page, "queue_colours")
