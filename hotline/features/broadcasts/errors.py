"""What can go wrong with a broadcast, in words the edge maps once to HTTP or the CLI."""

from __future__ import annotations


class BroadcastError(ValueError):
    """Bad input or a step the broadcast's state does not allow; the message says which and how to fix it."""


class UnknownDesa(BroadcastError):
    pass


class BadMessage(BroadcastError):
    pass


class NotAllowed(BroadcastError):
    """Two-person rule, or a state that does not allow the step (approve a cancelled broadcast)."""


class NotFound(BroadcastError):
    pass


class CsvRejected(BroadcastError):
    """Every problem of a CSV, one `file:row: problem` line each; nothing of it was imported."""

    def __init__(self, problems: list[str]):
        super().__init__("\n".join(problems))
        self.problems = problems
