"""All runtime configuration, read once from the environment (and an optional .env file)."""

from __future__ import annotations

import re
from contextvars import ContextVar
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, TypeVar, cast

from pydantic import Field, PrivateAttr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

# Re-exported: callers read these from hotline.settings (they live below it, beside the gateway settings).
from hotline.core.secret_strength import GATEWAY_SECRET, weak_secret
from hotline.core.settings_errors import error_lines
from hotline.core.voice_config import VoiceSettings, alerts_choice, read_voice_settings, voice_kinds

PROJECT_ROOT = Path(__file__).resolve().parent.parent
MAKE_ONE = "python3 -c 'import secrets; print(secrets.token_urlsafe(32))'"
DATABASE_EXAMPLES = "sqlite:///var/hotline.db or postgresql+psycopg://user:password@host:5432/hotline"

if TYPE_CHECKING:
    from ipaddress import IPv4Network, IPv6Network

    from pydantic import ValidationError

    from hotline.core.gateway_config import SmsRouting


class SettingsError(ValueError):
    """Configuration that must not run (e.g. placeholder secrets in production)."""


V = TypeVar("V", bound=VoiceSettings)
# What Settings(...) was given, while it validates: each voice gateway type's settings are read from it too.
_GIVEN: ContextVar[dict[str, Any]] = ContextVar("hotline_settings_given")


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", extra="ignore", populate_by_name=True)
    _sms_routing: SmsRouting | None = PrivateAttr(None)
    _proxy_networks: tuple[IPv4Network | IPv6Network, ...] | None = PrivateAttr(None)
    # Each registered voice gateway type's own settings (hotline/core/voice_config.py), by its model.
    _voice: dict[type[VoiceSettings], VoiceSettings] | None = PrivateAttr(None)
    _given: dict[str, Any] = PrivateAttr(default_factory=dict)

    env: Literal["development", "production"] = Field("development", alias="HOTLINE_ENV")
    database_url: str | None = Field(None, alias="HOTLINE_DATABASE_URL")
    redis_url: str | None = Field(None, alias="HOTLINE_REDIS_URL")
    config_dir: Path = Field(PROJECT_ROOT, alias="HOTLINE_CONFIG_DIR")
    data_dir: Path = Field(Path("var"), alias="HOTLINE_DATA_DIR")
    public_url: str | None = Field(None, alias="HOTLINE_PUBLIC_URL")
    secret_key: str = Field("change-me", alias="HOTLINE_SECRET_KEY")
    host: str = Field("127.0.0.1", alias="HOTLINE_HOST")
    port: int = Field(8000, alias="HOTLINE_PORT", ge=1, le=65535)
    queue_name: str = Field("hotline", alias="HOTLINE_QUEUE")
    # SMS gateways (hotline/core/gateway_config.py): HOTLINE_SMS_PROVIDER names the one gateway of before (any
    # type now); HOTLINE_SMS_GATEWAYS, its successor, names several, each set by HOTLINE_GATEWAY_<NAME>_<KEY>.
    sms_provider: str | None = Field(None, alias="HOTLINE_SMS_PROVIDER")
    sms_gateways: str | None = Field(None, alias="HOTLINE_SMS_GATEWAYS")
    sms_route_replies: str | None = Field(None, alias="HOTLINE_SMS_ROUTE_REPLIES")
    sms_route_alerts: str | None = Field(None, alias="HOTLINE_SMS_ROUTE_ALERTS")
    sms_route_broadcasts: str | None = Field(None, alias="HOTLINE_SMS_ROUTE_BROADCASTS")
    # Early warnings (hotline/jobs/broadcast_sender.py): each gateway's SMS per second, shared with alerts and
    # replies, which go first ("100" for every gateway, or "modem=10,phone=1"; unset: no limit), and how many
    # recipients the sender claims per transaction.
    broadcast_tps: str | None = Field(None, alias="HOTLINE_BROADCAST_TPS")
    broadcast_batch: int = Field(500, alias="HOTLINE_BROADCAST_BATCH", ge=1, le=5000)
    # Who runs the broadcast sender: each `hotline worker` keeps one ("worker"; a Redis lease lets one send), or
    # none of them ("off": `hotline broadcast sender` runs on its own, or the deployment sends no warnings).
    broadcast_sender: Literal["worker", "off"] = Field("worker", alias="HOTLINE_BROADCAST_SENDER")
    # How long a gateway may keep trying: a "Balas TERIMA" hours after an outage is worse than none.
    sms_alert_validity_minutes: int = Field(30, alias="HOTLINE_SMS_ALERT_VALIDITY_MINUTES", ge=1, le=10080)
    sms_reply_validity_minutes: int = Field(1440, alias="HOTLINE_SMS_REPLY_VALIDITY_MINUTES", ge=1, le=10080)
    default_region: str = Field("ID", alias="HOTLINE_DEFAULT_REGION")
    timezone: str = Field("Asia/Jakarta", alias="HOTLINE_TIMEZONE")
    max_body_bytes: int = Field(256 * 1024, alias="HOTLINE_MAX_BODY_BYTES", gt=0)
    # An Open311 report with its photos (POST /open311/v2/requests.*): the one body allowed past max_body_bytes.
    open311_media_bytes: int = Field(5 * 1024 * 1024, alias="HOTLINE_OPEN311_MEDIA_BYTES", gt=0)
    log_format: Literal["text", "json"] = Field("text", alias="HOTLINE_LOG_FORMAT")
    # Proxies whose X-Forwarded-For / X-Forwarded-Proto are believed (addresses or networks, comma-separated);
    # from anyone else the headers are ignored and the client is the connection's address.
    trusted_proxies: str | None = Field(None, alias="HOTLINE_TRUSTED_PROXIES")
    # /docs, /redoc and /openapi.json: on in development, off in production unless this says true.
    api_docs: bool | None = Field(None, alias="HOTLINE_API_DOCS")
    # SMS flood: past this many messages a minute from one number, its messages wait (hotline/features/sms/flood.py)
    sms_per_minute: int = Field(6, alias="HOTLINE_SMS_PER_MINUTE", gt=0)
    # The database gauges of /metrics are computed this often, by one API process, off the request path.
    metrics_interval: float = Field(60.0, alias="HOTLINE_METRICS_INTERVAL", ge=1, le=3600)

    # Media (WhatsApp/MMS photos, voice notes) in an S3-compatible bucket instead of HOTLINE_DATA_DIR/media
    # (hotline/features/media/s3_store.py): set the bucket to turn it on. The endpoint of MinIO, Ceph, Garage...
    # (unset: AWS itself); keys unset: boto3's own chain (environment, instance role). The bucket must be private.
    media_s3_bucket: str | None = Field(None, alias="HOTLINE_MEDIA_S3_BUCKET")
    media_s3_endpoint: str | None = Field(None, alias="HOTLINE_MEDIA_S3_ENDPOINT")
    media_s3_region: str = Field("us-east-1", alias="HOTLINE_MEDIA_S3_REGION", pattern=r"^[a-z0-9-]{2,32}$")
    media_s3_access_key: str | None = Field(None, alias="HOTLINE_MEDIA_S3_ACCESS_KEY")
    media_s3_secret_key: str | None = Field(None, alias="HOTLINE_MEDIA_S3_SECRET_KEY")
    media_s3_prefix: str = Field("media/", alias="HOTLINE_MEDIA_S3_PREFIX", pattern=r"^([A-Za-z0-9._-]+/){0,4}$")

    twilio_account_sid: str | None = Field(None, alias="TWILIO_ACCOUNT_SID")
    twilio_auth_token: str | None = Field(None, alias="TWILIO_AUTH_TOKEN")
    twilio_from_number: str | None = Field(None, alias="TWILIO_FROM_NUMBER")
    twilio_api_base: str = Field("https://api.twilio.com", alias="TWILIO_API_BASE")
    # Twilio's WhatsApp sender (E.164): citizens who write `whatsapp:` through Twilio are answered on WhatsApp from
    # the number they wrote to, this one when their message did not say, within their 24-hour window.
    twilio_whatsapp_from: str | None = Field(None, alias="TWILIO_WHATSAPP_FROM")
    # The TWILIO_* account above is Twilio's for SMS and voice alike, so it is here; each voice gateway type's own
    # settings (ARI_*, HOTLINE_VOICE_FALLBACK_NUMBER) are its package's: `voice(model)` below.

    # The backup SMS gateway alerts fail over to (`sms_backup` in routing/agencies.yaml): Kannel's sendsms URL,
    # e.g. http://127.0.0.1:13013/cgi-bin/sendsms, and the sendsms-user it logs in as.
    backup_sms_url: str | None = Field(None, alias="HOTLINE_BACKUP_SMS_URL")
    backup_sms_username: str | None = Field(None, alias="HOTLINE_BACKUP_SMS_USERNAME")
    backup_sms_password: str | None = Field(None, alias="HOTLINE_BACKUP_SMS_PASSWORD")
    backup_sms_from: str | None = Field(None, alias="HOTLINE_BACKUP_SMS_FROM")
    backup_sms_smsc: str | None = Field(None, alias="HOTLINE_BACKUP_SMS_SMSC")  # Kannel smsc-id to route by

    # Which voice gateway type places alert calls (a registered one: twilio, asterisk, ...); unset: the first, in
    # registration order (hotline/wiring.py), that can place calls.
    voice_alerts: str | None = Field(None, alias="HOTLINE_VOICE_ALERTS")
    # The console map's tiles (hotline/web/console/map.py): a {z}/{x}/{y} URL template; "none" (or empty) draws
    # the desa points on a plain background, for a command center with no internet.
    map_tiles_url: str = Field("https://tile.openstreetmap.org/{z}/{x}/{y}.png", alias="HOTLINE_MAP_TILES_URL")
    map_tiles_attribution: str = Field("© OpenStreetMap contributors", alias="HOTLINE_MAP_TILES_ATTRIBUTION")

    def __init__(self, **values: Any) -> None:
        token = _GIVEN.set(values)
        try:
            super().__init__(**values)
        finally:
            _GIVEN.reset(token)

    def voice(self, model: type[V]) -> V:
        """A voice gateway type's own settings (its `VoiceSettings` model), read once, with what this was given."""
        parts = self._voice_parts()
        if model not in parts:  # a type registered after these settings were read (a test's)
            parts[model] = read_voice_settings(model, self._given)
        return cast(V, parts[model])

    def _voice_parts(self) -> dict[type[VoiceSettings], VoiceSettings]:
        if self._voice is None:
            self._given = dict(_GIVEN.get({}))
            models = [kind.settings for kind in voice_kinds().values() if kind.settings is not None]
            self._voice = {model: read_voice_settings(model, self._given) for model in models}
        return self._voice

    # Settings that cannot work are refused when they are read, so every command says so in one line at
    # start (cli.main) instead of failing later, e.g. on every SMS (a timezone typo) or at the first query.
    @field_validator("voice_alerts")
    @classmethod
    def _registered_voice_type(cls, name: str | None) -> str | None:
        return alerts_choice(name)

    @model_validator(mode="after")
    def _read_voice_settings(self) -> Settings:
        self._voice_parts()  # ARI_PROMPTS=ftp and the like stop here, as the settings above do
        return self

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, name: str) -> str:
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        try:
            ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"{name!r} is not a timezone zoneinfo knows{_did_you_mean(name)}") from None
        return name

    @field_validator("database_url")
    @classmethod
    def _supported_database(cls, url: str | None) -> str | None:
        if not url:
            return None
        from sqlalchemy import make_url
        from sqlalchemy.exc import ArgumentError

        try:
            driver = make_url(url).drivername
        except ArgumentError:  # the URL itself is not echoed: it may hold a password
            raise ValueError(f"not a database URL; write e.g. {DATABASE_EXAMPLES}") from None
        except ValueError:
            raise ValueError(f"its port is not a number; write e.g. {DATABASE_EXAMPLES}") from None
        if driver in ("sqlite", "sqlite+pysqlite", "postgresql+psycopg"):
            return url
        if driver == "postgresql":
            # SQLAlchemy reads a bare postgresql:// as psycopg2, which is not installed; psycopg (3) is the
            # PostgreSQL driver we ship, so this common libpq-style URL means it.
            return "postgresql+psycopg://" + url.split("://", 1)[1]
        if driver == "postgres" or driver.startswith("postgresql+"):  # postgres:// is Heroku's spelling
            raise ValueError(
                f"{driver}:// is not supported; write postgresql+psycopg://user:password@host:5432/hotline "
                "(psycopg 3 is the PostgreSQL driver Hotline ships)"
            )
        raise ValueError(f"{driver}:// databases are not supported; use {DATABASE_EXAMPLES}")

    @field_validator("redis_url")
    @classmethod
    def _redis_url(cls, url: str | None) -> str | None:
        if not url:
            return None  # the embedded Redis of `hotline up`
        from redis.connection import parse_url

        try:
            parse_url(url)
        except ValueError:
            raise ValueError(
                "must be redis://host:6379/0, rediss://... or unix:///path/redis.sock (unset: `hotline up` "
                "starts an embedded Redis)"
            ) from None
        return url

    @field_validator("public_url")
    @classmethod
    def _public_url(cls, url: str | None) -> str | None:
        if not url:
            return None
        scheme, _, rest = url.partition("://")
        if scheme not in ("http", "https") or not rest.strip("/"):
            # Twilio signs the exact URL it calls: anything else fails every webhook's signature check.
            raise ValueError(f"{url!r} must be the address Twilio calls, e.g. https://hotline.example.go.id")
        return url

    @field_validator("media_s3_bucket")
    @classmethod
    def _bucket_name(cls, name: str | None) -> str | None:
        if not name:
            return None
        if not re.fullmatch(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]", name) or ".." in name:
            raise ValueError(f"{name!r} is not an S3 bucket name (3-63 lowercase letters, digits, '.' and '-')")
        return name

    @field_validator("media_s3_endpoint")
    @classmethod
    def _endpoint(cls, url: str | None) -> str | None:
        if not url:
            return None
        scheme, _, rest = url.partition("://")
        if scheme not in ("http", "https") or not rest.strip("/") or "?" in rest:
            raise ValueError(f"{url!r} must be the store's address, e.g. https://minio.example.go.id:9000")
        return url.rstrip("/")

    @model_validator(mode="after")
    def _both_s3_keys(self) -> Settings:
        if bool(self.media_s3_access_key) != bool(self.media_s3_secret_key):
            raise ValueError(
                "HOTLINE_MEDIA_S3_ACCESS_KEY and HOTLINE_MEDIA_S3_SECRET_KEY go together (or neither: boto3's chain)"
            )
        return self

    @field_validator("map_tiles_url")
    @classmethod
    def _tiles_url(cls, url: str) -> str:
        url = url.strip()
        if url.lower() in ("", "none", "off"):
            return ""  # offline: no tile server
        scheme, _, rest = url.partition("://")
        host = rest.split("/", 1)[0]
        missing = [part for part in ("{z}", "{x}", "{y}") if part not in url]
        bad_host = not host or any(c in host for c in "'; ") or ("{" in host and not host.startswith("{s}."))
        if scheme not in ("http", "https") or bad_host or missing:
            raise ValueError(
                f"{url!r} must be a tile URL template such as https://tile.openstreetmap.org/{{z}}/{{x}}/{{y}}.png "
                "(or none for a map without tiles)"
            )
        return url

    @property
    def map_tiles_source(self) -> str | None:
        """The tile server as a CSP source (https://*.tile.example.org for a {s} template); None when offline."""
        if not self.map_tiles_url:
            return None
        scheme, _, rest = self.map_tiles_url.partition("://")
        return f"{scheme}://{rest.split('/', 1)[0].replace('{s}', '*')}"

    @field_validator("trusted_proxies")
    @classmethod
    def _proxies_are_addresses(cls, value: str | None) -> str | None:
        import ipaddress

        for entry in (value or "").split(","):
            if entry.strip():
                try:
                    ipaddress.ip_network(entry.strip(), strict=False)
                except ValueError:
                    raise ValueError(
                        f"{entry.strip()!r} is not an address or network (e.g. 127.0.0.1,10.0.0.0/8)"
                    ) from None
        return value

    @property
    def proxy_networks(self) -> tuple[IPv4Network | IPv6Network, ...]:
        import ipaddress

        if self._proxy_networks is None:
            entries = (self.trusted_proxies or "").split(",")
            self._proxy_networks = tuple(ipaddress.ip_network(e.strip(), strict=False) for e in entries if e.strip())
        return self._proxy_networks

    @property
    def docs_enabled(self) -> bool:
        return self.api_docs if self.api_docs is not None else self.env != "production"

    @field_validator("default_region")
    @classmethod
    def _known_region(cls, region: str) -> str:
        import phonenumbers

        if region.upper() not in phonenumbers.SUPPORTED_REGIONS:
            raise ValueError(f"{region!r} is not a region code phonenumbers knows (e.g. ID for Indonesia)")
        return region.upper()

    @property
    def effective_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'hotline.db').resolve()}"

    @property
    def effective_sms_provider(self) -> str:
        """The first gateway of the replies list's type (twilio, kannel, ..., log)."""
        routing = self.sms_routing
        for name in routing.routes.get("replies", ()):
            return routing.gateways[name].kind
        return "log"

    @property
    def sms_routing(self) -> SmsRouting:
        """The SMS gateways and each purpose's list (hotline/core/gateway_config.py), read once."""
        if self._sms_routing is None:
            from hotline.core.gateway_config import gateway_environment, read_routing

            self._sms_routing = read_routing(self, gateway_environment())
        return self._sms_routing

    @model_validator(mode="after")
    def _refuse_placeholders_in_production(self) -> Settings:
        if self.env != "production":
            return self
        problems = []
        weak = weak_secret(self.secret_key, min_length=32, min_bits=90)
        if weak:
            problems.append(f"HOTLINE_SECRET_KEY is {weak}; make one with {MAKE_ONE}")
        if not self.public_url:
            problems.append("HOTLINE_PUBLIC_URL must be set so Twilio signatures can be checked")
        if self.sms_provider == "twilio" or (
            not self.sms_provider and not self.sms_gateways and self.twilio_account_sid
        ):
            weak = weak_secret(self.twilio_auth_token or "", min_length=32, min_bits=90)
            if weak:
                problems.append(f"TWILIO_AUTH_TOKEN is {weak}; set the account's real auth token")
        if self.backup_sms_url:
            weak = weak_secret(self.backup_sms_password or "", **GATEWAY_SECRET)
            if weak:
                problems.append(f"HOTLINE_BACKUP_SMS_PASSWORD is {weak}; set the Kannel sendsms-user's password")
        for part in self._voice_parts().values():  # each voice gateway type's own (ARI_PASSWORD)
            problems.extend(part.production_problems())
        if self.media_s3_secret_key:
            weak = weak_secret(self.media_s3_secret_key, **GATEWAY_SECRET)
            if weak:
                problems.append(f"HOTLINE_MEDIA_S3_SECRET_KEY is {weak}; set the store's real secret key")
        if problems:
            raise SettingsError("refusing to start in production: " + "; ".join(problems))
        return self


def _did_you_mean(name: str) -> str:
    import difflib
    from zoneinfo import available_timezones

    close = difflib.get_close_matches(name, available_timezones(), n=1)
    return f"; did you mean {close[0]}?" if close else " (an IANA name such as Asia/Jakarta)"


def settings_problems(exc: ValidationError) -> list[str]:
    """One line per setting that cannot work, named as it is set (HOTLINE_PORT: ...)."""
    return [f"settings: {line}" for line in error_lines(exc)]


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
