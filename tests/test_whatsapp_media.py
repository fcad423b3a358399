"""Photos, voice notes and shared places on WhatsApp: fetched from the fake Graph API after the report is
stored, kept under the data dir when they are what they claim, and the place giving the ticket its coordinates,
desa and kecamatan. Then what goes wrong: the Graph API down, an expired media URL, too big, mistyped."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from rq.registry import ScheduledJobRegistry
from sqlalchemy import select

from hotline.core.queue import queue
from hotline.db import unit_of_work
from hotline.fakes.whatsapp_graph import FakeGraph
from hotline.features.media.media_store import read
from hotline.jobs.media import fetch_media
from hotline.models import MediaItem
from hotline.settings import get_settings
from tests.conftest import drain_queue
from tests.gateway_env import CITIZEN
from tests.helpers import events, inbound, ticket
from tests.media_files import jpeg, ogg_voice, pdf
from tests.whatsapp_env import whatsapp

PUNTEN = (-7.8452, 112.5283)  # a few metres from Punten's point (kecamatan Bumiaji)


@pytest.fixture
def graph(graph_server: FakeGraph, server: str, fake_twilio: Any) -> Iterator[FakeGraph]:
    with whatsapp(graph_server, fake_twilio.base_url, server) as fake:
        yield fake


def media() -> list[MediaItem]:
    with unit_of_work() as s:
        return list(s.scalars(select(MediaItem).order_by(MediaItem.id)))


def test_a_photo_then_a_location_make_one_ticket_in_the_right_desa_with_its_photo(graph: FakeGraph) -> None:
    photo = jpeg()
    assert graph.image(CITIZEN, photo, caption="POHON TUMBANG menutup jalan").status_code == 200
    drain_queue()
    assert graph.location(CITIZEN, *PUNTEN, name="Pasar Punten").status_code == 200
    drain_queue()
    t = ticket(1)
    assert (t.channel, t.latitude, t.longitude, t.desa, t.kecamatan) == ("whatsapp", *PUNTEN, "Punten", "Bumiaji")
    [item] = media()
    assert (item.ticket_id, item.status, item.kind, item.content_type, item.size) == (
        1,
        "stored",
        "image",
        "image/jpeg",
        len(photo),
    )
    assert read(get_settings().data_dir, item.path or "") == photo
    assert {"media_received", "location_shared"} <= set(events(1))
    answer, added = graph.sent_to(CITIZEN)  # the report's answer, then "added to your report"
    assert answer.text.startswith("Laporan No. 1") and "No. 1" in added.text


def test_a_location_first_waits_for_the_words_and_the_report_is_routed_by_its_desa(graph: FakeGraph) -> None:
    graph.location(CITIZEN, *PUNTEN)
    drain_queue()
    assert inbound()[0].ticket_id is None  # a place alone is no report: they are asked what happened
    graph.text(CITIZEN, "BANJIR air masuk rumah")
    drain_queue()
    t = ticket(1)
    assert (t.latitude, t.longitude, t.desa, t.kecamatan) == (*PUNTEN, "Punten", "Bumiaji")


def test_a_photo_s_own_gps_places_a_report_that_shared_no_location(graph: FakeGraph) -> None:
    graph.image(CITIZEN, jpeg(gps=PUNTEN), caption="SAMPAH menumpuk di pinggir jalan")
    drain_queue()
    t = ticket(1)
    assert (t.latitude, t.longitude, t.desa) == (*PUNTEN, "Punten")
    [item] = media()
    assert (item.latitude, item.longitude) == PUNTEN


def test_a_voice_note_is_kept_like_a_recording(graph: FakeGraph) -> None:
    graph.text(CITIZEN, "KEBAKARAN di Jl. Diponegoro 12 Sisir")
    drain_queue()
    voice = ogg_voice()
    graph.voice(CITIZEN, voice)
    drain_queue()
    [item] = media()
    assert (item.ticket_id, item.kind, item.content_type, item.status) == (1, "voice", "audio/ogg", "stored")
    assert read(get_settings().data_dir, item.path or "") == voice


def test_the_graph_api_down_keeps_the_report_and_fetches_the_photo_later(graph: FakeGraph) -> None:
    graph.down = True
    graph.image(CITIZEN, jpeg(), caption="POHON TUMBANG di jalan raya Punten")
    drain_queue()
    assert ticket(1).status == "routed"  # the report did not wait for its photo
    [item] = media()
    assert (item.status, item.attempts) == ("pending", 1) and "503" in (item.error or "")
    assert item.next_attempt_at is not None
    assert f"media-{item.id}-1" in ScheduledJobRegistry(queue=queue()).get_job_ids()  # the retry, with back-off
    graph.down = False
    assert fetch_media(item.id) == "stored"  # what the scheduled retry runs
    assert media()[0].status == "stored"


def test_an_expired_media_url_is_asked_for_again(graph: FakeGraph) -> None:
    graph.url_ttl = -1  # every URL handed out is already past its 5 minutes when it is used
    graph.image(CITIZEN, jpeg(), caption="POHON TUMBANG di jalan")
    drain_queue()
    [item] = media()
    assert item.status == "pending" and "404" in (item.error or "")
    graph.url_ttl = 300
    assert fetch_media(item.id) == "stored"
    lookups = [p for m, p, _ in graph.requests if m == "GET" and p.endswith(item.ref)]
    assert len(lookups) == 2  # a fresh URL each try


def test_media_too_big_or_not_what_it_claims_is_refused_and_the_report_kept(
    graph: FakeGraph, server: str, fake_twilio: Any
) -> None:
    with whatsapp(graph, fake_twilio.base_url, server, HOTLINE_GATEWAY_WA_MEDIA_MAX_BYTES="1000"):
        graph.image(CITIZEN, jpeg(size=5000), caption="POHON TUMBANG di jalan")
        drain_queue()
        graph.image(CITIZEN, pdf(), mime_type="image/jpeg", caption="")  # a PDF that says it is a photo
        drain_queue()
    big, fake = media()
    assert (big.status, big.path) == ("refused", None) and "over 1000" in (big.error or "")
    assert (fake.status, fake.path) == ("refused", None) and "application/pdf" in (fake.error or "")
    assert ticket(1).status == "routed"
    assert events(1).count("media_refused") == 2


def test_a_photo_redelivered_by_meta_is_fetched_once(graph: FakeGraph) -> None:
    media_id = graph.upload(jpeg(), "image/jpeg")
    body = graph.webhook("image", CITIZEN, id=media_id, caption="POHON TUMBANG di jalan")
    graph.deliver(body)
    graph.deliver(body)
    drain_queue()
    assert len(media()) == 1
    assert len([p for m, p, _ in graph.requests if m == "GET" and p.endswith(media_id)]) == 1


def test_a_photo_with_its_place_while_the_database_is_down_is_spooled_and_nothing_lost(graph: FakeGraph) -> None:
    from hotline.spool.store import current_spool
    from tests.outage import database_unreachable, empty_spool, replayed

    empty_spool()
    with database_unreachable():
        assert graph.image(CITIZEN, jpeg(), caption="POHON TUMBANG menutup jalan").status_code == 200
        assert graph.location(CITIZEN, *PUNTEN).status_code == 200
        assert current_spool().depth() == 2  # both kept on disk, answered 200: Meta does not send them again
    replayed()
    drain_queue()
    t = ticket(1)
    assert (t.desa, t.latitude, t.longitude) == ("Punten", *PUNTEN)
    [item] = media()
    assert (item.ticket_id, item.status) == (1, "stored")  # the photo, fetched after the replay
