"""A pydantic ValidationError of settings as lines a person reads: one per setting, named as it is set."""

from __future__ import annotations

from pydantic import ValidationError


def error_lines(exc: ValidationError) -> list[str]:
    """`HOTLINE_PORT: Input should be ...`, one line per setting that cannot work."""
    lines = []
    for problem in exc.errors():
        where = ".".join(str(part) for part in problem["loc"])
        # Our own validators' ValueErrors read as sentences; pydantic would prefix them with "Value error, ".
        error = problem.get("ctx", {}).get("error")
        message = str(error) if problem["type"] == "value_error" and error is not None else problem["msg"]
        lines.append(f"{where + ': ' if where else ''}{message}")
    return lines
