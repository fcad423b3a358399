"""The junk-call shield's reasons in the reader's words (the console's shield and queue pages).

The shield stores each decision's reason as an English line (`hotline shield report`, the audit trail); these
patterns read it back into a catalog sentence (hotline/catalog, `shield_reason`). A reason no pattern knows is
an operator's own note: shown as written."""

from __future__ import annotations

import re
from datetime import UTC, datetime

from hotline.catalog import say, word
from hotline.localtime import local

STAMP = r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}"
PATTERNS: tuple[tuple[re.Pattern[str], str], ...] = tuple(
    (re.compile(f"^{pattern}$"), key)
    for pattern, key in (
        (r"withheld number: cannot be told apart", "withheld"),
        (r"shield off \(no routing/shield\.yaml\)", "shield_off"),
        (r"exempt number", "exempt"),
        (r"open ticket #(?P<number>\d+)", "open_ticket"),
        (r"open ticket #(?P<number>\d+): (?P<over>.+); a follow-up to it", "open_ticket_follow_up"),
        (r"open ticket #(?P<number>\d+): (?P<over>.+)", "open_ticket_over"),
        (rf"(?P<decision>confirmed|cleared) (?P<at>{STAMP}) UTC, but (?P<over>.+)", "vindicated_but"),
        (rf"(?P<decision>confirmed|cleared) (?P<at>{STAMP}) UTC", "vindicated"),
        (rf"repeat offender until (?P<at>{STAMP}) UTC", "offender_until"),
        (r"(?P<count>\d+) calls within an hour \(limit (?P<limit>\d+)\)", "over_hour"),
        (r"(?P<count>\d+) calls within an hour \(limit (?P<limit>\d+) for a confirmed number\)", "over_hour_trusted"),
        (r"(?P<count>\d+) calls within 24 hours \(limit (?P<limit>\d+)\)", "over_day"),
        (r"(?P<count>\d+) calls within 24 hours \(limit (?P<limit>\d+) for a confirmed number\)", "over_day_trusted"),
        (r"(?P<count>\d+) silent/prank calls within (?P<hours>[\d.]+) h", "offender_flagged"),
        (r"callback #(?P<number>\d+)", "callback"),
        (r"replied 1", "replied"),
        (r"cannot receive SMS", "no_sms"),
        (r"confirmed an emergency", "emergency_confirmed"),
        (r"cleared by an operator", "cleared_by_operator"),
        (r"marked by an operator", "marked_by_operator"),
        (r"no key, no voice: put through to an operator", "silent_queued"),
        (r"no key, no voice", "silent"),
        (r"shield_verify\w*", "verification"),
    )
)


def reason_in_words(reason: str | None, lang: str) -> str:
    if not reason:
        return "—"
    for pattern, key in PATTERNS:
        found = pattern.match(reason)
        if found is None:
            continue
        params: dict[str, str] = dict(found.groupdict())
        if "over" in params:
            params["over"] = reason_in_words(params["over"], lang)
        if "at" in params:
            params["at"] = local(datetime.strptime(params["at"], "%Y-%m-%d %H:%M").replace(tzinfo=UTC))
        if "decision" in params:
            params["decision"] = word("decision", params["decision"], lang)
        return say("shield_reason", key, lang, params)
    return reason
