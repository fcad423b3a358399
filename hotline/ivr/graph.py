"""A flow's nodes as a graph: every way from one node to the next, and what each way sets.

Used by the flow validator (unreachable nodes, loops that never wait for the caller, a node that may
run before a field it needs is set). Edges include the implicit ones the engine adds: the operator
key at every menu and gather, and the operator node after a failed ticket.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from hotline.ivr.flow import (
    RESTING_NODES,
    AcceptTicketNode,
    BranchNode,
    Condition,
    CreateTicketNode,
    GatherNode,
    HangupNode,
    MenuNode,
    Node,
    ReadNumberNode,
    RecordNode,
    SayNode,
    ScreenNode,
    SendSmsNode,
    SetNode,
    TransferNode,
)

YamlPath = tuple[str | int, ...]


@dataclass(frozen=True)
class Edge:
    source: str
    target: str
    writes: frozenset[str]  # fields certainly set when the call goes this way
    where: YamlPath  # the key inside the source node that names the target ('' path: implicit)


def _condition_sets(when: Condition) -> frozenset[str]:
    """Fields a branch case guarantees are set when it matches."""
    found: set[str] = set()
    if when.has_open_ticket:
        found |= {"open_ticket_number", "open_ticket_status"}
    if when.emergency:
        found.add("category")
    if when.field and (when.is_set or when.equals is not None or when.one_of):
        found.add(when.field)
    return frozenset(found)


def _retry_edges(node: MenuNode | GatherNode | RecordNode) -> list[Edge]:
    return [Edge(node.id, node.retry.on_fail, frozenset(), ("on_fail",))]


def node_edges(node: Node, operator_node: str, operator_key: bool) -> list[Edge]:
    none: frozenset[str] = frozenset()
    e = Edge
    match node:
        case SayNode() | ReadNumberNode() | SendSmsNode() | ScreenNode():
            return [e(node.id, node.next, none, ("next",))]
        case SetNode():
            return [e(node.id, node.next, frozenset(node.values), ("next",))]
        case BranchNode():
            cases = [
                e(node.id, c.next, _condition_sets(c.when), ("cases", i, "next")) for i, c in enumerate(node.cases)
            ]
            return [*cases, e(node.id, node.otherwise, none, ("else",))]
        case CreateTicketNode():
            # A failed ticket goes to the operator (after the apology).
            return [e(node.id, node.next, frozenset({"ticket_number"}), ("next",)), e(node.id, operator_node, none, ())]
        case AcceptTicketNode():
            return [
                e(node.id, node.accepted, none, ("accepted",)),
                e(node.id, node.closed, none, ("closed",)),
                e(node.id, node.refused, none, ("refused",)),
            ]
        case MenuNode():
            found = [e(node.id, o.next, frozenset(o.set), ("options", d)) for d, o in node.options.items()]
            if node.default:
                found.append(e(node.id, node.default, none, ("default",)))
            if node.on_silence:
                found.append(e(node.id, node.on_silence, none, ("on_silence",)))
            if operator_key and node.operator_key:
                found.append(e(node.id, operator_node, none, ()))
            return found + _retry_edges(node)
        case GatherNode():
            found = [e(node.id, node.next, frozenset({node.field}), ("next",))]
            if node.skip_key:
                found.append(e(node.id, node.next, none, ("skip_key",)))
            if node.default:
                found.append(e(node.id, node.default, none, ("default",)))
            if node.on_silence:
                found.append(e(node.id, node.on_silence, none, ("on_silence",)))
            if operator_key and node.operator_key:
                found.append(e(node.id, operator_node, none, ()))
            return found + _retry_edges(node)
        case RecordNode():
            wrote = frozenset({"recording_url", "recording_seconds"})
            return [e(node.id, node.next, wrote, ("next",)), *_retry_edges(node)]
        case TransferNode():
            place = [e(node.id, node.place, none, ("place",))] if node.place else []
            return [e(node.id, node.on_fail, none, ("on_fail",)), *place]
        case HangupNode():
            return []
    raise TypeError(f"unknown node {node!r}")


def all_edges(nodes: dict[str, Node], operator_node: str, operator_key: bool) -> list[Edge]:
    return [edge for node in nodes.values() for edge in node_edges(node, operator_node, operator_key)]


def reachable(start: str, edges: Iterable[Edge], unless_writing: str | None = None) -> set[str]:
    """Nodes reachable from `start`; with `unless_writing`, only along ways that leave that field unset."""
    out: dict[str, list[Edge]] = {}
    for edge in edges:
        out.setdefault(edge.source, []).append(edge)
    seen, todo = {start}, [start]
    while todo:
        for edge in out.get(todo.pop(), []):
            if unless_writing is not None and unless_writing in edge.writes:
                continue
            if edge.target not in seen:
                seen.add(edge.target)
                todo.append(edge.target)
    return seen


def loops_without_input(nodes: dict[str, Node], edges: Iterable[Edge]) -> list[list[str]]:
    """Cycles made only of nodes that never wait for the caller: the engine would spin forever."""
    passing = {nid for nid, node in nodes.items() if not isinstance(node, RESTING_NODES)}
    out: dict[str, list[str]] = {}
    for edge in edges:
        if edge.source in passing and edge.target in passing:
            out.setdefault(edge.source, []).append(edge.target)
    loops: list[list[str]] = []
    state: dict[str, int] = {}  # 1 visiting, 2 done

    def visit(nid: str, trail: list[str]) -> None:
        state[nid] = 1
        for target in out.get(nid, []):
            if state.get(target) == 1:
                loops.append([*trail[trail.index(target) :], target])
            elif target not in state:
                visit(target, [*trail, target])
        state[nid] = 2

    for nid in sorted(passing):
        if nid not in state:
            visit(nid, [nid])
    return loops
