"""pydantic validation errors as ConfigErrors at the line of the offending key, with a fix."""

from __future__ import annotations

from pydantic import ValidationError

from hotline.cityconfig.errors import ConfigError
from hotline.cityconfig.yamlsource import Path_, YamlSource


def pydantic_errors(source: YamlSource, exc: ValidationError, prefix: Path_ = ()) -> list[ConfigError]:
    """`prefix` locates the validated value inside the file (a node validated on its own)."""
    errors = []
    for err in exc.errors():
        loc = (*prefix, *(p for p in err["loc"] if p != "[key]"))
        where = ".".join(str(p) for p in loc) or "top level"
        fix = ""
        if err["type"] == "extra_forbidden":
            fix = f"remove '{loc[-1]}' or check its spelling"
        elif err["type"] == "missing":
            fix = f"add '{loc[-1]}'"
        elif err["type"] == "literal_error":
            fix = f"use one of {err.get('ctx', {}).get('expected', '')}"
        errors.append(source.error(loc, f"{where}: {err['msg']}", fix))
    return errors
