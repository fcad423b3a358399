from __future__ import annotations

from hotline.core.city import current_config
from hotline.db import retry_if_disconnected, unit_of_work
from hotline.features.sms.sms_intake import process_inbound
from hotline.logs import bind, log_context


def process_inbound_sms(inbound_id: int) -> str | None:
    # Once more on a fresh connection if the pooled one had died (a PostgreSQL restart): the first job after
    # an outage (the spool's replay) would otherwise fail and wait for the sweeper's grace (docs/reliability.md).
    return retry_if_disconnected(lambda: _process(inbound_id))


def _process(inbound_id: int) -> str | None:
    with log_context(inbound_id=inbound_id), unit_of_work() as session:
        message = process_inbound(session, inbound_id=inbound_id, config=current_config())
        if message is not None:
            bind(ticket_id=message.ticket_id)
        return message.outcome if message else None
