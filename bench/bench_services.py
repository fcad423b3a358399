"""What every bench needs from the local PostgreSQL and Redis: a database of its own, made fresh and
dropped after, and an environment for `hotline` processes that nothing from the caller's shell leaks into."""

from __future__ import annotations

import os

import psycopg

PG_ADMIN_DSN = "postgresql://postgres@127.0.0.1:5432/postgres"


def database_url(name: str) -> str:
    return f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}"


def reset_database(name: str) -> None:
    with psycopg.connect(PG_ADMIN_DSN, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        conn.execute(f"CREATE DATABASE {name}")


def drop_database(name: str) -> None:
    with psycopg.connect(PG_ADMIN_DSN, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def hotline_env(**settings: str) -> dict[str, str]:
    """This process's environment without any HOTLINE_/TWILIO_/ARI_ setting, then `settings`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HOTLINE_", "TWILIO_", "ARI_"))}
    env.update(settings)
    return env
