"""The request's database session, as a FastAPI dependency (issue 16): one transaction per request, opened by
the endpoint's signature instead of `with unit_of_work()` in its body.

`scope="function"`: the transaction commits, and its after-commit work (jobs queued, timers armed) runs, when the
endpoint returns and before the answer leaves, as the `with` block did: a client that reads right after its write
finds it. An exception from the endpoint (an HTTPException, a domain error) rolls it back and is answered as
before. The session opens no connection until its first query, so a request refused before it reads costs none.

An endpoint that catches a domain error to answer with a page (a flash, the form again) returns normally, so its
transaction would commit: it runs the work in `all_or_nothing(session)`, which rolls back on the way out."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated

from fastapi import Depends
from sqlalchemy.orm import Session

from hotline.db import roll_back, unit_of_work


def request_session() -> Iterator[Session]:
    with unit_of_work() as session:
        yield session


DbSession = Annotated[Session, Depends(request_session, scope="function")]


@contextmanager
def all_or_nothing(session: Session) -> Iterator[None]:
    """The work inside commits with the request or not at all: an exception leaving the block first undoes the
    request's transaction and forgets its after-commit work (db.roll_back), even when the endpoint then catches
    it and answers normally."""
    try:
        yield
    except BaseException:
        roll_back(session)
        raise
