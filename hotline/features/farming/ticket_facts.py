"""What the console's ticket page shows of a farm report: its sub-category and commodity, the outbreak it joined,
and the registered farmer who sent it (name, kelompok tani, commodities, land). The farmer is personal data: only
for those who may see farmers (access.py); the caller says whether this reader may."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy.orm import Session

from hotline.cityconfig import CityConfig
from hotline.models import Farmer, FarmReport


@dataclass(frozen=True)
class FarmerFacts:
    id: int
    name: str
    kelompok_tani: str
    commodities: tuple[str, ...]  # names in the reader's language
    land_area_ha: float | None


@dataclass(frozen=True)
class FarmFacts:
    subcategory: str | None  # name in the reader's language (None: none recognised)
    commodity: str | None
    outbreak_id: int | None
    farmer: FarmerFacts | None  # None: not registered, or this reader may not see farmers


def farm_facts(
    session: Session, *, config: CityConfig, ticket_id: int, lang: str, with_farmer: bool
) -> FarmFacts | None:
    """The farm facts of a ticket, or None when it is no farm report (or farming.yaml is off)."""
    rules = config.farming
    if not rules.enabled:
        return None
    report = session.get(FarmReport, ticket_id)
    if report is None:
        return None
    sub = rules.subcategory(report.subcategory)
    commodity = rules.commodity(report.commodity)
    farmer = None
    if with_farmer and report.farmer_id is not None:
        row = session.get(Farmer, report.farmer_id)
        if row is not None:
            names = tuple(c.name(lang) if (c := rules.commodity(code)) else code for code in row.commodities or [])
            farmer = FarmerFacts(row.id, row.name, row.kelompok_tani, names, row.land_area_ha)
        else:  # a farmer removed from the registry since: what the report kept of them
            farmer = FarmerFacts(0, report.farmer_name or "", report.kelompok_tani or "", (), None)
    return FarmFacts(
        subcategory=sub.name(lang) if sub else report.subcategory,
        commodity=commodity.name(lang) if commodity else report.commodity,
        outbreak_id=report.outbreak_id,
        farmer=farmer,
    )


def farmer_words(session: Session, *, ticket_id: int) -> tuple[str, ...]:
    """What names the farmer in the ticket's messages (the PPL's alert starts with them: texts.farmer): the name
    and kelompok tani the report kept. Empty for a report from an unregistered number, or no farm report."""
    report = session.get(FarmReport, ticket_id)
    if report is None or report.farmer_id is None:
        return ()
    words = (report.farmer_name or "", report.kelompok_tani or "")
    # a word of one or two letters would mask half of every message: such a name is left as it is
    return tuple(sorted((w for w in words if len(w.strip()) >= 3), key=len, reverse=True))


def farmer_hider(session: Session, *, may_see: bool, ticket_id: int, mask: str) -> Callable[[str], str]:
    """What a reader is shown of the ticket's message bodies: as sent to one who may see farmers (access.py), the
    farmer's name and kelompok tani replaced by `mask` for anyone else. One rule for the console and /api/v1."""
    hidden = () if may_see else farmer_words(session, ticket_id=ticket_id)
    return lambda body: hide_words(body, hidden, mask)


def hide_words(body: str, words: tuple[str, ...], mask: str) -> str:
    """The body with each of `words` replaced by `mask` (longest first, so a name inside another goes whole)."""
    for word in sorted(words, key=len, reverse=True):
        body = body.replace(word, mask)
    return body
