"""Fill reply templates with a ticket's facts in the reader's language."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from hotline.cityconfig import CityConfig
from hotline.models import Agency, Ticket
from hotline.settings import get_settings
from hotline.sms.replies import render

ALERT_TEXT_LIMIT = 80


def local_time(moment: datetime) -> str:
    return moment.astimezone(ZoneInfo(get_settings().timezone)).strftime("%d/%m %H:%M")


def status_words(config: CityConfig, status: str, language: str) -> str:
    words = config.replies.statuses.get(status, {})
    return words.get(language) or words.get("id") or status


def ticket_fields(session: Session, config: CityConfig, ticket: Ticket, language: str) -> dict[str, Any]:
    category = config.category(ticket.category)
    agency = session.get(Agency, ticket.agency_id) if ticket.agency_id else None
    priority = config.replies.priorities.get(ticket.priority, {})
    text = " ".join(ticket.text.split())
    if len(text) > ALERT_TEXT_LIMIT:
        text = text[: ALERT_TEXT_LIMIT - 1] + "…"
    location = ticket.location_text or ticket.desa
    return {
        "number": ticket.id,
        "category": category.name(language) if category else "-",
        "agency": (agency.sms_name or agency.name) if agency else "-",
        "priority": priority.get(language) or ticket.priority,
        "location": location or config.replies.unknown_location.get(language, "-"),
        "text": text,
        "reporter": ticket.reporter_phone,
        "status": status_words(config, ticket.status, language),
        "updated": local_time(ticket.updated_at),
    }


def say(config: CityConfig, key: str, language: str, **fields: Any) -> str:
    return render(config.replies, key, language, **fields)


def category_menu(config: CityConfig, language: str) -> str:
    return ", ".join(f"{c.menu} {c.name(language)}" for c in sorted(config.categories, key=lambda c: c.menu))
