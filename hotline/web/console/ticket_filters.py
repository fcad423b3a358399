"""The ticket list's filters as the list page and its CSV export read them from the query: a value the city does not
know (a status, agency, category or kecamatan) is a sentence naming it, never an empty list passed off as an answer."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Query

from hotline.catalog import say
from hotline.core.city import current_config
from hotline.features.tickets.ticket_queries import STATUSES, TicketFilter
from hotline.web.api_schemas import MAX_ID


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


@dataclass(frozen=True)
class ListQuery:
    """The list's filters as given in the query string (the list page, its next pages and its CSV export)."""

    status: str | None
    agency: str | None
    category: str | None
    kecamatan: str | None
    overdue: bool
    before: int | None

    def filter(self, limit: int) -> TicketFilter:
        """The filter at `limit` tickets (0: all), or FilterError for a value the city does not know."""
        return ticket_filter(
            status=self.status,
            agency=self.agency,
            category=self.category,
            kecamatan=self.kecamatan,
            overdue=self.overdue,
            limit=limit,
            before=self.before,
        )

    def given(self) -> dict[str, str | bool]:
        """The filters that were set (not the page), for links and the audit log."""
        named = (("status", self.status), ("agency", self.agency), ("category", self.category))
        chosen: dict[str, str | bool] = {k: v for k, v in (*named, ("kecamatan", self.kecamatan)) if v}
        return chosen | ({"overdue": True} if self.overdue else {})


def list_query(
    status: Annotated[str | None, Query(max_length=24)] = None,
    agency: Annotated[str | None, Query(max_length=32)] = None,
    category: Annotated[str | None, Query(max_length=32)] = None,
    kecamatan: Annotated[str | None, Query(max_length=100)] = None,
    overdue: bool = False,
    before: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
) -> ListQuery:
    return ListQuery(status, agency, category, kecamatan, overdue, before)


ListQueryDep = Annotated[ListQuery, Depends(list_query)]
