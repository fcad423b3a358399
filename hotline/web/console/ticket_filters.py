"""The ticket list's filters as the list page and its CSV export read them from the query: a value the city does not
know (a status, agency, category or kecamatan) is a sentence naming it, never an empty list passed off as an answer."""

from __future__ import annotations

from hotline.catalog import say
from hotline.core.city import current_config
from hotline.features.tickets.ticket_queries import STATUSES, TicketFilter


class FilterError(ValueError):
    def __init__(self, field: str, value: str):
        super().__init__(f"unknown {field} {value!r}")
        self.field, self.value = field, value

    def words(self, lang: str) -> str:
        return say("charts", "bad_filter", lang, {"field": self.field, "value": self.value})


def ticket_filter(
    *,
    status: str | None,
    agency: str | None,
    category: str | None,
    kecamatan: str | None,
    overdue: bool,
    limit: int,
    before: int | None = None,
) -> TicketFilter:
    """The filter, or FilterError for the first value the city does not know."""
    config = current_config()
    known = {
        "status": {"open", "closed", *STATUSES},
        "agency": {a.code for a in config.agencies},
        "category": {c.code for c in config.categories},
        "kecamatan": {k.name for k in config.areas},
    }
    given = {"status": status, "agency": agency, "category": category, "kecamatan": kecamatan}
    for field, value in given.items():
        if value and value not in known[field]:
            raise FilterError(field, value)
    return TicketFilter(
        status or None, agency or None, category or None, kecamatan or None, overdue, limit, before=before
    )
