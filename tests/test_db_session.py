"""The request's transaction (hotline/web/db_session.py): an endpoint that catches a domain error to answer with a
page returns normally, so what it undid with `all_or_nothing` must stay undone when the request commits, and the
after-commit work of the undone part (an SMS's send job, a timer) must never run."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from hotline.db import after_commit, unit_of_work
from hotline.features.accounts.audit import audit
from hotline.models import AuditEntry
from hotline.web.db_session import all_or_nothing

pytestmark = pytest.mark.usefixtures("backend")


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
