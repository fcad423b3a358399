"""A farm report's facts, fixed when its ticket is routed: the farmer (when the number is registered), the
sub-category and commodity, the desa (the farmer's when the report names none) and the desa's field officers."""

from __future__ import annotations

import string
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from hotline.cityconfig import CityConfig
from hotline.cityconfig.farming import FarmSla
from hotline.features.farming.recognise import commodity_in, subcategory_of
from hotline.models import Farmer, FarmReport, Ticket


@dataclass(frozen=True)
class FarmRoute:
    urc: str | None  # the desa's PPL URC, or None: routing/rules.yaml decides (kecamatan PPL, posko)
    report: FarmReport


def farmer_by_phone(session: Session, phone: str) -> Farmer | None:
    return session.scalar(select(Farmer).where(Farmer.phone == phone))


def before_route(session: Session, *, config: CityConfig, ticket: Ticket) -> FarmRoute | None:
    """For a farm ticket about to be routed: store its farm facts and name the URC of its desa's PPL.
    A registered farmer need not say the desa again: the ticket takes the registry's when it names none."""
    rules = config.farming
    if not rules.is_farm(ticket.category):
        return None
    farmer = farmer_by_phone(session, ticket.reporter_phone)
    if farmer is not None and not ticket.desa:
        ticket.desa = farmer.desa
        ticket.kecamatan = config.kecamatan_of(farmer.desa) or farmer.kecamatan
    commodity = commodity_in(rules, ticket.text or "")
    if commodity is None and farmer is not None and farmer.commodities:
        # a farmer of one crop means that crop; of several, the one the text names, else the first listed
        commodity = farmer.commodities[0]
    report = session.get(FarmReport, ticket.id) or FarmReport(ticket_id=ticket.id)
    report.farmer_id = farmer.id if farmer else None
    report.farmer_name = farmer.name if farmer else None
    report.kelompok_tani = farmer.kelompok_tani if farmer else None
    report.subcategory = subcategory_of(rules, ticket.text or "")
    report.commodity = commodity
    report.desa, report.kecamatan = ticket.desa, ticket.kecamatan
    session.add(report)
    session.flush()
    return FarmRoute(rules.ppl_urc(ticket.desa, commodity), report)


def farm_sla(session: Session, *, config: CityConfig, ticket: Ticket) -> FarmSla | None:
    """The SLA of the ticket's farm sub-category (routing/farming.yaml), if it has one."""
    if not config.farming.is_farm(ticket.category):
        return None
    report = session.get(FarmReport, ticket.id)
    sub = config.farming.subcategory(report.subcategory if report else None)
    return sub.sla if sub else None


def farmer_line(session: Session, *, config: CityConfig, ticket: Ticket) -> str:
    """What the PPL's alert adds: the farmer, kelompok tani, commodity and sub-category (farming.yaml texts.farmer).
    Empty for a report that is not a farm report or came from an unregistered number."""
    rules = config.farming
    report = session.get(FarmReport, ticket.id) if rules.is_farm(ticket.category) else None
    if report is None or report.farmer_id is None:
        return ""
    commodity = rules.commodity(report.commodity)
    sub = rules.subcategory(report.subcategory)
    fields = {
        "name": report.farmer_name or "",
        "kelompok_tani": report.kelompok_tani or "-",
        "commodity": commodity.name("id") if commodity else (report.commodity or "-"),
        "desa": report.desa or "-",
        "subcategory": sub.name("id") if sub else "-",
    }
    return string.Formatter().vformat(rules.farmer_line, (), fields)
