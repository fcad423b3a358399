"""The console plays Asterisk recordings through the hotline (issue 17, item 6): the ticket page never embeds
the ARI URL (credentials, a loopback address); `/console/calls/{id}/recording` serves the WAV to signed-in
users who may see the ticket, fetched from ARI with the server's credentials and kept in the data dir."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import httpx
import pytest

from hotline.db import unit_of_work
from hotline.fakes.fake_ari import FakeAri, FakeRecording
from hotline.models import Call
from hotline.settings import get_settings
from tests.accounts import console_login, make_user
from tests.ari_harness import requires_ari_docs
from tests.helpers import sms_ticket
from tests.suite_city import members

pytestmark = [requires_ari_docs, pytest.mark.integration]


def asterisk_call(ticket: int, recording_url: str) -> int:
    with unit_of_work() as session:
        call = Call(
            provider="asterisk",
            provider_call_id="1700000000.77",
            caller="+6281234567890",
            flow_id="kota_batu",
            flow_version="v",
            state={},
            status="completed",
            ticket_id=ticket,
            recording_url=recording_url,
            recording_seconds=2.0,
        )
        session.add(call)
        session.flush()
        return call.id


def test_the_console_plays_an_asterisk_recording_through_the_hotline_and_keeps_a_copy(
    server: str, backend: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    make_user("ani", "operator")
    make_user("dlh1", "agency_staff", "DLH")
    number = sms_ticket(reporter=members("PUPR")[0], text="Jalan berlubang di Bumiaji", category="roads")

    async def scenario() -> dict[str, Any]:
        fake = FakeAri()
        url = await fake.start()
        fake.stored["hotline-1700000000.77-5"] = FakeRecording("hotline-1700000000.77-5", "x", "wav", "done", 2, 2)
        monkeypatch.setenv("ARI_URL", url)
        monkeypatch.setenv("ARI_USERNAME", fake.username)
        monkeypatch.setenv("ARI_PASSWORD", fake.password)
        get_settings.cache_clear()
        ari_file = f"{url}/ari/recordings/stored/hotline-1700000000.77-5/file"
        call_id = asterisk_call(number, ari_file)

        def browse() -> dict[str, Any]:
            operator, other_agency = console_login(server, "ani"), console_login(server, "dlh1")
            anonymous = httpx.Client(base_url=server, timeout=10)
            page = operator.get(f"/console/tickets/{number}").text
            played = operator.get(f"/console/calls/{call_id}/recording")
            return {
                "page_has_ari_url": url in page,
                "page_plays": f'src="/console/calls/{call_id}/recording"' in page,
                "status": played.status_code,
                "type": played.headers.get("content-type"),
                "riff": played.content[:4],
                "other_agency": other_agency.get(f"/console/calls/{call_id}/recording").status_code,
                "anonymous": anonymous.get(f"/console/calls/{call_id}/recording").status_code,
            }

        try:
            out = await asyncio.to_thread(browse)
            fetched = [r for r in fake.requests if r.path.endswith("/file")]
            await fake.stop()  # Asterisk gone: the copy in the data dir still plays
            again = await asyncio.to_thread(
                lambda: console_login(server, "ani").get(f"/console/calls/{call_id}/recording")
            )
            out.update(fetched=len(fetched), again=again.status_code, call_id=call_id)
            out["copies"] = sorted(p.name for p in (Path(backend["HOTLINE_DATA_DIR"]) / "recordings").iterdir())
        finally:
            get_settings.cache_clear()
        return out

    out = asyncio.run(scenario())
    assert out["page_has_ari_url"] is False and out["page_plays"]
    assert (out["status"], out["type"], out["riff"]) == (200, "audio/wav", b"RIFF")
    assert out["other_agency"] == 404  # DLH may not see a PUPR ticket, nor its recording
    assert out["anonymous"] in (303, 401)  # signed-in users only
    assert out["fetched"] == 1 and out["again"] == 200
    assert out["copies"] == [f"call-{out['call_id']}-hotline-1700000000.77-5.wav"]
