"""The validated city data, as immutable values the pure parts (grammar, router) work on."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from hotline.cityconfig.farming import FarmingRules
from hotline.ivr.flow import Flow

LANGUAGES = ("id", "en")
PRIORITIES = ("critical", "high", "normal", "low")  # most urgent first
# The ways an alert reaches a URC member, in routing/agencies.yaml `alert_channels`
# (hotline/features/alerts/failover.py).
ALERT_CHANNELS = ("sms", "sms_backup", "voice", "whatsapp")
DEFAULT_ALERT_CHANNELS: tuple[str, ...] = ("sms",)  # without the key: today's behaviour, SMS and no failover
DEFAULT_DELIVERY_TIMEOUT_SECONDS = 120


@dataclass(frozen=True)
class Sla:
    accept_minutes: float
    resolve_minutes: float


@dataclass(frozen=True)
class ContactSpec:
    name: str
    phone: str  # E.164


@dataclass(frozen=True)
class EscalationStep:
    after_minutes: float
    notify: tuple[str, ...]  # roles: urc, urc_leader, agency_head, command_center
    via: tuple[str, ...] = ("sms",)


@dataclass(frozen=True)
class EscalationChain:
    steps: tuple[EscalationStep, ...]
    repeat_minutes: float | None


@dataclass(frozen=True)
class StaleRules:
    """Tickets left open long past their deadline (routing/escalation.yaml `stale:`; hotline/features/tickets/stale.py).

    Once a ticket's running deadline (accept-by while routed, finish-by after) passed `after_hours` ago, its chain
    stops repeating the last step; the command center gets one SMS a day at `digest_at` (city time) instead,
    counting such tickets per agency. 0 for after_hours: the chain repeats until someone answers (as before)."""

    after_hours: float = 72.0
    digest_at: str = "07:00"  # HH:MM, HOTLINE_TIMEZONE

    @property
    def enabled(self) -> bool:
        return self.after_hours > 0


@dataclass(frozen=True)
class ScorecardThresholds:
    green: float
    yellow: float


@dataclass(frozen=True)
class MemberSpec:
    name: str
    phone: str  # E.164
    role: str = "member"
    active: bool = True


@dataclass(frozen=True)
class UrcSpec:
    code: str
    name: str
    members: tuple[MemberSpec, ...]


@dataclass(frozen=True)
class AgencySpec:
    code: str
    name: str
    default: bool
    sla: dict[str, Sla]
    urcs: tuple[UrcSpec, ...]
    sms_name: str = ""
    heads: tuple[ContactSpec, ...] = ()
    # Tried in order for each alert until one is delivered, the ticket is accepted, or the list ends.
    alert_channels: tuple[str, ...] = DEFAULT_ALERT_CHANNELS
    delivery_timeout_seconds: int = DEFAULT_DELIVERY_TIMEOUT_SECONDS  # no delivery report by then: next channel


@dataclass(frozen=True)
class CategorySpec:
    code: str
    names: dict[str, str]
    menu: int
    priority: str

    def name(self, language: str) -> str:
        return self.names.get(language) or self.names[LANGUAGES[0]]


@dataclass(frozen=True)
class RuleSpec:
    name: str
    agency: str
    urc: str | None
    categories: frozenset[str] | None = None
    priorities: frozenset[str] | None = None
    kecamatan: frozenset[str] | None = None


@dataclass(frozen=True)
class KecamatanSpec:
    name: str
    desa: tuple[str, ...]


@dataclass(frozen=True)
class Grammar:
    """Words per language. Commands map an upper-case word to (command, language)."""

    leading_keywords: dict[str, dict[str, tuple[str, ...]]]  # category -> lang -> words
    words: dict[str, dict[str, tuple[str, ...]]]  # category -> lang -> words/phrases
    urgent: dict[str, tuple[str, ...]]
    courtesy: dict[str, tuple[str, ...]]
    location_markers: dict[str, tuple[str, ...]]
    urc_commands: dict[str, tuple[str, str]]
    citizen_commands: dict[str, tuple[str, str]]
    category_order: tuple[str, ...] = ()
    menu: dict[int, str] = field(default_factory=dict)  # digit -> category
    place_words: dict[str, tuple[str, ...]] = field(default_factory=dict)  # words that make words a place


@dataclass(frozen=True)
class Replies:
    templates: dict[str, dict[str, str]]
    statuses: dict[str, dict[str, str]]
    priorities: dict[str, dict[str, str]]
    unknown_location: dict[str, str]
    unknown_category: dict[str, str] = field(default_factory=dict)  # {category} of an unsorted report
    no_agency: dict[str, str] = field(default_factory=dict)  # {agency} of a report not routed yet


@dataclass(frozen=True)
class MergeRule:
    """When a new report of one category is the same incident as an open ticket (routing/merging.yaml)."""

    enabled: bool = False
    window_minutes: float = 0
    radius_m: float = 0  # near GPS: at most this far apart
    same_desa: bool = True
    text_similarity: float | None = None  # 0-100; None: text alone never merges
    priority_at: tuple[tuple[int, str], ...] = ()  # (reporters, priority), fewest reporters first


@dataclass(frozen=True)
class MergeRules:
    default: MergeRule = MergeRule()
    categories: dict[str, MergeRule] = field(default_factory=dict)

    def for_category(self, code: str | None) -> MergeRule:
        return self.categories.get(code or "", self.default)


@dataclass(frozen=True)
class AttributeValue:
    key: str
    names: dict[str, str]


@dataclass(frozen=True)
class ServiceAttribute:
    """One question a GeoReport service definition asks (`attribute[code]=` when posting)."""

    code: str
    datatype: str  # string | number | datetime | text | singlevaluelist | multivaluelist
    required: bool
    descriptions: dict[str, str]
    order: int
    values: tuple[AttributeValue, ...] = ()

    def description(self, language: str) -> str:
        return self.descriptions.get(language) or self.descriptions[LANGUAGES[0]]


@dataclass(frozen=True)
class Open311Service:
    """What GeoReport clients learn of a category (routing/open311.yaml); defaults for one not listed."""

    group: str = ""
    descriptions: dict[str, str] = field(default_factory=dict)
    keywords: tuple[str, ...] = ()
    attributes: tuple[ServiceAttribute, ...] = ()
    # Private: its reports' GPS is rounded in public answers and their photos are not published.
    private: bool = False


@dataclass(frozen=True)
class Open311Rules:
    """routing/open311.yaml. Without the file: any jurisdiction_id is taken, no category is private."""

    jurisdiction_id: str | None = None
    private_gps_decimals: int = 2  # 2 decimals: about 1.1 km
    contact: str = "The city's command center"  # discovery: who answers questions about the API
    key_service: str = "Partner keys are issued by the city's Hotline administrators"  # discovery: how to get a key
    services: dict[str, Open311Service] = field(default_factory=dict)

    def service(self, code: str) -> Open311Service:
        return self.services.get(code, Open311Service())


@dataclass(frozen=True)
class ShieldRules:
    """The junk-call shield (routing/shield.yaml; hotline/features/shield/shield.py). Off: every call is allowed
    (and still logged); silent calls are still told apart by the flow."""

    enabled: bool = False
    calls_per_hour: int = 0
    calls_per_day: int = 0
    # The higher ceiling of a number that confirmed an emergency (replied 1), was cleared, or has an open report:
    # never unlimited (issue 18). 0: three times calls_per_hour / calls_per_day.
    confirmed_calls_per_hour: int = 0
    confirmed_calls_per_day: int = 0
    offender_silent_calls: int = 3  # silent or prank calls within offender_within_hours flag the number
    offender_within_hours: float = 24
    flag_hours: float = 72  # how long a flagged number is queued last
    verify_reply_hours: float = 24  # how long "1" to the verification SMS counts
    verify_after_silent_call: bool = True  # also ask a silent caller "Jika darurat, balas 1"
    exempt: frozenset[str] = frozenset()  # numbers never limited (the city's own lines)

    @property
    def trusted_per_hour(self) -> int:
        return self.confirmed_calls_per_hour or 3 * self.calls_per_hour

    @property
    def trusted_per_day(self) -> int:
        return self.confirmed_calls_per_day or 3 * self.calls_per_day


@dataclass(frozen=True)
class CityConfig:
    agencies: tuple[AgencySpec, ...]
    categories: tuple[CategorySpec, ...]
    rules: tuple[RuleSpec, ...]
    areas: tuple[KecamatanSpec, ...]
    grammar: Grammar
    replies: Replies
    escalation: dict[str, EscalationChain] = field(default_factory=dict)  # agency code -> chain
    scorecard: ScorecardThresholds = ScorecardThresholds(0.9, 0.75)
    ivr_flows: dict[str, Flow] = field(default_factory=dict)  # flow id -> flow; empty: no ivr_flows/ folder
    shield: ShieldRules = ShieldRules()
    merging: MergeRules = field(default_factory=MergeRules)  # no routing/merging.yaml: reports are never merged
    stale: StaleRules = StaleRules()  # no `stale:` in routing/escalation.yaml: 72 hours, digest at 07:00
    open311: Open311Rules = field(default_factory=Open311Rules)  # no routing/open311.yaml: the defaults
    desa_points: dict[str, tuple[float, float]] = field(default_factory=dict)  # routing/areas.yaml `points`
    farming: FarmingRules = field(default_factory=FarmingRules)  # no routing/farming.yaml: farming off

    def category(self, code: str | None) -> CategorySpec | None:
        return next((c for c in self.categories if c.code == code), None)

    def agency(self, code: str) -> AgencySpec | None:
        return next((a for a in self.agencies if a.code == code), None)

    def kecamatan_of(self, desa: str) -> str | None:
        return next((k.name for k in self.areas if desa in k.desa), None)

    def point_of(self, desa: str | None) -> tuple[float, float] | None:
        """The desa's point from routing/areas.yaml (lat, lon), or None."""
        return self.desa_points.get(desa) if desa else None

    def nearest_desa(self, lat: float, lon: float, *, within_km: float = 10.0) -> str | None:
        """The desa whose point is nearest to (lat, lon), if one is within `within_km` (a point far outside the
        city belongs to no desa of it); None when the city gave no points."""
        best: tuple[float, str] | None = None
        for desa, (dlat, dlon) in self.desa_points.items():
            km = distance_km(lat, lon, dlat, dlon)
            if km <= within_km and (best is None or km < best[0]):
                best = (km, desa)
        return best[1] if best else None

    @property
    def default_agency(self) -> AgencySpec:
        return next(a for a in self.agencies if a.default)

    @property
    def default_flow(self) -> Flow | None:
        """The flow a call starts in: the one marked default, or the only one."""
        flows = list(self.ivr_flows.values())
        return next((f for f in flows if f.default), flows[0] if len(flows) == 1 else None)


def distance_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance (haversine, mean Earth radius)."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * 6371.0088 * math.asin(math.sqrt(a))
