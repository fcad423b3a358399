"""The request's transaction (hotline/web/db_session.py `DbSession`), on the real database.

Through a small app of its own: a handler that returns commits, and its after-commit work has run by the time
the answer arrives; a handler that fails (an HTTPException, a domain error) commits nothing and runs no
after-commit work. And `all_or_nothing`: an endpoint that catches a domain error to answer with a page returns
normally, so what it undid must stay undone when the request commits, and the after-commit work of the undone
part (an SMS's send job, a timer) must never run."""

from __future__ import annotations

import pytest
from anyio.to_thread import run_sync
from fastapi import FastAPI, HTTPException
from sqlalchemy import select

from hotline.db import after_commit, unit_of_work
from hotline.features.accounts.audit import audit
from hotline.models import AuditEntry
from hotline.web.db_session import DbSession, all_or_nothing
from tests.helpers import AsgiClient

pytestmark = pytest.mark.usefixtures("backend")  # the real database, emptied for each test


def _app(done: list[str]) -> FastAPI:
    app = FastAPI()

    def write(session: DbSession, action: str) -> None:
        session.add(AuditEntry(actor="test", action=action))
        session.flush()  # written, not committed: a failure after it must leave no row
        after_commit(session, lambda: done.append(action))

    @app.post("/ok")
    def ok(session: DbSession) -> dict[str, str]:
        write(session, "ok")
        return {"done": "yes"}

    @app.post("/refused")
    def refused(session: DbSession) -> None:
        write(session, "refused")
        raise HTTPException(409, "refused after writing")

    @app.post("/async")
    async def in_a_thread(session: DbSession) -> dict[str, str]:  # as Open311's POST files its request
        await run_sync(write, session, "async")
        return {"done": "yes"}

    return app


def _actions() -> list[str]:
    with unit_of_work() as session:
        return list(session.scalars(select(AuditEntry.action).where(AuditEntry.actor == "test")))


def test_a_request_commits_and_runs_its_after_commit_work_before_it_answers() -> None:
    done: list[str] = []
    client = AsgiClient(_app(done))
    assert client.post("/ok").json() == {"done": "yes"}
    assert done == ["ok"] and _actions() == ["ok"]
    assert client.post("/async").json() == {"done": "yes"}
    assert done == ["ok", "async"] and _actions() == ["ok", "async"]


def test_a_failed_request_commits_nothing() -> None:
    done: list[str] = []
    answer = AsgiClient(_app(done)).post("/refused")
    assert (answer.status_code, answer.json()) == (409, {"detail": "refused after writing"})
    assert done == [] and _actions() == []


def test_work_undone_inside_a_request_is_not_committed_nor_followed_by_its_after_commit_work() -> None:
    ran: list[str] = []
    with unit_of_work() as session:  # as request_session() holds it for an endpoint
        with pytest.raises(ValueError, match="refused"), all_or_nothing(session):
            audit(session, actor="ani", action="undone")
            session.flush()
            after_commit(session, lambda: ran.append("undone"))
            raise ValueError("refused")  # the endpoint catches it and renders the form again
        audit(session, actor="ani", action="kept")  # what the endpoint does after: committed with the request
        after_commit(session, lambda: ran.append("kept"))
    assert ran == ["kept"]
    with unit_of_work() as session:
        assert list(session.scalars(select(AuditEntry.action))) == ["kept"]


def test_work_that_succeeds_inside_all_or_nothing_commits_with_the_request() -> None:
    ran: list[str] = []
    with unit_of_work() as session:
        with all_or_nothing(session):
            audit(session, actor="ani", action="saved")
            after_commit(session, lambda: ran.append("saved"))
        assert ran == []  # not before the commit
    assert ran == ["saved"]
    with unit_of_work() as session:
        assert list(session.scalars(select(AuditEntry.action))) == ["saved"]
