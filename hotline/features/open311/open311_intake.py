"""A GeoReport v2 `POST requests`: checked against the city's services, then a ticket opened (routed and alerted
like an SMS report) or joined, with every field the spec carries kept beside it (open311_submissions) and the
uploaded photos kept with the ticket (ticket_attachments). Nothing here knows HTTP: a refusal is a
`RequestRefused` naming the field."""

from __future__ import annotations

import hashlib
import math
import re
import secrets
from dataclasses import dataclass, field

from sqlalchemy.orm import Session

from hotline.cityconfig import CityConfig
from hotline.cityconfig.model import ServiceAttribute
from hotline.features.accounts.audit import audit
from hotline.features.merging.merging import open_or_merge
from hotline.models import Open311Submission, TicketAttachment
from hotline.phone import to_e164
from hotline.settings import get_settings

MAX_DESCRIPTION = 4000  # GeoReport v2's own limit
MAX_MEDIA = 5  # uploads and media_url each
EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]+\.[^@\s]+$")
IMAGE_MAGIC = {  # what a photo starts with -> its type; anything else is refused
    b"\xff\xd8\xff": "image/jpeg",
    b"\x89PNG\r\n\x1a\n": "image/png",
    b"GIF87a": "image/gif",
    b"GIF89a": "image/gif",
}
NO_TEXT = "(tanpa keterangan)"


class RequestRefused(ValueError):
    """A posted request the city cannot take as it is; the message names the field and what it needs."""


@dataclass(frozen=True)
class Partner:
    """The partner app filing (a row of partner_keys), as the key check found it."""

    id: int
    name: str


@dataclass(frozen=True)
class Upload:
    filename: str
    data: bytes


@dataclass(frozen=True)
class PostedRequest:
    service_code: str
    description: str = ""
    lat: str | None = None
    long: str | None = None
    address_string: str | None = None
    address_id: str | None = None
    email: str | None = None
    device_id: str | None = None
    account_id: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    phone: str | None = None
    media_urls: tuple[str, ...] = ()
    attributes: dict[str, list[str]] = field(default_factory=dict)


@dataclass(frozen=True)
class Filed:
    service_request_id: int
    token: str
    merged: bool
    account_id: str | None


def _coordinate(name: str, raw: str | None, limit: float) -> float | None:
    if raw is None or not raw.strip():
        return None
    try:
        value = float(raw)
    except ValueError:
        raise RequestRefused(f"{name}: a decimal number of degrees (WGS84), not {raw[:40]!r}") from None
    if not math.isfinite(value) or not -limit <= value <= limit:
        raise RequestRefused(f"{name}: between -{limit:g} and {limit:g}")
    return value


def _image_type(data: bytes) -> str | None:
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    return next((kind for magic, kind in IMAGE_MAGIC.items() if data.startswith(magic)), None)


def _attribute_values(attr: ServiceAttribute, values: list[str]) -> list[str]:
    values = [v.strip() for v in values if v.strip()]
    if attr.required and not values:
        raise RequestRefused(f"attribute[{attr.code}] is required for this service (see its service definition)")
    if attr.datatype == "singlevaluelist" and len(values) > 1:
        raise RequestRefused(f"attribute[{attr.code}]: one value")
    keys = {v.key for v in attr.values}
    for value in values:
        if keys and value not in keys:
            raise RequestRefused(f"attribute[{attr.code}]: one of {', '.join(sorted(keys))}, not {value[:40]!r}")
        if attr.datatype == "number":
            try:
                float(value)
            except ValueError:
                raise RequestRefused(f"attribute[{attr.code}]: a number, not {value[:40]!r}") from None
    return values


def _checked_attributes(config: CityConfig, posted: PostedRequest) -> dict[str, str | list[str]]:
    """The service's attributes checked; codes it does not define are kept as sent (FixMyStreet sends some)."""
    defined = {a.code: a for a in config.open311.service(posted.service_code).attributes}
    kept: dict[str, str | list[str]] = {}
    for code, attr in defined.items():
        values = _attribute_values(attr, posted.attributes.get(code, []))
        if values:
            kept[code] = values if attr.datatype == "multivaluelist" else values[0]
    for code, values in posted.attributes.items():
        if code not in defined and any(v.strip() for v in values):
            kept[code[:64]] = values[0][:500] if len(values) == 1 else [v[:500] for v in values[:20]]
    return kept


