"""What an operator reads about one ticket: its deadlines, where its escalation stands, its timeline.

`escalation_state` and `describe` are pure (tested with tables); `load_ticket_view` only reads the rows.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from hotline import clock
from hotline.catalog import has, say, word
from hotline.core.city import current_config
from hotline.localtime import local
from hotline.models import (
    Agency,
    Escalation,
    EscalationPhase,
    EscalationStatus,
    Member,
    Ticket,
    TicketEvent,
    TicketStatus,
)
from hotline.models.chain import PinnedChain

OPEN_PHASE: dict[str, str] = {
    TicketStatus.ROUTED: EscalationPhase.ACCEPT,
    TicketStatus.ACCEPTED: EscalationPhase.RESOLVE,
    TicketStatus.ON_SITE: EscalationPhase.RESOLVE,
}


@dataclass(frozen=True)
class StepRow:
    phase: str
    step: int
    round: int
    due_at: datetime
    status: str  # an EscalationStatus
    fired_at: datetime | None


@dataclass(frozen=True)
class EscalationState:
    phase: str | None  # the deadline now running: accept | resolve | None (closed, or not routed)
    due_at: datetime | None
    minutes_left: float | None  # negative: overdue by that much
    fired: int  # steps fired so far, both phases
    next_due_at: datetime | None  # the next step that will fire unless someone acts
    next_step: int | None
    next_notify: tuple[str, ...]

    @property
    def overdue(self) -> bool:
        return self.minutes_left is not None and self.minutes_left < 0


def escalation_state(
    *,
    status: str,
    accept_due_at: datetime | None,
    resolve_due_at: datetime | None,
    chain: dict[str, Any] | None,
    steps: list[StepRow],
    now: datetime,
) -> EscalationState:
    phase = OPEN_PHASE.get(status)
    dues: dict[str, datetime | None] = {EscalationPhase.ACCEPT: accept_due_at, EscalationPhase.RESOLVE: resolve_due_at}
    due = dues.get(phase or "")
    minutes_left = None if due is None else round((due - now).total_seconds() / 60, 1)
    pending = sorted(
        (s for s in steps if s.status == EscalationStatus.PENDING and s.phase == phase), key=lambda s: s.due_at
    )
    nxt = pending[0] if pending else None
    notify: tuple[str, ...] = ()
    pinned = PinnedChain.load(chain)
    if nxt is not None and pinned and pinned.steps:
        notify = pinned.step(nxt.step).notify
    return EscalationState(
        phase=phase if due is not None else None,
        due_at=due,
        minutes_left=minutes_left,
        fired=sum(1 for s in steps if s.status == EscalationStatus.FIRED),
        next_due_at=nxt.due_at if nxt else None,
        next_step=nxt.step if nxt else None,
        next_notify=notify,
    )


def who(roles: list[str] | tuple[str, ...], language: str = "id") -> str:
    return ", ".join(word("notify", role, language) for role in roles)


def actor_name(actor: str, language: str, *, reporter: str | None = None, members: dict[int, str] | None = None) -> str:
    """Who did it, in words: a crew member by name, the reporter, another reporter by number, an Open311 partner
    app (its citizen's update), an operator."""
    if actor in ("system", "cli"):
        return word("actor", actor, language)
    if actor.startswith("member:"):
        number = actor.removeprefix("member:")
        name = (members or {}).get(int(number)) if number.isdigit() else None
        return say("actor", "member", language, {"name": name}) if name else word("actor", "member_unknown", language)
    if reporter is not None and actor == reporter:
        return word("actor", "reporter", language)
    if actor.startswith("+") or actor[:1].isdigit():
        return say("actor", "other_reporter", language, {"phone": actor})
    if actor.startswith("open311:"):
        return say("actor", "partner", language, {"name": actor.removeprefix("open311:")})
    return say("actor", "operator", language, {"name": actor})


def _category_name(code: Any, lang: str) -> str | None:
    if not code:
        return None
    category = current_config().category(str(code))
    return category.name(lang) if category else str(code)


def _count(value: Any) -> int:
    return len(value) if isinstance(value, list | tuple) else int(value or 0)


def _event_params(kind: str, data: dict[str, Any], lang: str) -> dict[str, Any]:
    """The words an event's sentence needs, from its stored data (codes become words here)."""
    params: dict[str, Any] = dict(data)
    if "category" in data:
        category = _category_name(data.get("category"), lang)
        params["category"] = category or word("ui", "unknown_category", lang)
    if "channel" in data:
        params["channel"] = word("channel", str(data["channel"]), lang)
    for key in ("priority", "previous"):
        if key in data and has("priority", str(data[key]), lang):
            params[key] = word("priority", str(data[key]), lang)
    if kind in ("alerted", "urgency_alerted"):
        params["count"] = _count(data.get("members"))
    elif kind == "reopened":
        due = data.get("resolve_due_at")
        params["resolve_due"] = local(datetime.fromisoformat(due), "%d-%m %H:%M") if isinstance(due, str) else "—"
    elif kind == "confirmation_asked":
        params["hours"] = f"{float(data.get('window_hours') or 0):g}"
    elif kind == "confirmation_skipped":
        params["reason"] = word("confirmation_skip", str(data.get("reason")), lang)
    elif kind == "merged":
        params["rule"] = word("ui", f"rule_{data.get('rule')}", lang)
    elif kind == "caller_screened":
        params["decision"] = word("decision", str(data.get("decision")), lang)
    elif kind == "cancel_requested":
        params["told"] = _count(data.get("told"))
    elif kind == "sms_sent":
        params["to"] = word("sms_to", str(data.get("to")), lang)
    elif kind == "edited":
        params["fields"] = ", ".join(word("field", str(f), lang) for f in data.get("fields") or [])
    elif kind == "place_changed":
        params["where"] = ", ".join(str(data[k]) for k in ("location", "desa", "kecamatan") if data.get(k)) or "—"
        told = _count(data.get("told"))
        params["where"] += say("event", "place_told", lang, {"told": told}) if told else ""
    elif kind == "media_received":  # issue 20: WhatsApp / MMS media
        what = {"image": "media_photo", "sticker": "media_photo", "voice": "media_voice", "audio": "media_voice"}
        params["what"] = word(
            "ui",
            "media_after" if data.get("role") == "after" else what.get(str(data.get("media_kind")), "media_document"),
            lang,
        )
    elif kind == "location_shared":
        params["desa"] = data.get("desa") or f"{data.get('latitude')}, {data.get('longitude')}"
    elif kind == "sms_truncated":
        params["size"] = data.get("original_length")
    elif kind == "alert_failover":
        params["why"] = word("failover_reason", str(data.get("reason")), lang)
        params["failed"] = word("alert_channel", str(data.get("failed")), lang)
        params["via"] = word("alert_channel", str(data.get("to")), lang)
    elif kind == "alert_unreachable":
        params["tried"] = ", ".join(word("alert_channel", str(c), lang) for c in data.get("channels", []))
    elif kind == "escalated":
        late = data.get("late_seconds")
        rnd = int(data.get("round", 0))
        params["step"] = int(data.get("step", 0)) + 1
        params["again"] = say("event", "escalated_again", lang, {"round": rnd}) if rnd else ""
        params["what"] = word(
            "event", "escalated_accept" if data.get("phase") == EscalationPhase.ACCEPT else "escalated_resolve", lang
        )
        params["notify"] = who(data.get("notify", []), lang)
        params["count"] = len(data.get("phones", []))
        params["late"] = f", {late:g} s" if isinstance(late, int | float) else ""
    elif kind == "stale":
        params["hours"] = f"{float(data.get('after_hours') or 0):g}"
    return params


def describe(kind: str, data: dict[str, Any], language: str = "id", *, who: str | None = None) -> str:
    """One sentence per timeline event, in `language`, from hotline/catalog's `event` section; `who` is the
    actor in words (actor_name). A kind the catalog does not know reads as "<who> changed the report"."""
    lang = language if language in ("id", "en") else "id"
    params = _event_params(kind, data, lang)
    params["who"] = who or word("actor", "system", lang)
    return say("event", kind if has("event", kind, lang) else "other", lang, params)


@dataclass(frozen=True)
class TimelineLine:
    at: datetime
    kind: str
    actor: str
    text: str
    note: str | None
    event_id: int = 0  # the ticket's version after this event (the console's edit form carries it)


@dataclass(frozen=True)
class TicketView:
    number: int
    status: str
    category: str | None
    priority: str
    agency: str | None
    reporter: str
    text: str
    created_at: datetime
    escalation: EscalationState
    timeline: list[TimelineLine]


def load_ticket_view(session: Session, number: int, language: str = "id") -> TicketView | None:
    ticket = session.get(Ticket, number)
    if ticket is None:
        return None
    agency = session.get(Agency, ticket.agency_id) if ticket.agency_id else None
    rows = session.scalars(select(Escalation).where(Escalation.ticket_id == number).order_by(Escalation.id))
    steps = [StepRow(r.phase, r.step, r.round, r.due_at, r.status, r.fired_at) for r in rows]
    events = list(session.scalars(select(TicketEvent).where(TicketEvent.ticket_id == number).order_by(TicketEvent.id)))
    member_ids = {int(e.actor[7:]) for e in events if e.actor.startswith("member:") and e.actor[7:].isdigit()}
    members = {
        row.id: row.name for row in session.execute(select(Member.id, Member.name).where(Member.id.in_(member_ids)))
    }

    def sentence(event: TicketEvent) -> str:
        name = actor_name(event.actor, language, reporter=ticket.reporter_phone, members=members)
        return describe(event.kind, event.data or {}, language, who=name)

    return TicketView(
        number=ticket.id,
        status=ticket.status,
        category=ticket.category,
        priority=ticket.priority,
        agency=agency.code if agency else None,
        reporter=ticket.reporter_phone,
        text=ticket.text,
        created_at=ticket.created_at,
        escalation=escalation_state(
            status=ticket.status,
            accept_due_at=ticket.accept_due_at,
            resolve_due_at=ticket.resolve_due_at,
            chain=ticket.escalation_chain,
            steps=steps,
            now=clock.now(),
        ),
        timeline=[TimelineLine(e.at, e.kind, e.actor, sentence(e), e.note, e.id) for e in events],
    )
