"""Media in an S3-compatible bucket (MinIO, Ceph RGW, Garage, AWS S3) when HOTLINE_MEDIA_S3_BUCKET is set.

Objects are written with no ACL (the bucket's own, which must be private) and read back only by the hotline,
which streams them to a signed-in console user or, stripped of EXIF, to a signed link's page: no presigned or
public URL is ever made, so the bucket's address is never shown to anyone. A stored file is named
`s3://<bucket>/<key>` in media_items.path, so files kept in the data dir before the switch are still read there.

Client: boto3 (SigV4 signing, checksums, retries and every store's quirks are its job, not ours); it is
imported only when a bucket is configured."""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from hotline.settings import Settings

SCHEME = "s3://"
_clients: dict[tuple[str | None, str, str | None, str | None], Any] = {}
_lock = threading.Lock()  # boto3 clients are thread-safe; making one is not


class MediaStoreDown(Exception):
    """The store cannot take or give a file now (unreachable, 5xx, refused our keys): try again later."""


def _client(settings: Settings) -> Any:
    key = (
        settings.media_s3_endpoint,
        settings.media_s3_region,
        settings.media_s3_access_key,
        settings.media_s3_secret_key,
    )
    with _lock:
        if key not in _clients:
            import boto3
            from botocore.config import Config

            config = Config(
                connect_timeout=3,
                read_timeout=15,
                retries={"max_attempts": 2, "mode": "standard"},  # the job's back-off does the long waiting
                # MinIO and most self-hosted stores want path-style addressing; AWS picks its own
                s3={"addressing_style": "path" if settings.media_s3_endpoint else "auto"},
            )
            _clients[key] = boto3.client(
                "s3",
                endpoint_url=settings.media_s3_endpoint,
                region_name=settings.media_s3_region,
                aws_access_key_id=settings.media_s3_access_key,
                aws_secret_access_key=settings.media_s3_secret_key,
                config=config,
            )
        return _clients[key]


def put(settings: Settings, *, relative: str, data: bytes, content_type: str) -> str:
    """Store the file (its name is its content's hash, so a second put of it is harmless); returns its ref."""
    from botocore.exceptions import BotoCoreError, ClientError

    bucket = settings.media_s3_bucket
    assert bucket, "put() is only called when a bucket is configured"
    key = f"{settings.media_s3_prefix}{relative}"
    try:
        _client(settings).put_object(Bucket=bucket, Key=key, Body=data, ContentType=content_type)
    except (BotoCoreError, ClientError) as exc:
        raise MediaStoreDown(f"S3 store {bucket}: {exc}") from exc
    return f"{SCHEME}{bucket}/{key}"


def get(settings: Settings, ref: str) -> bytes:
    """The file's bytes; FileNotFoundError when the store has no such object, MediaStoreDown when it cannot
    say."""
    from botocore.exceptions import BotoCoreError, ClientError

    bucket, _, key = ref.removeprefix(SCHEME).partition("/")
    if not settings.media_s3_bucket:
        raise MediaStoreDown(f"{ref} is in an S3 store but HOTLINE_MEDIA_S3_BUCKET is not set")
    try:
        answer = _client(settings).get_object(Bucket=bucket, Key=key)
        return bytes(answer["Body"].read())
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") in ("NoSuchKey", "404"):
            raise FileNotFoundError(ref) from exc
        raise MediaStoreDown(f"S3 store {bucket}: {exc}") from exc
    except BotoCoreError as exc:
        raise MediaStoreDown(f"S3 store {bucket}: {exc}") from exc


def describe(settings: Settings) -> str:
    """`hotline config check`'s line about where media are kept (no keys shown)."""
    if not settings.media_s3_bucket:
        return f"media: kept in {settings.data_dir / 'media'}"
    where = settings.media_s3_endpoint or "AWS S3"
    keys = "keys from HOTLINE_MEDIA_S3_ACCESS_KEY" if settings.media_s3_access_key else "keys from boto3's own chain"
    return (
        f"media: kept in S3 bucket {settings.media_s3_bucket} at {where} (region {settings.media_s3_region}, "
        f"prefix {settings.media_s3_prefix or '(none)'}, {keys}); never served from it, only through the hotline"
    )
