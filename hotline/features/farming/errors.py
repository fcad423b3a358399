"""The farming feature's errors; the edge (CLI, web) maps them to an exit code or an HTTP status once."""

from __future__ import annotations


class FarmingError(Exception):
    """Base of this feature's domain errors."""


class RegistryFileError(FarmingError):
    """The file cannot be read as a farmer spreadsheet at all (wrong type, no header row)."""


class RegistryRejected(FarmingError):
    """Some rows are wrong: nothing was imported. `problems` has one line per problem, with its row."""

    def __init__(self, problems: list[str]):
        self.problems = problems
        super().__init__("\n".join(problems))


class FarmerNotFound(FarmingError):
    pass


class FarmingOff(FarmingError):
    """The city has no routing/farming.yaml."""
