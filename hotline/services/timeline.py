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
from hotline.models import Agency, Escalation, Ticket, TicketEvent
from hotline.models.chain import PinnedChain

OPEN_PHASE = {"routed": "accept", "accepted": "resolve", "on_site": "resolve"}
WHO = {
    "urc": ("tim lapangan", "field team"),
    "urc_leader": ("ketua tim", "team leader"),
    "agency_head": ("kepala dinas", "head of agency"),
    "command_center": ("command center", "command center"),
}


@dataclass(frozen=True)
class StepRow:
    phase: str
    step: int
    round: int
    due_at: datetime
    status: str  # pending | fired | cancelled
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
    due = {"accept": accept_due_at, "resolve": resolve_due_at}.get(phase or "")
    minutes_left = None if due is None else round((due - now).total_seconds() / 60, 1)
    pending = sorted((s for s in steps if s.status == "pending" and s.phase == phase), key=lambda s: s.due_at)
    nxt = pending[0] if pending else None
    notify: tuple[str, ...] = ()
    pinned = PinnedChain.load(chain)
    if nxt is not None and pinned and pinned.steps:
        notify = pinned.step(nxt.step).notify
    return EscalationState(
        phase=phase if due is not None else None,
        due_at=due,
        minutes_left=minutes_left,
        fired=sum(1 for s in steps if s.status == "fired"),
        next_due_at=nxt.due_at if nxt else None,
        next_step=nxt.step if nxt else None,
        next_notify=notify,
    )


CHANNEL_NAMES = {
    "sms": ("SMS", "SMS"),
    "sms_backup": ("SMS cadangan", "backup SMS"),
    "voice": ("panggilan suara", "voice call"),
}
FAILOVER_REASON = {
    "timeout": ("tanpa laporan terkirim", "had no delivery report"),
    "undelivered": ("tidak terkirim", "was not delivered"),
    "failed": ("gagal", "failed"),
    "send_error": ("ditolak penyedia", "was refused by the provider"),
    "busy": ("sibuk", "got busy"),
    "no_answer": ("tidak diangkat", "was not answered"),  # hotline/channels/voice.py CallStatus
    "no-answer": ("tidak diangkat", "was not answered"),  # Twilio's word, stored before CallStatus
    "canceled": ("dibatalkan", "was cancelled"),
}


def _channel(channel: str, id_: bool) -> str:
    return CHANNEL_NAMES.get(channel, (channel, channel))[0 if id_ else 1]


def who(roles: list[str] | tuple[str, ...], language: str = "id") -> str:
    index = 0 if language == "id" else 1
    return ", ".join(WHO.get(role, (role, role))[index] for role in roles)


def describe(kind: str, data: dict[str, Any], language: str = "id") -> str:
    """One line per timeline event, Bahasa Indonesia first; unknown kinds show their name and data."""
    id_ = language == "id"
    if kind == "escalated":
        accept = data.get("phase") == "accept"
        what = {(True, True): "belum diterima", (True, False): "belum selesai"}.get(
            (id_, accept), "not accepted" if accept else "not finished"
        )
        late = data.get("late_seconds")
        late_text = f", {late:g} s" if isinstance(late, int | float) else ""
        rnd = int(data.get("round", 0))
        again = (f" (ulang ke-{rnd})" if id_ else f" (repeat {rnd})") if rnd else ""
        label = "ESKALASI langkah" if id_ else "ESCALATION step"
        sms = f"{len(data.get('phones', []))} SMS{late_text}"
        step = int(data.get("step", 0)) + 1
        return f"{label} {step}{again}: {what} -> {who(data.get('notify', []), language)} ({sms})"
    if kind == "routed":
        to = "diteruskan ke" if id_ else "routed to"
        return f"{to} {data.get('agency')} / {data.get('urc')} ({data.get('rule')})"
    if kind == "alerted":
        members = len(data.get("members", []))
        return f"peringatan SMS ke {members} anggota" if id_ else f"SMS alert to {members} members"
    if kind == "caller_screened":
        what = "penelepon disaring (junk-call shield)" if id_ else "caller screened (junk-call shield)"
        return f"{what}: {data.get('decision')} ({data.get('reason') or '-'})"
    if kind == "alert_failover":
        why = FAILOVER_REASON.get(str(data.get("reason")), (str(data.get("reason")),) * 2)[0 if id_ else 1]
        via = _channel(str(data.get("to")), id_)
        if id_:
            return f"peringatan ke {data.get('phone')} {why} lewat {_channel(str(data.get('failed')), id_)} -> {via}"
        return f"alert to {data.get('phone')} {why} on {_channel(str(data.get('failed')), id_)} -> {via}"
    if kind == "alert_unreachable":
        tried = ", ".join(_channel(str(c), id_) for c in data.get("channels", []))
        if id_:
            return f"SEMUA SALURAN GAGAL: peringatan ke {data.get('phone')} tidak sampai ({tried}); hubungi langsung"
        return f"ALL CHANNELS FAILED: alert to {data.get('phone')} not delivered ({tried}); contact them directly"
    if kind == "place_changed":
        where = ", ".join(str(data[k]) for k in ("location", "desa", "kecamatan") if data.get(k)) or "—"
        told = len(data.get("told") or [])
        source = data.get("source") or "-"
        if id_:
            return f"lokasi ({source}): {where}" + (f"; dikirim ke {told} anggota tim" if told else "")
        return f"place ({source}): {where}" + (f"; sent to {told} team members" if told else "")
    if kind == "cancel_requested":
        told = len(data.get("told") or [])
        if id_:
            return (
                f"pelapor minta BATAL; tim belum dihentikan, menunggu keputusan petugas ({told} SMS ke command center)"
            )
        return f"the reporter asked to CANCEL; team not stood down, waiting for an operator ({told} SMS to the desk)"
    if kind == "sms_truncated":
        size, kept = data.get("original_length"), data.get("kept")
        if id_:
            return f"SMS terlalu panjang ({size} karakter): hanya {kept} karakter pertama dipakai; aslinya disimpan"
        return f"SMS too long ({size} characters): only the first {kept} used; the original is kept"
    if kind == "cancel_kept":
        return (
            "permintaan batal ditolak: laporan tetap ditangani" if id_ else "cancel request declined: report kept open"
        )
    if kind == "stale":  # hotline/services/stale.py: the chain stopped repeating; the daily digest lists it
        hours = f"{float(data.get('after_hours') or 0):g}"
        if id_:
            return f"lewat batas lebih dari {hours} jam: eskalasi berhenti, masuk ringkasan harian command center"
        return f"past its deadline by more than {hours} hours: escalation stopped, on the command center's daily digest"
    if kind == "created":
        what = "laporan masuk" if id_ else "report received"
        return f"{what} ({data.get('channel')}, {data.get('category') or '-'})"
    details = ", ".join(f"{k}={v}" for k, v in data.items() if v not in (None, "", [], {}))
    return f"{kind}{': ' + details if details else ''}"


@dataclass(frozen=True)
class TimelineLine:
    at: datetime
    kind: str
    actor: str
    text: str
    note: str | None


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
    events = session.scalars(select(TicketEvent).where(TicketEvent.ticket_id == number).order_by(TicketEvent.id))
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
        timeline=[
            TimelineLine(e.at, e.kind, e.actor, describe(e.kind, e.data or {}, language), e.note) for e in events
        ],
    )
