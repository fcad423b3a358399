"""The scorecard page's charts in a real browser, in both languages (screenshots under test-artifacts/screenshots/)."""

from __future__ import annotations

from typing import Any

from tests.accounts import make_user
from tests.clocked import set_clock  # noqa: F401
from tests.screens import shot
from tests.test_console_browser import expect, page, pytestmark, sign_in  # noqa: F401
from tests.test_console_charts import month_of_tickets  # noqa: F401


def test_scorecard_charts_in_both_languages(page: Any, real_clock: None, month_of_tickets: None) -> None:  # noqa: F811
    make_user("ani", "supervisor")
    sign_in(page, "ani")
    page.goto("/console/scorecard?month=2030-03")
    share = page.get_by_role("img", name="Laporan yang ditangani tepat waktu per dinas, 2030-03")
    expect(share).to_be_visible()
    expect(page.get_by_test_id("red-banner")).to_contain_text("Rapor merah 2030-03: PMK")
    expect(page.locator('tr[data-agency="PMK"]')).to_contain_text("Merah (rapor merah)")
    shot(page, "scorecard-id")
    page.get_by_test_id("trend-charts").scroll_into_view_if_needed()
    shot(page, "scorecard-trend-id")
    page.goto("/console/scorecard?month=2030-03&lang=en")
    expect(page.get_by_role("img", name="Reports handled on time per agency, 2030-03")).to_be_visible()
    expect(page.get_by_test_id("red-banner")).to_contain_text("Failing grade (rapor merah) in 2030-03: PMK")
    shot(page, "scorecard-en")
    with page.expect_download() as download:
        page.get_by_test_id("scorecard-png").click()
    assert download.value.suggested_filename == "scorecard-2030-03.png"
