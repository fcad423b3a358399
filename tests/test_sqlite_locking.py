"""SELECT ... FOR UPDATE locks on SQLite too (hotline/db.py): SQLite itself drops FOR UPDATE, and pysqlite begins a
transaction only at the first write, so a row read "for update" was read unlocked. The console taking a call and
the ARI app stepping it then both computed the call's next path step and wrote the same call_events seq."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from sqlalchemy import Column, Integer, MetaData, Table, select, update
from sqlalchemy.orm import Session

from hotline.db import make_engine

metadata = MetaData()
rows = Table("rows", metadata, Column("id", Integer, primary_key=True), Column("v", Integer))


def _other_writer_can_begin(path: Path) -> bool:
    """Whether another connection gets SQLite's write lock now (no waiting)."""
    other = sqlite3.connect(path, timeout=0, isolation_level=None)
    try:
        other.execute("BEGIN IMMEDIATE")
        other.execute("ROLLBACK")
        return True
    except sqlite3.OperationalError as exc:
        assert "locked" in str(exc)
        return False
    finally:
        other.close()


@pytest.fixture
def database(tmp_path: Path) -> tuple[Path, Session]:
    path = tmp_path / "lock.db"
    engine = make_engine(f"sqlite:///{path}")
    metadata.create_all(engine)
    with engine.begin() as connection:
        connection.execute(rows.insert().values(id=1, v=0))
    return path, Session(engine)


def test_a_row_read_for_update_holds_the_write_lock_until_commit(database: tuple[Path, Session]) -> None:
    path, session = database
    assert session.execute(select(rows.c.v).where(rows.c.id == 1).with_for_update()).scalar_one() == 0
    assert not _other_writer_can_begin(path)  # was True: the read took no lock
    session.execute(update(rows).where(rows.c.id == 1).values(v=1))
    session.commit()
    assert _other_writer_can_begin(path)


def test_a_plain_read_takes_no_write_lock(database: tuple[Path, Session]) -> None:
    path, session = database
    assert session.execute(select(rows.c.v).where(rows.c.id == 1)).scalar_one() == 0
    assert _other_writer_can_begin(path)  # readers do not queue behind each other
    session.rollback()
