"""One ARI app per Asterisk: a lease in Redis that the running app renews and a standby waits for.

Asterisk gives a Stasis app's events to the websocket that registered the app last, so a second
`hotline ari` for the same Asterisk would take over the events of the calls the first one is running, and
those calls would stall. The lease is a Redis key (SET NX PX) holding this process's id, renewed every
third of its time to live. A standby takes over within one TTL after the holder dies, at once when the
holder stops cleanly (it deletes the key).

A holder that dies (kill -9, a crash, its machine gone) cannot delete the key, and waiting for a 15 s TTL
leaves callers unanswered (the dialplan can only fall back: config/asterisk/extensions.conf). So the holder
also beats: `<key>:beat` holds its id for `BEAT_TTL` seconds and is renewed every `BEAT_INTERVAL`. A
standby takes the lease over at once when the holder's beat has stopped, or when the holder is a process
of this machine that no longer exists (a restart right after a kill -9 takes over in well under a second).
Redis down must not silence the phones: an app that cannot reach Redis for two TTLs runs without the
lease, and takes it (or steps down to a holder it finds) once Redis answers again."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import time
import uuid

from redis.asyncio import Redis
from redis.exceptions import RedisError

log = logging.getLogger(__name__)

# Renew only if the key still holds our id (another app may have taken an expired lease).
_RENEW = "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('pexpire', KEYS[1], ARGV[2]) end return 0"
_RELEASE = (
    "if redis.call('get', KEYS[1]) == ARGV[1] then redis.call('del', KEYS[2]) return redis.call('del', KEYS[1]) end "
    "return 0"
)
# Take the lease from a dead holder: only if it is still the holder we judged dead, and (unless its process is
# known to be gone, ARGV[4] = 1) it has not beaten since.
_STEAL = (
    "if redis.call('get', KEYS[1]) == ARGV[1] and (ARGV[4] == '1' or redis.call('exists', KEYS[2]) == 0) then "
    "redis.call('set', KEYS[1], ARGV[2], 'PX', ARGV[3]) redis.call('set', KEYS[2], ARGV[2], 'PX', ARGV[5]) "
    "return 1 end return 0"
)
BEAT_INTERVAL = 1.0  # seconds between two beats of the holder
BEAT_TTL = 3.0  # no beat for this long: the holder is dead


def lease_key(ari_url: str, app: str) -> str:
    return f"hotline:ari:lease:{ari_url.rstrip('/')}:{app}"


class AriLease:
    def __init__(self, redis: Redis, key: str, *, ttl: float = 15.0, holder: str | None = None):
        self.redis, self.key, self.ttl = redis, key, ttl
        self.holder = holder or f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self.without_lease = False  # running because Redis was unreachable, not because we hold the key
        self.beat_key = f"{key}:beat"

    async def _beat(self) -> None:
        await self.redis.set(self.beat_key, self.holder, px=int(BEAT_TTL * 1000))

    async def _steal_from_dead(self, current: str) -> bool:
        """Take the lease if `current` (the holder) is dead: its process gone from this machine, or no beat."""
        gone = _process_gone(current)
        stolen = await self.redis.eval(
            _STEAL,
            2,
            self.key,
            self.beat_key,
            current,
            self.holder,
            self._ttl_ms,
            "1" if gone else "0",
            int(BEAT_TTL * 1000),
        )
        if stolen:
            log.warning("ARI: the app holding the lease (%s) is dead; taking over", current)
        return bool(stolen)

    @property
    def _ttl_ms(self) -> int:
        return int(self.ttl * 1000)

    async def acquire(self, stop: asyncio.Event) -> bool:
        """Wait until this process holds the lease (True), or `stop` is set (False)."""
        unreachable_since: float | None = None
        announced = False
        while not stop.is_set():
            try:
                if await self.redis.set(self.key, self.holder, nx=True, px=self._ttl_ms):
                    await self._beat()
                    self.without_lease = False
                    log.info("ARI: holding the lease %s", self.key)
                    return True
                unreachable_since = None
                current = await self.redis.get(self.key)
                if current is not None and await self._steal_from_dead(_text(current)):
                    self.without_lease = False
                    return True
                if not announced:
                    log.warning("ARI: another app (%s) runs this Asterisk; standing by", _text(current))
                    announced = True
            except (RedisError, OSError) as exc:
                unreachable_since = unreachable_since or time.monotonic()
                if time.monotonic() - unreachable_since >= 2 * self.ttl:
                    log.error("ARI: Redis unreachable for %.0f s (%s); running without the lease", 2 * self.ttl, exc)
                    self.without_lease = True
                    return True
            await _sleep_or_stop(stop, min(0.25, self.ttl / 3))
        return False

    async def keep(self, stop: asyncio.Event) -> None:
        """Renew the lease until `stop` is set; return early when another app holds it (this one must step down)."""
        while not stop.is_set():
            await _sleep_or_stop(stop, min(BEAT_INTERVAL, self.ttl / 3))
            if stop.is_set():
                return
            try:
                if self.without_lease:
                    if await self.redis.set(self.key, self.holder, nx=True, px=self._ttl_ms):
                        self.without_lease = False
                        log.info("ARI: Redis is back; holding the lease %s", self.key)
                    else:
                        log.error("ARI: Redis is back and another app holds the lease; stepping down")
                        return
                elif not await self.redis.eval(_RENEW, 1, self.key, self.holder, self._ttl_ms):
                    log.error("ARI: the lease was taken by another app; stepping down")
                    return
                else:
                    await self._beat()
            except (RedisError, OSError) as exc:  # keep running: a standby cannot take it while Redis is away
                log.warning("ARI: could not renew the lease (%s); still running", exc)

    async def release(self) -> None:
        try:
            await self.redis.eval(_RELEASE, 2, self.key, self.beat_key, self.holder)
        except (RedisError, OSError) as exc:
            log.warning("ARI: could not release the lease (%s); it expires in %.0f s", exc, self.ttl)


async def _sleep_or_stop(stop: asyncio.Event, seconds: float) -> None:
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), seconds)


def _process_gone(holder: str) -> bool:
    """True when `holder` (host:pid:nonce) names a process of this machine that does not exist any more."""
    host, _, rest = holder.partition(":")
    pid = rest.partition(":")[0]
    if host != socket.gethostname() or not pid.isdigit() or int(pid) == os.getpid():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except OSError:  # it exists (another user's process): alive
        return False
    return False


def _text(value: bytes | str | None) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)
