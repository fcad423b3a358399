"""Which SMS gateways this hotline has, by name, and which of them each purpose uses, in order.

    HOTLINE_SMS_GATEWAYS=modem,phone             # names, in the default order
    HOTLINE_GATEWAY_MODEM_TYPE=kannel            # twilio | kannel | gammu | android | smpp | whatsapp | log
    HOTLINE_GATEWAY_MODEM_URL=http://127.0.0.1:13013/cgi-bin/sendsms
    HOTLINE_GATEWAY_MODEM_PASSWORD=...           # secrets come from the environment (or .env), never from a file
    HOTLINE_SMS_ROUTE_ALERTS=modem,phone         # per purpose: replies, alerts, broadcasts (default: all, in order)

A name that is itself a type needs no _TYPE (HOTLINE_SMS_GATEWAYS=kannel,android). Without HOTLINE_SMS_GATEWAYS
the settings of before still mean what they meant: HOTLINE_SMS_PROVIDER (twilio, log, and now any type) or
Twilio when TWILIO_ACCOUNT_SID is set, else the log; HOTLINE_BACKUP_SMS_* adds the gateway `backup` (Kannel)
at the end of the alerts list, which is what `sms_backup` in routing/agencies.yaml fails over to.

The types are not listed here: each adapter package declares its own (hotline/channels/gateway.py `GatewayType`)
and the composition root (hotline/wiring.py) registers them with `register_type` at start-up.

Everything wrong is one line in `problems` (`hotline config check` prints them; `up`, `serve` and `worker`
refuse to start with any).
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from hotline.core.secret_strength import GATEWAY_SECRET, weak_secret


class Settings(Protocol):
    """What the gateway settings read of hotline.settings.Settings (a Protocol: settings sit above this module)."""

    @property
    def env(self) -> str: ...
    @property
    def sms_gateways(self) -> str | None: ...
    @property
    def sms_provider(self) -> str | None: ...
    @property
    def twilio_account_sid(self) -> str | None: ...
    @property
    def twilio_auth_token(self) -> str | None: ...
    @property
    def twilio_from_number(self) -> str | None: ...
    @property
    def twilio_api_base(self) -> str: ...
    @property
    def twilio_whatsapp_from(self) -> str | None: ...
    @property
    def backup_sms_url(self) -> str | None: ...
    @property
    def backup_sms_username(self) -> str | None: ...
    @property
    def backup_sms_password(self) -> str | None: ...
    @property
    def backup_sms_from(self) -> str | None: ...
    @property
    def backup_sms_smsc(self) -> str | None: ...


PURPOSES = ("replies", "alerts", "broadcasts")
NAME_RE = re.compile(r"^[a-z][a-z0-9_]{0,15}$")
ENV_PREFIX = "HOTLINE_GATEWAY_"
SECRET_KEYS = frozenset(
    {"PASSWORD", "AUTH_TOKEN", "SECRET", "SIGNING_KEY", "ACCESS_TOKEN", "APP_SECRET", "VERIFY_TOKEN"}
)


@dataclass
class Findings:
    """What a gateway type's own check found in one gateway's settings: lines that stop it, lines worth a note."""

    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


class GatewayKind(Protocol):
    """What this module reads of a gateway type (hotline/channels/gateway.py `GatewayType`, declared by each adapter
    package and registered by the composition root, hotline/wiring.py: core may not import the adapters)."""

    @property
    def name(self) -> str: ...
    @property
    def keys(self) -> Mapping[str, str]: ...  # HOTLINE_GATEWAY_<NAME>_<KEY> it reads, and what each is (empty:
    # the type reads and checks its own keys, so unknown ones are not flagged here)
    @property
    def required(self) -> tuple[str, ...]: ...
    @property
    def default_route(self) -> bool: ...  # False: never in a purpose's list unless named there (WhatsApp)
    @property
    def check(self) -> Callable[[GatewaySpec, Settings], Findings] | None: ...


_TYPES: dict[str, GatewayKind] = {}  # in registration order: `set it to one of ...` lists them so


def register_type(kind: GatewayKind) -> None:
    """Make a gateway type known to the settings (the composition root does, at start-up, before settings are read)."""
    if not NAME_RE.match(kind.name):
        raise ValueError(f"gateway type {kind.name!r}: a-z first, then a-z, 0-9 or _, at most 16")
    _TYPES[kind.name] = kind


def unregister_type(name: str) -> None:
    _TYPES.pop(name, None)


def gateway_types() -> Mapping[str, GatewayKind]:
    if not _TYPES:
        # Reading gateway settings without them would call every gateway's type unknown: say why instead.
        raise RuntimeError("no SMS gateway types registered (hotline.wiring.wire() was not called in this process)")
    return _TYPES


@dataclass(frozen=True)
class GatewaySpec:
    name: str
    kind: str
    options: Mapping[str, str] = field(default_factory=dict)

    def get(self, key: str, default: str | None = None) -> str | None:
        value = self.options.get(key)
        return value if value else default

    def env(self, key: str) -> str:
        """The setting's name, for messages: HOTLINE_GATEWAY_MODEM_URL."""
        return f"{ENV_PREFIX}{self.name.upper()}_{key}"


