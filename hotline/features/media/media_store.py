"""Where media files live: HOTLINE_DATA_DIR/media/<yyyy>/<mm>/<sha256>.<ext>, written whole or not at all
(a temporary file, fsync'd, renamed), named by their content so a redelivered photo is one file."""

from __future__ import annotations

import os
from datetime import datetime
from pathlib import Path

from hotline.features.media.sniff import EXTENSIONS


def media_root(data_dir: Path) -> Path:
    return data_dir / "media"


def save(data_dir: Path, *, data: bytes, sha256: str, content_type: str, when: datetime) -> str:
    """Write the file; returns its path relative to the media root."""
    relative = f"{when:%Y}/{when:%m}/{sha256}.{EXTENSIONS.get(content_type, 'bin')}"
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


def read(data_dir: Path, relative: str) -> bytes:
    root = media_root(data_dir).resolve()
    path = (root / relative).resolve()
    if root not in path.parents:  # a path from the database is still never allowed out of the media root
        raise FileNotFoundError(relative)
    return path.read_bytes()
