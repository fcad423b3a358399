"""bench/ivr_timing: how long callers wait in the IVR flow before they can act, and before they get help (issue 24).

    flock /tmp/hotline-bench.lock .venv/bin/python bench/ivr_timing.py --build     # build the prompts, then time
    .venv/bin/python bench/ivr_timing.py                      # the prompts already built in HOTLINE_DATA_DIR
    .venv/bin/python bench/ivr_timing.py --config-dir tests/city --knows    # another city; callers who know the keys

No phone, no database: each scenario's caller is walked through the real engine (hotline/ivr/timing.py) on
the city's default flow, every prompt lasting what it lasts on the line: the length of the WAV that
`hotline prompts build` made (or the city's recording) in HOTLINE_DATA_DIR/prompts, else its words at 175 a
minute (the output says which prompts were estimated). Transports with barge-in: a key stops the prompts
at once; the engine's and the network's milliseconds are not counted.

Scenarios are data (SCENARIOS below): what the caller wants -- an emergency, a report of category X in desa
Y, nothing at all -- and whether an operator answers, not which keys to press. The keys come from the flow:
its numbered choices (routing/) and menu options, as a first-time caller hears them: a key is pressed when a
prompt of the turn has named it, no sooner. "The place said last" is the desa whose walk to the goal takes
longest, found by walking them all: on a flow that asks the desa by keys, the desa said last; on one that
asks only the kecamatan (the desa said in the recording), the kecamatan said last. So the same scenarios
time any flow of the city with at most small edits here.

Where the ticket's alert goes comes from routing/rules.yaml on what the call gave, as the call service routes
it (hotline/features/calls/call_tickets.py): when the ticket opens, and again when a later answer brings the
category (an emergency opened before anyone knows what happened goes to the command center's desk, then to
the category's team with the place).

Printed per scenario: the keys pressed, seconds to the first useful key, to an open (and alerted) ticket, to
the operator queue, to the scenario's goal, to the end of the call, where the alert goes (and when it moves),
the issue's targets and whether they are met; then each walk step by step. Writes
bench/results/ivr_timing-<time>.json. Exit 0 when every scenario could be walked (a missed target is
reported; --strict makes it an error).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from hotline.cityconfig import CityConfig, load_city_config
from hotline.cityconfig.model import PRIORITIES
from hotline.ivr.actions import OpenTicket
from hotline.ivr.flow import Flow, GatherNode, RecordNode
from hotline.ivr.prompt_seconds import WORDS_PER_MINUTE, PromptSeconds
from hotline.ivr.timing import Caller, Goal, Scenario, Walk, WalkError, walk
from hotline.router import RouteFacts, initial_priority, route
from hotline.settings import get_settings

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
RESULTS = BENCH / "results"
FARTHEST = "*farthest*"  # a desa: the one whose walk to the goal takes longest
SAID_LAST = "the place said last"  # in `wants`: becomes the desa and kecamatan FARTHEST resolved to


@dataclass(frozen=True)
class Want:
    """One scenario as data: what the caller wants, and the issue's targets for it (seconds)."""

    scenario: Scenario
    targets: dict[str, float] = field(default_factory=dict)  # first_key, ticket, queue, goal


FIRE = ("fire", "disaster")  # a fire, or "other disaster" where the flow does not name fires

SCENARIOS = [
    Want(
        Scenario("fire", "emergency: a fire; an operator answers", Caller(categories=FIRE), Goal("queue")),
        {"first_key": 5, "queue": 10, "ticket": 10},
    ),
    Want(  # issue 24 sets no target for the place: it is what the wait is used for
        Scenario(
            "fire, nobody answers",
            f"emergency: a fire in {SAID_LAST}; no operator free",
            Caller(categories=FIRE, desa=FARTHEST),
            Goal("placed"),
            answer_after=None,
        )
    ),
    Want(
        Scenario(
            "pothole, farthest place",
            f"routine: a pothole in {SAID_LAST}",
            Caller(categories=("roads", "other"), desa=FARTHEST),
            Goal("ticket"),
        ),
        {"ticket": 50},
    ),
    Want(
        Scenario(
            "farm pest",
            "routine: pests on the fields in Sumberbrantas",
            Caller(categories=("farm", "other"), desa="Sumberbrantas"),
            Goal("ticket"),
        ),
        {"ticket": 50},
    ),
    Want(Scenario("silent caller", "nothing: no key, no voice (a first silent call)", Caller(kind="silent"))),
    Want(
        Scenario(
            "repeat silent caller",
            "nothing, again: a silent call from this number before",
            Caller(kind="silent"),
            recent_silent_calls=1,
        )
    ),
    Want(Scenario("talking caller", "someone to talk to: talks, never presses", Caller(kind="talking"))),
    Want(
        Scenario(
            "known caller",
            "the state of their open report",
            Caller(),
            Goal("heard", "status_"),
            open_ticket=OpenTicket(7, "accepted", "flood"),
        )
    ),
]


