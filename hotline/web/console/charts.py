"""The scorecard page with its charts, and the console's downloads: the scorecard as CSV or PNG, the ticket list as CSV.

Agency staff see and download their own agency only. Every download is audited (it may carry citizens' numbers).
The charts read what the scorecard readers read (features/scorecard/monthly.py, trend.py): frozen rows for closed
months, the open month as judged in the background; never the whole history."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response, StreamingResponse
from sqlalchemy.orm import Session

from hotline import clock
from hotline.catalog import say
from hotline.core.city import current_config
from hotline.db import unit_of_work
from hotline.features.accounts.audit import audit
from hotline.features.scorecard import AgencyScore, Month, MonthError, Scorecard, city_timezone
from hotline.features.scorecard.monthly import month_scorecard
from hotline.features.scorecard.trend import TREND_MONTHS, accept_share, agency_trends, finish_share, recent_cards
from hotline.features.tickets.ticket_export import export_rows
from hotline.localtime import city_zone
from hotline.reports.chart import png_bytes
from hotline.reports.csv_export import write_csv
from hotline.reports.labels import percent
from hotline.reports.svg_charts import median_chart, minutes_words, share_chart, trend_chart
from hotline.reports.ticket_csv import ticket_csv
from hotline.web.console.auth import ConsoleUser, UserDep, render
from hotline.web.console.ticket_filters import FilterError, ListQueryDep
from hotline.web.db_session import DbSession

router = APIRouter(prefix="/console", include_in_schema=False)
MonthParam = Annotated[str | None, Query(max_length=7)]


def _bad_request(message: str) -> Response:
    return Response(message, status_code=400, media_type="text/plain; charset=utf-8")


def _visible(card: Scorecard, user: ConsoleUser) -> Scorecard:
    """The card with only the agencies this user may see (agency staff: their own)."""
    rows = tuple(r for r in card.agencies if user.principal.may_see_agency(r.code))
    return replace(card, agencies=rows)


def _ppl_teams(user: ConsoleUser, card: Scorecard) -> list[AgencyScore] | None:
    """The farming agency's PPL teams scored for the month (as `hotline farmers ppl`: they come with the card),
    for those who see that agency's row; None when routing/farming.yaml is off or this user does not."""
    rules = current_config().farming
    if not rules.enabled or not user.principal.may_see_agency(rules.agency):
        return None
    return list(card.teams)


def _chosen_month(month: str | None) -> Month:
    """The month asked for (MonthError when it cannot be read), else this month in the city's time."""
    return Month.parse(month) if month else Month.containing(clock.now(), city_timezone())


@router.get("/scorecard")
def scorecard_page(request: Request, user: UserDep, month: MonthParam = None) -> Response:
    tz = city_timezone()
    now = clock.now()
    error = None
    try:
        chosen = _chosen_month(month)
    except MonthError:
        error, chosen = say("error", "bad_month", user.lang, {"month": month}), Month.containing(now, tz)
    config = current_config()
    card = _visible(month_scorecard(config=config, month=chosen, tz=tz, now=now), user)
    rows = list(card.agencies)
    codes = [r.code for r in rows]
    trends = agency_trends([_visible(c, user) for c in recent_cards(config=config, last=chosen, tz=tz, now=now)], codes)
    names = {r.code: r.name for r in rows}
    lang = user.lang
    thresholds = card.thresholds
    context = {
        "card": card,
        "rows": rows,
        "error": error,
        "red": [r.code for r in rows if r.grade == "red"],
        "share_svg": share_chart(rows, thresholds, month=card.month, lang=lang),
        "median_svg": median_chart(rows, month=card.month, lang=lang),
        "trend_svgs": [trend_chart(code, names[code], trends[code], thresholds, lang=lang) for code in codes],
        "trends": trends,
        "trend_months": [p.month for p in next(iter(trends.values()), [])],
        "months": TREND_MONTHS,
        "percent": percent,
        "minutes": minutes_words,
        "accept_share": accept_share,
        "finish_share": finish_share,
        "say": say,
        "green": percent(thresholds.green),
        "yellow": percent(thresholds.yellow),
        "ppl": _ppl_teams(user, card),
        "ppl_agency": config.farming.agency,
    }
    return render(request, "scorecard.html", context, user=user)


def _export_card(session: Session, user: ConsoleUser, month: str | None, what: str) -> Scorecard | Response:
    try:
        chosen = _chosen_month(month)
    except MonthError:
        return _bad_request(say("error", "bad_month", user.lang, {"month": month}))
    card = _visible(month_scorecard(config=current_config(), month=chosen, tz=city_timezone(), now=clock.now()), user)
    audit(
        session,
        actor=user.principal.username,
        action="export.scorecard",
        target_type="scorecard",
        target_id=card.month,
        ip=user.ip,
        format=what,
    )
    return card


@router.get("/scorecard.csv")
def scorecard_csv(session: DbSession, user: UserDep, month: MonthParam = None) -> Response:
    import io

    card = _export_card(session, user, month, "csv")
    if isinstance(card, Response):
        return card
    out = io.StringIO()
    teams = _ppl_teams(user, card)
    write_csv(card, out, teams=teams, team_of=current_config().farming.agency)
    headers = {"Content-Disposition": f'attachment; filename="scorecard-{card.month}.csv"'}
    return Response(out.getvalue(), media_type="text/csv; charset=utf-8", headers=headers)


@router.get("/scorecard.png")
def scorecard_png(session: DbSession, user: UserDep, month: MonthParam = None) -> Response:
    card = _export_card(session, user, month, "png")
    if isinstance(card, Response):
        return card
    headers = {"Content-Disposition": f'attachment; filename="scorecard-{card.month}.png"'}
    return Response(png_bytes(card), media_type="image/png", headers=headers)


@router.get("/tickets.csv")
def tickets_csv(session: DbSession, user: UserDep, given: ListQueryDep) -> Response:
    """Every ticket the list page's filters pick (not one page), streamed: memory stays bounded at any size."""
    try:
        filters = given.filter(0)
    except FilterError as exc:
        return _bad_request(exc.words(user.lang))
    now = clock.now()
    audit(session, actor=user.principal.username, action="export.tickets", ip=user.ip, filters=given.given())
    names = {c.code: c.name(user.lang) for c in current_config().categories}

    def chunks() -> Iterator[str]:
        with unit_of_work() as reading:  # its own: the rows stream after the request's transaction has ended
            rows = export_rows(reading, principal=user.principal, filters=filters, now=now)
            yield from ticket_csv(rows, lang=user.lang, category_names=names)

    stamp = now.astimezone(city_zone()).strftime("%Y%m%d-%H%M")
    headers = {"Content-Disposition": f'attachment; filename="tickets-{stamp}.csv"'}
    return StreamingResponse(chunks(), media_type="text/csv; charset=utf-8", headers=headers)
