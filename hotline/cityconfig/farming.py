"""Agriculture as city data (routing/farming.yaml): field officers (PPL) per desa, farm sub-categories, commodities,
the registry's spreadsheet columns and the outbreak watch. Immutable values; the loader is farming_loader.py."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

# The registry's fields a spreadsheet column can fill (routing/farming.yaml `registry.columns`).
REGISTRY_FIELDS = ("name", "phone", "desa", "kelompok_tani", "commodities", "land_area")
REQUIRED_FIELDS = ("name", "phone", "desa")


@dataclass(frozen=True)
class FarmSla:
    """Minutes to accept and to resolve a report of one sub-category (instead of the agency's per priority)."""

    accept_minutes: float
    resolve_minutes: float


@dataclass(frozen=True)
class Coordinator:
    name: str
    phone: str  # E.164


@dataclass(frozen=True)
class SubCategory:
    code: str
    names: dict[str, str]
    keywords: tuple[str, ...]  # upper case: the word right after TANI ("TANI HAMA ...")
    words: tuple[str, ...]  # lower case words or phrases found anywhere ("kutu", "busuk buah")
    sla: FarmSla | None = None  # None: the agency's SLA for the ticket's priority

    def name(self, language: str) -> str:
        return self.names.get(language) or self.names["id"]


@dataclass(frozen=True)
class Commodity:
    code: str
    names: dict[str, str]
    words: tuple[str, ...]  # lower case, as a farmer writes it in a text or a spreadsheet

    def name(self, language: str) -> str:
        return self.names.get(language) or self.names["id"]


@dataclass(frozen=True)
class FieldOfficer:
    name: str
    phone: str  # E.164
    desa: tuple[str, ...]
    commodities: tuple[str, ...] = ()  # empty: every commodity of those desa


@dataclass(frozen=True)
class OutbreakRule:
    reports: int = 5  # this many reports ...
    radius_km: float = 5.0  # ... from desa whose points lie within this distance of the newest report's desa ...
    window_days: float = 7.0  # ... within this many days ...
    same_commodity: bool = True  # ... of the same sub-category (and commodity) raise an outbreak
    subcategories: frozenset[str] = frozenset()  # watched sub-categories; empty: all


@dataclass(frozen=True)
class FarmingRules:
    """No routing/farming.yaml: `enabled` is False and farm reports route by routing/rules.yaml alone."""

    enabled: bool = False
    agency: str = ""
    categories: frozenset[str] = frozenset()
    columns: dict[str, str] = field(default_factory=dict)  # registry field -> spreadsheet header
    commodity_separator: str = ","
    subcategories: tuple[SubCategory, ...] = ()
    commodities: tuple[Commodity, ...] = ()
    officers: tuple[FieldOfficer, ...] = ()
    coordinators: dict[str, tuple[Coordinator, ...]] = field(default_factory=dict)  # kecamatan -> coordinators
    outbreak: OutbreakRule = OutbreakRule()
    farmer_line: str = ""  # appended to a PPL's alert: {name} {kelompok_tani} {commodity} {desa} {subcategory}
    outbreak_text: str = ""  # the outbreak SMS to the agency's heads
    advice_text: str = ""  # a PPL's advice (SARAN 12 ...) as the farmer reads it: {number} {name} {advice}
    advice_sent_text: str = ""  # the PPL's confirmation: {number}
    warning_text: str = ""  # the ready-made warning to the farmers of an outbreak's desa and commodity

    def is_farm(self, category: str | None) -> bool:
        return self.enabled and category in self.categories

    def subcategory(self, code: str | None) -> SubCategory | None:
        return next((s for s in self.subcategories if s.code == code), None)

    def commodity(self, code: str | None) -> Commodity | None:
        return next((c for c in self.commodities if c.code == code), None)

    def commodity_by_word(self, word: str) -> Commodity | None:
        w = word.strip().lower()
        return next((c for c in self.commodities if w == c.code or w in c.words), None)

    def ppl_urc(self, desa: str | None, commodity: str | None) -> str | None:
        """The URC of the desa's field officers for this commodity (one given to that commodity first), or None."""
        if not desa:
            return None
        if commodity and ppl_urc_code(desa, commodity) in self.ppl_urc_codes:
            return ppl_urc_code(desa, commodity)
        code = ppl_urc_code(desa, None)
        return code if code in self.ppl_urc_codes else None

    @cached_property
    def ppl_urc_codes(self) -> frozenset[str]:
        codes = set()
        for officer in self.officers:
            for desa in officer.desa:
                for commodity in officer.commodities or (None,):
                    codes.add(ppl_urc_code(desa, commodity))
        return frozenset(codes)


def ppl_urc_code(desa: str, commodity: str | None) -> str:
    """The URC the loader makes for a desa's field officers (and one commodity's, when some officer has one)."""
    base = "PPL-DESA-" + "".join(ch if ch.isalnum() else "-" for ch in desa.upper())
    return f"{base}-{commodity.upper()}" if commodity else base
