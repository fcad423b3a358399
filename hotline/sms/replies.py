"""Render reply templates from sms/replies.yaml. The fields each message may use are fixed here."""

from __future__ import annotations

import string
from typing import Any

from hotline.cityconfig.model import LANGUAGES, Replies

_T = ("number", "category", "agency")
# What a text about a ticket to a crew, a leader, a head or the command center may say.
_CREW = frozenset({*_T, "priority", "location", "reporter", "status"})
_ESCALATION = frozenset({*_CREW, "urc", "deadline", "overdue"})
# Escalation texts per role a step notifies (routing/escalation.yaml `notify:`): escalation_{phase}{suffix}.
ROLE_SUFFIX = {"urc": "", "urc_leader": "_leader", "agency_head": "_head", "command_center": "_center"}
REPLY_FIELDS: dict[str, frozenset[str]] = {
    "ticket_created": frozenset(_T),
    "ask_category": frozenset({"number", "menu"}),
    "info_added": frozenset({"number"}),
    "merged_report": frozenset({*_T, "reporters"}),
    "report_split": frozenset(_T),
    "report_withdrawn": frozenset({"number"}),
    "more_reports": frozenset({*_CREW, "reporters"}),
    "place_update": _CREW,
    "empty_message": frozenset(),
    "ask_what_where": frozenset(),
    "alert": frozenset({*_CREW, "quote"}),
    "member_accepted": frozenset(_T),
    "member_on_site": frozenset(_T),
    "member_done": frozenset(_T),
    "member_declined": frozenset(_T),
    "team_accepted": frozenset({*_CREW, "member"}),
    "all_declined": frozenset({*_CREW, "urc"}),
    "citizen_accepted": frozenset(_T),
    "citizen_on_site": frozenset(_T),
    "citizen_done": frozenset(_T),
    "confirm_ask": frozenset({*_T, "yes", "no"}),
    "confirm_thanks": frozenset({"number"}),
    "confirm_already": frozenset({"number"}),
    "confirm_expired": frozenset({"number"}),
    "citizen_reopened": frozenset(_T),
    "shield_verify": frozenset({"yes"}),
    "shield_verify_silent": frozenset({"yes"}),
    "shield_confirmed": frozenset(),
    "team_reopened": _CREW,
    "status": frozenset({*_T, "status", "updated"}),
    "status_none": frozenset(),
    "not_found": frozenset({"number"}),
    "cancelled": frozenset(_T),
    "team_cancelled": _CREW,
    "team_cancelled_by_hotline": _CREW,
    "cancel_refused": frozenset({*_T, "status"}),
    "cancel_passed_on": frozenset(_T),
    "cancel_requested": _CREW,
    "cancel_kept": frozenset(_T),
    "opted_out": frozenset(),
    "opted_in": frozenset(),
    "missing_number": frozenset({"command"}),
    "not_member": frozenset({"command"}),
    "ticket_unknown": frozenset({"number"}),
    "not_your_ticket": frozenset({"number", "agency"}),
    "bad_transition": frozenset({"number", "status", "command"}),
    **{
        f"escalation_{phase}{suffix}": _ESCALATION for phase in ("accept", "resolve") for suffix in ROLE_SUFFIX.values()
    },
    # Spoken, not texted: the voice-call alert (hotline/channels/twilio/alert_call.py).
    "voice_alert": frozenset({*_T, "priority", "location"}),
    "voice_alert_accepted": frozenset(_T),
    "voice_alert_closed": frozenset({"number", "status"}),
    "voice_alert_refused": frozenset({"number", "agency"}),
    "voice_alert_goodbye": frozenset({"number"}),
    # To a caller who pressed the emergency key: the number, while they wait for an operator (ivr_flows/).
    "emergency_received": frozenset({"number"}),
    # Once a day to the command center: tickets open long past their deadline, which no longer escalate
    # (routing/escalation.yaml `stale:`, hotline/features/tickets/stale.py).
    "stale_digest": frozenset({"date", "count", "hours", "agencies", "oldest"}),
}
SPOKEN = frozenset(key for key in REPLY_FIELDS if key.startswith("voice_"))  # never sent as SMS
# Texts to crews, leaders, heads and the command center: they must fit one SMS, so the place and the
# citizen's words are shortened to fit (hotline/core/wording.py).
ONE_SMS = frozenset(
    {
        "alert",
        "more_reports",
        "place_update",
        "team_accepted",
        "all_declined",
        "team_reopened",
        "team_cancelled",
        "team_cancelled_by_hotline",
        "cancel_requested",
        *(key for key in REPLY_FIELDS if key.startswith("escalation_")),
    }
)


def template_fields(template: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(template) if name}


def render(replies: Replies, key: str, language: str, **fields: Any) -> str:
    per_language = replies.templates[key]
    template = per_language.get(language) or per_language[LANGUAGES[0]]
    return template.format(**fields)
