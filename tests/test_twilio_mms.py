"""Twilio's MMS and WhatsApp fields on the existing /twilio/sms webhook: MediaUrl<i> / MediaContentType<i>
fetched with the account's credentials from the fake Twilio, Latitude / Longitude placing the ticket, and the
"whatsapp:" prefix kept out of the number."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from hotline.db import unit_of_work
from hotline.features.media.media_store import read
from hotline.models import MediaItem
from hotline.settings import get_settings
from tests.conftest import Phone, drain_queue
from tests.helpers import inbound, ticket
from tests.media_files import jpeg, pdf

CITIZEN = "+6281234567890"


def _media() -> list[MediaItem]:
    with unit_of_work() as s:
        return list(s.scalars(select(MediaItem).order_by(MediaItem.id)))


def test_an_mms_picture_is_fetched_with_the_account_s_credentials_and_kept(phone: Phone, fake_twilio: Any) -> None:
    photo = jpeg()
    params = phone.payload(CITIZEN, "POHON TUMBANG di Jl. Diponegoro 12 Sisir")
    params.update(NumMedia="2", MediaUrl0=fake_twilio.add_media(photo, "image/jpeg"), MediaContentType0="image/jpeg")
    params.update(MediaUrl1=fake_twilio.add_media(pdf(), "image/png"), MediaContentType1="image/png")  # it lies
    assert phone.post("/twilio/sms", params).status_code == 200
    drain_queue()
    assert ticket(1).status == "routed"
    kept, refused = _media()
    assert (kept.status, kept.ticket_id, kept.content_type, kept.gateway) == ("stored", 1, "image/jpeg", "twilio")
    assert read(get_settings().data_dir, kept.path or "") == photo
    assert refused.status == "refused" and "application/pdf" in (refused.error or "")


def test_a_whatsapp_location_through_twilio_places_the_ticket(phone: Phone, fake_twilio: Any) -> None:
    fake_twilio.whatsapp_inbound(CITIZEN)  # Twilio sees their messages too: its answers are inside the window
    params = phone.payload(f"whatsapp:{CITIZEN}", "")  # a shared place: no Body, as Twilio posts it
    params.update(Latitude="-7.8452", Longitude="112.5283", To="whatsapp:+15005550006")
    assert phone.post("/twilio/sms", params).status_code == 200
    drain_queue()
    words = phone.payload(f"whatsapp:{CITIZEN}", "BANJIR air masuk rumah")
    assert phone.post("/twilio/sms", {**words, "To": "whatsapp:+15005550006"}).status_code == 200
    drain_queue()
    place, _ = inbound()
    assert place.from_e164 == CITIZEN and place.payload["twilio_channel"] == "whatsapp"
    t = ticket(1)
    assert (t.latitude, t.longitude, t.desa, t.kecamatan) == (-7.8452, 112.5283, "Punten", "Bumiaji")


def test_a_media_url_on_another_host_is_never_fetched(phone: Phone) -> None:
    params = phone.payload(CITIZEN, "POHON TUMBANG di Jl. Diponegoro 12 Sisir")
    params.update(NumMedia="1", MediaUrl0="http://169.254.169.254/latest/meta-data", MediaContentType0="image/jpeg")
    assert phone.post("/twilio/sms", params).status_code == 200
    drain_queue()
    [item] = _media()
    assert item.status == "refused" and "not on" in (item.error or "")
