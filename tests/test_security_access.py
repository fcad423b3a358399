"""Access and sessions (issue 18): who may reach what in the console and the API, sessions and tokens that end
on the server, `hotline user ...`, the client's address behind trusted proxies only, login limits that rotating
addresses cannot get round and an attacker cannot turn into a lock-out, and the browser-side headers."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta

import httpx
import pytest
from sqlalchemy import select, update
from typer.testing import CliRunner

from hotline.cli import app as cli_app
from hotline.db import unit_of_work
from hotline.features.accounts import login_limit
from hotline.models import ApiToken, AuditEntry, utcnow
from hotline.settings import get_settings
from tests.accounts import PASSWORD, console_login, csrf_of, make_token, make_user

NEW_PASSWORD = "a brand new passphrase"


@contextmanager
def settings(**env: str) -> Iterator[None]:
    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    get_settings.cache_clear()
    try:
        yield
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
        get_settings.cache_clear()


def hotline(*args: str, stdin: str | None = None) -> tuple[int, str]:
    result = CliRunner().invoke(cli_app, list(args), input=stdin)
    return result.exit_code, result.output


def signed_in(client: httpx.Client) -> bool:
    answer = client.get("/console/tickets")
    return answer.status_code == 200


def replay(server: str, client: httpx.Client) -> httpx.Client:
    """A second client holding a copy of the first one's cookies (a stolen or kept cookie)."""
    return httpx.Client(base_url=server, cookies=dict(client.cookies), timeout=10)


def post_form(client: httpx.Client, page: str, action: str, data: dict[str, str]) -> httpx.Response:
    return client.post(action, data={**data, "csrf": csrf_of(client.get(page).text)})


# --- who may reach what -----------------------------------------------------------------------------------


def test_agency_staff_get_403_on_the_call_queue(server: str) -> None:
    make_user("pupr1", "agency_staff", "PUPR")
    staff = console_login(server, "pupr1")
    assert staff.get("/console/queue").status_code == 403
    make_user("ani", "operator")
    assert console_login(server, "ani").get("/console/queue").status_code == 200


def test_roles_differ(server: str) -> None:
    make_user("op", "operator")
    make_user("sup", "supervisor")
    make_user("adm", "admin")
    operator, supervisor, admin = (console_login(server, name) for name in ("op", "sup", "adm"))
    made = post_form(operator, "/console", "/console/tickets", {"category": "roads", "text": "Jalan ambles"})
    assert made.status_code == 303  # an operator works tickets
    page = "/console/tickets/1"
    assert post_form(operator, page, "/console/tickets/1/note", {"note": "dicek"}).status_code == 303
    assert post_form(operator, page, "/console/tickets/1/reassign", {"agency": "BPBD"}).status_code == 403
    assert post_form(operator, "/console/shield", "/console/shield/prank", {"phone": "081234567890"}).status_code == 403
    assert post_form(supervisor, page, "/console/tickets/1/reassign", {"agency": "BPBD"}).status_code == 303
    assert (
        post_form(supervisor, "/console/shield", "/console/shield/prank", {"phone": "081234567890"}).status_code == 303
    )
    # only an admin manages users
    assert operator.get("/console/users").status_code == 403
    assert supervisor.get("/console/users").status_code == 403
    users = admin.get("/console/users")
    assert users.status_code == 200 and 'data-user="op"' in users.text
    assert 'href="/console/users"' in users.text and 'href="/console/users"' not in supervisor.get("/console").text
    with unit_of_work() as session:
        from hotline.models import User

        op_id = session.scalar(select(User.id).where(User.username == "op"))
    assert post_form(supervisor, "/console", f"/console/users/{op_id}/disable", {}).status_code == 403
    assert signed_in(operator)
    assert post_form(admin, "/console/users", f"/console/users/{op_id}/disable", {}).status_code == 303
    assert not signed_in(operator)  # disabled: the session ended at once
    assert post_form(admin, "/console/users", f"/console/users/{op_id}/enable", {}).status_code == 303
    assert signed_in(console_login(server, "op"))


# --- sessions and tokens end on the server ----------------------------------------------------------------------


def test_logout_ends_the_session_on_the_server(server: str) -> None:
    make_user("ani", "operator")
    client = console_login(server, "ani")
    kept = replay(server, client)
    assert signed_in(kept)
    answer = post_form(client, "/console", "/console/logout", {})
    assert answer.status_code == 303
    assert not signed_in(kept)  # the cookie copied before logout no longer works
    assert kept.get("/console/tickets").headers["location"] == "/console/login"


