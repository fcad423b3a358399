"""The baseline for bench/ari_calls.py: the smallest ARI app on the same client (hotline/channels/ari/client.py).

It answers each event the caller causes with one fixed command and keeps no state: StasisStart ->
answer, a key or a finished recording -> one playback, the caller hanging up -> nothing. What it costs is
what the transport costs (websocket, JSON, per-channel queues, one HTTP request); what the real app costs
beyond it is the IVR, the database and the executor.

    ARI_URL=... ARI_USERNAME=... ARI_PASSWORD=... python bench/ari_baseline_app.py
"""

from __future__ import annotations

import asyncio
import os
import signal

from hotline.channels.ari.client import AriClient, Event

FINAL = frozenset({"StasisEnd", "ChannelDestroyed"})


class Baseline:
    client: AriClient

    async def on_event(self, channel_id: str, event: Event) -> bool:
        kind = event.get("type")
        if kind == "StasisStart":
            await self.client.request("POST", f"/channels/{channel_id}/answer")
        elif kind in ("ChannelDtmfReceived", "RecordingFinished"):
            await self.client.request("POST", f"/channels/{channel_id}/play", {"media": "sound:beep"})
        return kind in FINAL

    async def on_connected(self, *, reconnected: bool) -> None:
        await self.client.request("GET", "/channels")


async def main() -> None:
    handler = Baseline()
    env = os.environ
    handler.client = AriClient(env["ARI_URL"], env["ARI_USERNAME"], env["ARI_PASSWORD"], "hotline", handler)
    stop = asyncio.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        asyncio.get_running_loop().add_signal_handler(signum, stop.set)
    try:
        await handler.client.run(stop)
    finally:
        await handler.client.close()


if __name__ == "__main__":
    asyncio.run(main())
