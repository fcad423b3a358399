"""Several API replicas and several workers on one database and one Redis, as docs/deployment.md runs them on
several hosts. Twilio's webhooks land on any replica behind the load balancer (and a retry may land on another);
two workers, each with its RQ scheduler, sweeper and escalation releaser, run side by side. Every report is one
ticket, every SMS goes out once, and both workers take a share of the work."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import httpx
import pytest
from rq import Worker
from sqlalchemy import func, select
from twilio.request_validator import RequestValidator

from hotline.core.queue import queue, redis_connection
from hotline.db import unit_of_work
from hotline.models import InboundMessage, OutboundMessage, Ticket
from tests.conftest import AUTH_TOKEN, Phone
from tests.fault_processes import serve, start, stop, wait_for
from tests.suite_city import members

# system: starts hotline processes; postgres: its point is PostgreSQL's behaviour (an outage, several processes
# on one database), so CI's PostgreSQL pass runs it too (tests/README.md)
pytestmark = [pytest.mark.system, pytest.mark.postgres]

PUBLIC_URL = "https://hotline.batukota.example"  # what Twilio calls: the load balancer, not a replica
PMK = members("PMK")
# One fire in each of 16 desa: different places, so none is a duplicate of another.
DESA = [
    "Oro-Oro Ombo",
    "Pesanggrahan",
    "Sidomulyo",
    "Sumberejo",
    "Ngaglik",
    "Sisir",
    "Songgokerto",
    "Temas",
    "Bulukerto",
    "Giripurno",
    "Gunungsari",
    "Pandanrejo",
    "Punten",
    "Beji",
    "Junrejo",
    "Tlekung",
]
REPORTS = len(DESA)


def _post(client: httpx.Client, replica: str, params: dict[str, str]) -> httpx.Response:
    """A webhook as the load balancer forwards it: signed by Twilio for the public URL, sent to one replica."""
    signature = RequestValidator(AUTH_TOKEN).compute_signature(f"{PUBLIC_URL}/twilio/sms", params)
    return client.post(f"{replica}/twilio/sms", data=params, headers={"X-Twilio-Signature": signature})


def _settled() -> bool:
    with unit_of_work() as s:
        waiting = s.scalar(select(func.count()).select_from(InboundMessage).where(InboundMessage.status == "received"))
        unsent = s.scalar(
            select(func.count()).select_from(OutboundMessage).where(OutboundMessage.status.in_(("queued", "sending")))
        )
    return not waiting and not unsent


def test_two_replicas_and_two_workers_handle_each_report_once(
    backend: dict[str, str], tmp_path: Path, fake_twilio: Any
) -> None:
    env = dict(os.environ)
    processes = []
    try:
        replicas = []
        for n in range(2):
            process, base = serve(env, tmp_path / f"serve-{n}.log", public_url=PUBLIC_URL)
            processes.append(process)
            replicas.append(base)
        processes += [start(["worker", "--sweep-interval", "1"], env, tmp_path / f"worker-{n}.log") for n in range(2)]
        wait_for(lambda: len(redis_connection().smembers("rq:workers")) >= 2, 30, "the workers did not register")

        phone = Phone(replicas[0])  # only for its payloads
        citizens = [f"+62812500000{n:02d}" for n in range(REPORTS)]
        with httpx.Client(timeout=10) as client:
            for n, citizen in enumerate(citizens):
                params = phone.payload(citizen, f"KEBAKARAN rumah warga di {DESA[n]}")
                first, other = replicas[n % 2], replicas[(n + 1) % 2]
                assert _post(client, first, params).status_code == 200
                if n % 4 == 0:  # Twilio's retry of the same webhook, landing on the other replica
                    assert _post(client, other, params).status_code == 200
            # A replica checks signatures against the public URL, not its own address.
            forged = phone.payload(citizens[0], "KEBAKARAN palsu")
            signed_for_replica = RequestValidator(AUTH_TOKEN).compute_signature(f"{replicas[1]}/twilio/sms", forged)
            refused = client.post(
                f"{replicas[1]}/twilio/sms", data=forged, headers={"X-Twilio-Signature": signed_for_replica}
            )
            assert refused.status_code == 403
        phone.client.close()

        log = tmp_path / "worker-0.log"
        wait_for(_settled, 90, lambda: f"not all handled; worker log: {log.read_text()[-1500:]}")
        with unit_of_work() as s:
            tickets = s.scalars(select(Ticket.reporter_phone).where(Ticket.channel == "sms")).all()
            stored = s.scalar(select(func.count()).select_from(InboundMessage))
        assert sorted(tickets) == citizens and stored == REPORTS  # each report once, the retries added nothing
        assert all(len(fake_twilio.sent_to(citizen)) == 1 for citizen in citizens)  # one reply each
        for member in PMK:  # one alert per ticket to each PMK member, never two
            bodies = [m.body for m in fake_twilio.sent_to(member)]
            assert len(bodies) == REPORTS and len(set(bodies)) == REPORTS, bodies
        done = [w.successful_job_count for w in Worker.all(connection=redis_connection(), queue=queue())]
        print(f"FIGURE jobs done by each worker: {done}")
        assert len(done) == 2 and all(count > 0 for count in done)  # both took a share
    finally:
        for process in reversed(processes):
            stop(process)
