"""The console's early-warning pages: a supervisor drafts, another approves (the author cannot), bad input is
refused with its reason and nothing is listed, the progress bar's JSON and the tally; operators can look,
agency staff cannot."""

from __future__ import annotations

import html
import re
from typing import Any

from hotline.db import unit_of_work
from hotline.features.broadcasts.subscribers import subscribe
from tests.accounts import console_login, csrf_of, make_user
from tests.broadcast_helpers import recipients, send_broadcasts
from tests.conftest import Phone, drain_queue

BRANTAS = ["+6281400000101", "+6281400000102"]


def _problem(page: str) -> str:
    found = re.search(r'<p class="error" role="alert" data-problem>(.*?)</p>', page, re.S)
    return html.unescape(found.group(1)) if found else ""


def test_draft_approve_by_another_progress_and_tally(server: str, phone: Phone, fake_twilio: Any) -> None:
    for number in BRANTAS:
        with unit_of_work() as session:
            subscribe(
                session,
                phone=number,
                desa="Sumberbrantas",
                kecamatan="Bumiaji",
                language="id",
                channel="sms",
                source="csv",
                consent="test",
            )
    make_user("spv-ani", "supervisor")
    make_user("spv-budi", "supervisor")
    make_user("op-citra", "operator")
    make_user("pmk-staff", "agency_staff", agency="PMK")
    ani = console_login(server, "spv-ani")
    page = ani.get("/console/broadcasts")
    assert page.status_code == 200 and 'data-desa="Sumberbrantas"' in page.text
    csrf = csrf_of(page.text)

    bad = ani.post("/console/broadcasts", data={"csrf": csrf, "hazard": "landslide", "areas": "Atlantis"})
    assert bad.status_code == 422 and "Atlantis" in _problem(bad.text)
    assert 'value="Atlantis"' in bad.text  # what was typed is kept
    long = ani.post(
        "/console/broadcasts",
        data={"csrf": csrf, "hazard": "landslide", "areas": "Sumberbrantas", "text_id": "x" * 600},
    )
    assert long.status_code == 422 and "SMS parts" in _problem(long.text)

    made = ani.post(
        "/console/broadcasts", data={"csrf": csrf, "hazard": "landslide", "areas": "Sumberbrantas", "checkin": "30"}
    )
    assert made.status_code == 303
    url = made.headers["location"]
    detail = ani.get(url).text
    assert "Setujui dan kirim" not in detail and "aturan dua orang" in detail  # the author cannot approve
    number = int(url.rsplit("/", 1)[1])
    refused = ani.post(f"{url}/approve", data={"csrf": csrf})
    assert refused.status_code == 409 and "another person" in _problem(refused.text)
    assert recipients(number) == []

    operator = console_login(server, "op-citra")
    assert operator.get(url).status_code == 200
    assert operator.post(f"{url}/approve", data={"csrf": csrf_of(operator.get(url).text)}).status_code == 403
    staff = console_login(server, "pmk-staff")
    assert staff.get("/console/broadcasts").status_code == 403
    assert staff.get(f"{url}/progress.json").status_code == 403

    budi = console_login(server, "spv-budi")
    detail = budi.get(url).text
    assert "Setujui dan kirim" in detail
    assert budi.post(f"{url}/approve", data={"csrf": csrf_of(detail)}).status_code == 303
    state = budi.get(f"{url}/progress.json").json()
    assert (state["status"], state["total"], state["counts"]["queued"], state["approved_by"]) == (
        "sending",
        2,
        2,
        "spv-budi",
    )
    send_broadcasts()
    phone.sms(BRANTAS[0], "AMAN")
    drain_queue()
    state = budi.get(f"{url}/progress.json").json()
    assert (state["status"], state["percent"], state["counts"]["sent"]) == ("done", 100, 2)
    assert [(r["desa"], r["aman"], r["no_answer"]) for r in state["tally"]] == [("Sumberbrantas", 1, 1)]
    page = budi.get(url).text
    assert re.search(r'data-desa="Sumberbrantas">.*?data-col="aman">1<', page, re.S)
