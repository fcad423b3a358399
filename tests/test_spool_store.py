"""The spool's files (hotline/spool/store.py): whole or absent, in arrival order, safe for several processes."""

from __future__ import annotations

import multiprocessing
from pathlib import Path

import pytest

from hotline.spool.store import Spool


def test_records_are_whole_in_pending_in_arrival_order(tmp_path: Path) -> None:
    spool = Spool.under(tmp_path)
    paths = [spool.append({"n": n}) for n in range(5)]
    assert spool.pending() == paths  # arrival order is name order
    assert [Spool.read(p)["n"] for p in paths] == list(range(5))
    assert list(spool.tmp_dir.iterdir()) == []  # written there, fsync'd, renamed in
    spool.done(paths[0])
    spool.done(paths[0])  # a second replayer finishing it too: fine
    assert spool.depth() == 4


def _append_many(root: str, writer: int, count: int) -> None:
    spool = Spool(Path(root))
    for n in range(count):
        spool.append({"writer": writer, "n": n})


def test_several_processes_append_at_once_and_every_record_is_kept(tmp_path: Path) -> None:
    spool = Spool.under(tmp_path)
    context = multiprocessing.get_context("spawn")
    writers = [context.Process(target=_append_many, args=(str(spool.root), w, 40)) for w in range(4)]
    for process in writers:
        process.start()
    for process in writers:
        process.join(60)
        assert process.exitcode == 0
    records = [Spool.read(p) for p in spool.pending()]
    assert len(records) == 160
    for writer in range(4):  # each writer's records in the order it wrote them
        assert [r["n"] for r in records if r["writer"] == writer] == list(range(40))


def test_one_replayer_at_a_time(tmp_path: Path) -> None:
    spool = Spool.under(tmp_path)
    with spool.replay_lock() as first, spool.replay_lock() as second:
        assert (first, second) == (True, False)
    with spool.replay_lock() as again:
        assert again


def test_what_a_crash_left_in_tmp_is_swept_and_never_replayed(tmp_path: Path) -> None:
    import os
    import time

    spool = Spool.under(tmp_path)
    spool.append({"n": 1})
    left = spool.tmp_dir / "half.json"
    left.write_bytes(b'{"n": ')
    assert spool.depth() == 1
    old = time.time() - 3600
    os.utime(left, (old, old))
    assert spool.sweep_tmp() == 1 and not left.exists()


def test_hotline_spool_status_list_and_replay(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from datetime import UTC, datetime

    from typer.testing import CliRunner

    from hotline.channels.gateway import InboundSms
    from hotline.cli import app
    from hotline.settings import get_settings
    from hotline.spool.records import sms_record

    monkeypatch.setenv("HOTLINE_DATA_DIR", str(tmp_path))
    get_settings.cache_clear()
    runner = CliRunner()
    try:
        empty = runner.invoke(app, ["spool", "status"])
        assert (empty.exit_code, empty.output.strip()) == (0, f"spool {tmp_path / 'spool'}: 0 pending, 0 bad")
        assert runner.invoke(app, ["spool", "replay"]).output.strip() == "stored 0, already stored 0, bad 0, left 0"
        sms = InboundSms("twilio", "SMcli1", "+6281234567890", "BANJIR di Temas")
        path = Spool.under(tmp_path).append(sms_record(sms, kind="twilio", arrived_at=datetime.now(UTC)))
        waiting = runner.invoke(app, ["spool", "status"])
        assert waiting.exit_code == 1 and "1 pending, 0 bad" in waiting.output
        listed = runner.invoke(app, ["spool", "list"]).output.split()
        assert listed == [path.name, "sms", "twilio", "SMcli1", "from", "+6281234567890"]
        Spool.under(tmp_path).quarantine(path)
        assert runner.invoke(app, ["spool", "list", "--bad"]).output.split()[0] == path.name
        assert "0 pending, 1 bad" in runner.invoke(app, ["spool", "status"]).output
    finally:
        monkeypatch.undo()  # before clearing: a thread's get_settings() in between would keep this test's dir
        get_settings.cache_clear()
