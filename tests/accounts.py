"""Accounts for tests: users with a known password and API tokens, made through the real services."""

from __future__ import annotations

import html
import re

import httpx

from hotline.core.city import current_config
from hotline.db import unit_of_work
from hotline.features.accounts.accounts import create_user, issue_token

PASSWORD = "correct horse battery"


def make_user(username: str, role: str, agency: str | None = None, answer_at: str | None = None) -> int:
    with unit_of_work() as session:
        user = create_user(
            session, config=current_config(), username=username, role=role, password=PASSWORD, agency=agency
        )
        user.answer_at = answer_at
        return user.id


def make_token(username: str, role: str, agency: str | None = None) -> str:
    make_user(username, role, agency)
    with unit_of_work() as session:
        from sqlalchemy import select

        from hotline.models import User

        user = session.scalar(select(User).where(User.username == username))
        assert user is not None
        return issue_token(session, user=user, name="tests")


def csrf_of(html: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', html)
    assert found, "page has no CSRF field"
    return found.group(1)


def console_login(base_url: str, username: str, password: str = PASSWORD) -> httpx.Client:
    """An httpx client signed in to the console as a browser would: GET the form, POST it with its token."""
    client = httpx.Client(base_url=base_url, timeout=10)
    page = client.get("/console/login")
    answer = client.post(
        "/console/login", data={"username": username, "password": password, "csrf": csrf_of(page.text)}
    )
    assert answer.status_code == 303, answer.text
    return client


def shown_after(client: httpx.Client, answer: httpx.Response) -> str:
    """The message (banner) on the page a form's 303 leads to ('' when none)."""
    assert answer.status_code == 303, answer.text
    page = client.get(answer.headers["location"]).text
    found = re.search(r'<p class="flash" role="status">(.*?)</p>', page, re.S)
    return html.unescape(found.group(1)) if found else ""


def make_partner(name: str, per_minute: int = 30) -> str:
    """An Open311 partner key, made as `hotline partner add` makes it."""
    from hotline.features.open311.partners import add_partner

    with unit_of_work() as session:
        return add_partner(session, name=name, created_by="tests", per_minute=per_minute)


def error_after(client: httpx.Client, answer: httpx.Response) -> str:
    """The error (in the error style, role=alert) on the page a form's 303 leads to ('' when none)."""
    assert answer.status_code == 303, answer.text
    page = client.get(answer.headers["location"]).text
    assert '<p class="flash"' not in page  # never an error in the green success box
    found = re.search(r'<p class="error-box" role="alert">(.*?)</p>', page, re.S)
    return html.unescape(re.sub(r"<[^>]+>", "", found.group(1))) if found else ""