@dataclass(frozen=True)
class SmsRouting:
    gateways: Mapping[str, GatewaySpec]  # in the declared order
    routes: Mapping[str, tuple[str, ...]]  # purpose -> gateway names, in order
    problems: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()  # not wrong, but worth a line (a Kannel gateway nobody can post SMS to)

    def of_kind(self, kind: str) -> list[GatewaySpec]:
        return [g for g in self.gateways.values() if g.kind == kind]

    def summary(self) -> str:
        gateways = ", ".join(f"{g.name} ({g.kind})" for g in self.gateways.values()) or "none"
        routes = "; ".join(f"{p}: {' > '.join(names) or '-'}" for p, names in self.routes.items())
        return f"sms gateways: {gateways}; {routes}"


def gateway_environment(environ: Mapping[str, str] | None = None, env_file: Path = Path(".env")) -> dict[str, str]:
    """HOTLINE_GATEWAY_* from .env, then from the environment (which wins), as pydantic-settings reads others."""
    values: dict[str, str] = {}
    if env_file.is_file():
        from dotenv import dotenv_values

        values.update({k: v for k, v in dotenv_values(env_file).items() if k.startswith(ENV_PREFIX) and v})
    source = os.environ if environ is None else environ
    values.update({k: v for k, v in source.items() if k.startswith(ENV_PREFIX)})
    return values


def read_routing(settings: Settings, environ: Mapping[str, str]) -> SmsRouting:
    problems: list[str] = []
    notes: list[str] = []
    declared = _names(settings.sms_gateways)
    provider = (settings.sms_provider or "").strip().lower() or None
    legacy = not declared
    if legacy:
        primary = provider or ("twilio" if settings.twilio_account_sid else "log")
        declared = [primary]
        if settings.backup_sms_url and not (primary == "kannel" and "HOTLINE_GATEWAY_KANNEL_URL" not in environ):
            declared.append("backup")
    elif provider is not None:
        if provider not in declared:
            problems.append(
                f"settings: HOTLINE_SMS_PROVIDER: {provider!r} is not one of HOTLINE_SMS_GATEWAYS "
                f"({', '.join(declared)}); unset it (HOTLINE_SMS_GATEWAYS is its successor) or name one of them"
            )
        else:
            declared = [provider, *(n for n in declared if n != provider)]
    gateways: dict[str, GatewaySpec] = {}
    seen: set[str] = set()
    for name in declared:
        if not NAME_RE.match(name):
            problems.append(
                f"settings: HOTLINE_SMS_GATEWAYS: {name!r} is not a gateway name (a-z first, then a-z, 0-9 or _, "
                "at most 16)"
            )
            continue
        if name in seen:
            problems.append(f"settings: HOTLINE_SMS_GATEWAYS: {name!r} is listed twice")
            continue
        seen.add(name)
        spec = _spec(name, settings, environ, problems)
        if spec is not None:
            gateways[name] = spec
            _check(spec, settings, problems, notes)
    routes: dict[str, tuple[str, ...]] = {}
    for purpose in PURPOSES:
        raw = getattr(settings, f"sms_route_{purpose}")
        names = _names(raw)
        setting = f"HOTLINE_SMS_ROUTE_{purpose.upper()}"
        if names:
            unknown = [n for n in names if n not in gateways]
            if unknown:
                problems.append(
                    f"settings: {setting}: {', '.join(unknown)} not declared; the gateways are "
                    f"{', '.join(gateways) or 'none'} (HOTLINE_SMS_GATEWAYS)"
                )
            routes[purpose] = tuple(n for n in names if n in gateways)
        elif legacy and purpose != "alerts":
            routes[purpose] = tuple(n for n in gateways if n != "backup")  # the backup gateway was for alerts only
        else:
            # WhatsApp answers those who wrote on it (their origin, sms_routes.py) but is never a default for the
            # rest: a member or citizen who never wrote there can be reached only by template, if at all.
            types = gateway_types()
            routes[purpose] = tuple(n for n, g in gateways.items() if types[g.kind].default_route)
    return SmsRouting(gateways, routes, tuple(problems), tuple(notes))


