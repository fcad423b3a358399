"""The monthly scorecard ("rapor"), computed from plain ticket facts. Pure: no database, no clock.

Rules (README "Scorecard" says the same for people):

- Month: a ticket belongs to the month in which it was (last) routed, read in the city's timezone
  (HOTLINE_TIMEZONE), and to the agency that holds it. Tickets never routed (still waiting for a
  category) belong to no agency and are not counted.
- `tickets`: every ticket of the month, cancelled ones included.
- Cancelled tickets count in `tickets` and `cancelled`, not in the times. Cancelled before any
  deadline was missed: left out of share and breaches (the citizen withdrew, nothing was late).
  Cancelled after a deadline passed undone (often: nobody came, so they gave up): breached, judged
  as of the cancellation, so the lateness stays on the agency's record. Fired escalations count.
- Each deadline pinned at routing is judged on its own: accept (TERIMA, or TIBA/SELESAI which imply
  it) by `accept_due_at`, finish (SELESAI) by `resolve_due_at`.
    met       done at or before the deadline (exactly at the deadline is within);
    breached  done after it, or still not done when `now` is past it;
    pending   not done and the deadline is still ahead (or exactly now).
- A ticket is `within_sla` when both deadlines are met, breached when either is, pending otherwise.
  `share_within_sla` = within / (within + breached); pending tickets are left out until they are
  decided. `accept_breaches` and `resolve_breaches` count the two deadlines separately (one ticket can
  add to both).
- Reopened (the reporter answered "2: not fixed" to the question sent after SELESAI; see
  features/sms/confirmations.py): the finish deadline counts as breached, whatever the times, because the
  first SELESAI was not true; so the ticket is never within SLA, even while it is being worked again
  against its fresh deadline, and also when it is cancelled afterwards. Its accept deadline is judged as
  usual. `reopened` counts tickets, not answers: a ticket reopened twice is one reopened ticket and one
  resolve breach. Its finish time is to the last SELESAI (the rework is part of the time it took).
- Tickets with no pinned deadlines (made before deadlines existed) are `unmeasured`: counted in
  `tickets` and in the times, not in the share or breaches.
- Times in minutes from routing: to accept (accepted_at - routed_at) and to finish (resolved_at -
  routed_at), over the tickets that got there. Median and p90 use the nearest-rank method: the value
  at rank ceil(p/100 * n) of the sorted list, so it is always a real ticket's time and "p90 = 42" means
  at least 90 % of those tickets took 42 minutes or less. Rounded to 0.1 minute.
- `escalations`: escalation steps fired (SMS sent up the chain) for the month's tickets.
- Grade from the share: green at or above the green threshold, yellow at or above yellow, red below
  ("rapor merah"); "none" when nothing was measurable (no decided tickets).
- Every agency given appears, even with no tickets; a ticket of an agency not given (one that has
  left routing/) adds a row for it. Rows are sorted worst first: red, yellow, green, none; within a
  grade by lower share, then by code, so the agencies that need attention head the list.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Literal
from zoneinfo import ZoneInfo

from hotline.cityconfig.model import ScorecardThresholds
from hotline.features.scorecard.month import Month

Grade = Literal["green", "yellow", "red", "none"]
Phase = Literal["met", "breached", "pending"]
Verdict = Literal["within", "breached", "pending", "cancelled", "unmeasured"]
GRADES: tuple[Grade, ...] = ("red", "yellow", "green", "none")  # worst first: the sort order


@dataclass(frozen=True)
class TicketFacts:
    """What the scorecard needs to know of one ticket. Datetimes are timezone-aware."""

    agency: str  # agency code
    routed_at: datetime
    accept_due_at: datetime | None = None
    resolve_due_at: datetime | None = None
    accepted_at: datetime | None = None
    resolved_at: datetime | None = None
    cancelled_at: datetime | None = None
    escalations_fired: int = 0
    reopened: bool = False  # the reporter said "not fixed" at least once


@dataclass(frozen=True)
class AgencyInfo:
    code: str
    name: str
    default: bool = False  # the command center, which gets what no rule claims


@dataclass(frozen=True)
class AgencyScore:
    code: str
    name: str
    default: bool
    tickets: int
    cancelled: int
    unmeasured: int
    pending: int
    measured: int  # within + breached: the share's denominator
    within_sla: int
    share_within_sla: float | None
    accept_breaches: int
    resolve_breaches: int
    reopened: int
    escalations: int
    accept_median_min: float | None
    accept_p90_min: float | None
    resolve_median_min: float | None
    resolve_p90_min: float | None
    grade: Grade


@dataclass(frozen=True)
class Scorecard:
    month: str
    timezone: str
    as_of: datetime  # open tickets were judged against this moment
    thresholds: ScorecardThresholds
    agencies: tuple[AgencyScore, ...]
    # The farming agency's PPL teams (URCs holding farm tickets), scored by the same rules from the same read
    # of the month (features/farming/dinas_view.py shows them); `code` and `name` are the team's.
    teams: tuple[AgencyScore, ...] = ()


@dataclass(frozen=True)
class Judgement:
    accept: Phase | None  # None: cancelled or no deadline
    resolve: Phase | None
    verdict: Verdict


def _phase(done_at: datetime | None, due_at: datetime, now: datetime) -> Phase:
    if done_at is not None:
        return "met" if done_at <= due_at else "breached"
    return "breached" if now > due_at else "pending"


def judge(ticket: TicketFacts, now: datetime) -> Judgement:
    judgement = _judge_times(ticket, now)
    if not ticket.reopened or judgement.verdict == "unmeasured":
        return judgement
    return Judgement(judgement.accept, "breached", "breached")  # the first SELESAI was not true


def _judge_times(ticket: TicketFacts, now: datetime) -> Judgement:
    if ticket.accept_due_at is None or ticket.resolve_due_at is None:
        return Judgement(None, None, "cancelled" if ticket.cancelled_at else "unmeasured")
    # SELESAI on a routed ticket implies TERIMA (features/tickets/tickets.py sets both); mirror that here.
    accepted_at = ticket.accepted_at or ticket.resolved_at
    if ticket.cancelled_at is not None:  # judged as of the cancellation: only what was already late counts
        accept_late = _phase(accepted_at, ticket.accept_due_at, ticket.cancelled_at) == "breached"
        resolve_late = _phase(ticket.resolved_at, ticket.resolve_due_at, ticket.cancelled_at) == "breached"
        if not (accept_late or resolve_late):
            return Judgement(None, None, "cancelled")
        return Judgement("breached" if accept_late else None, "breached" if resolve_late else None, "breached")
    accept = _phase(accepted_at, ticket.accept_due_at, now)
    resolve = _phase(ticket.resolved_at, ticket.resolve_due_at, now)
    if "breached" in (accept, resolve):
        verdict: Verdict = "breached"
    elif accept == resolve == "met":
        verdict = "within"
    else:
        verdict = "pending"
    return Judgement(accept, resolve, verdict)


def nearest_rank(values: Sequence[float], percent: int) -> float | None:
    """The nearest-rank percentile; integer arithmetic so 90 % of 70 values is rank 63, not 64."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, -(-percent * len(ordered) // 100))
    return ordered[rank - 1]