def resolve(want: Want, config: CityConfig, flow: Flow, seconds: PromptSeconds) -> tuple[Want, Walk]:
    """The scenario with its place filled in from routing/areas.yaml, and its walk."""
    caller = want.scenario.caller
    if caller.desa == FARTHEST:
        walks = [resolve(with_desa(want, desa, config), config, flow, seconds) for k in config.areas for desa in k.desa]
        slowest, walked = max(walks, key=lambda w: w[1].reached_at or 0.0)  # the first of equals: file order
        return said_last(slowest, walked, flow), walked
    if caller.desa is not None and caller.kecamatan is None:
        want = with_desa(want, caller.desa, config)
    return want, walk(flow, want.scenario, seconds.of)


def with_desa(want: Want, desa: str, config: CityConfig) -> Want:
    """The caller's desa and its kecamatan."""
    kecamatan = next((k.name for k in config.areas if desa in k.desa), None)
    if kecamatan is None:
        raise WalkError(f"{want.scenario.name}: no desa {desa!r} in routing/areas.yaml")
    scenario = want.scenario
    caller = replace(scenario.caller, desa=desa, kecamatan=kecamatan)
    return replace(want, scenario=replace(scenario, caller=caller))


def said_last(want: Want, walked: Walk, flow: Flow) -> Want:
    """Names "the place said last" in `wants`: the desa said last when the walk chose it by keys, else the
    kecamatan said last (the desa then only in the caller's words, if the flow records them)."""
    caller, nodes = want.scenario.caller, [flow.nodes.get(step.node) for step in walked.path]
    if any(isinstance(n, GatherNode) and n.field == "desa" for n in nodes):
        place = f"{caller.desa} ({caller.kecamatan}), the desa said last"
    elif any(isinstance(n, RecordNode) for n in nodes):
        place = f"{caller.kecamatan}, the kecamatan said last (the desa, {caller.desa}, said in the recording)"
    else:
        place = f"{caller.kecamatan}, the kecamatan said last"
    scenario = want.scenario
    return replace(want, scenario=replace(scenario, wants=scenario.wants.replace(SAID_LAST, place)))


@dataclass(frozen=True)
class Routed:
    at: float  # the moment of the caller's action whose turn routed the ticket
    urc: str
    agency: str
    rule: str


def routes(config: CityConfig, flow: Flow, walked: Walk | None) -> list[Routed]:
    """Where the ticket's URC alert goes, and when that changes, as the call service routes a call's ticket
    (hotline/features/calls/call_tickets.py): when it opens (a critical one of no category: the catch-all rule,
    the command center), and again when a later answer brings its first category (that category's team,
    with the kecamatan given by then). Not modelled: an operator who took the ticket first (no re-route)."""
    out: list[Routed] = []
    category: str | None = None
    priority, urgent = "normal", False
    for mark in walked.tickets if walked else ():
        d = mark.details
        if mark.opened:
            category = d.category
            urgent = category in flow.emergency_categories or mark.priority == "critical"
            priority = most_urgent(initial_priority(config.category(category), urgent), mark.priority)
        elif category is None and d.category is not None:
            category = d.category
            priority = most_urgent(initial_priority(config.category(category), urgent), priority)
        else:
            continue
        decision = route(config.rules, config.agencies, RouteFacts(category, priority, d.kecamatan))
        out.append(Routed(mark.at, decision.urc, decision.agency, decision.rule))
    return out


