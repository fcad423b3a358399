"""Dinas Pertanian's pages (/console/farmers): the farmer registry (find, add, correct), farm reports per week,
the PPL teams' response times, outbreaks with their warning list (CSV) and map (GeoJSON). Farmers' personal data:
Dinas Pertanian staff and admins only (hotline/features/farming/access.py); each change is in the audit log."""

from __future__ import annotations

import json
from datetime import timedelta

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.orm import Session
from starlette.datastructures import FormData

from hotline import clock
from hotline.catalog import say
from hotline.core.city import current_config
from hotline.features.accounts.audit import audit
from hotline.features.farming.access import may_see_farmers
from hotline.features.farming.dinas_view import ppl_csv, ppl_scores, weekly_csv, weekly_reports
from hotline.features.farming.errors import FarmerNotFound, RegistryFileError, RegistryRejected
from hotline.features.farming.registry import (
    ImportResult,
    count_farmers,
    export_csv,
    import_farmers,
    list_farmers,
    save_farmer,
)
from hotline.features.farming.registry_files import read_sheet
from hotline.features.farming.warnings import get_outbreak, list_outbreaks, outbreak_geojson, warning_csv
from hotline.features.scorecard import Month, city_timezone
from hotline.models import Farmer
from hotline.settings import get_settings
from hotline.web.api_schemas import RowId
from hotline.web.console.actions import field
from hotline.web.console.auth import ConsoleUser, FormDep, UserDep, render, require
from hotline.web.console.flash import flash_url
from hotline.web.db_session import DbSession, all_or_nothing

router = APIRouter(prefix="/console/farmers", include_in_schema=False)
PAGE = "/console/farmers"
SHOWN = 200  # farmers listed at once; the search narrows it
WEEKS = 8
FIELDS = ("name", "phone", "desa", "kelompok_tani", "commodities", "land_area")


def _allowed(user: ConsoleUser) -> None:
    require(user, may_see_farmers(user.principal, current_config().farming))


