"""An update a partner app posts on one of its reports (POST servicerequestupdates, FixMyStreet's
post_service_request_update): a citizen's comment on FixMyStreet reaches the ticket instead of being lost.

It becomes an `info_added` step of the ticket's timeline (the console shows it, as it shows an SMS reporter's
follow-up), and an open ticket's text gets the words, as an SMS follow-up's do. A partner may add to the reports
it filed (or that joined a ticket it filed) only. The partner's own id of the update (`update_id`: FixMyStreet's
comment id) is kept once per partner, so an update posted again is answered with the same step, never added
twice. The `status` the partner sends (FixMyStreet: its own state of the report, OPEN/CLOSED/FIXED...) is kept with
the step for operators to read; it moves nothing: the crew and the command center decide the ticket's state.
It is not one of the public updates (hotline/features/open311/updates.py); the words an open ticket's text gets
are in its public request's description, redacted as the rest of it is, the writer's name and number too
(public_view.reporter_details).
Nothing here knows HTTP: a refusal is a `RequestRefused` (400) or an `UnknownRequest` (404)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from hotline.features.accounts.audit import audit
from hotline.features.open311.open311_intake import (
    MAX_DESCRIPTION,
    MAX_MEDIA,
    Partner,
    RequestRefused,
    check_media_urls,
)
from hotline.features.open311.updates import STATES
from hotline.features.tickets.ticket_events import record
from hotline.features.tickets.tickets import OPEN_STATUSES
from hotline.models import Open311Submission, Open311UpdateReceipt, Ticket
from hotline.phone import to_e164
from hotline.settings import get_settings

MAX_UPDATE_ID = 100


class UnknownRequest(LookupError):
    """No request with this id was filed with this partner's key (404: whether another partner's exists is not said)."""


@dataclass(frozen=True)
class PostedUpdate:
    service_request_id: str
    description: str = ""
    update_id: str | None = None  # the partner's own id of it; without one, an update posted twice is added twice
    status: str | None = None
    updated_datetime: str | None = None  # when the citizen wrote it, as the partner says (kept as given)
    first_name: str | None = None
    last_name: str | None = None
    email: str | None = None
    phone: str | None = None
    media_urls: tuple[str, ...] = ()


@dataclass(frozen=True)
class Taken:
    update_id: int  # the ticket event's id: the id the partner keeps for its update
    ticket_id: int
    status: str  # the ticket's state now, in FixMyStreet's words


def _checked(posted: PostedUpdate) -> int:
    number = posted.service_request_id.strip()
    if not number:
        raise RequestRefused("service_request_id is required: the id answered when the request was filed")
    if not number.isdigit() or len(number) > 9:
        raise UnknownRequest(f"no request {number[:40]!r} was filed with this api_key")
    if not posted.description.strip() and not posted.media_urls:
        raise RequestRefused("description is required (or a media_url)")
    if len(posted.description) > MAX_DESCRIPTION:
        raise RequestRefused(f"description: at most {MAX_DESCRIPTION} characters")
    if len(posted.update_id or "") > MAX_UPDATE_ID:
        raise RequestRefused(f"update_id: at most {MAX_UPDATE_ID} characters")
    if len(posted.media_urls) > MAX_MEDIA:
        raise RequestRefused(f"media_url: at most {MAX_MEDIA}")
    check_media_urls(posted.media_urls)
    return int(number)


def add_update(session: Session, *, partner: Partner, posted: PostedUpdate, ip: str | None) -> Taken:
    number = _checked(posted)
    filed_here = select(Open311Submission.id).where(
        Open311Submission.ticket_id == number, Open311Submission.partner_key_id == partner.id
    )
    if session.scalar(filed_here.limit(1)) is None:
        raise UnknownRequest(f"no request {number} was filed with this api_key")
    # The ticket's row lock orders two posts of one update (a retry racing the first): the second reads the
    # first's receipt once the first has committed. The receipts' unique key is the backstop.
    ticket = session.get(Ticket, number, with_for_update=True)
    assert ticket is not None  # a submission names it (a foreign key)
    update_id = (posted.update_id or "").strip() or None
    if update_id is not None:
        receipt = session.scalar(
            select(Open311UpdateReceipt).where(
                Open311UpdateReceipt.partner_key_id == partner.id, Open311UpdateReceipt.update_id == update_id
            )
        )
        if receipt is not None:
            return Taken(receipt.ticket_event_id, number, _state(ticket))  # posted before: nothing added
    text = posted.description.strip()
    if text and ticket.status in OPEN_STATUSES:  # the crew reads the ticket's text: the citizen's news joins it
        ticket.text = f"{ticket.text}\n{text}".strip()
    phone = (posted.phone or "").strip()[:64]
    name = " ".join(p.strip() for p in (posted.first_name, posted.last_name) if p and p.strip() not in ("", "-"))
    details = {
        "channel": "open311",
        "partner_update_id": update_id,
        "partner_status": (posted.status or "").strip()[:40] or None,
        "written_at": (posted.updated_datetime or "").strip()[:40] or None,
        "name": name[:200] or None,
        "email": (posted.email or "").strip()[:254] or None,
        "phone": phone or None,
        # its E.164 form: the public request's description hides the writer's number as it hides the reporter's
        "phone_e164": to_e164(phone, get_settings().default_region),
        "media_urls": list(posted.media_urls),
    }
    event = record(
        session, ticket, "info_added", actor=f"open311:{partner.name}"[:64], note=text or None,
        **{k: v for k, v in details.items() if v},
    )  # fmt: skip
    session.flush()
    if update_id is not None:
        session.add(Open311UpdateReceipt(partner_key_id=partner.id, update_id=update_id, ticket_event_id=event.id))
    audit(
        session,
        actor=f"open311:{partner.name}",
        action="ticket.info_added",
        target_type="ticket",
        target_id=ticket.id,
        ip=ip,
    )
    return Taken(event.id, number, _state(ticket))


def _state(ticket: Ticket) -> str:
    """The ticket's state in the words the updates poll uses: its steps' (accepted, on_site...) are its states'."""
    return STATES.get(ticket.status, "open")