def test_the_live_stream_ends_when_the_session_does(server: str) -> None:
    make_user("ani", "operator")
    client = console_login(server, "ani")
    ended_at = None
    with replay(server, client).stream("GET", "/console/live", timeout=15) as stream:
        lines = stream.iter_lines()
        assert next(lines) == "retry: 2000"
        assert post_form(client, "/console", "/console/logout", {}).status_code == 303
        started = time.monotonic()
        for _ in lines:  # keepalives at most; the server closes the stream within a poll or two
            pass
        ended_at = time.monotonic() - started
    assert ended_at is not None and ended_at < 10


def test_password_change_disable_and_revoke_end_sessions_and_tokens(server: str) -> None:
    make_user("ani", "operator")
    first = console_login(server, "ani")
    token = make_token("bot", "operator")
    api = httpx.Client(base_url=server, headers={"Authorization": f"Bearer {token}"}, timeout=10)
    assert api.get("/api/v1/tickets").status_code == 200

    code, out = hotline("user", "password", "ani", "--password-stdin", stdin=NEW_PASSWORD + "\n")
    assert code == 0 and "1 session(s) ended" in out, out
    assert not signed_in(first)
    second = console_login(server, "ani", NEW_PASSWORD)

    code, out = hotline("user", "list")
    assert code == 0 and "ani\toperator\t-\tactive\tsessions 1" in out and "bot\toperator" in out, out
    code, out = hotline("user", "disable", "ani")
    assert code == 0 and "disabled" in out
    assert not signed_in(second)
    refused = httpx.Client(base_url=server).get("/console/login")
    login = httpx.Client(base_url=server, cookies=refused.cookies).post(
        "/console/login", data={"username": "ani", "password": NEW_PASSWORD, "csrf": csrf_of(refused.text)}
    )
    assert login.status_code == 401  # a disabled user cannot sign in
    assert hotline("user", "enable", "ani")[0] == 0
    assert signed_in(console_login(server, "ani", NEW_PASSWORD))

    code, out = hotline("user", "revoke", "bot")
    assert code == 0 and "1 token(s) revoked" in out
    assert api.get("/api/v1/tickets").status_code == 401
    assert hotline("user", "revoke", "nobody")[0] == 1
    with unit_of_work() as session:
        actions = set(session.scalars(select(AuditEntry.action)))
    assert {"user.password", "user.disable", "user.enable", "user.revoke", "logout"} - actions == {"logout"}


def test_tokens_expire_and_one_token_can_be_revoked(server: str) -> None:
    make_user("bot", "operator")
    code, out = hotline("user", "token", "bot", "--name", "app", "--days", "30")
    assert code == 0
    token = out.strip().splitlines()[-1]
    second = hotline("user", "token", "bot", "--name", "other")[1].strip().splitlines()[-1]
    get = lambda t: httpx.get(f"{server}/api/v1/tickets", headers={"Authorization": f"Bearer {t}"}).status_code  # noqa: E731
    assert (get(token), get(second)) == (200, 200)
    with unit_of_work() as session:
        row = session.scalar(select(ApiToken).where(ApiToken.name == "app"))
        assert row is not None and row.expires_at is not None
        assert timedelta(days=29) < row.expires_at - utcnow() <= timedelta(days=30)
        session.execute(
            update(ApiToken).where(ApiToken.id == row.id).values(expires_at=utcnow() - timedelta(seconds=1))
        )
        other_id = session.scalar(select(ApiToken.id).where(ApiToken.name == "other"))
    assert get(token) == 401  # expired
    assert get(second) == 200
    assert hotline("user", "revoke", "bot", "--token", str(other_id))[0] == 0
    assert get(second) == 401
    odd = httpx.get(f"{server}/api/v1/tickets", headers={"Authorization": "Bearer htl_ünïcode".encode()})
    assert odd.status_code == 401  # not a 500


# --- the client's address, login limits --------------------------------------------------------------------------


def _login(
    server: str, username: str, password: str, xff: str | None = None, cookies: dict[str, str] | None = None
) -> httpx.Response:
    headers = {"X-Forwarded-For": xff} if xff else {}
    client = httpx.Client(base_url=server, headers=headers, cookies=cookies, timeout=10)
    page = client.get("/console/login")
    return client.post("/console/login", data={"username": username, "password": password, "csrf": csrf_of(page.text)})


def _login_ips() -> list[str | None]:
    with unit_of_work() as session:
        return list(
            session.scalars(select(AuditEntry.ip).where(AuditEntry.action.like("login%")).order_by(AuditEntry.id))
        )


