"""The Redis keys `hotline smpp` and the web/worker side share, per link (gateway name).

hotline:smpp:<link>:lease       the holder's lease (one `hotline smpp` holds a link's bind)
hotline:smpp:<link>:state       JSON {"state": "bound"|"down", "since", "reason", "smsc"}; expires when no
                                holder renews it (then the link counts as down: nobody holds it)
hotline:smpp:<link>:out         stream of SMS to send (consumer group `holder`): an entry is acknowledged
                                only once the SMSC answered it, so a holder that restarts sends what it
                                had not finished, never loses it
hotline:smpp:<link>:reply:<id>  list the sender waits on for its answer (expires)
hotline:smpp:<link>:sent:<mid>  what outbox row <mid> was sent as (find_sent: a retry never sends it twice)
hotline:smpp:<link>:sid:<smsc>  "<outbox id> <first part's id>" for a delivery receipt naming a part
hotline:smpp:<link>:mo:<hash>   the id a deliver_sm was stored under (a redelivery reuses it)
hotline:smpp:<link>:parts:<ref> the parts of a long citizen SMS received so far
hotline:smpp:<link>:counts      hash of PDU counters (for /metrics)
"""

from __future__ import annotations

import json
from typing import Any

PREFIX = "hotline:smpp"
GROUP = "holder"
SENT_TTL = 3 * 24 * 3600  # receipts come within the validity (at most 24 h); a margin
STATE_TTL = 15  # seconds without renewal before a link counts as held by nobody
REDELIVERY_WINDOW = 15 * 60  # an identical deliver_sm within this is the SMSC delivering it again


def key(link: str, *parts: str) -> str:
    return ":".join((PREFIX, link, *parts))


def state_value(state: str, *, since: float, reason: str = "", smsc: str = "") -> str:
    return json.dumps({"state": state, "since": since, "reason": reason, "smsc": smsc})


def read_state(raw: bytes | str | None) -> dict[str, Any]:
    if raw is None:
        return {"state": "down", "reason": "no hotline smpp holds this link (not running, or its lease expired)"}
    try:
        value = json.loads(raw)
    except ValueError:
        return {"state": "down", "reason": "unreadable state"}
    return value if isinstance(value, dict) else {"state": "down", "reason": "unreadable state"}
