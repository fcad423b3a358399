"""Every broad exception handler says why it is broad (`python -m ci_checks.broad_excepts hotline`, .ci/run).

Ruff's BLE001 (pyproject.toml) refuses `except Exception`/`except BaseException` unless the handler logs the
traceback or raises; a handler that logs is let through without a word on why it catches everything. The
rule here: a broad handler (`except:`, `except Exception`, `except BaseException`, either in a tuple, or
`contextlib.suppress` of either) carries a `# broad: <why>` comment on its `except` (or `with`) line, unless it
ends by raising (clean-up before a re-raise, or a provider's failure turned into the port's error). Anything
narrower needs no comment."""

from __future__ import annotations

import ast
import io
import sys
import tokenize
from pathlib import Path

BROAD = frozenset({"Exception", "BaseException"})
MARK = "# broad:"


def _names(node: ast.expr | None) -> list[str]:
    if node is None:
        return ["(bare)"]
    if isinstance(node, ast.Tuple):
        return [name for element in node.elts for name in _names(element)]
    if isinstance(node, ast.Name):
        return [node.id]
    if isinstance(node, ast.Attribute):
        return [node.attr]
    return []


def _is_broad(node: ast.expr | None) -> bool:
    return any(name in BROAD or name == "(bare)" for name in _names(node))


def _comments(source: str) -> dict[int, str]:
    found: dict[int, str] = {}
    for token in tokenize.generate_tokens(io.StringIO(source).readline):
        if token.type == tokenize.COMMENT:
            found[token.start[0]] = token.string
    return found


def _suppresses_broadly(item: ast.withitem) -> bool:
    call = item.context_expr
    if not isinstance(call, ast.Call):
        return False
    func = call.func
    name = func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else ""
    return name == "suppress" and any(_is_broad(arg) for arg in call.args)


def unexplained(source: str) -> list[int]:
    """The lines of the broad handlers in `source` that neither say why nor raise."""
    comments = _comments(source)
    lines: list[int] = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.ExceptHandler) and _is_broad(node.type):
            header = range(node.lineno, (node.body[0].lineno if node.body else node.lineno))
            said = any(MARK in comments.get(line, "") for line in header or [node.lineno])
            if not said and not isinstance(node.body[-1], ast.Raise):
                lines.append(node.lineno)
        elif isinstance(node, ast.With | ast.AsyncWith):
            for item in node.items:
                if _suppresses_broadly(item) and MARK not in comments.get(item.context_expr.lineno, ""):
                    lines.append(item.context_expr.lineno)
    return sorted(lines)


def check(root: Path) -> list[str]:
    """`path:line` of every unexplained broad handler under `root`."""
    return [
        f"{path}:{line}"
        for path in sorted(root.rglob("*.py"))
        for line in unexplained(path.read_text(encoding="utf-8"))
    ]


def main(argv: list[str]) -> int:
    found = [where for root in argv or ["hotline"] for where in check(Path(root))]
    for where in found:
        print(f"{where}: a broad exception handler without `{MARK} <why>` (or narrow it)")
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