def grade(share: float | None, thresholds: ScorecardThresholds) -> Grade:
    if share is None:
        return "none"
    if share >= thresholds.green:
        return "green"
    return "yellow" if share >= thresholds.yellow else "red"


def _minutes(start: datetime, end: datetime | None) -> float | None:
    return None if end is None else (end - start).total_seconds() / 60


def _rounded(value: float | None) -> float | None:
    return None if value is None else round(value, 1)


def score_agency(
    agency: AgencyInfo, tickets: Sequence[TicketFacts], *, now: datetime, thresholds: ScorecardThresholds
) -> AgencyScore:
    judgements = [judge(t, now) for t in tickets]
    verdicts = [j.verdict for j in judgements]
    live = [t for t in tickets if t.cancelled_at is None]
    to_accept = [m for t in live if (m := _minutes(t.routed_at, t.accepted_at or t.resolved_at)) is not None]
    to_finish = [m for t in live if (m := _minutes(t.routed_at, t.resolved_at)) is not None]
    within, breached = verdicts.count("within"), verdicts.count("breached")
    measured = within + breached
    share = within / measured if measured else None
    return AgencyScore(
        code=agency.code,
        name=agency.name,
        default=agency.default,
        tickets=len(tickets),
        cancelled=sum(t.cancelled_at is not None for t in tickets),
        unmeasured=verdicts.count("unmeasured"),
        pending=verdicts.count("pending"),
        measured=measured,
        within_sla=within,
        share_within_sla=share,
        accept_breaches=sum(j.accept == "breached" for j in judgements),
        resolve_breaches=sum(j.resolve == "breached" for j in judgements),
        reopened=sum(t.reopened for t in tickets),
        escalations=sum(t.escalations_fired for t in tickets),
        accept_median_min=_rounded(nearest_rank(to_accept, 50)),
        accept_p90_min=_rounded(nearest_rank(to_accept, 90)),
        resolve_median_min=_rounded(nearest_rank(to_finish, 50)),
        resolve_p90_min=_rounded(nearest_rank(to_finish, 90)),
        grade=grade(share, thresholds),
    )


def _worst_first(row: AgencyScore) -> tuple[int, float, str]:
    return GRADES.index(row.grade), row.share_within_sla or 0.0, row.code


def score_teams(
    tickets: Iterable[tuple[AgencyInfo, TicketFacts]], *, now: datetime, thresholds: ScorecardThresholds
) -> tuple[AgencyScore, ...]:
    """One row per team for the tickets it held, worst first (as the agencies' rows, then by share and code)."""
    teams: dict[str, tuple[AgencyInfo, list[TicketFacts]]] = {}
    for team, ticket in tickets:
        teams.setdefault(team.code, (team, []))[1].append(ticket)
    scores = [score_agency(team, facts, now=now, thresholds=thresholds) for team, facts in teams.values()]
    return tuple(sorted(scores, key=_worst_first))


def score_month(
    tickets: Iterable[TicketFacts],
    *,
    agencies: Sequence[AgencyInfo],
    month: Month,
    tz: ZoneInfo,
    now: datetime,
    thresholds: ScorecardThresholds,
) -> Scorecard:
    """One row per agency for `month` (see the module docstring for every rule)."""
    known = {a.code: a for a in agencies}
    by_agency: dict[str, list[TicketFacts]] = {a.code: [] for a in agencies}
    for ticket in tickets:
        if Month.containing(ticket.routed_at, tz) != month:
            continue
        if ticket.agency not in known:  # an agency that left routing/ keeps its history
            known[ticket.agency] = AgencyInfo(ticket.agency, ticket.agency)
            by_agency[ticket.agency] = []
        by_agency[ticket.agency].append(ticket)
    rows = [score_agency(known[code], ts, now=now, thresholds=thresholds) for code, ts in by_agency.items()]
    return Scorecard(
        month=str(month),
        timezone=tz.key,
        as_of=now,
        thresholds=thresholds,
        agencies=tuple(sorted(rows, key=_worst_first)),
    )