def _names(raw: str | None) -> list[str]:
    return [n.strip().lower() for n in (raw or "").split(",") if n.strip()]


def _spec(name: str, settings: Settings, environ: Mapping[str, str], problems: list[str]) -> GatewaySpec | None:
    prefix = f"{ENV_PREFIX}{name.upper()}_"
    own = {k[len(prefix) :]: v.strip() for k, v in environ.items() if k.startswith(prefix)}
    types = gateway_types()
    kind = own.pop("TYPE", "").lower() or (name if name in types else "")
    if name == "backup" and not kind:
        kind = "kannel"
    if kind not in types:
        problems.append(
            f"settings: {prefix}TYPE: {'missing' if not kind else repr(kind) + ' is not a gateway type'}; "
            f"set it to one of {', '.join(types)}"
        )
        return None
    options = {**_legacy_options(name, kind, settings), **{k: v for k, v in own.items() if v}}
    known = types[kind].keys
    if known:
        for key in sorted(set(own) - set(known)):
            problems.append(
                f"settings: {prefix}{key}: no such setting for a gateway of type {kind}; it reads {', '.join(known)}"
            )
    return GatewaySpec(name, kind, options)


def _legacy_options(name: str, kind: str, settings: Settings) -> dict[str, str]:
    """The settings of before, as a gateway's defaults: TWILIO_* for Twilio, HOTLINE_BACKUP_SMS_* for `backup` (and
    for `kannel` when HOTLINE_SMS_PROVIDER=kannel)."""
    values: dict[str, str | None] = {}
    if kind == "twilio":
        values = {
            "ACCOUNT_SID": settings.twilio_account_sid,
            "AUTH_TOKEN": settings.twilio_auth_token,
            "FROM": settings.twilio_from_number,
            "API_BASE": settings.twilio_api_base,
            "WHATSAPP_FROM": settings.twilio_whatsapp_from,
        }
    elif kind == "kannel" and name in ("backup", "kannel"):
        values = {
            "URL": settings.backup_sms_url,
            "USERNAME": settings.backup_sms_username,
            "PASSWORD": settings.backup_sms_password,
            "FROM": settings.backup_sms_from,
            "SMSC": settings.backup_sms_smsc,
        }
    return {k: v for k, v in values.items() if v}


def _check(spec: GatewaySpec, settings: Settings, problems: list[str], notes: list[str]) -> None:
    kind = gateway_types()[spec.kind]
    for key in kind.required:
        if not spec.get(key):
            problems.append(f"settings: {spec.env(key)}: missing; {kind.keys[key]}")
    for key in ("URL", "API_BASE"):
        url = spec.get(key)
        if url and not re.match(r"^https?://[^/\s]+", url):
            problems.append(f"settings: {spec.env(key)}: {url!r} is not an http:// or https:// URL")
    if kind.check is not None:
        found = kind.check(spec, settings)
        problems.extend(found.problems)
        notes.extend(found.notes)
    if settings.env == "production":
        for key in sorted(SECRET_KEYS & set(spec.options)):
            weak = weak_secret(spec.get(key) or "", **GATEWAY_SECRET)
            if weak:
                problems.append(f"settings: {spec.env(key)}: {weak}; production needs a real secret")
