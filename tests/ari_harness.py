"""The ARI app against the fake ARI, in one event loop: what the tests of tests/test_ari_*.py share."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import pytest

from hotline.channels.ari.calls import CallPort
from hotline.channels.ari.client import AriClient, Backoff
from hotline.channels.ari.executor import AriApp, AriCall
from hotline.channels.ari.run import build_app
from hotline.fakes.ari_spec import AriDocsMissing, docs_dir
from hotline.fakes.fake_ari import FakeAri, FakeRequest
from hotline.ivr import actions as a
from hotline.settings import Settings


def _ari_docs_found() -> bool:
    try:
        docs_dir()
    except AriDocsMissing:
        return False
    return True


# The fake ARI checks every request and event against Asterisk's own models, which live outside the repo.
requires_ari_docs = pytest.mark.skipif(
    not _ari_docs_found(), reason="Asterisk's ARI api-docs are not on this machine: set HOTLINE_ARI_DOCS"
)


@dataclass
class Line:
    fake: FakeAri
    app: AriApp
    client: AriClient

    async def settled(self) -> None:
        """Wait until nothing moves: no event queued or handled, nothing the fake has yet to send or do."""
        quiet = 0
        while quiet < 5:
            in_transit = self.client.connected.is_set() and self.client.received < self.fake.sent_on_socket
            busy = in_transit or self.client.inflight or self.fake.pending_events() or self.fake._timers
            quiet = 0 if busy else quiet + 1
            await asyncio.sleep(0.001 if busy else 0)

    async def reconnected(self, connections: int = 2) -> None:
        """Wait until the app has connected `connections` times and reconciled the live channels."""
        await self.fake.wait_connected(connections)
        while self.client.connections < connections or not self.client.connected.is_set():
            await asyncio.sleep(0.001)
        await self.settled()

    def call(self, channel: str) -> AriCall:
        return self.app.calls[channel]

    async def silence(self, channel: str) -> None:
        """The caller presses nothing: the Gather's (or the queue's) timer runs out now. At a listening
        Gather (the greeting) they say something first, as real callers do ("halo?"); `quiet` is a caller
        who makes no sound at all (a silent call)."""
        await self.settled()
        plan = self.call(channel).plan
        if plan is not None and isinstance(plan.wait, a.Gather) and plan.wait.listen:
            await self.fake.talk(channel)
            await self.settled()
        await self.quiet(channel)

    async def quiet(self, channel: str) -> None:
        """No key and no voice: the timer runs out with nothing heard."""
        await self.settled()
        assert self.call(channel).expire_timer(), f"no timer pending on {channel} ({self.call(channel).phase})"
        await self.settled()

    async def press(self, channel: str, keys: str) -> None:
        await self.fake.press(channel, keys)
        await self.settled()

    async def dial(self, caller: str = "+6281234567890") -> str:
        channel = await self.fake.dial(caller)
        await self.settled()
        return channel

    def requests(self, channel: str, start: int = 0) -> list[FakeRequest]:
        return [r for r in self.fake.requests[start:] if channel in r.path or channel in str(r.params)]


@asynccontextmanager
async def ari_line(
    playback_seconds: float | None = 0.0,
    configure: Callable[[FakeAri], Any] | None = None,
    calls: CallPort | None = None,
    fake: FakeAri | None = None,
) -> AsyncIterator[Line]:
    """The ARI app connected to a fake ARI; `fake`: one already running (it is left running)."""
    own = fake is None
    if fake is None:
        fake = FakeAri(playback_seconds=playback_seconds)
        if configure:
            configure(fake)
        url = await fake.start()
    else:
        url = fake.base_url
    settings = Settings(ARI_URL=url, ARI_USERNAME=fake.username, ARI_PASSWORD=fake.password)  # type: ignore[call-arg]
    app, client = build_app(settings, calls)
    client.backoff = Backoff(base=0.01, cap=0.05)
    stop = asyncio.Event()
    runner = asyncio.create_task(client.run(stop))
    try:
        await fake.wait_connected()
        await client.connected.wait()  # the app has re-read the live channels
        yield Line(fake, app, client)
    finally:
        await Line(fake, app, client).settled()
        stop.set()
        await runner
        await client.close()
        if own:
            await fake.stop()


def run(coro: Any) -> Any:
    return asyncio.run(coro)
