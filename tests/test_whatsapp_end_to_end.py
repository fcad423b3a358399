"""Issue 20's "done": a citizen sends a photo and a location on WhatsApp; the ticket lands in the right desa;
the URC member is alerted and gets a signed link to the photo and the place; the member closes it on WhatsApp
with an "after" photo; the citizen sees that photo. Against the fake Graph API and the fake Twilio."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from hotline.fakes.whatsapp_graph import FakeGraph
from hotline.features.media.exif_gps import gps_of
from hotline.features.media.public_link import make_token
from hotline.settings import get_settings
from tests.conftest import drain_queue
from tests.gateway_env import CITIZEN
from tests.helpers import events, ticket
from tests.suite_city import members
from tests.whatsapp_env import whatsapp

PHOTO = (Path(__file__).parent / "fixtures" / "open311" / "photo_with_gps.jpg").read_bytes()  # EXIF GPS in Sisir
PUNTEN = (-7.8452, 112.5283)
PMK = members("PMK")


@pytest.fixture
def graph(graph_server: FakeGraph, server: str, fake_twilio: Any) -> Iterator[FakeGraph]:
    with whatsapp(graph_server, fake_twilio.base_url, server) as fake:
        yield fake


def _link(text: str) -> str:
    found = re.search(r"https?://\S+/p/[\w-]+", text)
    assert found, text
    return found.group(0)


def test_photo_and_location_to_urc_and_back_to_the_citizen(graph: FakeGraph, fake_twilio: Any, server: str) -> None:
    graph.image(CITIZEN, PHOTO, caption="KEBAKARAN gudang di belakang pasar")
    graph.location(CITIZEN, *PUNTEN, name="Pasar Punten")
    drain_queue()
    t = ticket(1)
    # the place the citizen shared wins over the photo's own GPS (Sisir), and routes the ticket
    assert (t.latitude, t.longitude, t.desa, t.kecamatan, t.status) == (*PUNTEN, "Punten", "Bumiaji", "routed")

    alert, *more = [m.body for m in fake_twilio.sent_to(PMK[0])]
    assert "TERIMA 1" in alert
    url = _link(next(b for b in more if "foto" in b))  # the crew's SMS: a link to the photo and the place
    page = httpx.get(url)
    assert page.status_code == 200 and "Punten" in page.text and "openstreetmap.org/?mlat=-7.84520" in page.text
    [src] = re.findall(r'src="(/p/[\w-]+/media/\d+)"', page.text)
    shown = httpx.get(f"{server}{src}")
    assert shown.status_code == 200 and shown.headers["content-type"] == "image/jpeg"
    assert gps_of(shown.content) is None and gps_of(PHOTO) is not None  # outside the console, no EXIF

    graph.text(PMK[0], "TERIMA 1")
    drain_queue()
    graph.image(PMK[0], PHOTO, caption="SELESAI 1 api sudah padam")
    drain_queue()
    assert ticket(1).status == "resolved" and "media_received" in events(1)
    after = next(m for m in graph.sent_to(CITIZEN) if m.type == "image")
    assert "No. 1" in after.text
    photo = httpx.get(after.body["image"]["link"])  # the photo itself, on WhatsApp: fetched by Meta from us
    assert photo.status_code == 200 and gps_of(photo.content) is None
    citizen_page = httpx.get(_link(after.text))
    assert citizen_page.status_code == 200 and len(re.findall(r'src="/p/', citizen_page.text)) == 2


def test_a_forged_or_expired_link_opens_nothing(graph: FakeGraph, server: str) -> None:
    graph.image(CITIZEN, PHOTO, caption="KEBAKARAN gudang di belakang pasar")
    drain_queue()
    secret = get_settings().secret_key
    good = make_token(secret, 1)
    assert httpx.get(f"{server}/p/{good}").status_code == 200
    assert httpx.get(f"{server}/p/{make_token('another-secret', 1)}").status_code == 404
    assert httpx.get(f"{server}/p/{make_token(secret, 1, now=0)}").status_code == 404  # expired in 1970
    assert httpx.get(f"{server}/p/{good[:-2]}").status_code == 404
    assert httpx.get(f"{server}/p/{good}/media/999").status_code == 404
