"""The farmer registry: import a spreadsheet (all rows or none, one line per problem), add or correct one farmer,
list and export. A farmer is known by the phone number: importing again updates, never duplicates."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from sqlalchemy import func, insert, select
from sqlalchemy.orm import Session

from hotline.cityconfig import CityConfig
from hotline.cityconfig.farming import FarmingRules
from hotline.features.farming.errors import FarmerNotFound, FarmingOff, RegistryRejected
from hotline.features.farming.registry_files import Sheet
from hotline.models import Farmer, utcnow
from hotline.phone import to_e164

MAX_LAND_HA = 10_000.0  # a larger number is a typo (square metres in the hectares column)


@dataclass(frozen=True)
class FarmerFields:
    phone: str
    name: str
    desa: str
    kecamatan: str | None
    kelompok_tani: str
    commodities: tuple[str, ...]
    land_area_ha: float | None


@dataclass(frozen=True)
class ImportResult:
    added: int
    updated: int
    unchanged: int


def _rules(config: CityConfig) -> FarmingRules:
    if not config.farming.enabled:
        raise FarmingOff("this city has no routing/farming.yaml: there is no farmer registry")
    return config.farming


def check_farmer(config: CityConfig, raw: dict[str, str], *, region: str) -> tuple[FarmerFields | None, list[str]]:
    """One farmer's fields from text (a spreadsheet row, a console form): the fields, or what is wrong."""
    rules = _rules(config)
    problems = []
    name = " ".join(raw.get("name", "").split())
    if not name:
        problems.append("name is empty")
    phone_raw = raw.get("phone", "").strip()
    phone = to_e164(_leading_zero(phone_raw, region), region) if phone_raw else None
    if phone is None:
        problems.append(f"phone '{phone_raw}' is not a valid number" if phone_raw else "phone is empty")
    desa_raw = " ".join(raw.get("desa", "").split())
    desa = _desa(config, desa_raw)
    if desa is None:
        problems.append(f"desa '{desa_raw}' is not in routing/areas.yaml" if desa_raw else "desa is empty")
    commodities = []
    for word in (w for w in raw.get("commodities", "").split(rules.commodity_separator) if w.strip()):
        commodity = rules.commodity_by_word(word)
        if commodity is None:
            known = ", ".join(c.code for c in rules.commodities)
            problems.append(f"commodity '{word.strip()}' is unknown (known: {known})")
        elif commodity.code not in commodities:
            commodities.append(commodity.code)
    land: float | None = None
    land_raw = raw.get("land_area", "").strip().replace(",", ".")
    if land_raw:
        try:
            land = float(land_raw)
        except ValueError:
            problems.append(f"land area '{land_raw}' is not a number of hectares")
        else:
            if not 0 <= land <= MAX_LAND_HA:
                problems.append(f"land area {land_raw} ha is out of range (0-{MAX_LAND_HA:g})")
    if problems or phone is None or desa is None:
        return None, problems
    fields = FarmerFields(
        phone=phone,
        name=name[:200],
        desa=desa,
        kecamatan=config.kecamatan_of(desa),
        kelompok_tani=" ".join(raw.get("kelompok_tani", "").split())[:200],
        commodities=tuple(commodities),
        land_area_ha=land,
    )
    return fields, []


def _leading_zero(phone: str, region: str) -> str:
    """A number typed into a spreadsheet cell as a number loses its leading 0 (0812... becomes 812...), which would
    read as country code 81. An Indonesian mobile number is 08...: put the 0 back."""
    return f"0{phone}" if region == "ID" and phone.isdigit() and phone.startswith("8") else phone


def _desa(config: CityConfig, text: str) -> str | None:
    """The desa as routing/areas.yaml spells it, whatever the case ("BUMIAJI", "bumiaji")."""
    want = text.casefold()
    return next((d for k in config.areas for d in k.desa if d.casefold() == want), None) if want else None


def check_sheet(config: CityConfig, sheet: Sheet, *, region: str) -> list[FarmerFields]:
    """Every row checked; any problem: RegistryRejected with one line per problem (file:row), nothing returned."""
    rules = _rules(config)
    # every mapped column must be there: an import without one would blank that field of every farmer
    missing = [f for f in rules.columns if rules.columns[f] not in sheet.headers]
    if missing:
        found = ", ".join(h for h in sheet.headers if h) or "none"
        lines = [f"{sheet.name}:1: missing column '{rules.columns[f]}' (for {f})" for f in missing]
        raise RegistryRejected([*lines, f"{sheet.name}:1: the columns found are: {found}"])
    problems: list[str] = []
    farmers: list[FarmerFields] = []
    seen: dict[str, int] = {}
    for number, row in sheet.rows:
        raw = {field: row.get(header, "") for field, header in rules.columns.items()}
        fields, wrong = check_farmer(config, raw, region=region)
        problems += [f"{sheet.name}:{number}: {p}" for p in wrong]
        if fields is None:
            continue
        if fields.phone in seen:
            problems.append(f"{sheet.name}:{number}: {fields.phone} is the farmer of row {seen[fields.phone]} again")
            continue
        seen[fields.phone] = number
        farmers.append(fields)
    if problems:
        raise RegistryRejected(problems)
    return farmers


