"""The Redis connection and the RQ queue, and the few ways work is put on it."""

from __future__ import annotations

from datetime import timedelta
from functools import lru_cache

from redis import Redis
from rq import Queue

from hotline.settings import get_settings


class RedisNotConfigured(RuntimeError):
    pass


@lru_cache(maxsize=4)
def _redis(url: str) -> Redis:
    return Redis.from_url(url, socket_connect_timeout=2, socket_timeout=5, health_check_interval=30)


def redis_connection() -> Redis:
    url = get_settings().redis_url
    if not url:
        raise RedisNotConfigured("HOTLINE_REDIS_URL is not set (`hotline up` starts an embedded Redis)")
    return _redis(url)


def queue() -> Queue:
    return Queue(get_settings().queue_name, connection=redis_connection())


def alert_queue() -> Queue:
    """The lane of SMS that call a crew out (hotline/core/outbox.py URGENT_PURPOSES): workers take it first."""
    return Queue(f"{get_settings().queue_name}-alerts", connection=redis_connection())


def worker_queues() -> list[Queue]:
    """What a worker listens to, in order: RQ takes the first queue's jobs before any of the next one's. Early
    warnings are in neither (hotline/jobs/broadcast_sender.py)."""
    return [alert_queue(), queue()]


def job_id(prefix: str, *parts: int) -> str:
    """Every RQ job id Hotline makes: `<prefix>-<id>[-<n>...]`, derived from what the job acts on, so the same
    work queued twice is one job id (`inbound-7`, `outbound-9-0`, `esc-12`, `failover-3-1`, `alert-call-5-0`)."""
    return "-".join([prefix, *map(str, parts)])


def outbound_job_id(message_id: int, attempt: int = 0) -> str:
    return job_id("outbound", message_id, attempt)


def enqueue_inbound(inbound_id: int) -> None:
    q = queue()
    with q.connection.pipeline() as pipe:  # one round trip to Redis instead of two: this is on the webhook path
        q.enqueue(
            "hotline.jobs.inbound.process_inbound_sms",
            inbound_id,
            job_id=job_id("inbound", inbound_id),
            result_ttl=60,
            failure_ttl=7 * 86400,
            pipeline=pipe,
        )
        pipe.execute()


def enqueue_outbound(
    message_ids: list[int], delay: timedelta | None = None, attempt: int = 0, *, urgent: bool = False
) -> None:
    """`urgent`: alerts and escalations, in the alert lane (`alert_queue`), ahead of replies."""
    if not message_ids:
        return
    q = alert_queue() if urgent else queue()
    if delay is not None:
        for message_id in message_ids:
            q.enqueue_in(
                delay,
                "hotline.jobs.outbound.send_outbound_sms",
                message_id,
                job_id=outbound_job_id(message_id, attempt),
                result_ttl=60,
                failure_ttl=7 * 86400,
            )
        return
    _enqueue_many("hotline.jobs.outbound.send_outbound_sms", {outbound_job_id(i, attempt): i for i in message_ids}, q)


def _enqueue_many(function: str, ids_by_job_id: dict[str, int], q: Queue | None = None) -> None:
    """One job per id, named by its key (a re-run makes the same job id), all in one round trip to Redis."""
    if not ids_by_job_id:
        return
    q = q or queue()
    with q.connection.pipeline() as pipe:
        q.enqueue_many(
            [
                Queue.prepare_data(function, (value,), job_id=name, result_ttl=60, failure_ttl=7 * 86400)
                for name, value in ids_by_job_id.items()
            ],
            pipeline=pipe,
        )
        pipe.execute()
