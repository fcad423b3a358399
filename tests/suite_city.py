"""The suite's city (tests/city/): its folder, and the numbers and sentences tests expect, read from its
files so that a test never repeats them (tests/city/README.md)."""

from __future__ import annotations

import os
from functools import cache
from pathlib import Path
from typing import Any

import yaml

CITY_DIR = Path(__file__).resolve().parent / "city"


def clean_environment(**settings: str) -> dict[str, str]:
    """os.environ without any HOTLINE_/TWILIO_/ARI_ setting, for a process that must not inherit the
    suite's, but still on the suite's city: a `hotline up` on the suite's database without it would load
    the shipped routing/ into that database and every later test would alert the shipped numbers."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HOTLINE_", "TWILIO_", "ARI_"))}
    # No broadcast sender in the workers these start (tests/conftest.py says why); a test may ask for one.
    return {**env, "HOTLINE_CONFIG_DIR": str(CITY_DIR), "HOTLINE_BROADCAST_SENDER": "off", **settings}


@cache
def _agencies() -> dict[str, dict[str, Any]]:
    data = yaml.safe_load((CITY_DIR / "routing" / "agencies.yaml").read_text())
    return {agency["code"]: agency for agency in data["agencies"]}


def members(agency: str, urc: str | None = None) -> list[str]:
    """Phone numbers of the agency's URC members in file order (every URC's, or only `urc`'s)."""
    urcs = [u for u in _agencies()[agency]["urcs"] if urc in (None, u["code"])]
    assert urcs, f"no URC {urc} in {agency}"
    return [str(m["phone"]) for u in urcs for m in u["members"]]


def heads(agency: str) -> list[str]:
    """Phone numbers of the agency's heads (escalation's agency_head)."""
    return [str(h["phone"]) for h in _agencies()[agency].get("heads", [])]


def national(phone: str) -> str:
    """An Indonesian number as a member types it, in groups of four: +6285700000112 -> 0857-0000-0112."""
    assert phone.startswith("+62"), phone
    digits = "0" + phone[3:]
    return "-".join(digits[i : i + 4] for i in range(0, len(digits), 4))


def field_officers() -> list[str]:
    """The PPL numbers of tests/city/routing/farming.yaml: members of DISTAN's desa teams (PPL-DESA-...)."""
    data = yaml.safe_load((CITY_DIR / "routing" / "farming.yaml").read_text())
    return [str(o["phone"]) for o in data["field_officers"]]


def all_phones() -> list[str]:
    """Every member and head number in the suite's city."""
    return [phone for code in _agencies() for phone in heads(code) + members(code)] + field_officers()


@cache
def _prompt_file(language: str) -> dict[str, dict[str, str]]:
    return yaml.safe_load((CITY_DIR / "ivr_flows" / "prompts" / f"{language}.yaml").read_text())


def prompt(key: str, language: str = "id") -> str:
    """A sentence from the suite's ivr_flows/prompts/<language>.yaml."""
    return _prompt_file(language)["prompts"][key]


def choice_template(kind: str, language: str = "id") -> str:
    """How the prompt file's `choices:` says one option of a menu of `kind` (category, kecamatan, desa)."""
    return _prompt_file(language)["choices"][kind]


def choice(kind: str, label: str, digit: int | str, language: str = "id") -> str:
    """A menu option as the prompt file says it, e.g. choice("category", "Kebakaran", 1)."""
    return choice_template(kind, language).format(label=label, digit=digit)


@cache
def _replies() -> dict[str, Any]:
    return yaml.safe_load((CITY_DIR / "sms" / "replies.yaml").read_text())


def reply(key: str, language: str = "id", **fields: Any) -> str:
    """An SMS text of the suite's sms/replies.yaml filled in, as a citizen reads it (for a test whose point
    is what happened, not the wording). Crew texts are shortened to fit one SMS: compare those by parts."""
    return str(_replies()["replies"][key][language]).format(**fields)


def words(table: str, key: str, language: str = "id") -> str:
    """A status, priority or other word of the suite's sms/replies.yaml (statuses, priorities, ...)."""
    entry = _replies()[table]
    return str((entry[key] if key else entry)[language])
