"""How urgent a waiting caller looks in the console's queue: the row's colour and its words.

"critical": the caller pressed the emergency key, or their report is critical (a fire, a landslide: by its
ticket, or by the category they chose before a ticket exists); "high": a high-priority report; "" otherwise."""

from __future__ import annotations

from collections.abc import Mapping

from hotline.features.calls.call_queue import WaitingCall


def urgency(call: WaitingCall, category_priority: Mapping[str, str]) -> str:
    report = call.ticket_priority or (category_priority.get(call.category) if call.category else None)
    if call.priority == "emergency" or report == "critical":
        return "critical"
    return "high" if report == "high" else ""