def most_urgent(priority: str, other: str | None) -> str:
    """As hotline/features/tickets/tickets.py: never less urgent than the flow made it (the emergency key)."""
    return priority if other is None else min(priority, other, key=PRIORITIES.index)


@dataclass(frozen=True)
class Row:
    want: Want  # its place filled in
    walked: Walk | None
    error: str = ""  # why the scenario cannot be walked on this flow
    routed: tuple[Routed, ...] = ()


def attempt(want: Want, config: CityConfig, flow: Flow, seconds: PromptSeconds) -> Row:
    try:
        resolved, walked = resolve(want, config, flow, seconds)
    except WalkError as exc:  # e.g. a goal this flow has no way to: say so, time the others
        return Row(want, None, str(exc))
    return Row(resolved, walked, routed=tuple(routes(config, flow, walked)))


def figures(walked: Walk | None) -> dict[str, float | None]:
    if walked is None:
        return dict.fromkeys(("first_key", "ticket", "queue", "goal", "ended"))
    return {
        "first_key": walked.first_key_at,
        "ticket": walked.ticket_at,
        "queue": walked.queue_at,
        "goal": walked.reached_at,
        "ended": walked.ended_at,
    }


def verdicts(want: Want, walked: Walk | None) -> list[tuple[str, float, float | None, bool]]:
    """(figure, target, value, met) for each target of the scenario."""
    values = figures(walked)
    out = []
    for name, target in want.targets.items():
        value = values[name]
        out.append((name, target, value, value is not None and value <= target))
    return out


def seconds_text(value: float | None) -> str:
    return "—" if value is None else f"{value:.1f}"


LABELS = {"first_key": "first useful key", "ticket": "ticket + alert", "queue": "operator queue", "goal": "goal"}


def alerts(routed: tuple[Routed, ...]) -> str:
    """'COMMAND-DESK; PMK-URC from 47.1 s': the team alerted when the ticket opens, then each re-route."""
    return "; ".join(r.urc if i == 0 else f"{r.urc} from {r.at:.1f} s" for i, r in enumerate(routed)) or "—"


def table(rows: list[Row]) -> str:
    lines = [
        "| scenario | the caller wants | keys | first useful key s | ticket + alert s | operator queue s | "
        "goal s | call ends s | alert goes to | targets |",
        "|---|---|---|---:|---:|---:|---:|---:|---|---|",
    ]
    for row in rows:
        want, walked, error = row.want, row.walked, row.error
        f = figures(walked)
        if walked is None:
            lines.append(f"| {want.scenario.name} | {want.scenario.wants} | no way through this flow: {error} ||||||||")
            continue
        ticket = seconds_text(f["ticket"]) + (" (partial)" if walked.ticket_partial else "")
        targets = "; ".join(
            f"{LABELS[name]} ≤ {target:g} s: {'met' if met else 'NOT met'}"
            for name, target, _, met in verdicts(want, walked)
        )
        lines.append(
            f"| {want.scenario.name} | {want.scenario.wants} | {walked.keys or '—'} | {seconds_text(f['first_key'])} | "
            f"{ticket} | {seconds_text(f['queue'])} | {seconds_text(f['goal'])} | {seconds_text(f['ended'])} | "
            f"{alerts(row.routed)} | {targets or '—'} |"
        )
    return "\n".join(lines)


def steps(row: Row) -> str:
    if row.walked is None:
        return f"- {row.want.scenario.name}: {row.error}"
    moves = ", ".join(f"{m.at:.1f} s {m.node}: {m.did}" for m in row.walked.moves) or "no input"
    return f"- {row.want.scenario.name}: {moves}. Path: {' > '.join(row.walked.nodes())}"


