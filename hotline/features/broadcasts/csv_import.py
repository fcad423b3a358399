"""Import subscribers from a CSV the city collected (with consent): every row checked first, then all or none.

Columns (a header row, any order): phone, desa, consent; optional language (id|en, default id) and channel
(sms|whatsapp|twilio_whatsapp, default sms). `consent` says how the person agreed ("formulir RT 03, 2026-11-02"): a row
without it is refused, as is an unknown desa or a number that is no phone."""

from __future__ import annotations

import csv
import io

from sqlalchemy.orm import Session

from hotline.cityconfig import CityConfig
from hotline.cityconfig.model import LANGUAGES
from hotline.features.broadcasts.errors import CsvRejected
from hotline.features.broadcasts.places import find_desa
from hotline.features.broadcasts.subscribers import CHANNELS, subscribe
from hotline.phone import to_e164

REQUIRED = ("phone", "desa", "consent")
MAX_ROWS = 100_000


def import_csv(session: Session, *, config: CityConfig, text: str, file_name: str, region: str = "ID") -> int:
    """The number of subscribers imported; CsvRejected (every `file:row: problem`) and nothing written else."""
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")))
    header = [h.strip().lower() for h in reader.fieldnames or []]
    missing = [c for c in REQUIRED if c not in header]
    if missing:
        raise CsvRejected([f"{file_name}:1: missing column(s) {', '.join(missing)} (need {', '.join(REQUIRED)})"])
    reader.fieldnames = header
    problems: list[str] = []
    rows: list[dict[str, str]] = []
    seen: dict[str, int] = {}
    for number, raw in enumerate(reader, start=2):
        if number - 1 > MAX_ROWS:
            problems.append(f"{file_name}:{number}: more than {MAX_ROWS} rows; split the file")
            break
        row = {k: (v or "").strip() for k, v in raw.items() if k}
        if not any(row.values()):
            continue
        phone = to_e164(row.get("phone", ""), region)
        place = find_desa(config, row.get("desa", ""))
        language = (row.get("language") or LANGUAGES[0]).lower()
        channel = (row.get("channel") or "sms").lower()
        why = [
            *([f"phone {row.get('phone')!r} is not a phone number"] if phone is None else []),
            *([f"desa {row.get('desa')!r} is not a desa of the city"] if place is None else []),
            *(["consent is empty (say how the person agreed)"] if not row.get("consent") else []),
            *([f"language {language!r}: one of {', '.join(LANGUAGES)}"] if language not in LANGUAGES else []),
            *([f"channel {channel!r}: one of {', '.join(CHANNELS)}"] if channel not in CHANNELS else []),
        ]
        if phone is not None and phone in seen:
            why.append(f"phone {phone} is already on row {seen[phone]}")
        problems.extend(f"{file_name}:{number}: {w}" for w in why)
        if why or phone is None or place is None:
            continue
        seen[phone] = number
        rows.append(
            {
                "phone": phone,
                "desa": place[0],
                "kecamatan": place[1],
                "language": language,
                "channel": channel,
                "consent": row["consent"],
            }
        )
    if problems:
        raise CsvRejected(problems)
    with session.begin_nested():  # all rows or none, even if one fails in the database
        for row in rows:
            subscribe(session, source="csv", **row)
    return len(rows)
