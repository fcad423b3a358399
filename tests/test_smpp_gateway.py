"""SMPP as the city's whole SMS gateway, against an SMSC nobody here wrote (smpp34's server, tests/smsc_peer.py)
and no Twilio configured at all: a citizen's report by deliver_sm, the ticket, the URC alert by submit_sm,
the member's TERIMA, the citizen's STATUS; receipts, long texts in parts, redelivery, throttling, refusals,
a dropped bind, a link that cannot bind, and `hotline smpp` as a process while the database is away."""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from hotline.channels.smpp import keys, links
from hotline.channels.smpp.holder import serve
from hotline.core.outbox import queue_sms
from hotline.core.queue import redis_connection
from hotline.db import unit_of_work
from hotline.settings import get_settings
from hotline.sms.encoding import measure
from tests.conftest import drain_queue
from tests.fault_processes import start, stop, wait_for
from tests.gateway_env import CITIZEN, gateways
from tests.helpers import inbound, outbound, ticket
from tests.smsc_peer import Smsc
from tests.suite_city import members

pytestmark = pytest.mark.system

SHORT_CODE = "1500112"
PMK = members("PMK")


def _env(port: int, **extra: str) -> dict[str, str]:
    return {
        "HOTLINE_SMS_GATEWAYS": "telco",
        "HOTLINE_GATEWAY_TELCO_TYPE": "smpp",
        "HOTLINE_GATEWAY_TELCO_HOST": "127.0.0.1",
        "HOTLINE_GATEWAY_TELCO_PORT": str(port),
        "HOTLINE_GATEWAY_TELCO_SYSTEM_ID": "kotabatu",
        "HOTLINE_GATEWAY_TELCO_PASSWORD": "rahasia1",
        "HOTLINE_GATEWAY_TELCO_FROM": SHORT_CODE,
        "HOTLINE_GATEWAY_TELCO_TPS": "200",
        "HOTLINE_GATEWAY_TELCO_TIMEOUT_SECONDS": "3",
        **extra,
    }