def check(config: CityConfig, posted: PostedRequest, uploads: list[Upload]) -> tuple[float | None, float | None]:
    """Refuse what cannot be filed; the coordinates when given."""
    if config.category(posted.service_code) is None:
        raise RequestRefused(f"service_code {posted.service_code[:40]!r} is not a service; see services.json")
    if len(posted.description) > MAX_DESCRIPTION:
        raise RequestRefused(f"description: at most {MAX_DESCRIPTION} characters")
    lat, long = _coordinate("lat", posted.lat, 90), _coordinate("long", posted.long, 180)
    if (lat is None) != (long is None):
        raise RequestRefused("lat and long go together: give both or neither")
    has_address = bool((posted.address_string or "").strip() or (posted.address_id or "").strip())
    if lat is None and not has_address:
        raise RequestRefused("a location is required: lat and long, address_string or address_id")
    if posted.email and not EMAIL.match(posted.email.strip()):
        raise RequestRefused("email: an address like nama@contoh.id")
    if len(posted.media_urls) > MAX_MEDIA or len(uploads) > MAX_MEDIA:
        raise RequestRefused(f"media: at most {MAX_MEDIA} files and {MAX_MEDIA} media_url")
    check_media_urls(posted.media_urls)
    for upload in uploads:
        if _image_type(upload.data) is None:
            raise RequestRefused(f"media {upload.filename[:60]!r}: a JPEG, PNG, GIF or WebP photo")
    return lat, long


def check_media_urls(urls: tuple[str, ...]) -> None:
    """Links to photos a partner keeps (media_url): http(s) only, never javascript: or data:."""
    for url in urls:
        if not re.match(r"^https?://\S+$", url) or len(url) > 2000:
            raise RequestRefused("media_url: an http(s) URL of at most 2000 characters")


def _location(posted: PostedRequest, lat: float | None, long: float | None) -> str:
    if posted.address_string and posted.address_string.strip():
        return posted.address_string.strip()[:500]
    if lat is not None and long is not None:
        return f"{lat:.6f},{long:.6f}"
    return f"address_id {posted.address_id or ''}".strip()[:500]


def file_request(
    session: Session,
    *,
    config: CityConfig,
    partner: Partner,
    posted: PostedRequest,
    uploads: list[Upload],
    ip: str | None,
) -> Filed:
    lat, long = check(config, posted, uploads)
    attributes = _checked_attributes(config, posted)
    phone = (posted.phone or "").strip()
    number = to_e164(phone, get_settings().default_region) if phone else None
    intake = open_or_merge(
        session,
        config=config,
        channel="open311",
        reporter=number or f"open311:{partner.name}"[:32],
        text=posted.description.strip() or NO_TEXT,
        language="id",
        category=posted.service_code,
        location=_location(posted, lat, long),
        latitude=lat,
        longitude=long,
    )
    ticket = intake.ticket
    submission = Open311Submission(
        token=secrets.token_urlsafe(24),
        ticket_id=ticket.id,
        partner_key_id=partner.id,
        first_name=(posted.first_name or "").strip()[:100] or None,
        last_name=(posted.last_name or "").strip()[:100] or None,
        email=(posted.email or "").strip()[:254] or None,
        phone=phone[:64] or None,
        device_id=(posted.device_id or "").strip()[:200] or None,
        account_id=(posted.account_id or "").strip()[:200] or None,
        address_id=(posted.address_id or "").strip()[:200] or None,
        attributes=attributes,
        media_urls=list(posted.media_urls),
    )
    session.add(submission)
    session.flush()
    for upload in uploads:
        session.add(
            TicketAttachment(
                ticket_id=ticket.id,
                submission_id=submission.id,
                filename=upload.filename[:200] or "media",
                content_type=_image_type(upload.data) or "application/octet-stream",
                size=len(upload.data),
                sha256=hashlib.sha256(upload.data).hexdigest(),
                data=upload.data,
            )
        )
    audit(
        session,
        actor=f"open311:{partner.name}",
        action="ticket.merge" if intake.merged else "ticket.create",
        target_type="ticket",
        target_id=ticket.id,
        ip=ip,
        partner=partner.name,
        submission=submission.id,
        media=len(uploads) + len(posted.media_urls),
    )
    return Filed(ticket.id, submission.token, intake.merged, submission.account_id)
