"""Open311 GeoReport v2 at /open311/v2, in JSON and XML (`.json` / `.xml`), with discovery at /open311/discovery.

services = the categories of routing/categories.yaml, described by routing/open311.yaml (groups, attributes,
private categories); requests = tickets; servicerequestupdates (FixMyStreet's extension) = the public steps of
their timelines, and (POST) a citizen's update on a partner's own report. Reading is public and shows the public
view only (features/open311/public_view.py). Filing (POST requests) needs a partner app's `api_key` (`hotline
partner add`), in the form or the query string; it opens a ticket routed and alerted like an SMS report, or joins
the open one it duplicates, and answers 200 with the spec's body. A key is counted per minute and every use is
audited."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from anyio.to_thread import run_sync
from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session
from starlette.datastructures import FormData, UploadFile
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import ClientDisconnect

from hotline.cityconfig import CityConfig
from hotline.cityconfig.model import ServiceAttribute
from hotline.core.city import current_config
from hotline.core.queue import redis_connection
from hotline.db import unit_of_work
from hotline.features.accounts.audit import audit
from hotline.features.open311.open311_intake import MAX_MEDIA, Partner, PostedRequest, Upload, file_request
from hotline.features.open311.partner_updates import PostedUpdate, add_update
from hotline.features.open311.partners import RATE_WINDOW_SECONDS, partner_for_key, within_rate
from hotline.features.open311.photo_metadata import NotPublishable, without_metadata
from hotline.features.open311.public_view import PublicRequest, public_requests, publishable_photo
from hotline.features.open311.queries import find_request, find_requests, ticket_of_token, update_events
from hotline.features.open311.updates import public_updates
from hotline.models import Ticket
from hotline.settings import get_settings
from hotline.web.api_auth import client_ip
from hotline.web.api_schemas import MAX_ID
from hotline.web.db_session import DbSession
from hotline.web.open311.documents import document
from hotline.web.open311.errors import Open311Error
from hotline.web.open311.query import requests_query, updates_query
from hotline.web.safe import plain_int

router = APIRouter(tags=["open311"])
BASE = "/open311/v2"
SPEC = "http://wiki.open311.org/GeoReport_v2"
TEXT_FIELDS = (
    "service_code", "description", "lat", "long", "address_string", "address_id", "email", "device_id",
    "account_id", "first_name", "last_name", "phone",
)  # fmt: skip
MAX_FIELD = 4000


Fmt = Annotated[Literal["json", "xml"], Path(description="the answer's format: json or xml")]
Text = Annotated[str | None, Query(max_length=2000)]


def _language(config: CityConfig, params: Any) -> str:
    """The city's jurisdiction_id (or none) is accepted; `<id>:en` asks for English names; another is a 404."""
    given = str(params.get("jurisdiction_id") or "").strip()
    code, _, language = given.partition(":")
    expected = config.open311.jurisdiction_id
    if code and expected and code.lower() != expected.lower():
        raise Open311Error(404, f"jurisdiction_id {code[:60]!r} is not served here; this is {expected}")
    return "en" if language == "en" else "id"


def _use_key(request: Request, key: str, action: str) -> Partner:
    """The partner of a valid key, counted against its rate and audited; 403 or 429 otherwise."""
    with unit_of_work() as session:  # its own transaction: a key's use stays audited when the request then fails
        row = partner_for_key(session, key)
        if row is None:
            raise Open311Error(403, "api_key is not a valid partner key (ask the city for one)")
        if not within_rate(redis_connection(), partner_id=row.id, per_minute=row.per_minute):
            limit = f"api_key: more than {row.per_minute} requests a minute"
            raise Open311Error(429, limit, {"Retry-After": str(RATE_WINDOW_SECONDS)})
        audit(session, actor=f"open311:{row.name}", action=action, ip=client_ip(request), path=request.url.path)
        return Partner(row.id, row.name)


def _read_key(request: Request) -> None:
    """A GET may carry a key (the spec allows it): then it is checked, counted and audited like any use."""
    key = request.query_params.get("api_key")
    if key:
        _use_key(request, key, "open311.read")


# --- discovery and services -------------------------------------------------------------------------------


def _changeset() -> str:
    """When what clients cache (categories and their Open311 description) last changed."""
    folder = get_settings().config_dir / "routing"
    files = [folder / name for name in ("categories.yaml", "open311.yaml")]
    times = [os.stat(path).st_mtime for path in files if path.exists()]
    return datetime.fromtimestamp(max(times, default=0), UTC).strftime("%Y-%m-%d %H:%M")