def test_forwarded_for_is_believed_only_from_a_trusted_proxy(server: str) -> None:
    make_user("ani", "operator")
    assert _login(server, "ani", PASSWORD, xff="203.0.113.9").status_code == 303
    assert _login_ips() == ["127.0.0.1"]  # no proxy configured: the header is the client's own words
    with settings(HOTLINE_TRUSTED_PROXIES="127.0.0.1"):
        # nginx appends the address it saw; what the client wrote left of it is not believed
        assert _login(server, "ani", PASSWORD, xff="198.51.100.7, 203.0.113.9").status_code == 303
        assert _login_ips()[-1] == "203.0.113.9"
        # one client behind the proxy locks out only itself
        for _ in range(login_limit.MAX_FAILURES):
            assert _login(server, "ani", "wrong password", xff="203.0.113.66").status_code == 401
        assert _login(server, "ani", PASSWORD, xff="203.0.113.66").status_code == 429
        assert _login(server, "ani", PASSWORD, xff="203.0.113.10").status_code == 303
    with settings(HOTLINE_TRUSTED_PROXIES="10.0.0.0/8"):  # the proxy is elsewhere: 127.0.0.1 is a client
        assert _login(server, "ani", PASSWORD, xff="203.0.113.11").status_code == 303
        assert _login_ips()[-1] == "127.0.0.1"


def test_rotating_addresses_hit_the_account_budget_but_the_users_own_browser_still_signs_in(server: str) -> None:
    make_user("ani", "operator")
    own_browser = httpx.Client(base_url=server, timeout=10)  # the user signed in here before
    page = own_browser.get("/console/login")
    own_browser.post("/console/login", data={"username": "ani", "password": PASSWORD, "csrf": csrf_of(page.text)})
    device = {k: v for k, v in own_browser.cookies.items() if k == "hotline_device"}
    assert device, "a successful sign-in leaves the known-device cookie"
    with settings(HOTLINE_TRUSTED_PROXIES="127.0.0.1"):
        codes = [
            _login(server, "ani", f"guess {n}", xff=f"198.51.100.{n}").status_code for n in range(1, 41)
        ]  # 40 tries, each from a "new" address
        assert codes.count(401) == login_limit.ACCOUNT_FAILURES and set(codes[login_limit.ACCOUNT_FAILURES :]) == {429}
        # even the right password from a new address waits for the window to end ...
        assert _login(server, "ani", PASSWORD, xff="198.51.100.200").status_code == 429
        # ... but the attacker cannot lock the user out of the browser they use
        assert _login(server, "ani", PASSWORD, xff="192.0.2.50", cookies=device).status_code == 303
        # and the device cookie is no master key: wrong passwords from it still count per address
        assert _login(server, "ani", "wrong", xff="192.0.2.50", cookies=device).status_code == 401


# --- cookies, headers, what production shows -----------------------------------------------------------------------


def _session_cookie_header(server: str) -> str:
    answer = httpx.get(f"{server}/console/login")
    return next(v for k, v in answer.headers.multi_items() if k == "set-cookie" and v.startswith("hotline_session="))


def test_session_cookie_is_secure_when_the_public_url_is_https(server: str) -> None:
    assert "secure" not in _session_cookie_header(server).lower()  # plain http on localhost, in development
    with settings(HOTLINE_PUBLIC_URL="https://hotline.example.go.id"):
        assert "; secure" in _session_cookie_header(server).lower()
    with settings(HOTLINE_TRUSTED_PROXIES="127.0.0.1"):  # https at the proxy, said by X-Forwarded-Proto
        answer = httpx.get(f"{server}/console/login", headers={"X-Forwarded-Proto": "https"})
        assert "; secure" in answer.headers["set-cookie"].lower()


def test_flash_shows_only_known_messages(server: str) -> None:
    make_user("ani", "operator")
    client = console_login(server, "ani")
    phishing = client.get("/console", params={"flash": "Akun Anda diblokir. Hubungi 0812-0000-0000"})
    assert "Akun Anda diblokir" not in phishing.text and 'class="flash"' not in phishing.text
    assert '<p class="flash" role="status">Tersimpan.</p>' in client.get("/console", params={"flash": "saved"}).text
    forged = client.get("/console", params={"error": "Akun Anda diblokir"})
    assert "Akun Anda diblokir" not in forged.text


def test_what_a_reporter_wrote_is_shown_as_text(server: str) -> None:
    make_user("ani", "operator")
    client = console_login(server, "ani")
    text = '<script>alert(1)</script><img src=x onerror="alert(2)">'
    made = post_form(client, "/console", "/console/tickets", {"category": "roads", "text": text})
    page = client.get(made.headers["location"]).text
    assert "<script>alert(1)" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "<img src=x" not in page


