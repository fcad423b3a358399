"""WhatsApp and MMS media on the ticket page: `GET /console/tickets/{n}/media/{id}`, for signed-in users who may
see the ticket, as it came (EXIF and all: the console is where the evidence is read; nothing outside it serves
these files; an S3 media store is read by the hotline and streamed, never linked). Served as the type
sniffed when it was kept, never as the type the sender claimed."""

from __future__ import annotations

import logging

from fastapi import APIRouter, HTTPException
from fastapi.responses import Response

from hotline.db import unit_of_work
from hotline.features.media.media_items import stored_item
from hotline.features.media.media_store import MediaStoreDown, read
from hotline.features.tickets.ticket_queries import find_visible_ticket
from hotline.settings import get_settings
from hotline.web.api_schemas import RowId
from hotline.web.console.auth import UserDep

log = logging.getLogger(__name__)
router = APIRouter(prefix="/console", include_in_schema=False)


@router.get("/tickets/{number}/media/{media_id}")
def media(user: UserDep, number: RowId, media_id: RowId) -> Response:
    # Its own short read, not the request's session: reading the file (from an S3 bucket, maybe) holds no connection.
    with unit_of_work() as session:
        ticket = find_visible_ticket(session, principal=user.principal, number=number)
        item = stored_item(session, ticket_id=number, media_id=media_id) if ticket else None
        if item is None or not item.path or not item.content_type:
            raise HTTPException(404, "no such photo or recording (or not your agency's)")
        path, kind = item.path, item.content_type
    try:
        data = read(get_settings().data_dir, path)
    except OSError:
        raise HTTPException(404, "the file is missing from the media store") from None
    except MediaStoreDown:
        log.warning("media %s of ticket %s: the media store is down", media_id, number, exc_info=True)
        raise HTTPException(503, "the media store cannot be reached; try again shortly") from None
    headers = {"X-Content-Type-Options": "nosniff", "Cache-Control": "private, max-age=3600"}
    return Response(data, media_type=kind, headers=headers)
