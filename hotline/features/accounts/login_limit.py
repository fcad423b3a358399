"""Login attempts limited in Redis (shared by every API process), two ways:

- per username and address: `MAX_FAILURES` wrong passwords within `WINDOW_SECONDS` lock that pair out for the
  rest of the window (the address is the client's, read through HOTLINE_TRUSTED_PROXIES only);
- per account, from any address: `ACCOUNT_FAILURES` within the window close the account to new devices for
  the rest of it, so rotating addresses (or X-Forwarded-For from a trusted proxy) gets no more than that many
  guesses per window. A browser the user signed in from before (the known-device cookie, see
  hotline/web/console/auth.py) is not held by this budget, so an attacker cannot lock the user out: not for a
  window, not forever.

Attempts refused while locked are not counted: a lock ends when its window ends."""

from __future__ import annotations

import hashlib

from redis import Redis

MAX_FAILURES = 5
ACCOUNT_FAILURES = 20
WINDOW_SECONDS = 15 * 60


def _key(username: str, ip: str) -> str:
    # Hashed: usernames typed by strangers do not end up readable in Redis.
    digest = hashlib.sha256(f"{username.strip().lower()}|{ip}".encode("utf-8", "replace")).hexdigest()[:32]
    return f"hotline:login-failures:{digest}"


def _account_key(username: str) -> str:
    digest = hashlib.sha256(username.strip().lower().encode("utf-8", "replace")).hexdigest()[:32]
    return f"hotline:login-failures-account:{digest}"


def _count(redis: Redis, key: str) -> int:
    value = redis.get(key)
    return int(value) if value is not None else 0


def is_locked(redis: Redis, *, username: str, ip: str, known_device: bool = False) -> bool:
    if _count(redis, _key(username, ip)) >= MAX_FAILURES:
        return True
    return not known_device and _count(redis, _account_key(username)) >= ACCOUNT_FAILURES


def note_failure(redis: Redis, *, username: str, ip: str) -> int:
    counts = []
    for key in (_key(username, ip), _account_key(username)):
        with redis.pipeline() as pipe:
            # The window starts at the first failure (SET NX: EXPIRE NX needs Redis 7, the embedded one is 6.2).
            pipe.set(key, 0, ex=WINDOW_SECONDS, nx=True)
            pipe.incr(key)
            _, count = pipe.execute()
        counts.append(int(count))
    return counts[0]


def clear(redis: Redis, *, username: str, ip: str) -> None:
    """A right password: this address's count starts again (the account's budget runs out on its own)."""
    redis.delete(_key(username, ip))
