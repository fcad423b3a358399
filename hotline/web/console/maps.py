"""The console map (/console/map): the page, and the bounded JSON its script draws (/console/map/tickets.json).

Filters are checked against the city's data; one the city does not know is a 400 with the sentence in the
reader's language (never a 500). Agency staff see their agency's tickets only, as on the board."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse, Response
from sqlalchemy.orm import Session

from hotline import clock
from hotline.catalog import say, word
from hotline.core.city import current_config
from hotline.features.map.markers import (
    PRIORITIES,
    MapFilter,
    MapFilterError,
    MapTicket,
    MapView,
    focus_marker,
    map_view,
)
from hotline.localtime import local
from hotline.settings import get_settings
from hotline.web.api_schemas import MAX_ID
from hotline.web.console.auth import ConsoleUser, UserDep, render
from hotline.web.db_session import DbSession

router = APIRouter(prefix="/console/map", include_in_schema=False)
Short = Annotated[str | None, Query(max_length=100)]


def map_filter(
    category: str | None, priority: str | None, agency: str | None, kecamatan: str | None, late: bool
) -> MapFilter:
    return MapFilter(category or None, priority or None, agency or None, kecamatan or None, late)


def city_centre() -> tuple[float, float]:
    points = list(current_config().desa_points.values())
    if not points:
        return (0.0, 0.0)
    return (sum(p[0] for p in points) / len(points), sum(p[1] for p in points) / len(points))


DEADLINES = {"routed": "deadline_accept", "accepted": "deadline_resolve", "on_site": "deadline_resolve"}


def marker_json(m: MapTicket, lang: str) -> dict[str, Any]:
    spec = current_config().category(m.category)
    return {
        "id": m.id,
        "lat": round(m.lat, 6),
        "lon": round(m.lon, 6),
        "exact": m.exact,
        "level": m.priority if m.priority in PRIORITIES else "normal",  # a CSS class, never shown
        "category": spec.name(lang) if spec else word("map", "no_category", lang),
        "priority": word("priority", m.priority, lang),
        "status": word("status", m.status, lang),
        "place": m.desa or "—",
        "where": word("map", "gps" if m.exact else "desa_point", lang),
        "due_label": word("ui", DEADLINES[m.status], lang) if m.status in DEADLINES else "",
        "due": local(m.due, "%d-%m %H:%M") if m.due else "",
        "late": m.late,
        "url": f"/console/tickets/{m.id}",
    }


def view_json(view: MapView, lang: str, focus: MapTicket | None = None) -> dict[str, Any]:
    config = current_config()
    markers = [marker_json(m, lang) for m in view.markers]
    if focus is not None and all(m.id != focus.id for m in view.markers):
        markers.append(marker_json(focus, lang))  # the one asked for by number, beyond the filters and the limit
    desa = [
        {"name": name, "lat": lat, "lon": lon, "open": view.per_desa.get(name, 0)}
        for name, (lat, lon) in sorted(config.desa_points.items())
    ]
    counts = {"shown": len(view.markers), "total": view.total, "left_out": view.left_out, "no_place": view.no_place}
    summary = say("map", "summary", lang, counts)
    if view.left_out:
        summary += " " + say("map", "summary_left_out", lang, counts)
    if view.no_place:
        summary += " " + say("map", "summary_no_place", lang, counts)
    return {"markers": markers, "desa": desa, **counts, "summary": summary, "focus": focus.id if focus else None}


def _load(session: Session, user: ConsoleUser, filters: MapFilter, focus: int | None) -> dict[str, Any]:
    config = current_config()
    now = clock.now()
    view = map_view(session, config=config, principal=user.principal, filters=filters.checked(config), now=now)
    focused = None
    if focus is not None:
        focused = focus_marker(session, config=config, principal=user.principal, number=focus, now=now)
    return view_json(view, user.lang, focused)


@router.get("")
def map_page(
    request: Request,
    user: UserDep,
    category: Short = None,
    priority: Short = None,
    agency: Short = None,
    kecamatan: Short = None,
    late: bool = False,
    focus: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
) -> Response:
    config = current_config()
    settings = get_settings()
    lat, lon = city_centre()
    context = {
        "filters": map_filter(category, priority, agency, kecamatan, late),
        "categories": [(c.code, c.name(user.lang)) for c in config.categories],
        "priorities": PRIORITIES,
        "agencies": [(a.code, a.name) for a in config.agencies] if user.principal.sees_all_agencies else [],
        "kecamatans": sorted(k.name for k in config.areas),
        "tiles": settings.map_tiles_url,
        "attribution": settings.map_tiles_attribution,
        "centre": f"{lat:.5f},{lon:.5f}",
        "focus": focus,
    }
    return render(request, "map.html", context, user=user)


@router.get("/tickets.json")
def map_tickets(
    session: DbSession,
    user: UserDep,
    category: Short = None,
    priority: Short = None,
    agency: Short = None,
    kecamatan: Short = None,
    late: bool = False,
    focus: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
) -> JSONResponse:
    """At most MAP_MARKERS markers, the counts of what was left out, and the city's desa points with their counts."""
    filters = map_filter(category, priority, agency, kecamatan, late)
    try:
        body = _load(session, user, filters, focus)
    except MapFilterError as exc:
        message = say("map", exc.code, user.lang, {"value": exc.value})
        return JSONResponse(
            {"error": exc.code, "detail": message}, status_code=400, headers={"Cache-Control": "no-store"}
        )
    return JSONResponse(body, headers={"Cache-Control": "no-store"})