def _csv(body: str, filename: str) -> Response:
    return Response(
        body,
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


@router.get("")
def farmers_page(request: Request, session: DbSession, user: UserDep, q: str = "", desa: str = "") -> Response:
    _allowed(user)
    config = current_config()
    tz = city_timezone()
    now = clock.now()
    wanted = q.strip().casefold()
    found = [
        f
        for f in list_farmers(session, desa=desa or None)
        if not wanted or wanted in f.name.casefold() or wanted in f.phone or wanted in f.kelompok_tani.casefold()
    ]
    context = {
        "farmers": found[:SHOWN],
        "matching": len(found),
        "total": count_farmers(session),
        "q": q,
        "desa": desa,
        "desa_list": [d for k in config.areas for d in k.desa],
        "commodities": config.farming.commodities,
        "weeks": weekly_reports(session, tz=tz, since=now - timedelta(weeks=WEEKS)),
        "ppl": ppl_scores(config=config, month=Month.containing(now, tz), tz=tz, now=now),
        "outbreaks": list_outbreaks(session)[:20],
        "month": Month.containing(now, tz),
    }
    return render(request, "farmers.html", context, user=user)


@router.get("/export.csv")
def export(session: DbSession, user: UserDep) -> Response:
    _allowed(user)
    return _csv(export_csv(current_config(), list_farmers(session)), "petani.csv")


@router.get("/report.csv")
def report(session: DbSession, user: UserDep) -> Response:
    _allowed(user)
    rows = weekly_reports(session, tz=city_timezone(), since=clock.now() - timedelta(weeks=52))
    return _csv(weekly_csv(rows), "laporan-pertanian-mingguan.csv")


@router.get("/ppl.csv")
def ppl(user: UserDep, month: str = "") -> Response:
    _allowed(user)
    tz, now = city_timezone(), clock.now()
    chosen = Month.parse(month) if month else Month.containing(now, tz)
    scores = ppl_scores(config=current_config(), month=chosen, tz=tz, now=now)
    return _csv(ppl_csv(scores), f"ppl-{chosen}.csv")


@router.get("/outbreaks/{outbreak_id}/warning.csv")
def warning(session: DbSession, outbreak_id: RowId, user: UserDep) -> Response:
    _allowed(user)
    try:
        body = warning_csv(session, config=current_config(), outbreak_id=outbreak_id)
    except FarmerNotFound:
        raise HTTPException(404, "no such outbreak") from None
    return _csv(body, f"peringatan-wabah-{outbreak_id}.csv")


@router.get("/outbreaks/{outbreak_id}/map.geojson")
def outbreak_map(session: DbSession, outbreak_id: RowId, user: UserDep) -> Response:
    _allowed(user)
    try:
        body = json.dumps(outbreak_geojson(current_config(), get_outbreak(session, outbreak_id)))
    except FarmerNotFound:
        raise HTTPException(404, "no such outbreak") from None
    return Response(body, media_type="application/geo+json")


@router.post("/import")
def import_sheet(request: Request, session: DbSession, user: UserDep, form: FormDep) -> Response:
    """The registry spreadsheet uploaded (CSV or XLSX): all rows or none, as `hotline farmers import`."""
    _allowed(user)
    upload = form.get("file")
    if upload is None or isinstance(upload, str):
        return _import_page(request, user, [say("agri", "import_no_file", user.lang)], None)
    data, name = upload.file.read(), upload.filename or "upload.csv"
    try:
        with all_or_nothing(session):
            result = import_farmers(
                session,
                config=current_config(),
                sheet=read_sheet(data, name),
                region=get_settings().default_region,
                actor=user.principal.username,
            )
            audit(
                session,
                actor=user.principal.username,
                action="farmers.import",
                target_type="registry",
                target_id=name[:64],
                ip=user.ip,
            )
    except RegistryRejected as exc:
        return _import_page(request, user, exc.problems, None)
    except RegistryFileError as exc:
        return _import_page(request, user, [str(exc)], None)
    return _import_page(request, user, [], result)


def _import_page(request: Request, user: ConsoleUser, problems: list[str], result: ImportResult | None) -> Response:
    if result is not None:
        counts = {"added": result.added, "updated": result.updated, "unchanged": result.unchanged}
        summary = say("agri", "import_done", user.lang, counts)
    else:
        summary = say("agri", "import_refused", user.lang, {"count": len(problems)})
    context = {"problems": problems, "summary": summary, "done": result is not None}
    return render(request, "farmers_import.html", context, user=user, status=200 if result is not None else 400)


@router.get("/{farmer_id}")
def farmer_page(request: Request, session: DbSession, farmer_id: RowId, user: UserDep) -> Response:
    _allowed(user)
    farmer = session.get(Farmer, farmer_id)
    if farmer is None:
        raise HTTPException(404, "no such farmer")
    values = {
        "name": farmer.name,
        "phone": farmer.phone,
        "desa": farmer.desa,
        "kelompok_tani": farmer.kelompok_tani,
        "commodities": ", ".join(farmer.commodities or []),
        "land_area": "" if farmer.land_area_ha is None else f"{farmer.land_area_ha:g}",
    }
    return _form(request, user, farmer_id, values, [])


def _form(
    request: Request, user: ConsoleUser, farmer_id: int | None, values: dict[str, str], problems: list[str]
) -> Response:
    config = current_config()
    context = {
        "farmer_id": farmer_id,
        "values": values,
        "problems": problems,
        "desa_list": [d for k in config.areas for d in k.desa],
        "commodities": config.farming.commodities,
    }
    return render(request, "farmer.html", context, user=user, status=400 if problems else 200)


def _save(request: Request, session: Session, user: ConsoleUser, form: FormData, farmer_id: int | None) -> Response:
    _allowed(user)
    values = {name: field(form, name) for name in FIELDS}
    try:
        with all_or_nothing(session):
            farmer = save_farmer(
                session,
                config=current_config(),
                raw=values,
                region=get_settings().default_region,
                actor=user.principal.username,
                farmer_id=farmer_id,
            )
            audit(
                session,
                actor=user.principal.username,
                action="farmer.correct" if farmer_id else "farmer.add",
                target_type="farmer",
                target_id=farmer.id,
                ip=user.ip,
            )
    except RegistryRejected as exc:
        return _form(request, user, farmer_id, values, exc.problems)
    except FarmerNotFound:
        raise HTTPException(404, "no such farmer") from None
    return RedirectResponse(flash_url(f"{PAGE}/{farmer.id}", "saved"), status_code=303)


@router.post("")
def add(request: Request, session: DbSession, user: UserDep, form: FormDep) -> Response:
    return _save(request, session, user, form, None)


@router.post("/{farmer_id}")
def correct(request: Request, session: DbSession, farmer_id: RowId, user: UserDep, form: FormDep) -> Response:
    return _save(request, session, user, form, farmer_id)
