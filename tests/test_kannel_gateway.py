"""Kannel as the city's whole SMS gateway, against a real bearerbox + smsbox + fakesmsc (Debian `kannel`,
`kannel-extras`) running config/kannel/kannel.conf, and no Twilio configured at all: a citizen's report, the
ticket, the URC alert, the member's TERIMA and the citizen's STATUS, all through Kannel."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select

from hotline.core.outbox import queue_sms
from hotline.db import unit_of_work
from hotline.models import InboundMessage, OutboundMessage
from hotline.sms.encoding import measure
from tests.conftest import drain_queue
from tests.fault_processes import wait_for
from tests.gateway_env import CITIZEN, MODEM, gateways
from tests.helpers import inbound, outbound, ticket
from tests.kannel_peer import KannelPeer, missing
from tests.suite_city import members

pytestmark = [pytest.mark.system, pytest.mark.skipif(missing() is not None, reason=missing() or "")]

SECRET = "kannel-post-secret-for-tests"
PASSWORD = "kannel-sendsms-test-password"
PMK = members("PMK")


@pytest.fixture(scope="module")
def peer(server: str) -> Iterator[KannelPeer]:
    workdir = Path(tempfile.mkdtemp(prefix="kannel-"))
    kannel = KannelPeer(workdir, hotline_url=server, gateway="kannel", secret=SECRET, password=PASSWORD)
    try:
        kannel.start()
    except AssertionError:
        kannel.stop()
        raise AssertionError(f"Kannel did not start:\n{kannel.log_tail()}") from None
    yield kannel
    kannel.stop()
    shutil.rmtree(workdir, ignore_errors=True)


@pytest.fixture
def kannel(peer: KannelPeer) -> Iterator[KannelPeer]:
    env = {
        "HOTLINE_SMS_GATEWAYS": "kannel",
        "HOTLINE_GATEWAY_KANNEL_URL": peer.sendsms_url,
        "HOTLINE_GATEWAY_KANNEL_USERNAME": "hotline",
        "HOTLINE_GATEWAY_KANNEL_PASSWORD": PASSWORD,
        "HOTLINE_GATEWAY_KANNEL_FROM": MODEM,
        "HOTLINE_GATEWAY_KANNEL_SECRET": SECRET,
        "HOTLINE_GATEWAY_KANNEL_ALLOW": "127.0.0.1",
    }
    with gateways(env):
        peer.received.clear()
        yield peer


def _texts(kannel: KannelPeer, number: str) -> list[str]:
    return [m.text for m in kannel.sent_to(number)]


def _citizen_texts(kannel: KannelPeer, sender: str, text: str, stored: int) -> None:
    """A phone texts the modem; Kannel posts it to us; the worker handles it."""
    kannel.mo(sender, MODEM, text)
    wait_for(lambda: len(inbound()) >= stored, 15, lambda: f"Kannel never posted the SMS:\n{kannel.log_tail()}")
    drain_queue()


def test_report_alert_accept_status_all_through_kannel(kannel: KannelPeer) -> None:
    report = (
        "KEBAKARAN di Jl. Diponegoro 12 Sisir, asap tebal dari rumah kayu dekat masjid, api sudah ke atap "
        "rumah tetangga, tolong cepat kirim pemadam"
    )
    _citizen_texts(kannel, CITIZEN, report, 1)
    [stored] = inbound()
    assert (stored.provider, stored.from_e164, stored.to_number, stored.body) == ("kannel", CITIZEN, MODEM, report)
    assert stored.provider_sid.startswith("kannel:") and stored.payload["hotline_line"] == "modem1"
    assert ticket(1).status == "routed"

    wait_for(lambda: len(_texts(kannel, PMK[0])) == 1, 15, lambda: f"no alert reached PMK:\n{kannel.log_tail()}")
    [alert] = kannel.sent_to(PMK[0])
    [row] = [m for m in outbound() if m.to_number == PMK[0]]
    # A crew alert fits one GSM-7 part (the long report is quoted short); long SMS go whole: below.
    assert alert.text == row.body and len(row.body) <= 160
    assert (alert.parts, alert.sender) == (1, MODEM) and measure(row.body).encoding == "gsm7"
    wait_for(lambda: len(_texts(kannel, CITIZEN)) == 1, 15, "the citizen got no reply")
    assert _texts(kannel, CITIZEN)[0].startswith("Laporan No. 1 ")

    _citizen_texts(kannel, PMK[0], "TERIMA 1", 2)
    assert ticket(1).status == "accepted"
    wait_for(lambda: any("sedang ditangani" in t for t in _texts(kannel, CITIZEN)), 15, "no notice to the citizen")

    _citizen_texts(kannel, CITIZEN, "STATUS 1", 3)
    wait_for(lambda: len(_texts(kannel, CITIZEN)) == 3, 15, "no answer to STATUS")
    assert "No. 1" in _texts(kannel, CITIZEN)[-1]

    # Every SMS went out through Kannel and came back reported delivered (the fake SMSC reports at once).
    def all_delivered() -> bool:
        rows = outbound()
        return all((m.gateway, m.provider, m.status) == ("kannel", "kannel", "delivered") for m in rows)

    wait_for(all_delivered, 15, lambda: f"not all delivered: {[(m.id, m.gateway, m.status) for m in outbound()]}")
    replies = [m for m in kannel.received if m.to == CITIZEN]
    assert {m.sender for m in replies} == {MODEM}  # answered from the number the citizen texted


def _operator_sms(to: str, body: str) -> None:
    with unit_of_work() as session:
        queue_sms(session, to=to, body=body, purpose="operator")
    drain_queue()


@pytest.mark.parametrize(
    ("body", "coding", "parts"),
    [
        ("Pak Hong 黄, " + "mohon hubungi posko segera untuk koordinasi evakuasi warga di RT 03. " * 2, "ucs2", 3),
        (
            "Mohon hubungi posko segera untuk koordinasi evakuasi warga di RT 03 RW 05 Sisir. " * 2 + "Terima kasih",
            "gsm7",
            2,
        ),
    ],
)
def test_long_sms_go_whole_in_their_coding(kannel: KannelPeer, body: str, coding: str, parts: int) -> None:
    """Kannel's defaults cut these at 70 and 160 characters and report them delivered; config/kannel/kannel.conf
    and our coding/charset send them whole."""
    assert measure(body).encoding == coding and measure(body).segments == parts
    _operator_sms(CITIZEN, body)
    wait_for(lambda: len(kannel.sent_to(CITIZEN)) == 1, 15, lambda: f"nothing reached the phone:\n{kannel.log_tail()}")
    [sms] = kannel.sent_to(CITIZEN)
    assert (sms.text, sms.parts) == (body, parts)


def test_a_redelivered_sms_is_stored_once(kannel: KannelPeer, server: str) -> None:
    import httpx

    params = {"gateway": "kannel", "secret": SECRET, "id": "3f1c-redelivered", "from": CITIZEN, "to": MODEM}
    for _ in range(2):
        response = httpx.post(f"{server}/kannel/sms", params=params, content=b"BANJIR di Pendem")
        assert (response.status_code, response.text) == (200, "")
    with unit_of_work() as s:
        rows = list(s.scalars(select(InboundMessage.provider_sid)))
    assert rows == ["kannel:3f1c-redelivered"]


def test_sendsms_is_refused_for_a_wrong_password(kannel: KannelPeer) -> None:
    """What our sender does with a real smsbox's refusal: permanent, not retried for ever."""
    import os

    from hotline.settings import get_settings

    os.environ["HOTLINE_GATEWAY_KANNEL_PASSWORD"] = "not-the-password"
    get_settings.cache_clear()
    _citizen_texts(kannel, CITIZEN, "SAMPAH menumpuk di TPS Jl. Brantas", 1)
    with unit_of_work() as s:
        rows = list(s.scalars(select(OutboundMessage)))
    assert rows and all(m.status == "failed" for m in rows)
    assert all("403" in (m.last_error or "") for m in rows)


