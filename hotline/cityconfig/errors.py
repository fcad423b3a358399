from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ConfigError:
    file: str
    line: int
    message: str
    fix: str = ""

    def __str__(self) -> str:
        text = f"{self.file}:{self.line}: {self.message}"
        return f"{text} (fix: {self.fix})" if self.fix else text


class ConfigErrors(Exception):
    """One or more problems in the city's data; str() lists them as file:line lines."""

    def __init__(self, errors: list[ConfigError]):
        self.errors = errors
        super().__init__("\n".join(str(e) for e in errors))
