"""Accounts: argon2 passwords, `hotline user add`, console sign-in with CSRF and a rate limit in Redis,
and the audit log row every change leaves."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from argon2 import extract_parameters, profiles
from sqlalchemy import select
from typer.testing import CliRunner

from hotline.cli import app
from hotline.core.city import current_config
from hotline.core.queue import redis_connection
from hotline.db import unit_of_work
from hotline.features.accounts import login_limit
from hotline.features.accounts.accounts import AccountError, authenticate, create_user
from hotline.models import AuditEntry, User
from tests.accounts import PASSWORD, console_login, csrf_of, make_user
from tests.conftest import PRODUCTION_PASSWORD_HASHER

runner = CliRunner()


def audit_actions() -> list[tuple[str, str]]:
    with unit_of_work() as session:
        return [(e.actor, e.action) for e in session.scalars(select(AuditEntry).order_by(AuditEntry.id))]


def test_passwords_are_stored_as_argon2_and_checked(backend: Any) -> None:
    make_user("ani", "operator")
    with unit_of_work() as session:
        user = session.scalar(select(User).where(User.username == "ani"))
        assert user is not None and user.password_hash.startswith("$argon2id$")
        assert PASSWORD not in user.password_hash
        assert authenticate(session, username="ani", password=PASSWORD) is not None
        assert authenticate(session, username="ani", password=PASSWORD + "x") is None
        assert authenticate(session, username="nobody", password=PASSWORD) is None


def test_production_passwords_use_argon2ids_recommended_parameters() -> None:
    """The suite hashes with argon2's cheapest parameters (tests/conftest.py); what hotline itself uses is
    RFC 9106's recommendation for low memory (argon2id, t=3, 64 MiB, p=4), and a hash made so is checked."""
    made = PRODUCTION_PASSWORD_HASHER.hash(PASSWORD)
    assert extract_parameters(made) == profiles.RFC_9106_LOW_MEMORY
    assert PRODUCTION_PASSWORD_HASHER.verify(made, PASSWORD)


@pytest.mark.parametrize(
    ("role", "agency", "password", "problem"),
    [
        ("boss", None, PASSWORD, "role 'boss' is not one of"),
        ("agency_staff", None, PASSWORD, "agency_staff needs --agency"),
        ("agency_staff", "NOPE", PASSWORD, "agency 'NOPE' is not in routing/agencies.yaml"),
        ("operator", None, "short", "at least 10 characters"),
    ],
)
def test_bad_accounts_are_refused_with_the_reason(
    backend: Any, role: str, agency: str | None, password: str, problem: str
) -> None:
    with unit_of_work() as session, pytest.raises(AccountError, match=problem):
        create_user(session, config=current_config(), username="x", role=role, password=password, agency=agency)


def test_cli_user_add_reads_the_password_from_stdin_and_audits(backend: Any) -> None:
    result = runner.invoke(
        app, ["user", "add", "budi", "--role", "agency_staff", "--agency", "PMK", "--password-stdin"], input=PASSWORD
    )
    assert result.exit_code == 0, result.output
    with unit_of_work() as session:
        user = session.scalar(select(User).where(User.username == "budi"))
        assert user is not None and (user.role, user.agency_code) == ("agency_staff", "PMK")
        assert authenticate(session, username="budi", password=PASSWORD) is not None
    assert ("cli", "user.add") in audit_actions()
    again = runner.invoke(app, ["user", "add", "budi", "--role", "operator", "--password-stdin"], input=PASSWORD)
    assert again.exit_code == 1 and "exists already" in again.output

    token = runner.invoke(app, ["user", "token", "budi", "--name", "city app"])
    assert token.exit_code == 0 and token.output.strip().startswith("htl_")


def test_console_sign_in_needs_the_csrf_token_and_is_audited(server: str) -> None:
    make_user("ani", "operator")
    assert httpx.get(f"{server}/console").status_code == 303  # not signed in: to the login page
    with httpx.Client(base_url=server) as client:
        page = client.get("/console/login")
        no_token = client.post("/console/login", data={"username": "ani", "password": PASSWORD})
        assert no_token.status_code == 403
        wrong = client.post("/console/login", data={"username": "ani", "password": "nope", "csrf": csrf_of(page.text)})
        assert wrong.status_code == 401 and "salah" in wrong.text
    client = console_login(server, "ani")
    home = client.get("/console")
    assert home.status_code == 200 and 'data-testid="me">ani<' in home.text
    # A form POST without the session's CSRF token changes nothing.
    refused = client.post("/console/tickets", data={"text": "kebakaran", "category": "fire"})
    assert refused.status_code == 403
    assert audit_actions() == [("ani", "login.failed"), ("ani", "login")]


def test_sign_in_is_rate_limited_per_username_and_address(server: str) -> None:
    make_user("ani", "operator")
    with httpx.Client(base_url=server) as client:
        csrf = csrf_of(client.get("/console/login").text)
        codes = [
            client.post("/console/login", data={"username": "ani", "password": "wrong", "csrf": csrf}).status_code
            for _ in range(login_limit.MAX_FAILURES)
        ]
        assert codes == [401] * login_limit.MAX_FAILURES
        # Locked now: even the right password is refused until the window passes.
        locked = client.post("/console/login", data={"username": "ani", "password": PASSWORD, "csrf": csrf})
        assert locked.status_code == 429 and "15 menit" in locked.text
    assert login_limit.is_locked(redis_connection(), username="ani", ip="127.0.0.1")
    assert ("ani", "login.locked") in audit_actions()
    # Another user from the same address is not locked out by ani's failures.
    make_user("budi", "operator")
    assert console_login(server, "budi").get("/console").status_code == 200