def import_farmers(session: Session, *, config: CityConfig, sheet: Sheet, region: str, actor: str) -> ImportResult:
    """All rows or none: a sheet with any problem raises RegistryRejected before anything is written."""
    farmers = check_sheet(config, sheet, region=region)
    known = {f.phone: f for f in session.scalars(select(Farmer))}
    updated = unchanged = 0
    now = utcnow()
    new_rows = []
    for fields in farmers:
        farmer = known.get(fields.phone)
        if farmer is None:
            new_rows.append(
                {**_values(fields), "phone": fields.phone, "created_at": now, "updated_at": now, "updated_by": actor}
            )
        elif _apply(farmer, fields, actor, now):
            updated += 1
        else:
            unchanged += 1
    session.flush()
    if new_rows:  # one executemany: the ORM's unit of work took seconds for 3,000 new farmers
        session.execute(insert(Farmer), new_rows)
    return ImportResult(len(new_rows), updated, unchanged)


def _new(fields: FarmerFields, actor: str, now: object) -> Farmer:
    farmer = Farmer(phone=fields.phone, created_at=now)
    _apply(farmer, fields, actor, now)
    return farmer


def _apply(farmer: Farmer, fields: FarmerFields, actor: str, now: object) -> bool:
    """Copy the fields over; True when something changed (then it records who and when)."""
    values = _values(fields)
    changed = any(getattr(farmer, k, None) != v for k, v in values.items())
    if changed:
        for key, value in values.items():
            setattr(farmer, key, value)
        farmer.updated_at, farmer.updated_by = now, actor  # type: ignore[assignment]
    return changed


def _values(fields: FarmerFields) -> dict[str, object]:
    return {
        "name": fields.name,
        "desa": fields.desa,
        "kecamatan": fields.kecamatan,
        "kelompok_tani": fields.kelompok_tani,
        "commodities": list(fields.commodities),
        "land_area_ha": fields.land_area_ha,
    }


def save_farmer(
    session: Session, *, config: CityConfig, raw: dict[str, str], region: str, actor: str, farmer_id: int | None = None
) -> Farmer:
    """Add a farmer, or correct one (`farmer_id`) from the console; a number another farmer has is refused."""
    fields, wrong = check_farmer(config, raw, region=region)
    if fields is None:
        raise RegistryRejected(wrong)
    farmer = session.get(Farmer, farmer_id) if farmer_id is not None else None
    if farmer_id is not None and farmer is None:
        raise FarmerNotFound(f"no farmer {farmer_id}")
    other = session.scalar(select(Farmer).where(Farmer.phone == fields.phone))
    if other is not None and other is not farmer:
        raise RegistryRejected([f"{fields.phone} is already the number of farmer {other.id} ({other.name})"])
    now = utcnow()
    if farmer is None:
        farmer = _new(fields, actor, now)
        session.add(farmer)
    else:
        farmer.phone = fields.phone
        _apply(farmer, fields, actor, now)
    session.flush()
    return farmer


def list_farmers(session: Session, *, desa: str | None = None, commodity: str | None = None) -> Iterator[Farmer]:
    stmt = select(Farmer).order_by(Farmer.desa, Farmer.name, Farmer.id)
    if desa:
        stmt = stmt.where(Farmer.desa == desa)
    for farmer in session.scalars(stmt):
        if commodity is None or commodity in (farmer.commodities or []):
            yield farmer


def count_farmers(session: Session) -> int:
    return session.scalar(select(func.count()).select_from(Farmer)) or 0


EXPORT_FIELDS = ("name", "phone", "desa", "kelompok_tani", "commodities", "land_area")


def export_csv(config: CityConfig, farmers: Iterable[Farmer]) -> str:
    """The farmers in the city's own column headers (registry.columns): the file imports back unchanged."""
    rules = _rules(config)
    fields = [f for f in EXPORT_FIELDS if f in rules.columns]
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow([rules.columns[f] for f in fields])
    for farmer in farmers:
        values = {
            "name": farmer.name,
            "phone": farmer.phone,
            "desa": farmer.desa,
            "kelompok_tani": farmer.kelompok_tani,
            "commodities": f"{rules.commodity_separator} ".join(farmer.commodities or []),
            "land_area": "" if farmer.land_area_ha is None else f"{farmer.land_area_ha:g}",
        }
        writer.writerow([_safe_cell(values[f]) for f in fields])
    return out.getvalue()


def _safe_cell(value: str) -> str:
    """A cell that starts with = + - @ is a formula to a spreadsheet (CSV injection): make it text."""
    return f"'{value}" if value[:1] in ("=", "+", "-", "@") and not value[1:2].isdigit() else value
