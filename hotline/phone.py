"""Phone numbers to E.164 (0812..., 62812..., +62812... all mean the same Indonesian number)."""

from __future__ import annotations

import re

import phonenumbers

_SEPARATORS = re.compile(r"[\s\-().]")


def to_e164(raw: str, region: str = "ID") -> str | None:
    """E.164 form of a phone number, or None when it is not a valid number."""
    text = _SEPARATORS.sub("", raw or "")
    if not text:
        return None
    if text.startswith("00"):
        text = "+" + text[2:]
    elif text.isdigit() and not text.startswith("0"):
        # phonenumbers reads "62812..." as a national number; with "+" it is international.
        text = "+" + text
    try:
        parsed = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(parsed):
        return None
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


def sender_id(raw: str, region: str = "ID") -> str:
    """How we store a sender: E.164 when it is a phone number, else the raw id (e.g. "TELKOMSEL")."""
    return to_e164(raw, region) or (raw or "").strip()


def is_mobile(e164: str) -> bool:
    """Whether an SMS can reach this number: a mobile (or a number the plan cannot tell from one). Raw
    sender ids and landlines (a caller from a home phone) cannot receive SMS."""
    if not e164.startswith("+"):
        return False
    try:
        kind = phonenumbers.number_type(phonenumbers.parse(e164))
    except phonenumbers.NumberParseException:
        return False
    return kind in (phonenumbers.PhoneNumberType.MOBILE, phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE)


def national_digits(e164: str, region: str = "ID") -> str:
    """The number as dialled inside the country (+6281234567890 -> 081234567890): what a trunk to a telco
    usually takes. A number phonenumbers cannot read stays as given, without its '+'."""
    try:
        parsed = phonenumbers.parse(e164, region)
    except phonenumbers.NumberParseException:
        return e164.lstrip("+")
    return re.sub(r"\D", "", phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.NATIONAL))
