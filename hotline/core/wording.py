"""Fill reply templates with a ticket's facts in the reader's language.

Texts to crews, leaders, heads and the command center (`ONE_SMS` in hotline/sms/replies.py) must fit one
GSM-7 SMS: a gateway that sends one part only cuts the rest, and the reply words come last. `say` renders
them with the citizen's words ({quote}) cut first, then the place ({location}), so the whole text fits
160 characters; every other field is short by nature (names from routing/, numbers, fixed words).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from hotline.cityconfig import CityConfig
from hotline.models import Agency, Ticket
from hotline.settings import get_settings
from hotline.sms.encoding import SINGLE, fold, septets
from hotline.sms.grammar import normalise
from hotline.sms.replies import ONE_SMS, SPOKEN, render, template_fields

ONE_SMS_LENGTH = SINGLE["gsm7"]
MIN_QUOTE = 14  # with its quotation marks: shorter than this, a cut quote says nothing; it is left out
MIN_LOCATION = 24  # a place is never cut shorter than this, whatever else the text holds
LONG_LOCATION = 70  # a place longer than this is cut to it before the quote is: it is mostly not the place
MAX_REPORTER = 16  # the longest phone number (E.164); a longer alphanumeric sender id is cut
CUT = "..."
KEC = "Kec. "  # how an address names the kecamatan
_SPACES = re.compile(r"[ \t]{2,}")
_BEFORE_STOP = re.compile(r"\s+([,.;:!?])")  # "ada kebakaran , asap" once the place is taken out
_STOPS = re.compile(r"\.{4,}")  # a cut place ("...") before the template's full stop


def local_time(moment: datetime) -> str:
    return moment.astimezone(ZoneInfo(get_settings().timezone)).strftime("%d/%m %H:%M")


def clock_time(moment: datetime, now: datetime) -> str:
    """ "14:05" today, "03/02 14:05" another day (the city's time)."""
    zone = ZoneInfo(get_settings().timezone)
    local = moment.astimezone(zone)
    same_day = local.date() == now.astimezone(zone).date()
    return local.strftime("%H:%M" if same_day else "%d/%m %H:%M")


def status_words(config: CityConfig, status: str, language: str) -> str:
    words = config.replies.statuses.get(status, {})
    return words.get(language) or words.get("id") or status


def _words(table: Mapping[str, str], language: str) -> str:
    return table.get(language) or table.get("id") or ""


def _mentions(text: str, name: str) -> bool:
    return f" {normalise(name)} " in f" {normalise(text)} "


def place(location_text: str | None, desa: str | None, kecamatan: str | None) -> str | None:
    """What a crew reads as the place: the words given, then the desa and "Kec." kecamatan they lack.
    "Jl. Diponegoro 12 Sisir" + Sisir/Batu -> "Jl. Diponegoro 12 Sisir, Kec. Batu"."""
    parts = [" ".join(fold(location_text).split())] if location_text and location_text.strip() else []
    if desa and not _mentions(" ".join(parts), desa):
        parts.append(desa)
    if kecamatan and not _mentions(" ".join(parts), kecamatan):
        parts.append(f"{KEC}{kecamatan}")
    return ", ".join(parts) or None


def crew_phone(phone: str) -> str:
    """The reporter's number as a crew dials it: 0812... for an Indonesian number, else as stored."""
    if phone.startswith("+62") and phone[3:].isdigit():
        return "0" + phone[3:]
    return phone[:MAX_REPORTER]


def quote_source(config: CityConfig, ticket: Ticket) -> str:
    """The citizen's words for a crew text, without what the text says already: the place (and the word
    that introduced it, "di", "dekat"), and nothing at all when only the category's keyword is left
    ("KEBAKARAN di Jl. ..." -> "")."""
    text = " ".join(fold(ticket.text or "").split())
    location = " ".join(fold(ticket.location_text or "").split())
    markers = {m for words in config.grammar.location_markers.values() for m in words}
    # the whole place as the citizen wrote it, else each of its parts (the grammar joins places with ", ")
    for part in [location, *location.split(", ")] if location else []:
        at = text.lower().rfind(part.lower())
        if at < 0:
            continue
        before = text[:at].rstrip().split(" ")
        while before and before[-1].lower().strip(",.:;") in markers:  # "lokasi di Jl. ..."
            before.pop()
        text = " ".join([*before, text[at + len(part) :].strip()]).strip()
        if part == location:
            break
    text = _BEFORE_STOP.sub(r"\1", text).strip(" ,.;:-")
    # "KEBAKARAN" is all that is left of "KEBAKARAN di Jl. ...": the text names the category already
    category = config.category(ticket.category)
    said = {
        normalise(w) for words in config.grammar.leading_keywords.get(ticket.category or "", {}).values() for w in words
    }
    said |= {normalise(name) for name in (category.names.values() if category else ())}
    return "" if normalise(text) in said else text


def ticket_fields(session: Session, config: CityConfig, ticket: Ticket, language: str) -> dict[str, Any]:
    category = config.category(ticket.category)
    agency = session.get(Agency, ticket.agency_id) if ticket.agency_id else None
    priority = config.replies.priorities.get(ticket.priority, {})
    return {
        "number": ticket.id,
        "category": category.name(language) if category else _words(config.replies.unknown_category, language),
        "agency": (agency.sms_name or agency.name) if agency else _words(config.replies.no_agency, language),
        "priority": priority.get(language) or ticket.priority,
        "location": place(ticket.location_text, ticket.desa, ticket.kecamatan)
        or _words(config.replies.unknown_location, language),
        "quote": quote_source(config, ticket),
        "reporter": crew_phone(ticket.reporter_phone),
        "status": status_words(config, ticket.status, language),
        "updated": local_time(ticket.updated_at),
    }


def tidy(text: str) -> str:
    """A field left empty leaves no double space ("No. 5.  Pelapor" -> "No. 5. Pelapor")."""
    return _STOPS.sub(CUT, _SPACES.sub(" ", text)).strip()


def shorten(text: str, room: int) -> str:
    """`text` in at most `room` GSM-7 septets, cut after a whole word where one is near, marked "..."."""
    if septets(text) <= room:
        return text
    keep = max(room - len(CUT), 0)
    cut = ""
    for ch in text:
        if septets(cut + ch) > keep:
            break
        cut += ch
    space = cut.rfind(" ")
    if space >= keep * 2 // 3:  # a whole word, unless that throws away a third of what fits
        cut = cut[:space]
    return cut.rstrip(" ,.;:-") + CUT


def _quoted(source: str, room: int | None = None) -> str:
    if not source:
        return ""
    if room is None:
        return f'"{source}"'
    return f'"{shorten(source, room - 2)}"' if room >= MIN_QUOTE else ""


def length(text: str) -> int:
    """Septets the text costs once folded (what the outbox sends)."""
    return septets(fold(text))


def fit(template: str, fields: Mapping[str, Any], limit: int = ONE_SMS_LENGTH) -> str:
    """Render with the quote, then the place, shortened until the text fits `limit` septets. A text that
    cannot fit even so comes back whole (`hotline config check` warns about such a template)."""
    values = {name: fold(value) if isinstance(value, str) else value for name, value in fields.items()}
    uses = template_fields(template)
    location = values.get("location")
    if "location" in uses and isinstance(location, str) and length(template.format(**{**values, "quote": ""})) > limit:
        values["location"] = location = shorten(fold(location), LONG_LOCATION)
    source = str(values.get("quote") or "")
    values["quote"] = _quoted(source)
    text = tidy(template.format(**values))
    if "quote" in uses and length(text) > limit:
        room = length(values["quote"]) - (length(text) - limit)
        values["quote"] = _quoted(source, room)
        text = tidy(template.format(**values))
    if "location" in uses and isinstance(location, str) and length(text) > limit:
        room = max(length(location) - (length(text) - limit), MIN_LOCATION)
        values["location"] = shorten(fold(location), room)
        text = tidy(template.format(**values))
    return text


def say(config: CityConfig, key: str, language: str, **fields: Any) -> str:
    if key in SPOKEN and isinstance(fields.get("location"), str):  # read out: the word, not its abbreviation
        fields = {**fields, "location": fields["location"].replace(KEC, "Kecamatan ")}
    if key in ONE_SMS:
        per_language = config.replies.templates[key]
        return fit(per_language.get(language) or per_language["id"], fields)
    if "quote" in fields:
        fields = {**fields, "quote": _quoted(str(fields["quote"] or ""))}
    return tidy(render(config.replies, key, language, **fields))


def category_menu(config: CityConfig, language: str) -> str:
    return ", ".join(f"{c.menu} {c.name(language)}" for c in sorted(config.categories, key=lambda c: c.menu))
