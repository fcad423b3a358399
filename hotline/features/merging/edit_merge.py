"""An operator's edit against a ticket that others may have changed since the form was shown.

The form carries each field as it was shown (`base`) and as the operator left it (`wanted`). A field the
operator did not touch is not saved (so a crew's TERIMA meanwhile is not undone by a stale status field); a
field they changed is saved unless someone else changed it too, to something else: then it is a conflict,
nothing is saved, and the console shows the operator's text with what changed. Pure: tested with tables."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from hotline.models import Ticket

EDITABLE = ("text", "location", "desa", "kecamatan", "category", "status")


@dataclass(frozen=True)
class EditPlan:
    changes: dict[str, str]  # field -> the operator's value, to save
    conflicts: dict[str, str]  # field -> its value now, which differs from both the base and the operator's

    @property
    def clean(self) -> bool:
        return not self.conflicts


def normal(value: str | None) -> str:
    """A form value as stored: browsers send a textarea's lines with CRLF, and the services strip."""
    return (value or "").replace("\r\n", "\n").strip()


def current_values(ticket: Ticket) -> dict[str, str]:
    return {
        "text": ticket.text or "",
        "location": ticket.location_text or "",
        "desa": ticket.desa or "",
        "kecamatan": ticket.kecamatan or "",
        "category": ticket.category or "",
        "status": ticket.status,
    }


def plan_edit(*, wanted: Mapping[str, str], base: Mapping[str, str], current: Mapping[str, str]) -> EditPlan:
    changes: dict[str, str] = {}
    conflicts: dict[str, str] = {}
    for name in EDITABLE:
        if name not in wanted:
            continue
        mine, shown, now = normal(wanted[name]), normal(base.get(name, current[name])), normal(current[name])
        if mine in (shown, now):
            continue  # untouched, or already what the operator wants
        if now != shown:
            conflicts[name] = now
        else:
            changes[name] = mine
    return EditPlan(changes, conflicts)
