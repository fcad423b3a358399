"""Pure: which farm sub-category and commodity a report's words name (routing/farming.yaml). No I/O."""

from __future__ import annotations

from hotline.cityconfig.farming import FarmingRules
from hotline.sms.grammar import normalise


def _has(haystack: str, phrase: str) -> bool:
    needle = normalise(phrase)
    return bool(needle) and f" {needle} " in f" {haystack} "


def subcategory_of(rules: FarmingRules, text: str) -> str | None:
    """The sub-category whose keyword comes first after the category's keyword ("TANI HAMA ..."), else the one
    with most words found anywhere ("kutu", "busuk buah"); ties go to the one listed first."""
    words = normalise(text).split()
    for word in words[:2]:  # "TANI HAMA ..." or "HAMA ..."
        found = next((s.code for s in rules.subcategories if word.upper() in s.keywords), None)
        if found:
            return found
    haystack = " ".join(words)
    best, best_hits = None, 0
    for sub in rules.subcategories:
        hits = sum(1 for w in sub.words if _has(haystack, w))
        if hits > best_hits:
            best, best_hits = sub.code, hits
    return best


def commodity_in(rules: FarmingRules, text: str) -> str | None:
    """The first commodity the text names ("kebun apel" -> apel)."""
    haystack = normalise(text)
    return next((c.code for c in rules.commodities if any(_has(haystack, w) for w in (c.code, *c.words))), None)