def build_prompts(config_dir: Path, data_dir: Path) -> None:
    env = dict(os.environ, HOTLINE_CONFIG_DIR=str(config_dir), HOTLINE_DATA_DIR=str(data_dir))
    done = subprocess.run([sys.executable, "-m", "hotline", "prompts", "build"], env=env, cwd=ROOT, text=True)
    if done.returncode != 0:
        raise SystemExit(f"hotline prompts build failed ({done.returncode})")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    settings = get_settings()
    parser.add_argument(
        "--config-dir", type=Path, default=settings.config_dir, help="the city (default: HOTLINE_CONFIG_DIR)"
    )
    parser.add_argument("--data-dir", type=Path, default=settings.data_dir, help="where prompts/ are built")
    parser.add_argument("--build", action="store_true", help="run `hotline prompts build` first")
    parser.add_argument("--knows", action="store_true", help="also time callers who know the keys (barge-in)")
    parser.add_argument("--strict", action="store_true", help="exit 1 when a target is missed")
    parser.add_argument("--out", type=Path, help="JSON result (default bench/results/ivr_timing-<time>.json)")
    args = parser.parse_args(argv)
    config_dir, data_dir = args.config_dir.resolve(), args.data_dir.resolve()
    if args.build:
        build_prompts(config_dir, data_dir)
    config = load_city_config(config_dir)
    flow = config.default_flow
    if flow is None:
        raise SystemExit(f"no default IVR flow in {config_dir}/ivr_flows")
    seconds = PromptSeconds.for_flows(config.ivr_flows.values(), config_dir=config_dir, data_dir=data_dir)
    now = datetime.now(UTC)
    print(
        f"ivr_timing {now:%Y-%m-%d %H:%M} UTC: flow {flow.id} {flow.label or ''} ({flow.version}) of {config_dir}, "
        f"prompts from {data_dir / 'prompts'} ({len(seconds.audio.files)} audio files)"
    )
    runs = {"first-time caller": [attempt(want, config, flow, seconds) for want in SCENARIOS]}
    if args.knows:  # the same places (the place said last is the first-time caller's), keys pressed 1 s into a turn
        knowing = [
            replace(r.want, scenario=replace(r.want.scenario, caller=replace(r.want.scenario.caller, knows_keys=True)))
            for r in runs["first-time caller"]
        ]
        runs["caller who knows the keys"] = [attempt(want, config, flow, seconds) for want in knowing]
    for label, rows in runs.items():
        print(f"\n{label}:\n\n{table(rows)}\n")
        for row in rows:
            print(steps(row))
    estimated = sorted(f"{lang}/{key}" for lang, key in seconds.estimated)
    if estimated:
        rate = f"{WORDS_PER_MINUTE:g} words a minute"
        print(f"\nNot built, so estimated at {rate} ({len(estimated)}): {', '.join(estimated)}")
    else:
        print("\nEvery prompt played is a built WAV (no estimate).")
    missed = [
        (r.want.scenario.name, n)
        for r in runs["first-time caller"]
        for n, _, _, met in verdicts(r.want, r.walked)
        if not met
    ]
    unwalked = [r.want.scenario.name for rows in runs.values() for r in rows if r.walked is None]
    out = args.out or RESULTS / f"ivr_timing-{now:%Y%m%dT%H%M%SZ}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result(now, flow, config_dir, seconds, runs, estimated), indent=2, ensure_ascii=False))
    written = out.relative_to(ROOT) if out.is_relative_to(ROOT) else out
    print(f"targets missed (first-time callers): {len(missed)}; no way through: {len(unwalked)}; written {written}")
    return 1 if unwalked or (args.strict and missed) else 0


def result(
    now: datetime,
    flow: Flow,
    config_dir: Path,
    seconds: PromptSeconds,
    runs: dict[str, list[Row]],
    estimated: list[str],
) -> dict[str, Any]:
    return {
        "at": now.isoformat(),
        "python": platform.python_version(),
        "flow": {"id": flow.id, "label": flow.label, "version": flow.version, "config_dir": str(config_dir)},
        "audio_files": len(seconds.audio.files),
        "estimated": estimated,
        "runs": {
            label: [
                {
                    "scenario": r.want.scenario.name,
                    "wants": r.want.scenario.wants,
                    "caller": asdict(r.want.scenario.caller),
                    "error": r.error,
                    "keys": r.walked.keys if r.walked else None,
                    "figures": figures(r.walked),
                    "routed": [asdict(x) for x in r.routed],
                    "targets": [
                        {"figure": n, "target": t, "value": v, "met": m} for n, t, v, m in verdicts(r.want, r.walked)
                    ],
                    "moves": [asdict(m) for m in r.walked.moves] if r.walked else [],
                    "path": r.walked.nodes() if r.walked else [],
                }
                for r in rows
            ]
            for label, rows in runs.items()
        },
    }


if __name__ == "__main__":
    sys.exit(main())
