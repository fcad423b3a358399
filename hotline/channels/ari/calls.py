"""The call service as the ARI app sees it: hotline/features/calls/calls.py, one unit of work per turn, in a
worker thread (`DatabaseCalls.pool`) so the database never blocks the event loop.

The executor only knows the `CallPort` protocol; `DatabaseCalls` is the real one. Errors are mapped here,
once, as the Twilio webhooks map theirs: an event for a call never begun gets the apology and a hang-up,
the database unreachable raises `CallsUnavailable` (the executor hands the call to the dialplan's fallback),
any other failure the apology and the operator queue (a hang-up when the caller already waited there).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Literal, Protocol, TypeVar, runtime_checkable

from sqlalchemy.orm import Session

from hotline.channels.ari.alerts import status_of_cause
from hotline.cityconfig import CityConfig
from hotline.core.city import current_config
from hotline.db import DATABASE_UNAVAILABLE, get_sessionmaker, retry_if_disconnected, unit_of_work
from hotline.features.alerts import voice_alerts
from hotline.features.calls.call_flows import apology_media
from hotline.features.calls.calls import UnknownCall, begin_call, continue_call, recording_ready
from hotline.ivr import actions as a
from hotline.ivr.turn import Turn
from hotline.settings import get_settings

log = logging.getLogger(__name__)
PROVIDER = "asterisk"


class CallsUnavailable(Exception):
    """The call service cannot reach the database: the executor sends the caller to the dialplan's fallback."""


T = TypeVar("T")


class CallPort(Protocol):
    async def begin(self, *, call_id: str, caller: str, called: str) -> Turn: ...

    async def send(self, *, call_id: str, event: a.Event, after_queue: bool = False) -> Turn: ...

    async def recording_ready(self, *, call_id: str, url: str, seconds: float | None) -> None: ...

    def apology(self, *, then: Literal["operator", "hangup"]) -> Turn: ...


@runtime_checkable
class AlertCallPort(Protocol):
    """The URC voice alert (hotline/features/alerts/voice_alerts.py) as the ARI app sees it."""

    async def begin_alert(self, *, call_id: str, attempt_id: int) -> Turn:
        """The member answered the alert call on channel `call_id`: the alert flow's first turn."""
        ...

    async def alert_not_reached(self, *, call_id: str, attempt_id: int, cause: int) -> None:
        """The alert call ended unanswered with this hang-up cause."""
        ...


class DatabaseCalls:
    """`CallPort` on the real services and database.

    Turns run on a small pool of their own threads: one for SQLite, which takes one writer at a time (more
    threads only wait in SQLite's busy handler, which sleeps in steps of up to 100 ms: the latency tail),
    `threads` for PostgreSQL. Each turn holds the GIL most of its time, so more threads would not be faster."""

    def __init__(self, config: Callable[[], CityConfig] = current_config, *, threads: int | None = None):
        self.config = config
        sqlite = get_settings().effective_database_url.startswith("sqlite")
        self.pool = ThreadPoolExecutor(max_workers=threads or (1 if sqlite else 4), thread_name_prefix="ari-calls")

    async def begin(self, *, call_id: str, caller: str, called: str) -> Turn:
        def work(session: Session, config: CityConfig) -> Turn:
            _, turn = begin_call(
                session, provider=PROVIDER, provider_call_id=call_id, caller=caller, called=called, config=config
            )
            return turn

        return await self._turn(call_id, work, after_queue=False)

    async def begin_alert(self, *, call_id: str, attempt_id: int) -> Turn:
        def work(session: Session, config: CityConfig) -> Turn:
            return voice_alerts.answered(
                session, config=config, provider=PROVIDER, provider_call_id=call_id, attempt_id=attempt_id
            )

        return await self._turn(call_id, work, after_queue=True)  # on failure: hang up, no citizen's queue

    async def alert_not_reached(self, *, call_id: str, attempt_id: int, cause: int) -> None:
        def work(session: Session, config: CityConfig) -> None:
            status = status_of_cause(cause)
            voice_alerts.not_reached(session, attempt_id=attempt_id, provider_call_id=call_id, status=status)

        await self._in_thread(work)

    async def send(self, *, call_id: str, event: a.Event, after_queue: bool = False) -> Turn:
        def work(session: Session, config: CityConfig) -> Turn:
            return continue_call(session, provider=PROVIDER, provider_call_id=call_id, event=event, config=config)

        return await self._turn(call_id, work, after_queue=after_queue)

    async def recording_ready(self, *, call_id: str, url: str, seconds: float | None) -> None:
        def work(session: Session, config: CityConfig) -> None:
            recording_ready(session, provider=PROVIDER, provider_call_id=call_id, recording_url=url, seconds=seconds)

        try:
            await self._in_thread(work)
        except UnknownCall:
            log.info("ARI: recording %s for unknown call %s ignored", url, call_id)

    def apology(self, *, then: Literal["operator", "hangup"]) -> Turn:
        return apology_turn(self.config(), then=then)

    async def _turn(self, call_id: str, work: Callable[[Session, CityConfig], Turn], *, after_queue: bool) -> Turn:
        try:
            return await self._in_thread(work)
        except UnknownCall:
            log.warning("ARI: no call %s; the caller hears the apology", call_id)
            return apology_turn(self.config(), then="hangup")
        except DATABASE_UNAVAILABLE as exc:  # an operator queue nobody can take calls from would be a dead end
            log.error("ARI: call %s: database unavailable (%s)", call_id, exc)
            raise CallsUnavailable(call_id) from exc
        except Exception:  # broad: whatever failed, the caller hears the apology and reaches a person
            log.exception("ARI: call %s failed; the caller goes to an operator", call_id)
            return apology_turn(self.config(), then="hangup" if after_queue else "operator")

    async def _in_thread(self, work: Callable[[Session, CityConfig], T]) -> T:
        def once() -> T:
            config = self.config()  # here, not in the event loop: the first load parses YAML
            with unit_of_work() as session:  # one per turn: the ARI app runs outside any HTTP request
                return work(session, config)

        return await asyncio.get_running_loop().run_in_executor(self.pool, retry_if_disconnected, once)

    def warm_up(self) -> None:
        """Load the city's data and run a call's first two turns in a transaction that is rolled back, so the
        first real caller does not wait for YAML parsing, the first connection and SQLAlchemy's first
        compilations (hundreds of milliseconds, in the event loop's GIL)."""
        config = self.config()
        session = get_sessionmaker()()
        try:
            call_id = "warm-up"
            begin_call(session, provider=PROVIDER, provider_call_id=call_id, caller="", called="", config=config)
            continue_call(session, provider=PROVIDER, provider_call_id=call_id, event=a.NoInput(), config=config)
        finally:
            session.rollback()
            session.close()


def apology_turn(config: CityConfig, *, then: Literal["operator", "hangup"]) -> Turn:
    """The apology every transport plays (`apology_media`). The state is a placeholder: only the media
    matter, the call's stored state is untouched."""
    from hotline.ivr.state import CallState

    flow = config.default_flow
    state = CallState(flow.id, flow.version, phase="input") if flow else CallState("", "", phase="ended")
    return Turn(state, apology_media(config, then=then), ())
