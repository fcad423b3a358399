"""What a Twilio message carries besides its text (MMS pictures, WhatsApp through Twilio): its form fields in
our words, and fetching the media from Twilio.

    NumMedia, MediaUrl<i>, MediaContentType<i>     pictures, voice notes, documents (i from 0)
    Latitude, Longitude (and Address, Label)       a WhatsApp location through Twilio
    From: "whatsapp:+62..."                         the WhatsApp sender (the prefix is not part of the number)

Media URLs are fetched with the account's credentials (HTTP basic auth: Twilio's "HTTP authentication for
media"), only from the API host the gateway talks to, redirects followed to Twilio's media store.
"""

from __future__ import annotations

from collections.abc import Mapping
from urllib.parse import urlsplit

import httpx

from hotline.channels.gateway import FetchedMedia, InboundMedia, MediaFetchError, extras_payload

MAX_MEDIA = 10  # Twilio's own limit per message
WHATSAPP_PREFIX = "whatsapp:"


def media_kind(content_type: str) -> str:
    major = content_type.split("/")[0].lower()
    return {"image": "image", "audio": "voice", "video": "video"}.get(major, "document")


def extras_of(form: Mapping[str, str]) -> dict[str, object]:
    """The media and place of a Twilio message, as `extras_payload` keys (hotline/channels/gateway.py)."""
    count = int(form["NumMedia"]) if form.get("NumMedia", "").isdigit() else 0
    media = []
    for i in range(min(count, MAX_MEDIA)):
        url = form.get(f"MediaUrl{i}", "")
        kind = form.get(f"MediaContentType{i}", "")
        if url.startswith(("https://", "http://")):
            media.append(InboundMedia(url, kind, media_kind(kind)))
    lat, lon = _point(form)
    extras = extras_payload(media, lat, lon)
    if form.get("From", "").startswith(WHATSAPP_PREFIX):
        extras["twilio_channel"] = "whatsapp"
        if lat is not None:
            extras["wa_type"] = "location"
    return extras


def _point(form: Mapping[str, str]) -> tuple[float | None, float | None]:
    try:
        lat, lon = float(form["Latitude"]), float(form["Longitude"])
    except (KeyError, ValueError):
        return None, None
    return (lat, lon) if -90 <= lat <= 90 and -180 <= lon <= 180 else (None, None)


def bare_sender(sender: str) -> str:
    return sender.removeprefix(WHATSAPP_PREFIX)


class TwilioMedia:
    def __init__(self, *, account_sid: str, auth_token: str, api_base: str):
        self._auth = (account_sid, auth_token)
        self._host = urlsplit(api_base).netloc

    def fetch_media(self, ref: str, *, max_bytes: int) -> FetchedMedia:
        if urlsplit(ref).netloc != self._host:  # a signed webhook still never makes us fetch another host
            raise MediaFetchError(f"media URL {ref[:80]!r} is not on {self._host}", permanent=True)
        try:
            client = httpx.Client(timeout=15.0, follow_redirects=True, auth=self._auth)
            with client as http, http.stream("GET", ref) as response:
                if response.status_code != 200:
                    gone = response.status_code in (403, 404)
                    raise MediaFetchError(f"Twilio media {response.status_code}", permanent=gone)
                chunks, size = [], 0
                for chunk in response.iter_bytes():
                    size += len(chunk)
                    if size > max_bytes:
                        raise MediaFetchError(f"Twilio media over {max_bytes} bytes", permanent=True)
                    chunks.append(chunk)
                return FetchedMedia(b"".join(chunks), response.headers.get("content-type", ""))
        except httpx.HTTPError as exc:
            raise MediaFetchError(f"Twilio media unreachable: {exc}") from exc