def _public_base(request: Request) -> str:
    configured = get_settings().public_url
    return (configured or str(request.base_url)).rstrip("/")


@router.get("/open311/discovery.{fmt}")
@router.get(f"{BASE}/discovery.{{fmt}}")
def discovery(request: Request, fmt: Fmt) -> Response:
    changeset, rules = _changeset(), current_config().open311
    body = {
        "changeset": changeset,
        "contact": rules.contact,
        "key_service": rules.key_service,
        "endpoints": [
            {
                "specification": SPEC,
                "url": _public_base(request) + BASE,
                "changeset": changeset,
                "type": "production",
                "formats": ["text/xml", "application/json"],
            }
        ],
    }
    return document(fmt, "discovery", None, body)


def _keywords(words: Sequence[str], *, private: bool) -> str:
    """Comma-separated with no spaces: FixMyStreet splits on ',' alone and marks a category whose keywords hold
    `private` non-public on its own site (perllib/Open311/PopulateServiceList.pm), as our public view does."""
    listed = [w.strip().replace(",", " ") for w in words if w.strip() and w.strip() != "private"]
    return ",".join([*listed, "private"] if private else listed)


def _service(config: CityConfig, code: str, language: str) -> dict[str, Any]:
    category = config.category(code)
    assert category is not None
    spec = config.open311.service(code)
    return {
        "service_code": code,
        "service_name": category.name(language),
        "description": spec.descriptions.get(language) or spec.descriptions.get("id") or category.name(language),
        "metadata": bool(spec.attributes),
        "type": "realtime",
        "keywords": _keywords(spec.keywords or sorted({code, *category.names.values()}), private=spec.private),
        "group": spec.group,
    }


@router.get(f"{BASE}/services.{{fmt}}")
def services(request: Request, fmt: Fmt) -> Response:
    config = current_config()
    language = _language(config, request.query_params)
    _read_key(request)
    return document(fmt, "services", "service", [_service(config, c.code, language) for c in config.categories])


def _attribute(attr: ServiceAttribute, language: str) -> dict[str, Any]:
    described: dict[str, Any] = {
        "variable": True,
        "code": attr.code,
        "datatype": attr.datatype,
        "required": attr.required,
        "datatype_description": None,
        "order": attr.order,
        "description": attr.description(language),
    }
    if attr.values:
        described["values"] = [{"key": v.key, "name": v.names.get(language) or v.names["id"]} for v in attr.values]
    return described


@router.get(f"{BASE}/services/{{code}}.{{fmt}}")
def service_definition(request: Request, code: str, fmt: Fmt) -> Response:
    config = current_config()
    language = _language(config, request.query_params)
    if config.category(code) is None:
        raise Open311Error(404, f"service_code {code[:40]!r} is not a service; see services.{fmt}")
    _read_key(request)
    attributes = [_attribute(a, language) for a in config.open311.service(code).attributes]
    return document(fmt, "service_definition", None, {"service_code": code, "attributes": attributes})


# --- reading requests -------------------------------------------------------------------------------------


def _rows(views: list[PublicRequest]) -> list[dict[str, Any]]:
    return [dict(vars(view)) for view in views]


def _public(
    request: Request, config: CityConfig, tickets: list[Ticket], session: Session, language: str
) -> list[dict[str, Any]]:
    media_base = f"{_public_base(request)}{BASE}/media/"
    views = public_requests(session, config=config, tickets=tickets, media_base=media_base, language=language)
    return _rows(views)


@router.get(f"{BASE}/requests.{{fmt}}")
def requests_list(
    session: DbSession,
    request: Request,
    fmt: Fmt,
    service_request_id: Text = None,
    service_code: Text = None,
    status: Text = None,
    start_date: Text = None,
    end_date: Text = None,
    page_size: Text = None,
    page: Text = None,
    jurisdiction_id: Text = None,
    api_key: Text = None,
) -> Response:
    """The spec's filters (read in hotline/web/open311/query.py from the query string as sent)."""
    config = current_config()
    language = _language(config, request.query_params)
    query = requests_query(request.query_params, config)
    _read_key(request)
    rows = _public(request, config, find_requests(session, query), session, language)
    return document(fmt, "service_requests", "request", rows)


@router.get(f"{BASE}/requests/{{request_id}}.{{fmt}}")
def request_one(session: DbSession, request: Request, request_id: str, fmt: Fmt) -> Response:
    config = current_config()
    language = _language(config, request.query_params)
    number = plain_int(request_id, max_digits=10)
    _read_key(request)
    ticket = find_request(session, number) if number is not None and number <= MAX_ID else None
    if ticket is None:
        raise Open311Error(404, f"no service request {request_id[:40]!r}")
    rows = _public(request, config, [ticket], session, language)
    return document(fmt, "service_requests", "request", rows)


