"""An import-linter contract: no import cycle between the modules of the root package (`lint-imports`, .ci/run).

import-linter's own `acyclic_siblings` looks at packages; this looks at modules, as grimp sees every import
(inside functions and under TYPE_CHECKING too): each strongly connected group of two or more modules is a
cycle, reported with one import chain through it."""

from __future__ import annotations

from typing import Any

import grimp
from importlinter.application import output
from importlinter.domain.contract import Contract, ContractCheck


def _groups(graph: grimp.ImportGraph, modules: set[str]) -> list[list[str]]:
    """Tarjan's strongly connected components of `modules`, the groups of two or more."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    groups: list[list[str]] = []
    counter = 0
    for root in sorted(modules):
        if root in index:
            continue
        work: list[tuple[str, list[str]]] = [(root, sorted(graph.find_modules_directly_imported_by(root) & modules))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, todo = work[-1]
            if todo:
                nxt = todo.pop()
                if nxt not in index:
                    index[nxt] = low[nxt] = counter
                    counter += 1
                    stack.append(nxt)
                    on_stack.add(nxt)
                    work.append((nxt, sorted(graph.find_modules_directly_imported_by(nxt) & modules)))
                elif nxt in on_stack:
                    low[node] = min(low[node], index[nxt])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                group = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    group.append(member)
                    if member == node:
                        break
                if len(group) > 1:
                    groups.append(sorted(group))
    return sorted(groups)


class NoCycles(Contract):
    def check(self, graph: grimp.ImportGraph, verbose: bool) -> ContractCheck:
        roots = self.session_options.get("root_packages") or [self.session_options["root_package"]]
        modules = {m for m in graph.modules if any(m == r or m.startswith(r + ".") for r in roots)}
        cycles: list[dict[str, Any]] = []
        for group in _groups(graph, modules):
            first, second = group[0], None
            for candidate in group[1:]:
                if graph.direct_import_exists(importer=first, imported=candidate) or graph.find_shortest_chain(
                    importer=candidate, imported=first
                ):
                    second = candidate
                    break
            back = graph.find_shortest_chain(importer=second, imported=first) if second else None
            there = graph.find_shortest_chain(importer=first, imported=second) if second else None
            cycles.append({"modules": group, "chain": list(there or ()) + list((back or ())[1:])})
        return ContractCheck(kept=not cycles, warnings=[], metadata={"cycles": cycles})

    def render_broken_contract(self, check: ContractCheck) -> None:
        for cycle in check.metadata["cycles"]:
            output.print(f"{len(cycle['modules'])} modules import one another: {', '.join(cycle['modules'])}")
            if cycle["chain"]:
                output.print("  " + " -> ".join(cycle["chain"]))
            output.new_line()
