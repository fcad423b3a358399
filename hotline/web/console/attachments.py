"""A photo kept with a ticket (an Open311 upload), shown in the console as it came: `GET
/console/tickets/{n}/attachments/{id}`, for signed-in users who may see the ticket (agency staff: their agency's).
The public copy (/open311/v2/media/) is the one without metadata; this one is the evidence."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException
from fastapi.responses import Response

from hotline.features.open311.open311_records import attachment_of
from hotline.features.tickets.ticket_queries import find_visible_ticket
from hotline.web.api_schemas import RowId
from hotline.web.console.auth import UserDep
from hotline.web.db_session import DbSession

router = APIRouter(prefix="/console", include_in_schema=False)


@router.get("/tickets/{number}/attachments/{attachment_id}")
def attachment(session: DbSession, user: UserDep, number: RowId, attachment_id: RowId) -> Response:
    ticket = find_visible_ticket(session, principal=user.principal, number=number)
    row = attachment_of(session, ticket_id=number, attachment_id=attachment_id) if ticket else None
    if row is None:
        raise HTTPException(404, "no such attachment (or not your agency's)")
    data, kind, name = row.data, row.content_type, row.filename
    safe_name = "".join(ch for ch in name if ch.isalnum() or ch in "._-")[:100] or "media"
    # Served as the image type sniffed when it came (never as the type the sender claimed), and never sniffed again.
    headers = {"Content-Disposition": f'inline; filename="{safe_name}"', "X-Content-Type-Options": "nosniff"}
    return Response(data, media_type=kind, headers=headers)
