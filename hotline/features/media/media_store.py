"""Where media files live: HOTLINE_DATA_DIR/media/<yyyy>/<mm>/<sha256>.<ext>, written whole or not at all
(a temporary file, fsync'd, renamed), named by their content so a redelivered photo is one file; or, when
HOTLINE_MEDIA_S3_BUCKET is set, the same name in that bucket (hotline/features/media/s3_store.py).

A file's ref (media_items.path) says which: `s3://bucket/key`, or a path relative to the media root."""

from __future__ import annotations

import os
from datetime import datetime
from pathlib import Path

from hotline.features.media import s3_store
from hotline.features.media.s3_store import MediaStoreDown
from hotline.features.media.sniff import EXTENSIONS
from hotline.settings import get_settings

__all__ = ["MediaStoreDown", "media_root", "read", "save"]


def media_root(data_dir: Path) -> Path:
    return data_dir / "media"


def save(data_dir: Path, *, data: bytes, sha256: str, content_type: str, when: datetime) -> str:
    """Write the file; returns its ref. MediaStoreDown when the S3 store cannot take it now."""
    relative = f"{when:%Y}/{when:%m}/{sha256}.{EXTENSIONS.get(content_type, 'bin')}"
    settings = get_settings()
    if settings.media_s3_bucket:
        return s3_store.put(settings, relative=relative, data=data, content_type=content_type)
    target = media_root(data_dir) / relative
    if target.exists():
        return relative
    target.parent.mkdir(parents=True, exist_ok=True)
    temporary = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    with open(temporary, "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temporary, target)
    return relative


def read(data_dir: Path, ref: str) -> bytes:
    """The file's bytes: OSError (FileNotFoundError) when it is not there, MediaStoreDown when the S3 store
    cannot say."""
    if ref.startswith(s3_store.SCHEME):
        return s3_store.get(get_settings(), ref)
    root = media_root(data_dir).resolve()
    path = (root / ref).resolve()
    if root not in path.parents:  # a path from the database is still never allowed out of the media root
        raise FileNotFoundError(ref)
    return path.read_bytes()
