"""Media in an S3-compatible store (HOTLINE_MEDIA_S3_*): the same guarantees as the data dir. The store here is
moto's standalone server (`moto.server.ThreadedMotoServer`, from the moto package): a real HTTP S3 endpoint
that checks SigV4 signatures and keeps objects private, spoken to by the hotline's real client (boto3), no mock
of the client. Down is a real one: an endpoint where nothing listens."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import httpx
import pytest
from moto.server import ThreadedMotoServer
from rq.registry import ScheduledJobRegistry
from sqlalchemy import select

from hotline.core.queue import queue
from hotline.db import unit_of_work
from hotline.fakes.whatsapp_graph import FakeGraph
from hotline.features.media.exif_gps import gps_of
from hotline.features.media.public_link import make_token
from hotline.jobs.media import fetch_media
from hotline.models import MediaItem
from hotline.settings import get_settings
from tests.accounts import console_login, make_user
from tests.conftest import drain_queue
from tests.gateway_env import CITIZEN
from tests.helpers import ticket
from tests.whatsapp_env import whatsapp

PHOTO = (Path(__file__).parent / "fixtures" / "open311" / "photo_with_gps.jpg").read_bytes()  # EXIF GPS in Sisir
BUCKET, REGION = "kota-batu-media", "ap-southeast-3"
KEYS = {"HOTLINE_MEDIA_S3_ACCESS_KEY": "hotline-test-key", "HOTLINE_MEDIA_S3_SECRET_KEY": "hotline-test-secret-1"}


@pytest.fixture(scope="module")
def s3_server() -> Iterator[str]:
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


@pytest.fixture
def s3(s3_server: str) -> Iterator[Any]:
    """A client of our own beside the hotline's, to look into the bucket; a fresh bucket per test."""
    client = boto3.client(
        "s3",
        endpoint_url=s3_server,
        region_name=REGION,
        aws_access_key_id=KEYS["HOTLINE_MEDIA_S3_ACCESS_KEY"],
        aws_secret_access_key=KEYS["HOTLINE_MEDIA_S3_SECRET_KEY"],
    )
    client.create_bucket(Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": REGION})
    yield client
    for item in client.list_objects_v2(Bucket=BUCKET).get("Contents", []):
        client.delete_object(Bucket=BUCKET, Key=item["Key"])
    client.delete_bucket(Bucket=BUCKET)


def _env(endpoint: str) -> dict[str, str]:
    return {
        "HOTLINE_MEDIA_S3_BUCKET": BUCKET,
        "HOTLINE_MEDIA_S3_ENDPOINT": endpoint,
        "HOTLINE_MEDIA_S3_REGION": REGION,
        "HOTLINE_MEDIA_S3_PREFIX": "hotline/media/",
        **KEYS,
    }


def _closed_port() -> str:
    with socket.socket() as sock:  # bound, never listening: connections are refused, as by a store that is down
        sock.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{sock.getsockname()[1]}"


@pytest.fixture
def graph(graph_server: FakeGraph, server: str, fake_twilio: Any, s3: Any, s3_server: str) -> Iterator[FakeGraph]:
    with whatsapp(graph_server, fake_twilio.base_url, server, **_env(s3_server)) as fake:
        yield fake


def _media() -> list[MediaItem]:
    with unit_of_work() as s:
        return list(s.scalars(select(MediaItem).order_by(MediaItem.id)))


def test_a_photo_is_kept_in_the_bucket_and_shown_only_through_the_hotline(
    graph: FakeGraph, s3: Any, s3_server: str, server: str
) -> None:
    local = get_settings().data_dir / "media"
    before = set(local.rglob("*")) if local.exists() else set()  # the suite's earlier tests share the data dir
    graph.image(CITIZEN, PHOTO, caption="POHON TUMBANG menutup jalan di Punten")
    drain_queue()
    [item] = _media()
    assert item.status == "stored" and item.path is not None
    key = item.path.removeprefix(f"s3://{BUCKET}/")
    assert key.startswith("hotline/media/") and key.endswith(f"{item.sha256}.jpg")
    stored = s3.get_object(Bucket=BUCKET, Key=key)
    assert stored["Body"].read() == PHOTO and stored["ContentType"] == "image/jpeg"
    assert (set(local.rglob("*")) if local.exists() else set()) == before  # nothing written under the data dir

    assert httpx.get(f"{s3_server}/{BUCKET}/{key}").status_code == 403  # the bucket itself lets nobody read it
    anonymous = httpx.get(f"{server}/console/tickets/1/media/{item.id}")
    assert anonymous.status_code in (303, 401) and anonymous.content != PHOTO
    make_user("ani", "operator")
    console = console_login(server, "ani")
    shown = console.get(f"/console/tickets/1/media/{item.id}")
    assert shown.status_code == 200 and shown.content == PHOTO  # the console streams it, EXIF and all
    page = console.get("/console/tickets/1").text
    assert s3_server not in page and "s3://" not in page and BUCKET not in page

    token = make_token(get_settings().secret_key, 1)
    outside = httpx.get(f"{server}/p/{token}/media/{item.id}")
    assert outside.status_code == 200 and outside.headers["content-type"] == "image/jpeg"
    assert gps_of(outside.content) is None and gps_of(PHOTO) is not None  # stripped before it leaves the console


def _point_store_at(endpoint: str) -> None:
    os.environ["HOTLINE_MEDIA_S3_ENDPOINT"] = endpoint  # put back when whatsapp() ends
    get_settings.cache_clear()


def test_the_store_down_keeps_the_report_and_the_photo_is_fetched_again_later(
    graph_server: FakeGraph, server: str, fake_twilio: Any, s3: Any, s3_server: str
) -> None:
    with whatsapp(graph_server, fake_twilio.base_url, server, **_env(_closed_port())) as graph:
        graph.image(CITIZEN, PHOTO, caption="KEBAKARAN gudang di belakang pasar")
        drain_queue()
        assert ticket(1).status == "routed"  # the report did not wait for the store
        [item] = _media()
        assert (item.status, item.attempts, item.path) == ("pending", 1, None)
        assert "media store" in (item.error or "") and item.next_attempt_at is not None
        assert f"media-{item.id}-1" in ScheduledJobRegistry(queue=queue()).get_job_ids()  # retried with back-off
        assert s3.list_objects_v2(Bucket=BUCKET).get("KeyCount") == 0

        _point_store_at(s3_server)  # the store is back
        assert fetch_media(item.id) == "stored"  # what the scheduled retry runs
        [item] = _media()
        assert (item.status, item.attempts) == ("stored", 2) and (item.path or "").startswith(f"s3://{BUCKET}/")
        lookups = [p for m, p, _ in graph.requests if m == "GET" and p.endswith(item.ref)]
        assert len(lookups) == 2  # fetched from Meta again: nothing was kept while the store was down
        make_user("ani", "operator")
        console = console_login(server, "ani")
        assert console.get(f"/console/tickets/1/media/{item.id}").content == PHOTO

        _point_store_at(_closed_port())  # down again while an operator looks
        down = console.get(f"/console/tickets/1/media/{item.id}")
        assert down.status_code == 503 and "try again" in down.text  # a clear answer, never a 500
        token = make_token(get_settings().secret_key, 1)
        assert httpx.get(f"{server}/p/{token}/media/{item.id}").status_code == 503


def _config_check(**env: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("HOTLINE_MEDIA_S3_")}
    return subprocess.run(
        [sys.executable, "-m", "hotline", "config", "check", str(Path(__file__).parent / "city")],
        capture_output=True,
        text=True,
        timeout=120,
        env={**clean, **env},
    )


def test_config_check_says_where_media_are_kept_and_refuses_what_cannot_work() -> None:
    here = _config_check()
    assert here.returncode == 0, here.stderr
    assert "media: kept in" in here.stdout and "S3" not in here.stdout.split("media: kept in")[1].splitlines()[0]
    s3 = _config_check(**_env("https://minio.example.go.id:9000"))
    assert s3.returncode == 0, s3.stderr
    assert f"media: kept in S3 bucket {BUCKET} at https://minio.example.go.id:9000 (region {REGION}" in s3.stdout
    assert KEYS["HOTLINE_MEDIA_S3_SECRET_KEY"] not in s3.stdout + s3.stderr
    for wrong, said in (
        ({"HOTLINE_MEDIA_S3_BUCKET": "Kota_Batu"}, "is not an S3 bucket name"),
        ({"HOTLINE_MEDIA_S3_ENDPOINT": "minio:9000"}, "must be the store's address"),
        ({"HOTLINE_MEDIA_S3_SECRET_KEY": ""}, "go together"),
    ):
        answer = _config_check(**{**_env("https://minio.example.go.id:9000"), **wrong})
        assert answer.returncode == 2 and said in answer.stderr, (wrong, answer.stderr)
    minio_default = {"HOTLINE_MEDIA_S3_SECRET_KEY": "minioadmin", "HOTLINE_ENV": "production"}  # MinIO's own
    weak = _config_check(**{**_env("https://minio.example.go.id:9000"), **minio_default})
    assert weak.returncode == 2 and "HOTLINE_MEDIA_S3_SECRET_KEY is" in weak.stderr  # refused as other secrets