def test_hotline_unreachable_smsbox_posts_the_sms_again_and_it_is_not_lost(server: str, tmp_path: Path) -> None:
    """With the shipped http-request-retry, a citizen's SMS that reached Kannel while Hotline could not be
    reached is posted again once it can (Kannel's default would drop it)."""
    from urllib.parse import urlsplit

    from tests.tcp_proxy import TcpProxy

    proxy = TcpProxy(urlsplit(server).netloc).start()
    kannel = KannelPeer(
        tmp_path, hotline_url=f"http://127.0.0.1:{proxy.port}", gateway="kannel", secret=SECRET, password=PASSWORD
    )
    env = {
        "HOTLINE_SMS_GATEWAYS": "kannel",
        "HOTLINE_GATEWAY_KANNEL_URL": "http://127.0.0.1:9/cgi-bin/sendsms",
        "HOTLINE_GATEWAY_KANNEL_USERNAME": "hotline",
        "HOTLINE_GATEWAY_KANNEL_PASSWORD": PASSWORD,
        "HOTLINE_GATEWAY_KANNEL_SECRET": SECRET,
    }
    try:
        kannel.start()
        with gateways(env):
            proxy.cut()
            kannel.mo(CITIZEN, MODEM, "LONGSOR di Songgokerto, jalan tertutup")
            wait_for(
                lambda: (
                    "Couldn't fetch" in (tmp_path / "smsbox.log").read_text(errors="replace")
                    or "retrying" in (tmp_path / "smsbox.log").read_text(errors="replace").lower()
                ),
                15,
                lambda: f"smsbox never tried:\n{kannel.log_tail()}",
            )
            assert inbound() == []
            proxy.restore()
            wait_for(lambda: len(inbound()) == 1, 40, lambda: f"the SMS was lost:\n{kannel.log_tail()}")
            assert inbound()[0].body == "LONGSOR di Songgokerto, jalan tertutup"
    finally:
        kannel.stop()
        proxy.stop()
