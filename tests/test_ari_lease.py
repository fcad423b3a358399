"""One ARI app per Asterisk: a second `hotline ari` stands by on the Redis lease and takes over when the first
dies or stops. Asterisk (and the fake ARI) give a Stasis app's events to the websocket that subscribed last, so
without the lease two apps would steal each other's calls."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from redis.asyncio import Redis

from hotline.channels.ari.lease import BEAT_TTL, AriLease, lease_key
from hotline.fakes.fake_ari import FakeAri
from tests.ari_harness import requires_ari_docs

pytestmark = [requires_ari_docs, pytest.mark.system]  # starts hotline processes
LEASE_SECONDS = 15.0  # the default: a dead holder's lease is taken over long before it expires


def _env(backend: dict[str, str], fake: FakeAri, url: str, lease_seconds: float) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ARI_")}
    env.update({k: v for k, v in backend.items() if isinstance(v, str)})
    env.update(ARI_URL=url, ARI_USERNAME=fake.username, ARI_PASSWORD=fake.password)
    env["ARI_LEASE_SECONDS"] = str(lease_seconds)
    return env


async def _start(env: dict[str, str], log: Path) -> asyncio.subprocess.Process:
    with log.open("ab") as out:
        return await asyncio.create_subprocess_exec(
            sys.executable, "-m", "hotline", "ari", env=env, stdout=out, stderr=out, start_new_session=True
        )


async def _wait(condition: Any, seconds: float, failure: str) -> float:
    began = time.monotonic()
    while not condition():
        if time.monotonic() - began > seconds:
            raise AssertionError(failure)
        await asyncio.sleep(0.05)
    return time.monotonic() - began


def _events_connections(fake: FakeAri) -> int:
    return sum(1 for r in fake.requests if r.path == "/events" and r.status == 101)


def test_a_second_app_stands_by_and_takes_over_when_the_first_dies_or_stops(
    backend: dict[str, str], tmp_path: Path
) -> None:
    async def scenario() -> None:
        fake = FakeAri()
        url = await fake.start()
        env = _env(backend, fake, url, LEASE_SECONDS)
        first_log, second_log, third_log = (tmp_path / f"ari-{n}.log" for n in (1, 2, 3))
        first = await _start(env, first_log)
        processes = [first]
        try:
            await _wait(lambda: _events_connections(fake) == 1, 60, "the first app did not connect")
            second = await _start(env, second_log)
            processes.append(second)
            await _wait(lambda: "standing by" in second_log.read_text(), 60, "the second app did not stand by")
            await asyncio.sleep(2 * BEAT_TTL)  # the first app's beats keep the lease with it
            assert _events_connections(fake) == 1, second_log.read_text()

            os.killpg(first.pid, signal.SIGKILL)  # a crash: the key stays, but its holder's process is gone
            await first.wait()
            # Issue 17, item 4: the standby waited ~11 s for a dead app's 15 s lease; now it sees it dead.
            took = await _wait(lambda: _events_connections(fake) == 2, BEAT_TTL, "no takeover from a dead holder")
            print(f"FIGURE takeover after the holder was killed: {took:.2f} s (lease {LEASE_SECONDS} s)")

            third = await _start(env, third_log)
            processes.append(third)
            await _wait(lambda: "standing by" in third_log.read_text(), 60, "the third app did not stand by")
            second.send_signal(signal.SIGTERM)  # a clean stop hands over at once: the key is deleted
            assert await asyncio.wait_for(second.wait(), 30) == 0, second_log.read_text()
            took = await _wait(lambda: _events_connections(fake) == 3, 10 * LEASE_SECONDS, "no handover")
            print(f"FIGURE handover after a clean stop: {took:.2f} s")
            third.send_signal(signal.SIGTERM)
            assert await asyncio.wait_for(third.wait(), 30) == 0, third_log.read_text()
            redis = Redis.from_url(backend["HOTLINE_REDIS_URL"])
            assert await redis.get(lease_key(url, "hotline")) is None  # released, nothing left to expire
            await redis.aclose()
        finally:
            for process in processes:
                if process.returncode is None:
                    process.kill()
                    await process.wait()
            await fake.stop()

    asyncio.run(scenario())


def test_without_the_lease_two_apps_steal_the_events_from_each_other(backend: dict[str, str], tmp_path: Path) -> None:
    """The control: ARI_LEASE_SECONDS=0, and the second app takes the events the first was getting."""

    async def scenario() -> int:
        fake = FakeAri()
        url = await fake.start()
        env = _env(backend, fake, url, 0)
        apps = [await _start(env, tmp_path / "ari-a.log")]
        try:
            await _wait(lambda: _events_connections(fake) == 1, 60, "the first app did not connect")
            apps.append(await _start(env, tmp_path / "ari-b.log"))
            await _wait(lambda: _events_connections(fake) == 2, 60, "the second app did not connect")
            return _events_connections(fake)
        finally:
            for app in apps:
                app.send_signal(signal.SIGTERM)
                await asyncio.wait_for(app.wait(), 30)
            await fake.stop()

    assert asyncio.run(scenario()) == 2


def test_a_lease_taken_by_another_app_makes_this_one_step_down(backend: dict[str, str]) -> None:
    async def scenario() -> None:
        redis = Redis.from_url(backend["HOTLINE_REDIS_URL"])
        key = lease_key("http://asterisk-a:8088", "hotline-steal-test")
        lease = AriLease(redis, key, ttl=0.6, holder="this-app")
        stop = asyncio.Event()
        assert await lease.acquire(stop)
        assert await redis.get(key) == b"this-app"
        await redis.set(key, "another-app", px=5000)  # e.g. Redis lost the key and a standby took it
        await asyncio.wait_for(lease.keep(stop), 5)  # returns: step down
        await lease.release()
        assert await redis.get(key) == b"another-app"  # releasing never deletes another app's lease
        await redis.delete(key)
        await redis.aclose()

    asyncio.run(scenario())


def test_a_dead_holder_on_another_machine_is_taken_over_once_its_beat_stops(backend: dict[str, str]) -> None:
    async def scenario() -> dict[str, Any]:
        redis = Redis.from_url(backend["HOTLINE_REDIS_URL"])
        key = lease_key("http://asterisk-b:8088", "hotline-beat-test")
        holder = AriLease(redis, key, ttl=15, holder="another-machine:4242:abcd")
        standby = AriLease(redis, key, ttl=15, holder="standby")
        out: dict[str, Any] = {}
        stop_holder, stop_standby = asyncio.Event(), asyncio.Event()
        try:
            assert await holder.acquire(stop_holder)
            keeper = asyncio.create_task(holder.keep(stop_holder))
            acquiring = asyncio.create_task(standby.acquire(stop_standby))
            await asyncio.sleep(2 * BEAT_TTL)  # a holder that beats keeps its lease
            out["taken_from_a_live_holder"] = acquiring.done()
            keeper.cancel()  # the holder's machine is gone: no beat, no release, the key stays for 15 s
            out["taken"] = await asyncio.wait_for(acquiring, BEAT_TTL + 2)  # long before the 15 s run out
            out["holder"] = await redis.get(key)
        finally:
            stop_standby.set()
            await redis.delete(key, f"{key}:beat")
            await redis.aclose()
        return out

    assert asyncio.run(scenario()) == {"taken_from_a_live_holder": False, "taken": True, "holder": b"standby"}


def test_redis_unreachable_does_not_keep_the_phones_down(unused_port: int) -> None:
    async def scenario() -> bool:
        redis = Redis.from_url(f"redis://127.0.0.1:{unused_port}/0", socket_connect_timeout=0.2)
        lease = AriLease(redis, lease_key("http://asterisk:8088", "hotline"), ttl=0.3)
        began = time.monotonic()
        held = await asyncio.wait_for(lease.acquire(asyncio.Event()), 10)
        assert time.monotonic() - began >= 0.6  # it tried for two lease times first
        await redis.aclose()
        return held and lease.without_lease

    assert asyncio.run(scenario())


@pytest.fixture
def unused_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])
