"""One file per spooled record, written so that a crash never leaves a half record where replay looks.

    <data dir>/spool/tmp/       a record being written (fsync'd, then renamed into pending/)
    <data dir>/spool/pending/   <arrival ns>-<pid>-<random>.json: what waits for the database, in name order
    <data dir>/spool/bad/       a record that cannot be read (kept for a person, never blocks the rest)
    <data dir>/spool/replay.lock  flock'd by the one replayer at a time (several serve processes share a host)

The rename is atomic and follows the file's fsync, and the directory is fsync'd after it: a record is either
whole in pending/ or not there at all. Names start with the arrival time in nanoseconds, so sorting them is
the arrival order, across every process writing to the same directory.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

STALE_TMP_SECONDS = 600  # a tmp/ file this old belonged to a process that died mid-write


class SpoolUnreadable(ValueError):
    """A record that is not a JSON object (a disk that lost it): moved to bad/."""


@dataclass(frozen=True)
class Spool:
    root: Path  # <data dir>/spool

    @classmethod
    def under(cls, data_dir: Path) -> Spool:
        return cls(data_dir / "spool")

    @property
    def pending_dir(self) -> Path:
        return self.root / "pending"

    @property
    def bad_dir(self) -> Path:
        return self.root / "bad"

    @property
    def tmp_dir(self) -> Path:
        return self.root / "tmp"

    def append(self, record: dict[str, Any]) -> Path:
        """Write one record durably; returns its path in pending/. Raises OSError (disk full, read-only)."""
        for folder in (self.tmp_dir, self.pending_dir):
            folder.mkdir(parents=True, exist_ok=True)
        name = f"{time.time_ns():020d}-{os.getpid()}-{uuid.uuid4().hex[:8]}.json"
        data = json.dumps(record, ensure_ascii=False, sort_keys=True).encode("utf-8")
        temporary = self.tmp_dir / name
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            os.write(fd, data)
            os.fsync(fd)
        finally:
            os.close(fd)
        final = self.pending_dir / name
        os.rename(temporary, final)
        _fsync_dir(self.pending_dir)
        return final

    def pending(self) -> list[Path]:
        """The records waiting, oldest first."""
        try:
            names = sorted(n for n in os.listdir(self.pending_dir) if n.endswith(".json"))
        except FileNotFoundError:
            return []
        return [self.pending_dir / n for n in names]

    def bad(self) -> list[Path]:
        """The records set aside, by name (arrival order)."""
        try:
            return sorted(self.bad_dir.iterdir())
        except FileNotFoundError:
            return []

    def depth(self) -> int:
        try:
            return sum(1 for n in os.listdir(self.pending_dir) if n.endswith(".json"))
        except FileNotFoundError:
            return 0

    def bad_count(self) -> int:
        try:
            return len(os.listdir(self.bad_dir))
        except FileNotFoundError:
            return 0

    @staticmethod
    def read(path: Path) -> dict[str, Any]:
        """The record, or SpoolUnreadable. FileNotFoundError: another replayer finished it meanwhile."""
        raw = path.read_bytes()
        try:
            record = json.loads(raw)
        except ValueError as exc:
            raise SpoolUnreadable(f"{path.name}: not JSON ({exc})") from None
        if not isinstance(record, dict):
            raise SpoolUnreadable(f"{path.name}: not a JSON object")
        return record

    def done(self, path: Path) -> None:
        """The record is in the database: remove it (already gone is fine: replaying is idempotent)."""
        with contextlib.suppress(FileNotFoundError):
            path.unlink()
            _fsync_dir(self.pending_dir)

    def quarantine(self, path: Path) -> Path:
        self.bad_dir.mkdir(parents=True, exist_ok=True)
        target = self.bad_dir / path.name
        with contextlib.suppress(FileNotFoundError):
            os.rename(path, target)
            _fsync_dir(self.pending_dir)
        return target

    def sweep_tmp(self) -> int:
        """Remove what processes that died mid-write left in tmp/ (never a record: those are renamed)."""
        removed = 0
        cutoff = time.time() - STALE_TMP_SECONDS
        with contextlib.suppress(FileNotFoundError):
            for entry in os.scandir(self.tmp_dir):
                with contextlib.suppress(FileNotFoundError):
                    if entry.stat().st_mtime < cutoff:
                        os.unlink(entry.path)
                        removed += 1
        return removed

    @contextlib.contextmanager
    def replay_lock(self) -> Iterator[bool]:
        """True inside if this process is the one replayer now; False if another one is."""
        self.root.mkdir(parents=True, exist_ok=True)
        with open(self.root / "replay.lock", "a+b") as handle:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                yield False
                return
            try:
                yield True
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)


def _fsync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def current_spool() -> Spool:
    """The spool of this host's HOTLINE_DATA_DIR."""
    from hotline.settings import get_settings

    return Spool.under(get_settings().data_dir)
