"""Login attempts limited per username and IP address, counted in Redis (shared by every API process)."""

from __future__ import annotations

import hashlib

from redis import Redis

MAX_FAILURES = 5
WINDOW_SECONDS = 15 * 60


def _key(username: str, ip: str) -> str:
    # Hashed: usernames typed by strangers do not end up readable in Redis.
    digest = hashlib.sha256(f"{username.strip().lower()}|{ip}".encode()).hexdigest()[:32]
    return f"hotline:login-failures:{digest}"


def is_locked(redis: Redis, *, username: str, ip: str) -> bool:
    count = redis.get(_key(username, ip))
    return count is not None and int(count) >= MAX_FAILURES


def note_failure(redis: Redis, *, username: str, ip: str) -> int:
    key = _key(username, ip)
    with redis.pipeline() as pipe:
        # The window starts at the first failure (SET NX: EXPIRE NX needs Redis 7, the embedded one is 6.2).
        pipe.set(key, 0, ex=WINDOW_SECONDS, nx=True)
        pipe.incr(key)
        _, count = pipe.execute()
    return int(count)


def clear(redis: Redis, *, username: str, ip: str) -> None:
    redis.delete(_key(username, ip))
