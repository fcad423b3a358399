"""The live queue and screen readers (issue 19): the queue's table is swapped live but is no live region (a screen
reader would re-read all of it at each change); a visually hidden polite status says in one sentence who joined."""

from __future__ import annotations

from typing import Any

from tests.accounts import make_user
from tests.conftest import Caller, Phone, drain_queue
from tests.screens import shot
from tests.test_console_browser import expect, page, pytestmark, sign_in  # noqa: F401  (fixtures)

IN_A_LIVE_REGION = "(el) => !!el.closest('[aria-live], [role=status], [role=log], [role=alert], [role=marquee]')"


def test_a_new_caller_is_said_in_one_short_sentence_not_the_whole_table(page: Any, phone: Phone) -> None:  # noqa: F811
    make_user("ani", "operator")
    sign_in(page, "ani")
    queue, news = page.locator("#queue"), page.locator("#queue-news")
    expect(page.locator("#live-status")).to_have_attribute("data-state", "on")
    assert queue.evaluate(IN_A_LIVE_REGION) is False  # the table: read when the operator goes to it
    expect(news).to_have_attribute("role", "status")  # polite
    expect(news).to_have_text("")
    assert news.evaluate("(el) => el.getBoundingClientRect().width") <= 1  # heard, not seen
    first = Caller(phone)
    first.dial()
    first.press("1")  # the emergency key: the caller waits for an operator
    expect(news).to_have_text("1 penelepon baru menunggu: +6281234567890 (darurat)")
    expect(queue.locator("tr[data-call]")).to_have_count(1)
    assert queue.evaluate(IN_A_LIVE_REGION) is False  # the live swap left it out of any live region
    second = Caller(phone, "+6281234500077")
    second.dial()
    second.press("1")
    expect(news).to_have_text("1 penelepon baru menunggu: +6281234500077 (darurat)")  # what changed, only
    expect(queue.locator("tr[data-call]")).to_have_count(2)
    shot(page, "queue-with-news")
    drain_queue()
