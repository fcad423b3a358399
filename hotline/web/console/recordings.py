"""The caller's recording, played in the console: `GET /console/calls/{id}/recording`.

Asterisk keeps a call's recording on its own machine, behind ARI (`ARI_URL/ari/recordings/stored/<name>/file`,
which needs the ARI credentials and usually a loopback address): a browser cannot play that URL. So the
console plays it through the hotline, for signed-in users who may see the call's ticket (an agency user only
their agency's), and the first play keeps a copy in the data dir (`HOTLINE_DATA_DIR/recordings/`), which
stays playable when Asterisk has cleaned its spool or is down. Other providers' recordings are played
from where they are.

Only the recording's name is taken from the stored URL; the request always goes to the configured
ARI_URL, so a stored URL can never make the web app fetch another address.
"""

from __future__ import annotations

import os
import re
import tempfile
from pathlib import Path

import httpx
from fastapi import APIRouter, HTTPException
from fastapi.responses import FileResponse, Response

from hotline.channels.ari.client import basic_auth
from hotline.channels.ari.settings import ari_settings
from hotline.db import unit_of_work
from hotline.features.tickets.ticket_queries import find_visible_ticket
from hotline.models import Call
from hotline.settings import get_settings
from hotline.web.api_schemas import RowId
from hotline.web.console.auth import UserDep

router = APIRouter(prefix="/console", include_in_schema=False)
STORED = re.compile(r"/ari/recordings/stored/([A-Za-z0-9._-]+)/file$")


def console_recording_url(call: Call) -> str:
    """What the console's <audio> plays for a call's recording."""
    if call.provider == "asterisk" and call.recording_url and STORED.search(call.recording_url):
        return f"/console/calls/{call.id}/recording"
    return call.recording_url or ""


@router.get("/calls/{call_id}/recording")
def call_recording(user: UserDep, call_id: RowId) -> Response:
    # Its own short read, not the request's session: the fetch from Asterisk below (up to 30 s) holds no connection.
    with unit_of_work() as session:
        call = session.get(Call, call_id)
        visible = (
            call is not None
            and call.ticket_id is not None
            and find_visible_ticket(session, principal=user.principal, number=call.ticket_id) is not None
        ) or (call is not None and call.ticket_id is None and user.principal.agency_code is None)
        if call is None or not visible or call.provider != "asterisk" or not call.recording_url:
            raise HTTPException(404, "no such recording (or not your agency's)")
        found = STORED.search(call.recording_url)
        if found is None:
            raise HTTPException(404, "no such recording")
        name = found.group(1)
    copy = get_settings().data_dir / "recordings" / f"call-{call_id}-{name}.wav"
    if not copy.exists():
        _fetch(name, copy)
    return FileResponse(copy, media_type="audio/wav")


def _fetch(name: str, copy: Path) -> None:
    ari = ari_settings(get_settings())
    if not (ari.url and ari.username and ari.password):
        raise HTTPException(503, "Asterisk (ARI_URL) is not configured here: the recording cannot be fetched")
    url = f"{ari.url.rstrip('/')}/ari/recordings/stored/{name}/file"
    try:
        with httpx.Client(timeout=30) as http:
            answer = http.get(url, headers={"Authorization": basic_auth(ari.username, ari.password)})
    except httpx.HTTPError as exc:
        raise HTTPException(503, f"Asterisk is not reachable ({type(exc).__name__})") from None
    if answer.status_code == 404:
        raise HTTPException(404, "Asterisk no longer has this recording")
    if answer.status_code >= 400:
        raise HTTPException(502, f"Asterisk answered {answer.status_code}")
    copy.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=copy.parent, suffix=".part")
    with os.fdopen(fd, "wb") as out:
        out.write(answer.content)
    os.replace(tmp, copy)  # whole or not at all: two plays at once never see half a file
