"""bench/architecture: the static figures issue 16 asks for, of this checkout or another (an older commit).

    .venv/bin/python bench/architecture.py                 # this checkout
    .venv/bin/python bench/architecture.py /path/to/other  # e.g. a worktree of the commit before the timer core

Prints, for the `hotline` package of that checkout:
- import cycles: the groups of two or more modules that import one another (strongly connected components of
  grimp's graph: every import counts, inside functions and under TYPE_CHECKING too; the same rule as
  ci_checks/import_cycles.py, which CI runs through lint-imports), each with its size;
- the longest module and the longest function or method (lines, `def` to its last line, decorators left out);
- lines of hotline/jobs/ and of the timer code outside it (the table of due work and the deadline port), as
  `wc -l` counts them and without blank and comment-only lines.

Reads files only; imports nothing from the checkout it measures (grimp parses the source)."""

from __future__ import annotations

import argparse
import ast
import sys
from pathlib import Path

import grimp

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from ci_checks.import_cycles import _groups  # after the path: run as a script from any folder

TIMER_CODE_OUTSIDE_JOBS = ("hotline/core/deadlines.py", "hotline/models/timers.py")


def cycles(root: Path) -> list[list[str]]:
    sys.path.insert(0, str(root))  # grimp finds the package where Python would: this checkout first
    for name in [m for m in sys.modules if m == "hotline" or m.startswith("hotline.")]:
        del sys.modules[name]
    graph = grimp.build_graph("hotline", cache_dir=None)
    return _groups(graph, set(graph.modules))


def lines(path: Path) -> tuple[int, int]:
    text = path.read_text(encoding="utf-8").splitlines()
    code = [line for line in text if line.strip() and not line.strip().startswith("#")]
    return len(text), len(code)


def longest_function(files: list[Path], root: Path) -> tuple[int, str]:
    best = (0, "")
    for path in files:
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.end_lineno is not None:
                length = node.end_lineno - node.lineno + 1
                if length > best[0]:
                    best = (length, f"{path.relative_to(root)}:{node.lineno} {node.name}")
    return best


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("checkout", type=Path, nargs="?", default=Path(__file__).resolve().parents[1])
    root = parser.parse_args().checkout.resolve()
    files = sorted(p for p in (root / "hotline").rglob("*.py") if "migrations" not in p.parts)
    groups = cycles(root)
    print(f"checkout: {root}")
    print(f"import cycles (groups of modules importing one another): {len(groups)}")
    for group in groups:
        print(f"  {len(group)} modules: {', '.join(group[:6])}{' ...' if len(group) > 6 else ''}")
    longest = max(files, key=lambda p: lines(p)[0])
    print(f"modules (hotline/, without migrations): {len(files)}")
    print(f"longest module: {longest.relative_to(root)} {lines(longest)[0]} lines")
    length, where = longest_function(files, root)
    print(f"longest function: {where} {length} lines")
    jobs = sorted((root / "hotline" / "jobs").glob("*.py"))
    outside = [root / p for p in TIMER_CODE_OUTSIDE_JOBS if (root / p).exists()]
    total = [sum(lines(p)[i] for p in jobs) for i in (0, 1)]
    extra = [sum(lines(p)[i] for p in outside) for i in (0, 1)]
    print(f"hotline/jobs/: {len(jobs)} modules, {total[0]} lines ({total[1]} without blank and comment lines)")
    print(
        f"timer code outside jobs/ ({', '.join(str(p.relative_to(root)) for p in outside) or 'none'}): "
        f"{extra[0]} lines ({extra[1]})"
    )
    print(f"together: {total[0] + extra[0]} lines ({total[1] + extra[1]})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