def test_pages_carry_a_content_security_policy_and_may_not_be_framed(server: str) -> None:
    for path in ("/console/login", "/healthz", "/api/v1/scorecard"):
        headers = httpx.get(f"{server}{path}").headers
        assert "frame-ancestors 'none'" in headers["content-security-policy"], path
        assert headers["x-frame-options"] == "DENY" and headers["x-content-type-options"] == "nosniff"
    csp = httpx.get(f"{server}/console/login").headers["content-security-policy"]
    assert "script-src 'self'" in csp and "default-src 'self'" in csp
    assert "media-src 'self' https:" in csp  # a Twilio recording plays from api.twilio.com


PRODUCTION = {
    "HOTLINE_ENV": "production",
    "HOTLINE_SECRET_KEY": "q7Lr2vXc9PzK4mWn8tYb3JhF6sDg1aEu0oRkVwZx",
    "HOTLINE_PUBLIC_URL": "https://hotline.example.go.id",
    "TWILIO_AUTH_TOKEN": "5f0c9a7e2b41d8c36e9f1a0b7d2c4e85",
}


def test_docs_and_openapi_are_off_in_production_unless_enabled(backend: dict[str, str]) -> None:
    from starlette.routing import Route

    from hotline.web.app import create_app

    def documented() -> set[str]:
        paths = {r.path for r in create_app().routes if isinstance(r, Route)}
        return paths & {"/docs", "/redoc", "/openapi.json"}

    assert documented() == {"/docs", "/redoc", "/openapi.json"}  # development: on
    with settings(**PRODUCTION):
        assert documented() == set()
        with settings(HOTLINE_API_DOCS="true"):
            assert documented() == {"/docs", "/redoc", "/openapi.json"}


@pytest.mark.parametrize(
    ("setting", "value", "says"),
    [
        ("HOTLINE_SECRET_KEY", "a" * 32, "HOTLINE_SECRET_KEY is one character repeated"),
        (
            "HOTLINE_SECRET_KEY",
            "CHANGE-ME-to-a-long-random-string-please",
            "HOTLINE_SECRET_KEY is unset or a placeholder",
        ),
        ("HOTLINE_SECRET_KEY", "change_me_0123456789_0123456789_0123", "HOTLINE_SECRET_KEY is unset or a placeholder"),
        ("HOTLINE_SECRET_KEY", "abcd" * 10, "HOTLINE_SECRET_KEY is a short pattern repeated"),
        ("HOTLINE_SECRET_KEY", "abcdefghijklmnopqrstuvwxyz0123456789", "HOTLINE_SECRET_KEY is a run of neighbouring"),
        ("TWILIO_AUTH_TOKEN", "0" * 32, "TWILIO_AUTH_TOKEN is one character repeated"),
        ("TWILIO_AUTH_TOKEN", "CHANGE-ME", "TWILIO_AUTH_TOKEN is unset or a placeholder"),
        ("HOTLINE_BACKUP_SMS_PASSWORD", "kannel", "HOTLINE_BACKUP_SMS_PASSWORD is shorter than 12 characters"),
    ],
)
def test_production_refuses_low_entropy_secrets_in_one_line(setting: str, value: str, says: str) -> None:
    from pydantic import ValidationError

    from hotline.settings import Settings, settings_problems

    env = {**PRODUCTION, "TWILIO_ACCOUNT_SID": "AC" + "1f" * 16, "HOTLINE_BACKUP_SMS_URL": "http://127.0.0.1:13013/"}
    env.setdefault("HOTLINE_BACKUP_SMS_PASSWORD", "Vx8-kq2Lm9-Pz")
    env[setting] = value
    with pytest.raises(ValidationError) as refused:
        Settings(**env)  # type: ignore[arg-type]
    [line] = settings_problems(refused.value)
    assert "refusing to start in production" in line and says in line and "\n" not in line, line


def test_production_refuses_a_weak_gateway_secret() -> None:
    from hotline.core.gateway_config import read_routing
    from hotline.settings import Settings

    gateway = {
        "HOTLINE_GATEWAY_KANNEL_URL": "http://127.0.0.1:13013/cgi-bin/sendsms",
        "HOTLINE_GATEWAY_KANNEL_USERNAME": "hotline",
        "HOTLINE_GATEWAY_KANNEL_PASSWORD": "Vx8-kq2Lm9-Pz",
        "HOTLINE_GATEWAY_KANNEL_SECRET": "xxxxxxxxxxxxxxxx",
    }
    production = Settings(**PRODUCTION, HOTLINE_SMS_GATEWAYS="kannel")  # type: ignore[arg-type]
    assert read_routing(production, gateway).problems == (
        "settings: HOTLINE_GATEWAY_KANNEL_SECRET: unset or a placeholder; production needs a real secret",
    )
    gateway["HOTLINE_GATEWAY_KANNEL_SECRET"] = "k" * 16
    assert "one character repeated" in read_routing(production, gateway).problems[0]
