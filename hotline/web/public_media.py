"""The page a signed media link opens (hotline/features/media/public_link.py), without signing in:

    GET /p/{token}              the ticket's number, category, place, a map link and its photos
    GET /p/{token}/media/{id}   one photo of that ticket, stripped of EXIF (GPS, device) like Open311's public copy

A forged, cut or expired token is 404 (it says nothing about whether the ticket exists). Only photos are
served here; voice notes and documents stay in the console."""

from __future__ import annotations

import logging

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import Response

from hotline.core.city import current_config
from hotline.core.wording import place
from hotline.db import unit_of_work
from hotline.features.media.media_items import of_ticket
from hotline.features.media.media_store import MediaStoreDown, read
from hotline.features.media.public_link import map_link, read_token
from hotline.features.open311.photo_metadata import NotPublishable, without_metadata
from hotline.models import MediaStatus, Ticket
from hotline.settings import get_settings
from hotline.web.db_session import DbSession
from hotline.web.templating import templates

log = logging.getLogger(__name__)
router = APIRouter(prefix="/p", include_in_schema=False)
NOT_FOUND = "this link is not valid or has expired"


def _ticket_id(token: str) -> int:
    ticket_id = read_token(get_settings().secret_key, token) if len(token) < 64 else None
    if ticket_id is None:
        raise HTTPException(404, NOT_FOUND)
    return ticket_id


@router.get("/{token}")
def media_page(session: DbSession, request: Request, token: str) -> Response:
    ticket_id = _ticket_id(token)
    lang = "en" if request.query_params.get("lang") == "en" else "id"
    ticket = session.get(Ticket, ticket_id)
    if ticket is None:
        raise HTTPException(404, NOT_FOUND)
    photos = [
        m
        for m in of_ticket(session, ticket_id=ticket_id)
        if m.status == MediaStatus.STORED and (m.content_type or "").startswith("image/")
    ]
    category = current_config().category(ticket.category)
    context = {
        "lang": lang,
        "token": token,
        "ticket": ticket,
        "photos": photos,
        "category": category.name(lang) if category else "—",
        "place": place(ticket.location_text, ticket.desa, ticket.kecamatan),
        "map_url": map_link(ticket.latitude, ticket.longitude)
        if ticket.latitude is not None and ticket.longitude is not None
        else None,
    }
    response = templates.TemplateResponse(request, "public_media.html", context)
    response.headers["Cache-Control"] = "private, no-store"
    response.headers["Referrer-Policy"] = "no-referrer"
    return response


@router.get("/{token}/media/{media_id}")
def media_file(token: str, media_id: int) -> Response:
    ticket_id = _ticket_id(token)
    with unit_of_work() as session:  # its own, short: the connection goes back before the media store is read
        item = next(
            (m for m in of_ticket(session, ticket_id=ticket_id) if m.id == media_id and m.status == MediaStatus.STORED),
            None,
        )
        if item is None or not item.path or not (item.content_type or "").startswith("image/"):
            raise HTTPException(404, NOT_FOUND)
        path, kind = item.path, item.content_type or ""
    try:
        clean = without_metadata(read(get_settings().data_dir, path), kind)
    except (OSError, NotPublishable):
        raise HTTPException(404, NOT_FOUND) from None
    except MediaStoreDown:
        log.warning("photo %s of ticket %s: the media store is down", media_id, ticket_id, exc_info=True)
        raise HTTPException(503, "the photo cannot be shown right now; try again shortly") from None
    headers = {
        "X-Content-Type-Options": "nosniff",
        "Cache-Control": "private, no-store",
        "Referrer-Policy": "no-referrer",
    }
    return Response(clean, media_type=kind, headers=headers)
