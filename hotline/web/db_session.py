"""The request's database session, as a FastAPI dependency (issue 16): one transaction per request, opened by
the endpoint's signature instead of `with unit_of_work()` in its body.

`scope="function"`: the transaction commits, and its after-commit work (jobs queued, timers armed) runs, when the
endpoint returns and before the answer leaves, as the `with` block did: a client that reads right after its write
finds it. An exception from the endpoint (an HTTPException, a domain error) rolls it back and is answered as
before. The session opens no connection until its first query, so a request refused before it reads costs none."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends
from sqlalchemy.orm import Session

from hotline.db import unit_of_work


def request_session() -> Iterator[Session]:
    with unit_of_work() as session:
        yield session


DbSession = Annotated[Session, Depends(request_session, scope="function")]
