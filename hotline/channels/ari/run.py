"""`hotline ari`: the ARI app as its own process, until SIGINT/SIGTERM."""

from __future__ import annotations

import asyncio
import logging
import signal
from collections.abc import Awaitable

from redis.asyncio import Redis

from hotline.channels.ari.calls import AlertCallPort, CallPort, DatabaseCalls
from hotline.channels.ari.client import AriClient
from hotline.channels.ari.executor import AriApp
from hotline.channels.ari.fallback_messages import watch as watch_fallback_messages
from hotline.channels.ari.lease import AriLease, lease_key
from hotline.channels.ari.media import PromptMedia
from hotline.channels.ari.settings import ari_settings, setting_problems
from hotline.db import DATABASE_UNAVAILABLE
from hotline.settings import Settings

log = logging.getLogger(__name__)


class AriSettingsError(ValueError):
    pass


def build_app(settings: Settings, calls: CallPort | None = None) -> tuple[AriApp, AriClient]:
    ari = ari_settings(settings)
    if not ari.url:
        raise AriSettingsError("ARI_URL is not set (e.g. http://127.0.0.1:8088)")
    problems = setting_problems(settings)  # the Asterisk type's check (`hotline config check` says them too)
    if problems:
        raise AriSettingsError(problems[0])
    prompts = PromptMedia(ari.prompts, settings.public_url or "")
    calls = calls or DatabaseCalls()
    alerts = calls if isinstance(calls, AlertCallPort) else None  # a test's port may run citizens' calls only
    app = AriApp(calls=calls, prompts=prompts, ari_url=ari.url, app_name=ari.app, alerts=alerts)
    client = AriClient(ari.url, ari.username or "", ari.password or "", ari.app, app)
    app.attach(client)
    return app, client


async def serve(settings: Settings, stop: asyncio.Event | None = None) -> None:
    # One log line per ARI request would cost more CPU than the request itself (and flood the log).
    logging.getLogger("httpx").setLevel(logging.WARNING)
    logging.getLogger("httpcore").setLevel(logging.WARNING)
    calls = DatabaseCalls()
    build_app(settings, calls)  # refuse bad settings before waiting for anything
    stop = stop or asyncio.Event()
    try:
        await asyncio.to_thread(calls.warm_up)
    except DATABASE_UNAVAILABLE as exc:  # a database that is down now may be up by the first call: go on
        log.warning("ARI: warming up the call service failed (%s: %s); going on", type(exc).__name__, exc)
    except Exception:  # broad: warming up only saves time; the phones are answered (an apology at worst) anyway
        log.exception("ARI: warming up the call service failed; going on")
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    lease = _lease(settings)
    ari = ari_settings(settings)
    while not stop.is_set():
        if lease is not None and not await lease.acquire(stop):
            break
        _, client = build_app(settings, calls)
        log.info("ARI app %r on %s (prompts: %s)", ari.app, ari.url, ari.prompts)
        running = asyncio.Event()  # set on stop, or when the lease is lost (another app runs this Asterisk)
        watchers = [asyncio.create_task(_set_when(stop.wait(), running))]
        if lease is not None:
            watchers.append(asyncio.create_task(_set_when(lease.keep(stop), running)))
        # the messages the dialplan's fallback recorded become tickets: one app per Asterisk looks (the lease)
        messages = asyncio.create_task(watch_fallback_messages(client, ari_url=ari.url or "", stop=running))
        try:
            await client.run(running)
        finally:
            messages.cancel()
            for watcher in watchers:
                watcher.cancel()
            await client.close()
    if lease is not None:
        await lease.release()


def _lease(settings: Settings) -> AriLease | None:
    """No Redis configured (a bare `hotline ari` in development): nothing to coordinate with."""
    ari = ari_settings(settings)
    if not settings.redis_url or ari.lease_seconds <= 0:
        return None
    redis = Redis.from_url(settings.redis_url, socket_connect_timeout=2, socket_timeout=5)
    key = lease_key(ari.url or "", ari.app)
    return AriLease(redis, key, ttl=ari.lease_seconds)


async def _set_when(awaitable: Awaitable[object], event: asyncio.Event) -> None:
    await awaitable
    event.set()
