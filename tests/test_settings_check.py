"""Settings that cannot work are one line at start (exit 2) for every command, `hotline up` and `hotline config
check` included, instead of a traceback later (a timezone typo used to fail every SMS)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.suite_city import clean_environment


def run_hotline(*args: str, env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "hotline", *args], env=env, cwd=cwd, capture_output=True, text=True, timeout=60
    )


BAD_SETTINGS = [
    (
        {"HOTLINE_TIMEZONE": "Asia/Jakrta"},
        "settings: HOTLINE_TIMEZONE: 'Asia/Jakrta' is not a timezone zoneinfo knows; did you mean Asia/Jakarta?",
    ),
    (
        {"HOTLINE_DATABASE_URL": "postgres://hotline:s3cret@db.example:5432/hotline"},
        "settings: HOTLINE_DATABASE_URL: postgres:// is not supported; write "
        "postgresql+psycopg://user:password@host:5432/hotline",
    ),
    ({"HOTLINE_PORT": "eighty"}, "settings: HOTLINE_PORT: Input should be a valid integer"),
]


@pytest.mark.parametrize(("settings", "line"), BAD_SETTINGS, ids=["timezone", "postgres-url", "port"])
def test_settings_that_cannot_work_are_one_line_and_exit_2(settings: dict[str, str], line: str, tmp_path: Path) -> None:
    env = clean_environment(HOTLINE_DATA_DIR=str(tmp_path / "var"), **settings)
    for command in (["up"], ["config", "check"]):
        done = run_hotline(*command, env=env, cwd=tmp_path)
        assert done.returncode == 2, (command, done.stdout, done.stderr)
        assert done.stderr.startswith(line) and done.stderr.count("\n") == 1, (command, done.stderr)
        assert done.stdout == "" and "s3cret" not in done.stderr
    assert not (tmp_path / "var").exists()  # `up` started nothing


def test_config_check_reports_the_settings_it_would_run_with(tmp_path: Path) -> None:
    env = clean_environment(
        HOTLINE_DATA_DIR=str(tmp_path / "var"),
        HOTLINE_DATABASE_URL="postgresql://hotline:s3cret@db.example/hotline",
        HOTLINE_REDIS_URL="redis://:s3cret@redis.example:6379/0",
    )
    done = run_hotline("config", "check", env=env, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    first = done.stdout.splitlines()[0]
    assert first.startswith("settings OK: database postgresql+psycopg://hotline:***@db.example/hotline, Redis redis://")
    assert "timezone Asia/Jakarta" in first and "s3cret" not in done.stdout


def test_settings_validators() -> None:
    from pydantic import ValidationError

    from hotline.settings import Settings, settings_problems

    def problems(**values: str) -> list[str]:
        try:
            Settings(**values)  # type: ignore[arg-type]
        except ValidationError as exc:
            return settings_problems(exc)
        return []

    url = "postgresql://u@h/db"  # SQLAlchemy would pick psycopg2, which is not installed: psycopg is meant
    assert Settings(HOTLINE_DATABASE_URL=url).database_url == "postgresql+psycopg://u@h/db"  # type: ignore[call-arg]
    for fine in ("sqlite:///var/h.db", "postgresql+psycopg://u:p@h:5432/db", ""):
        assert problems(HOTLINE_DATABASE_URL=fine) == [], fine
    assert problems(HOTLINE_DATABASE_URL="mysql://u:p@h/db") == [
        "settings: HOTLINE_DATABASE_URL: mysql:// databases are not supported; use sqlite:///var/hotline.db or "
        "postgresql+psycopg://user:password@host:5432/hotline"
    ]
    assert "postgresql+psycopg://" in problems(HOTLINE_DATABASE_URL="postgresql+psycopg2://u@h/db")[0]
    assert "not a database URL" in problems(HOTLINE_DATABASE_URL="hotline.db")[0]
    assert "port is not a number" in problems(HOTLINE_DATABASE_URL="postgresql+psycopg://u:pw@h:54x/db")[0]
    assert "unix:///" in problems(HOTLINE_REDIS_URL="localhost:6379")[0]
    assert "Twilio" in problems(HOTLINE_PUBLIC_URL="hotline.example.go.id")[0]
    assert "ID for Indonesia" in problems(HOTLINE_DEFAULT_REGION="IDN")[0]
    assert "HOTLINE_PORT" in problems(HOTLINE_PORT="70000")[0]
    assert "IANA name such as Asia/Jakarta" in problems(HOTLINE_TIMEZONE="Nowhere/Xyzzy")[0]


def test_config_check_says_who_places_voice_alerts(tmp_path: Path) -> None:
    env = clean_environment(HOTLINE_DATA_DIR=str(tmp_path / "var"))
    plain = run_hotline("config", "check", env=env, cwd=tmp_path)
    assert plain.returncode == 0, plain.stderr
    assert "voice alerts: none (needs Twilio with HOTLINE_PUBLIC_URL, or ARI_URL; docs/asterisk.md); " in plain.stdout
    ari = {"ARI_URL": "http://127.0.0.1:8088", "ARI_USERNAME": "hotline", "ARI_PASSWORD": "test-ari-password"}
    done = run_hotline("config", "check", env={**env, **ari}, cwd=tmp_path)
    assert "voice alerts: asterisk, at PJSIP/{national}@trunk; console takes calls of: asterisk" in done.stdout