@router.get(f"{BASE}/servicerequestupdates.{{fmt}}")
def request_updates(
    session: DbSession,
    request: Request,
    fmt: Fmt,
    start_date: Text = None,
    end_date: Text = None,
    page_size: Text = None,
    page: Text = None,
    jurisdiction_id: Text = None,
    api_key: Text = None,
) -> Response:
    """FixMyStreet's updates extension: the public steps of every request in the window, oldest first
    (hotline/features/open311/updates.py), read like requests.{fmt}: public, a key checked and counted if given."""
    config = current_config()
    language = _language(config, request.query_params)
    query = updates_query(request.query_params)
    _read_key(request)
    events = update_events(session, query.start, query.end, page_size=query.page_size, page=query.page)
    views = public_updates(session, config=config, events=events, language=language)
    return document(fmt, "service_request_updates", "request_update", [dict(vars(v)) for v in views])


@router.get(f"{BASE}/tokens/{{token}}.{{fmt}}")
def token(session: DbSession, request: Request, token: str, fmt: Fmt) -> Response:
    _language(current_config(), request.query_params)
    ticket_id = ticket_of_token(session, token)
    if ticket_id is None:
        raise Open311Error(404, "no request was filed with this token")
    return document(fmt, "service_requests", "request", [{"service_request_id": str(ticket_id), "token": token}])


@router.get(f"{BASE}/media/{{attachment_id}}")
def media(attachment_id: str) -> Response:
    """A published photo (a public category's), without the metadata the phone wrote into it."""
    number = plain_int(attachment_id, max_digits=9)
    with unit_of_work() as session:  # its own, short: the connection goes back before the photo is stripped
        row = publishable_photo(session, config=current_config(), attachment_id=number) if number else None
        photo = (row.data, row.content_type) if row is not None else None
    if photo is None:
        raise Open311Error(404, "no published photo with this id")
    try:
        cleaned = without_metadata(*photo)
    except NotPublishable:
        raise Open311Error(404, "this photo is kept for the command center only") from None
    return Response(cleaned, media_type=photo[1], headers={"Cache-Control": "public, max-age=3600"})


# --- filing a request -------------------------------------------------------------------------------------


def _text(form: FormData, name: str) -> str | None:
    value = form.get(name)
    if value is None or isinstance(value, UploadFile):
        return None
    if len(value) > MAX_FIELD:
        raise Open311Error(400, f"{name}: at most {MAX_FIELD} characters")
    return value


def _posted(form: FormData) -> PostedRequest:
    fields = {name: _text(form, name) for name in TEXT_FIELDS}
    if not (fields["service_code"] or "").strip():
        raise Open311Error(400, "service_code is required; see services.json")
    attributes: dict[str, list[str]] = {}
    for key, value in form.multi_items():
        if key.startswith("attribute[") and key.endswith("]") and isinstance(value, str):
            code = key[len("attribute[") : -1].removesuffix("][")  # attribute[code][] for multivaluelists
            if code:
                attributes.setdefault(code, []).append(value[:500])
    return PostedRequest(
        service_code=(fields.pop("service_code") or "").strip(),
        description=fields.pop("description") or "",
        device_id=fields.pop("device_id") or _text(form, "deviceid"),  # FixMyStreet's spelling
        media_urls=_media_urls(form),
        attributes=attributes,
        **fields,
    )


def _media_urls(form: FormData) -> tuple[str, ...]:
    return tuple(v for k, v in form.multi_items() if k in ("media_url", "media_url[]") and isinstance(v, str) and v)


async def _uploads(form: FormData) -> list[Upload]:
    """Every file part (`media` in the spec's extension, `photo1`.. from FixMyStreet)."""
    files = [value for _, value in form.multi_items() if isinstance(value, UploadFile)]
    if len(files) > MAX_MEDIA:
        raise Open311Error(400, f"media: at most {MAX_MEDIA} files")
    return [Upload(f.filename or "media", await f.read()) for f in files]


