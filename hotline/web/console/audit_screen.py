"""The audit log for admins (/console/admin/audit): filtered by user, ticket, action and dates in the city's time
zone, newest first, 50 a page (keyset on id); /console/admin/audit.csv exports the filtered rows, streamed."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from datetime import date
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Query, Request
from fastapi.responses import RedirectResponse, Response, StreamingResponse

from hotline import clock
from hotline.catalog import catalog, word
from hotline.features.accounts.audit import audit
from hotline.features.accounts.audit_log import AuditFilter, audit_page, export_batches
from hotline.localtime import city_zone
from hotline.models import AuditEntry
from hotline.web.api_schemas import MAX_ID
from hotline.web.console.auth import ConsoleUser, UserDep, render, require
from hotline.web.db_session import DbSession
from hotline.web.safe import plain_int

router = APIRouter(prefix="/console/admin", include_in_schema=False)
PAGE = "/console/admin/audit"
DETAIL_KEYS = ("username", "role", "agency", "name", "days", "to", "path")  # data shown, each with its label
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")  # a spreadsheet would run such a cell as a formula

FIRST_DAY, LAST_DAY = date(1900, 1, 1), date(9998, 12, 31)  # dates a filter can take
Text = Annotated[str, Query(max_length=64)]


def action_words(code: str, lang: str) -> str:
    return word("audit_action", code, lang)


def details(entry: AuditEntry, lang: str) -> list[str]:
    """What the row's data says, in words: "Peran: Operator" (codes of roles in words, other values as they are)."""
    data: dict[str, Any] = entry.data if isinstance(entry.data, dict) else {}
    said = [entry.detail] if entry.detail else []
    for key in DETAIL_KEYS:
        value = data.get(key)
        if value in (None, ""):
            continue
        shown = word("role", str(value), lang) if key == "role" else str(value)
        said.append(f"{word('admin', 'detail_' + key, lang)}: {shown}")
    return said


def _read_filter(user: str, ticket: str, action: str, since: str, until: str) -> tuple[AuditFilter, str | None]:
    """The filter from the query, and the code (`admin_error`) of what could not be read."""
    problem = None
    number = plain_int(ticket.strip().lstrip("#"), max_digits=10) if ticket.strip() else None
    if ticket.strip() and (number is None or number > MAX_ID):
        problem, number = "bad_ticket_filter", None
    dates: list[date | None] = []
    for raw in (since, until):
        try:
            day = date.fromisoformat(raw.strip()) if raw.strip() else None
        except ValueError:
            day = None
            problem = problem or "bad_date_filter"
        if day is not None and not FIRST_DAY <= day <= LAST_DAY:  # the zone's offset or the next day would overflow
            day, problem = None, problem or "bad_date_filter"
        dates.append(day)
    if dates[0] and dates[1] and dates[0] > dates[1]:
        problem, dates = "dates_reversed", [None, None]
    # NUL cannot be compared with a PostgreSQL text column: no row has it, so it is dropped rather than a 500.
    user, action = user.replace("\x00", ""), action.replace("\x00", "")
    return AuditFilter(user.strip() or None, number, action.strip() or None, dates[0], dates[1]), problem


def _query(f: AuditFilter) -> dict[str, str]:
    pairs = {
        "user": f.actor or "",
        "ticket": str(f.ticket or ""),
        "action": f.action or "",
        "from": f.since.isoformat() if f.since else "",
        "to": f.until.isoformat() if f.until else "",
    }
    return {k: v for k, v in pairs.items() if v}


@router.get("/audit")
def audit_screen(
    request: Request,
    session: DbSession,
    user: UserDep,
    by: Annotated[str, Query(alias="user", max_length=64)] = "",
    ticket: Text = "",
    action: Text = "",
    since: Annotated[str, Query(alias="from", max_length=32)] = "",
    until: Annotated[str, Query(alias="to", max_length=32)] = "",
    before: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
) -> Response:
    require(user, user.principal.can_manage_users)
    f, problem = _read_filter(by, ticket, action, since, until)
    rows, older = audit_page(session, f, zone=city_zone(), before=before)
    query = _query(f)
    context = {
        "rows": [(r, action_words(r.action, user.lang), details(r, user.lang)) for r in rows],
        "filter": f,
        "raw": {"user": by, "ticket": ticket, "action": action, "from": since, "to": until},
        "problem": problem,
        "actions": _action_choices(user, f.action),
        "older": f"{PAGE}?{urlencode({**query, 'before': older})}" if older else None,
        "newest": f"{PAGE}?{urlencode(query)}" if before else None,
        "csv": f"{PAGE}.csv?{urlencode(query)}" if query else f"{PAGE}.csv",
        "section": "audit",
    }
    return render(request, "audit.html", context, user=user)


def _action_choices(user: ConsoleUser, chosen: str | None) -> list[tuple[str, str]]:
    """Every action with words in the catalog, sorted by its words (and the chosen one, if it has none)."""
    codes = set(catalog(user.lang).get("audit_action", {})) | ({chosen} if chosen else set())
    return sorted(((c, action_words(c, user.lang)) for c in codes), key=lambda pair: pair[1].lower())


def _cell(value: object) -> str:
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_START) else text


def _csv_lines(f: AuditFilter, lang: str) -> Iterator[str]:
    out = io.StringIO()
    writer = csv.writer(out)
    zone = city_zone()
    heads = ("id", "time", "user", "action", "action_words", "target_type", "target_id", "ip", "detail", "data")
    writer.writerow([word("admin", f"csv_{h}", lang) for h in heads])
    for batch in export_batches(f, zone=zone):
        for r in batch:
            writer.writerow(
                [
                    r.id,
                    r.at.astimezone(zone).isoformat(timespec="seconds"),
                    _cell(r.actor),
                    _cell(r.action),
                    _cell(action_words(r.action, lang)),
                    _cell(r.target_type),
                    _cell(r.target_id),
                    _cell(r.ip),
                    _cell(r.detail),
                    _cell(json.dumps(r.data or {}, ensure_ascii=False, sort_keys=True)),
                ]
            )
        yield out.getvalue()
        out.seek(0)
        out.truncate()
    if out.getvalue():
        yield out.getvalue()


@router.get("/audit.csv")
def audit_csv(
    session: DbSession,
    user: UserDep,
    by: Annotated[str, Query(alias="user", max_length=64)] = "",
    ticket: Text = "",
    action: Text = "",
    since: Annotated[str, Query(alias="from", max_length=32)] = "",
    until: Annotated[str, Query(alias="to", max_length=32)] = "",
) -> Response:
    require(user, user.principal.can_manage_users)
    f, problem = _read_filter(by, ticket, action, since, until)
    if problem:  # the page says what is wrong, in the reader's language
        asked = {"user": by, "ticket": ticket, "action": action, "from": since, "to": until}
        return RedirectResponse(f"{PAGE}?{urlencode(asked)}", status_code=303)
    # Who took a copy of the log, and of what, is in the log too: committed before the rows stream (export_batches
    # reads in transactions of its own, after the request's has ended).
    audit(session, actor=user.principal.username, action="audit.export", ip=user.ip, filter=_query(f))
    stamp = clock.now().astimezone(city_zone()).strftime("%Y%m%d-%H%M")
    return StreamingResponse(
        _csv_lines(f, user.lang),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="audit-{stamp}.csv"', "Cache-Control": "no-store"},
    )