class Holder:
    """`hotline smpp`'s holder in a thread of this process (the worker's jobs run here too: drain_queue)."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.stop_event: asyncio.Event | None = None
        self.thread = threading.Thread(target=self._run, name="smpp-holder", daemon=True)
        self.ready = threading.Event()

    def _run(self) -> None:
        asyncio.set_event_loop(self.loop)

        async def main() -> None:
            self.stop_event = asyncio.Event()
            self.ready.set()
            settings = get_settings()
            await serve(links(settings), settings.redis_url or "", self.stop_event, lease_seconds=3)

        self.loop.run_until_complete(main())

    def start(self) -> Holder:
        self.thread.start()
        self.ready.wait(5)
        return self

    def stop(self) -> None:
        if self.stop_event is not None:
            self.loop.call_soon_threadsafe(self.stop_event.set)
        self.thread.join(15)
        assert not self.thread.is_alive(), "the holder did not stop"


def link_state() -> dict[str, object]:
    return keys.read_state(redis_connection().get(keys.key("telco", "state")))


@pytest.fixture(scope="module")
def smsc() -> Iterator[Smsc]:
    peer = Smsc().start()
    yield peer
    peer.stop()


@pytest.fixture
def telco(smsc: Smsc, backend: dict[str, str]) -> Iterator[Smsc]:
    smsc.submits.clear()
    smsc.reject.clear()
    smsc.receipts = True
    with gateways(_env(smsc.port)):
        holder = Holder().start()
        try:
            wait_for(lambda: link_state().get("state") == "bound" and smsc.bound(), 10, lambda: f"{link_state()}")
            yield smsc
        finally:
            holder.stop()
    wait_for(lambda: not smsc.bound(), 5, "the holder did not unbind")


def _citizen_texts(smsc: Smsc, sender: str, text: str, stored: int) -> None:
    status = smsc.mo(sender, SHORT_CODE, text)
    # deliver_sm_resp comes only once the SMS is stored: it is there the moment the answer is
    assert status == 0 and len(inbound()) == stored
    drain_queue()


def test_report_alert_accept_status_all_through_smpp(telco: Smsc) -> None:
    report = "KEBAKARAN di Jl. Diponegoro 12 Sisir, asap tebal dari rumah kayu dekat masjid"
    _citizen_texts(telco, CITIZEN, report, 1)
    [stored] = inbound()
    assert (stored.provider, stored.from_e164, stored.to_number, stored.body) == ("telco", CITIZEN, SHORT_CODE, report)
    assert stored.provider_sid.startswith("telco:")
    assert ticket(1).status == "routed"

    alert = [sms for sms in telco.texts() if sms.to == PMK[0].lstrip("+")]
    [row] = [m for m in outbound() if m.to_number == PMK[0]]
    assert len(alert) == 1 and alert[0].text == row.body and alert[0].parts == 1
    assert (alert[0].sender, alert[0].data_coding) == (SHORT_CODE, 0)
    assert telco.sent_to(CITIZEN)[0].startswith("Laporan No. 1 ")

    _citizen_texts(telco, PMK[0], "TERIMA 1", 2)
    assert ticket(1).status == "accepted"
    assert any("sedang ditangani" in t for t in telco.sent_to(CITIZEN))

    _citizen_texts(telco, CITIZEN, "STATUS 1", 3)
    assert "No. 1" in telco.sent_to(CITIZEN)[-1]

    # Every SMS went through the SMSC and its receipt (receipted_message_id, message_state) marked it delivered.
    def all_delivered() -> bool:
        return all((m.gateway, m.provider, m.status) == ("telco", "smpp", "delivered") for m in outbound())

    wait_for(all_delivered, 10, lambda: f"not all delivered: {[(m.id, m.gateway, m.status) for m in outbound()]}")
    assert {m.provider_sid for m in outbound()} == {f"telco:{s.message_ids[0]}" for s in telco.texts()}


def _operator_sms(to: str, body: str) -> None:
    with unit_of_work() as session:
        queue_sms(session, to=to, body=body, purpose="operator")
    drain_queue()


@pytest.mark.parametrize("concat", ["udh", "sar"])
@pytest.mark.parametrize(
    ("body", "coding", "parts"),
    [
        ("Pak Hong 黄, " + "mohon hubungi posko segera untuk koordinasi evakuasi warga di RT 03. " * 2, 8, 3),
        (
            "Mohon hubungi posko segera untuk koordinasi evakuasi warga di RT 03 RW 05 Sisir. " * 2 + "Terima kasih",
            0,
            2,
        ),
    ],
)
def test_long_sms_go_whole_in_their_coding(
    smsc: Smsc, backend: dict[str, str], concat: str, body: str, coding: int, parts: int
) -> None:
    assert measure(body).segments == parts
    smsc.submits.clear()
    with gateways(_env(smsc.port, HOTLINE_GATEWAY_TELCO_CONCAT=concat)):
        holder = Holder().start()
        try:
            wait_for(lambda: link_state().get("state") == "bound", 10, lambda: f"{link_state()}")
            _operator_sms(CITIZEN, body)
        finally:
            holder.stop()
    [sms] = smsc.texts()
    assert (sms.text, sms.parts, sms.data_coding) == (body, parts, coding)
    assert all(bool(s.esm_class & 0x40) == (concat == "udh") for s in smsc.accepted())


def test_a_citizens_long_sms_in_parts_is_stored_once_whole(telco: Smsc) -> None:
    text = "LONGSOR di Songgokerto, jalan tertutup tanah dan pohon tumbang, " * 3
    half = len(text) // 2
    for seq, piece in ((1, text[:half]), (2, text[half:])):
        udh = bytes([5, 0, 3, 42, 2, seq])
        status = telco.deliver(
            SHORT_CODE, udh + piece.encode("ascii"), source_addr=CITIZEN.lstrip("+"), source_addr_ton=1, esm_class=0x40
        )
        assert status == 0
        assert len(inbound()) == seq - 1  # the first part waits for the second
    assert [m.body for m in inbound()] == [text]
    # a redelivered part (the SMSC missed our answer) adds nothing
    telco.deliver(
        SHORT_CODE, bytes([5, 0, 3, 42, 2, 2]) + text[half:].encode(), source_addr=CITIZEN.lstrip("+"), esm_class=0x40
    )
    assert len(inbound()) == 1


def test_a_redelivered_deliver_sm_is_stored_once(telco: Smsc) -> None:
    for _ in range(2):
        assert telco.mo(CITIZEN, SHORT_CODE, "BANJIR di Pendem, air setinggi lutut") == 0
    assert [m.body for m in inbound()] == ["BANJIR di Pendem, air setinggi lutut"]
    assert telco.mo(CITIZEN, SHORT_CODE, "Halo, ini laporan lain", ucs2=True) == 0
    assert len(inbound()) == 2


def test_a_receipt_in_the_text_only_and_an_unknown_one(telco: Smsc) -> None:
    telco.receipts = False
    _operator_sms(CITIZEN, "Mohon hubungi posko")
    [row] = outbound()
    assert row.status == "sent"
    smsc_id = row.provider_sid.split(":", 1)[1]
    text = f"id:{smsc_id} sub:001 dlvrd:000 submit date:2612070900 done date:2612070901 stat:UNDELIV err:013"
    assert telco.deliver(SHORT_CODE, text.encode(), source_addr=CITIZEN.lstrip("+"), esm_class=0x04) == 0
    [row] = outbound()
    assert (row.status, row.error_code) == ("undelivered", "013")
    # a receipt for a message nobody here sent is acknowledged (the SMSC cannot do better) and changes nothing
    assert telco.deliver(SHORT_CODE, b"id:nosuch stat:DELIVRD", source_addr="62811", esm_class=0x04) == 0
    assert [m.status for m in outbound()] == ["undelivered"]


def test_throttled_waits_and_sends_refused_fails_over_to_the_next_gateway(telco: Smsc) -> None:
    telco.reject.extend([0x58, 0x58])  # ESME_RTHROTTLED twice: the link pauses and sends the same again
    _operator_sms(CITIZEN, "Mohon hubungi posko")
    statuses = [s.status for s in telco.submits]
    assert statuses == [0x58, 0x58, 0]
    assert [m.status for m in outbound()] in (["sent"], ["delivered"])
    # ESME_RINVDSTADR: refused for good through this link; with a second gateway it goes there at once
    telco.submits.clear()
    telco.reject.append(0x0B)
    env = {**_env(telco.port), "HOTLINE_SMS_GATEWAYS": "telco,log", "HOTLINE_GATEWAY_LOG_TYPE": "log"}
    with gateways(env):
        _operator_sms("+6281111111111", "Mohon hubungi posko lagi")
    row = outbound()[-1]
    assert (row.gateway, row.status) == ("log", "sent")
    assert "ESME_RINVDSTADR" in (row.last_error or "")


def test_a_dropped_bind_is_made_again_and_nothing_is_lost(telco: Smsc) -> None:
    binds = telco.binds
    telco.drop()
    wait_for(lambda: telco.binds > binds and link_state().get("state") == "bound", 10, lambda: f"{link_state()}")
    _operator_sms(CITIZEN, "Sesudah ikatan putus")
    assert telco.sent_to(CITIZEN) == ["Sesudah ikatan putus"]


def test_a_link_that_cannot_bind_is_down_in_readyz_and_metrics_and_alerts_fail_over(
    server: str, backend: dict[str, str], caplog: pytest.LogCaptureFixture
) -> None:
    from tests.fault_processes import free_port

    nobody = free_port()
    env = {**_env(nobody), "HOTLINE_SMS_GATEWAYS": "telco,log", "HOTLINE_GATEWAY_LOG_TYPE": "log"}
    with gateways(env), caplog.at_level("ERROR", logger="hotline.channels.smpp.holder"):
        holder = Holder().start()
        try:
            wait_for(lambda: "bind failed" in str(link_state().get("reason")), 10, lambda: f"{link_state()}")
            assert any(f"127.0.0.1:{nobody}" in r.getMessage() and "failed" in r.getMessage() for r in caplog.records)
            _operator_sms(CITIZEN, "Lewat gerbang lain")
            row = outbound()[-1]
            assert (row.gateway, row.status) == ("log", "sent") and "is down" in (row.last_error or "")
            response = httpx.get(f"{server}/readyz")
            # database and Redis are fine: the link alone does not make the API unready, but it is named
            assert response.status_code == 200
            ready = response.json()
            assert (ready["database"], ready["redis"]) == ("ok", "ok")
            assert ready["smpp telco"].startswith("down: bind failed: ")
            assert 'hotline_smpp_link_up{gateway="telco"} 0.0' in httpx.get(f"{server}/metrics").text
        finally:
            holder.stop()


def test_readyz_and_metrics_while_the_link_is_bound(telco: Smsc, server: str) -> None:
    assert httpx.get(f"{server}/readyz").json()["smpp telco"] == "bound"
    _operator_sms(CITIZEN, "Mohon hubungi posko")
    assert 'hotline_smpp_link_up{gateway="telco"} 1.0' in httpx.get(f"{server}/metrics").text
    # counted by the holder, added to Redis with its next state renewal (every 2 s)
    submitted = 'hotline_smpp_pdus{event="submitted",gateway="telco"} 1.0'
    wait_for(lambda: submitted in httpx.get(f"{server}/metrics").text, 5, "the submit_sm was not counted")


@pytest.mark.postgres  # an outage of the database server: CI's PostgreSQL pass runs it
def test_hotline_smpp_process_spools_what_comes_while_the_database_is_away(
    smsc: Smsc, backend: dict[str, str], tmp_path: Path
) -> None:
    """`hotline smpp` as its own process, reaching PostgreSQL through a proxy the test cuts: the deliver_sm is
    kept in the process's spool and acknowledged (ESME_ROK); the process's replayer stores it once the database
    is back, and the SMSC delivering it again meanwhile (same PDU) stores nothing twice."""
    url = backend["HOTLINE_DATABASE_URL"]
    if not url.startswith("postgresql"):
        pytest.skip("SQLite is a file in the holder's own process: there is no database server to lose")
    from tests.tcp_proxy import TcpProxy, database_target, proxied_database_url

    proxy = TcpProxy(database_target(url)).start()
    env = {k: v for k, v in backend.items() if not k.startswith(("_", "TWILIO_"))}
    env = {
        **env,
        **_env(smsc.port),
        "HOTLINE_DATABASE_URL": proxied_database_url(url, proxy.port),
        "HOTLINE_DATA_DIR": str(tmp_path / "var"),
    }
    import os

    env = {**{k: v for k, v in os.environ.items() if not k.startswith(("HOTLINE_", "TWILIO_"))}, **env}
    process = start(["smpp"], env, tmp_path / "smpp.log")
    try:
        wait_for(lambda: smsc.bound(), 15, lambda: (tmp_path / "smpp.log").read_text())
        proxy.cut()
        assert smsc.mo(CITIZEN, SHORT_CODE, "KEBAKARAN di Temas") == 0  # ESME_ROK: kept in the spool
        assert inbound() == []
        proxy.restore()
        wait_for(lambda: len(inbound()) == 1, 30, lambda: f"never replayed: {(tmp_path / 'smpp.log').read_text()}")
        assert smsc.mo(CITIZEN, SHORT_CODE, "KEBAKARAN di Temas") == 0  # delivered again: the same SMS
        assert [m.body for m in inbound()] == ["KEBAKARAN di Temas"]
        assert json.loads(redis_connection().get(keys.key("telco", "state")) or "{}")["state"] == "bound"
    finally:
        stop(process)
        proxy.stop()
