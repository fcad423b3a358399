"""The ticket page in real Chromium shows what came on WhatsApp: the photo (loaded from the hotline, behind the
sign-in), the voice note as a player, the crew's "after" photo; signed out, the same URL gives nothing."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx

from hotline.fakes.whatsapp_graph import FakeGraph
from tests.accounts import make_user
from tests.conftest import drain_queue
from tests.gateway_env import CITIZEN
from tests.helpers import ticket
from tests.media_files import ogg_voice
from tests.screens import shot
from tests.suite_city import members
from tests.test_console_browser import expect, page, pytestmark, sign_in  # noqa: F401  (fixtures)
from tests.whatsapp_env import whatsapp

PHOTO = (Path(__file__).parent / "fixtures" / "open311" / "photo_with_gps.jpg").read_bytes()  # 8 px, GPS in Sisir
PMK = members("PMK")


def test_photos_and_voice_notes_on_the_ticket_page(
    page: Any,  # noqa: F811
    server: str,
    graph_server: FakeGraph,
    fake_twilio: Any,
) -> None:
    with whatsapp(graph_server, fake_twilio.base_url, server) as graph:
        graph.image(CITIZEN, PHOTO, caption="KEBAKARAN gudang di belakang pasar")
        drain_queue()
        graph.voice(CITIZEN, ogg_voice())
        drain_queue()
        graph.text(PMK[0], "TERIMA 1")
        drain_queue()
        graph.image(PMK[0], PHOTO, caption="SELESAI 1 api sudah padam")
        drain_queue()
    assert (ticket(1).desa, ticket(1).status) == ("Sisir", "resolved")  # placed by the photo's own GPS
    make_user("op", "operator")
    sign_in(page, "op")
    page.goto("/console/tickets/1")
    media = page.get_by_test_id("ticket-media")
    photo = media.get_by_role("img", name=f"foto {CITIZEN}")
    expect(photo).to_be_visible()
    assert photo.evaluate("img => img.naturalWidth") == 8  # the photo itself, served by the hotline
    after = media.get_by_role("img", name=f"foto sesudah dikerjakan {PMK[0]}")
    expect(after).to_be_visible()
    expect(media.locator("li[data-media-kind='voice'] audio")).to_have_count(1)
    expect(media).to_contain_text("GPS -7.87120, 112.52340")
    shot(page, "ticket-whatsapp-media")
    src = photo.get_attribute("src")
    assert src and httpx.get(f"{server}{src}", follow_redirects=False).status_code in (303, 401)  # signed out: nothing
