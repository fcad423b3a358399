"""What `hotline config check` warns about sms/replies.yaml: texts that can grow past what a phone shows
as one message, rendered with the longest values the city's data can give them.

Each SMS template is filled with the worst case of every field (the longest category, agency, status and
member names of the city, 5-digit numbers, the longest place and quote, which crew texts shorten to fit)
and measured as the outbox sends it (folded into GSM-7). A warning names the template and the language:

- a text to a crew, leader, head or the command center that cannot fit one SMS (160), even with the place
  and the citizen's words shortened: a gateway that sends one part cuts the reply words at the end;
- any text that can take more than 2 parts;
- a template with characters outside GSM-7 ("…", curly quotes): sent folded, but the city should know.
"""

from __future__ import annotations

from typing import Any

from hotline.cityconfig import CityConfig
from hotline.cityconfig.model import LANGUAGES
from hotline.core.wording import ONE_SMS_LENGTH, category_menu, fit, tidy
from hotline.sms.encoding import fold, is_gsm7, measure
from hotline.sms.replies import ONE_SMS, REPLY_FIELDS, SPOKEN, template_fields

MAX_PARTS = 2
NUMBER = 99999  # report numbers grow to 5 digits in a city's first years
TIME = "31/12 23:59"  # another day's time: the longest form
REPORTER = "+" + "9" * 15  # the longest E.164 number
LONG_TEXT = "kata " * 100  # a place or a citizen's words longer than any text leaves room for


def _longest(values: list[str]) -> str:
    return max(values, key=lambda v: len(fold(v)), default="")


def worst_case_fields(config: CityConfig, language: str) -> dict[str, Any]:
    replies = config.replies

    def word(table: dict[str, dict[str, str]]) -> str:
        return _longest([w.get(language) or w.get("id") or "" for w in table.values()])

    members = [m.name for a in config.agencies for u in a.urcs for m in u.members]
    commands = [*config.grammar.urc_commands, *config.grammar.citizen_commands]
    return {
        "number": NUMBER,
        "category": _longest(
            [c.name(language) for c in config.categories] + [replies.unknown_category.get(language, "")]
        ),
        "agency": _longest([a.sms_name or a.name for a in config.agencies] + [replies.no_agency.get(language, "")]),
        "priority": word(replies.priorities),
        "status": word(replies.statuses),
        "location": LONG_TEXT,
        "quote": LONG_TEXT,
        "reporter": REPORTER,
        "updated": TIME,
        "deadline": TIME,
        "overdue": NUMBER,
        "reporters": 999,
        "member": _longest(members),
        "urc": _longest([u.name for a in config.agencies for u in a.urcs]),
        "menu": category_menu(config, language),
        "command": _longest(commands),
        "yes": 1,
        "no": 2,
        # the stale-ticket digest (hotline/features/tickets/stale.py): every agency with a count, the oldest numbers
        "date": "31-12-2026",
        "count": NUMBER,
        "hours": NUMBER,
        "agencies": ", ".join(f"{a.code} {NUMBER}" for a in config.agencies),
        "oldest": ", ".join([f"#{NUMBER}"] * 3),
    }


def warnings(config: CityConfig) -> list[str]:
    """One line per template and language that can outgrow its SMS; empty when every text fits."""
    found: list[str] = []
    for language in LANGUAGES:
        fields = worst_case_fields(config, language)
        for key in REPLY_FIELDS:
            template = config.replies.templates.get(key, {}).get(language)
            if template is None or key in SPOKEN:
                continue
            where = f"sms/replies.yaml: reply {key}/{language}"
            literal = template.format(**{name: "" for name in template_fields(template)})
            odd = sorted({ch for ch in literal if not is_gsm7(ch)})
            if odd:
                sent_as = fold("".join(odd), keep_other_scripts=True)
                found.append(
                    f"warning: {where} has characters outside GSM-7 ({' '.join(odd)}): one of them would make the "
                    f"whole SMS UCS-2 (70 characters a part); it is sent as {sent_as!r}"
                )
            text = fit(template, fields) if key in ONE_SMS else tidy(template.format(**fields))
            size = measure(fold(text, keep_other_scripts=True))
            if key in ONE_SMS and size.length > ONE_SMS_LENGTH:
                found.append(
                    f"warning: {where} can reach {size.length} characters ({size.segments} SMS parts) with the "
                    f"longest names, even with the place and quote shortened: a one-part gateway cuts its end "
                    f"(shorten the template)"
                )
            elif size.segments > MAX_PARTS:
                found.append(
                    f"warning: {where} can reach {size.length} characters ({size.segments} SMS parts) with the "
                    f"longest names (at most {MAX_PARTS}: shorten the template)"
                )
    return found
