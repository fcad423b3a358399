"""The outbreak watch: N reports of one sub-category (and commodity) from desa within a radius, inside a window
(routing/farming.yaml `outbreak`), raise one outbreak: an SMS to the farming agency's heads naming the desa and
their counts. Later reports of the same kind join it quietly while it is active (no SMS storm).

On PostgreSQL the watch holds a transaction-scoped advisory lock per (sub-category, commodity): two reports routed
at once are counted one after the other, so the second sees the first's report and outbreak and joins it instead of
raising another. SQLite has one writer at a time (the report row is written earlier in the same transaction)."""

from __future__ import annotations

import string
import zlib
from collections.abc import Sequence
from datetime import timedelta

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from hotline.cityconfig import CityConfig
from hotline.cityconfig.model import distance_km
from hotline.core.outbox import queue_sms
from hotline.models import FarmOutbreak, FarmReport, OutboundPurpose, utcnow

PURPOSE = OutboundPurpose.FARM_OUTBREAK  # outbound_messages.purpose of the heads' SMS
LOCK_NAMESPACE = 0x4641524D  # "FARM": the first key of pg_advisory_xact_lock(int, int)


def lock_kind(session: Session, *, subcategory: str, commodity: str | None) -> None:
    """Serialise the watch of one kind of report until the transaction ends (PostgreSQL; SQLite has one writer)."""
    if session.get_bind().dialect.name == "postgresql":
        key = zlib.crc32(f"{subcategory}\x1f{commodity or ''}".encode()) - 2**31  # into int4
        session.execute(text("SELECT pg_advisory_xact_lock(:ns, :key)"), {"ns": LOCK_NAMESPACE, "key": key})


def watch(session: Session, *, config: CityConfig, report: FarmReport) -> FarmOutbreak | None:
    """Called for every routed farm report. Returns the outbreak it raised (None: none raised now)."""
    rule = config.farming.outbreak
    if report.subcategory is None or (rule.subcategories and report.subcategory not in rule.subcategories):
        return None
    origin = config.point_of(report.desa)
    if origin is None:
        return None  # a report with no known desa cannot be placed near others
    # before counting: a report routed at the same moment is counted after this one commits, and joins its outbreak
    lock_kind(session, subcategory=report.subcategory, commodity=report.commodity if rule.same_commodity else None)
    now = utcnow()
    since = now - timedelta(days=rule.window_days)
    stmt = select(FarmReport).where(FarmReport.subcategory == report.subcategory, FarmReport.created_at >= since)
    if rule.same_commodity:
        same = FarmReport.commodity == report.commodity
        stmt = stmt.where(FarmReport.commodity.is_(None) if report.commodity is None else same)
    near = []
    for other in session.scalars(stmt.order_by(FarmReport.created_at)):
        point = config.point_of(other.desa)
        if point is not None and distance_km(*origin, *point) <= rule.radius_km:
            near.append(other)
    if len(near) < rule.reports:
        return None
    commodity = report.commodity if rule.same_commodity else None
    active = session.scalar(
        select(FarmOutbreak)
        .where(
            FarmOutbreak.subcategory == report.subcategory,
            FarmOutbreak.commodity.is_(None) if commodity is None else FarmOutbreak.commodity == commodity,
            FarmOutbreak.last_report_at >= since,
        )
        .order_by(FarmOutbreak.id.desc())
        .limit(1)
    )
    outbreak = active or FarmOutbreak(subcategory=report.subcategory, commodity=commodity, raised_at=now)
    session.add(outbreak)
    session.flush()
    for other in near:
        if other.outbreak_id is None:  # a report already counted in an older outbreak stays there
            other.outbreak_id = outbreak.id
    joined = session.scalars(select(FarmReport).where(FarmReport.outbreak_id == outbreak.id)).all()
    outbreak.places = _places(config, joined)
    outbreak.desa = sorted(outbreak.places)
    outbreak.report_count = len(joined)
    outbreak.last_report_at = now
    if active is not None:
        return None
    _tell_heads(session, config=config, outbreak=outbreak)
    return outbreak


def _places(config: CityConfig, reports: Sequence[FarmReport]) -> dict[str, dict[str, float]]:
    """desa -> count and point: the outbreak's map (a GeoJSON export draws it: features/farming/exports.py)."""
    places: dict[str, dict[str, float]] = {}
    for r in reports:
        point = config.point_of(r.desa)
        if r.desa is None or point is None:
            continue
        entry = places.setdefault(r.desa, {"count": 0, "lat": point[0], "lon": point[1]})
        entry["count"] += 1
    return places


def outbreak_text(config: CityConfig, outbreak: FarmOutbreak) -> str:
    rules = config.farming
    sub = rules.subcategory(outbreak.subcategory)
    commodity = rules.commodity(outbreak.commodity)
    ranked = sorted(outbreak.places.items(), key=lambda kv: (-kv[1]["count"], kv[0]))
    fields = {
        "subcategory": sub.name("id") if sub else outbreak.subcategory,
        "commodity": commodity.name("id") if commodity else "-",
        "count": outbreak.report_count,
        "days": f"{rules.outbreak.window_days:g}",
        "places": ", ".join(f"{desa} {int(p['count'])}" for desa, p in ranked),
        "number": outbreak.id,
    }
    return string.Formatter().vformat(rules.outbreak_text, (), fields)


def _tell_heads(session: Session, *, config: CityConfig, outbreak: FarmOutbreak) -> None:
    agency = config.agency(config.farming.agency)
    body = outbreak_text(config, outbreak)
    for head in agency.heads if agency else ():
        queue_sms(session, to=head.phone, body=body, purpose=PURPOSE)
