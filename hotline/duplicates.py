"""Pure duplicate matching: is a new report the same incident as one of the open tickets offered? No I/O.

The caller offers open tickets of the report's category created within the rule's window (one indexed
query, hotline/features/merging/merging.py); this module decides. A candidate is *ruled out* when anything says
it is another place: both name a desa and they differ, both name a kecamatan and they differ, or both
have GPS farther apart than the radius. Among the rest, one piece of evidence is enough:

  near_gps      both have GPS, at most `radius_m` apart               score: metres
  same_desa     both name the same desa (when the rule allows it)     score: None
  similar_text  texts at least `text_similarity` % alike              score: rapidfuzz token_sort_ratio

Text is compared only when both texts have MIN_WORDS words or more ("LONGSOR" alone says nothing about
the place) and with token_sort_ratio, which is stricter than token_set_ratio: a wrong merge hides an
incident, a missed one only calls a team out twice. The best candidate wins: near GPS (closest) before
same desa before similar text (most alike), the oldest ticket on a tie.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta

from rapidfuzz import fuzz, utils

from hotline.cityconfig.model import MergeRule

EARTH_RADIUS_M = 6_371_008.8
MIN_WORDS = 3
MAX_LINES = 20  # of a ticket's text compared: the first report and its first follow-ups
RULES = ("near_gps", "same_desa", "similar_text")  # strongest evidence first


@dataclass(frozen=True)
class Place:
    desa: str | None = None
    kecamatan: str | None = None
    latitude: float | None = None
    longitude: float | None = None

    @property
    def has_gps(self) -> bool:
        return self.latitude is not None and self.longitude is not None


@dataclass(frozen=True)
class NewReport:
    text: str
    place: Place
    at: datetime


@dataclass(frozen=True)
class Candidate:
    ticket_id: int
    text: str
    place: Place
    created_at: datetime


@dataclass(frozen=True)
class Match:
    ticket_id: int
    rule: str  # one of RULES
    score: float | None  # metres (near_gps), % alike (similar_text), None (same_desa)

    @property
    def reason(self) -> str:
        if self.rule == "near_gps":
            return f"near GPS ({self.score:.0f} m)"
        if self.rule == "similar_text":
            return f"similar text ({self.score:.0f}%)"
        return "same desa"


def distance_m(a: Place, b: Place) -> float:
    """Haversine distance in metres between two places that both have GPS."""
    assert a.latitude is not None and a.longitude is not None and b.latitude is not None and b.longitude is not None
    lat1, lat2 = math.radians(a.latitude), math.radians(b.latitude)
    dlat, dlon = lat2 - lat1, math.radians(b.longitude - a.longitude)
    h = math.sin(dlat / 2) ** 2 + math.cos(lat1) * math.cos(lat2) * math.sin(dlon / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(min(1.0, math.sqrt(h)))


def _same(a: str | None, b: str | None) -> bool | None:
    """True/False when both are known, None when either is not."""
    if not a or not b:
        return None
    return a.strip().casefold() == b.strip().casefold()


def text_score(a: str, b: str) -> float | None:
    """How alike a new report's text is to a ticket's (0-100), or None when either is too short to say. A ticket's
    text grows a line per follow-up ("info added"): the new report is compared with each line, best one counts."""
    left = utils.default_process(a)
    if len(left.split()) < MIN_WORDS:
        return None
    lines = [
        line
        for line in (utils.default_process(x) for x in b.splitlines()[:MAX_LINES])
        if len(line.split()) >= MIN_WORDS
    ]
    return max((float(fuzz.token_sort_ratio(left, line)) for line in lines), default=None)


def _evidence(report: NewReport, candidate: Candidate, rule: MergeRule) -> tuple[str, float | None] | None:
    mine, theirs = report.place, candidate.place
    if _same(mine.desa, theirs.desa) is False or _same(mine.kecamatan, theirs.kecamatan) is False:
        return None
    distance = distance_m(mine, theirs) if mine.has_gps and theirs.has_gps else None
    if distance is not None:
        if distance > rule.radius_m:
            return None
        return "near_gps", round(distance, 1)
    if rule.same_desa and _same(mine.desa, theirs.desa):
        return "same_desa", None
    if rule.text_similarity is not None:
        score = text_score(report.text, candidate.text)
        if score is not None and score >= rule.text_similarity:
            return "similar_text", score
    return None


def find_duplicate(report: NewReport, candidates: list[Candidate], rule: MergeRule) -> Match | None:
    """The open ticket this report duplicates, with the rule and score that matched, or None."""
    if not rule.enabled:
        return None
    window = timedelta(minutes=rule.window_minutes)
    best: tuple[tuple[int, float, int], Match] | None = None
    for candidate in candidates:
        age = report.at - candidate.created_at
        if age > window or age < -window:
            continue
        found = _evidence(report, candidate, rule)
        if found is None:
            continue
        name, score = found
        # closest first for metres, most alike first for text
        strength = (score or 0.0) if name == "near_gps" else -(score or 0.0)
        key = (RULES.index(name), strength, candidate.ticket_id)
        if best is None or key < best[0]:
            best = (key, Match(candidate.ticket_id, name, score))
    return best[1] if best else None


def priority_for(reporters: int, current: str, steps: tuple[tuple[int, str], ...], order: tuple[str, ...]) -> str:
    """The priority a ticket with `reporters` reporters should have: the rule's step for that many, but never
    less urgent than `current` (`order` lists priorities most urgent first)."""
    wanted = current
    for count, priority in steps:
        if reporters >= count and order.index(priority) < order.index(wanted):
            wanted = priority
    return wanted