@asynccontextmanager
async def _partner_form(request: Request, doing: str, **limits: int) -> AsyncIterator[tuple[FormData, str]]:
    """A partner app's POST: its form (the context closes the uploads' temporary files) and its api_key, the
    jurisdiction checked. A body the parser refuses, or one cut off, is the sender's mistake: 400."""
    try:
        async with request.form(**limits) as form:
            values = {k: v for k, v in form.items() if isinstance(v, str)}
            _language(current_config(), {**request.query_params, **values})
            key = _text(form, "api_key") or request.query_params.get("api_key")
            if not key:
                raise Open311Error(403, f"api_key is required to {doing} (a partner key from the city)")
            yield form, key
    except StarletteHTTPException as exc:  # a multipart body (or a file part) the parser refuses
        raise Open311Error(400, f"the body is not a form this endpoint reads: {exc.detail}") from None
    except ClientDisconnect:  # gone, or cut off by BodySizeLimit (which has answered 413 already)
        raise Open311Error(400, "the body ended early") from None


_FORM = {"type": "string", "maxLength": MAX_FIELD}
POST_BODY = {  # documented for /openapi.json (the form is read by hand: attribute[code] and file parts)
    "requestBody": {
        "content": {
            "application/x-www-form-urlencoded": {
                "schema": {
                    "type": "object",
                    "required": ["api_key", "service_code"],
                    "properties": {"api_key": _FORM, **{name: _FORM for name in TEXT_FIELDS}, "media_url": _FORM},
                }
            }
        }
    }
}


@router.post(f"{BASE}/requests.{{fmt}}", openapi_extra=POST_BODY)
async def request_create(session: DbSession, request: Request, fmt: Fmt) -> Response:
    config = current_config()
    limits = {"max_files": MAX_MEDIA, "max_fields": 200}
    limits["max_part_size"] = max(get_settings().open311_media_bytes, get_settings().max_body_bytes)
    async with _partner_form(request, "file a request", **limits) as (form, key):
        posted, uploads = _posted(form), await _uploads(form)
    partner = await run_sync(_use_key, request, key, "open311.post")

    def run() -> dict[str, Any]:  # the request's transaction: committed, alerts queued, before the answer leaves
        filed = file_request(
            session, config=config, partner=partner, posted=posted, uploads=uploads, ip=client_ip(request)
        )
        notice = f"merged into open request {filed.service_request_id}" if filed.merged else None
        return {
            "service_request_id": str(filed.service_request_id),
            "token": filed.token,
            "service_notice": notice,
            "account_id": filed.account_id,
        }

    return document(fmt, "service_requests", "request", [await run_sync(run)])


UPDATE_FIELDS = (
    "service_request_id", "description", "update_id", "status", "updated_datetime", "first_name", "last_name",
    "email", "phone",
)  # fmt: skip
POST_UPDATE_BODY = {  # documented for /openapi.json (read by hand, as requests' is)
    "requestBody": {
        "content": {
            "application/x-www-form-urlencoded": {
                "schema": {
                    "type": "object",
                    "required": ["api_key", "service_request_id", "description"],
                    "properties": {"api_key": _FORM, **{name: _FORM for name in UPDATE_FIELDS}, "media_url": _FORM},
                }
            }
        }
    }
}


@router.post(f"{BASE}/servicerequestupdates.{{fmt}}", openapi_extra=POST_UPDATE_BODY)
async def request_update_post(session: DbSession, request: Request, fmt: Fmt) -> Response:
    """FixMyStreet's post_service_request_update: a citizen's update on a report this partner filed becomes a step of
    the ticket's timeline (hotline/features/open311/partner_updates.py); answered with its `update_id`."""
    async with _partner_form(request, "post an update", max_files=0, max_fields=100) as (form, key):
        fields = {name: _text(form, name) for name in UPDATE_FIELDS}
        urls = _media_urls(form)
    posted = PostedUpdate(
        service_request_id=fields.pop("service_request_id") or "",
        description=fields.pop("description") or "",
        media_urls=urls,
        **fields,
    )
    partner = await run_sync(_use_key, request, key, "open311.update")

    def run() -> dict[str, Any]:  # the request's transaction, committed before the answer leaves
        taken = add_update(session, partner=partner, posted=posted, ip=client_ip(request))
        return {
            "update_id": str(taken.update_id),
            "service_request_id": str(taken.ticket_id),
            "status": taken.status,
            "updated_datetime": datetime.now(UTC),
            "description": "",  # the partner's own words are not sent back
            "media_url": None,
            "external_status_code": "info_added",  # the step it became
        }

    return document(fmt, "service_request_updates", "request_update", [await run_sync(run)])


@router.api_route(f"{BASE}/{{rest:path}}", methods=["GET", "POST"], include_in_schema=False)
def unknown(rest: str) -> Response:
    known = "discovery, services, requests, tokens, servicerequestupdates"
    raise Open311Error(404, f"{rest[:60]!r} is not a GeoReport v2 resource: {known}")
