from __future__ import annotations

from hotline.db import unit_of_work
from hotline.logs import bind, log_context
from hotline.services.city import current_config
from hotline.services.sms_intake import process_inbound


def process_inbound_sms(inbound_id: int) -> str | None:
    with log_context(inbound_id=inbound_id), unit_of_work() as session:
        message = process_inbound(session, inbound_id=inbound_id, config=current_config())
        if message is not None:
            bind(ticket_id=message.ticket_id)
        return message.outcome if message else None
