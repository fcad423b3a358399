"""What /api/v1 returns and accepts (pydantic models: they are the OpenAPI schema too)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from fastapi import Path
from pydantic import BaseModel, Field, field_validator

from hotline.features.tickets.correspondence import MessageLine
from hotline.models import Call, Ticket, TicketReporter
from hotline.web.safe import has_lone_surrogate


class TicketOut(BaseModel):
    number: int
    status: str
    channel: str
    category: str | None
    priority: str
    urgent: bool
    agency: str | None
    text: str
    location: str | None
    kecamatan: str | None
    desa: str | None
    reporter: str
    reporters: int = Field(description="how many people reported it: the first reporter plus the linked ones")
    latitude: float | None
    longitude: float | None
    partial: bool
    created_at: datetime
    routed_at: datetime | None
    accepted_at: datetime | None
    resolved_at: datetime | None
    cancelled_at: datetime | None
    accept_due_at: datetime | None
    resolve_due_at: datetime | None
    overdue: bool
    cancel_requested: bool = Field(
        False, description="the reporter sent BATAL while a crew had it: open until an operator confirms or keeps it"
    )

    @classmethod
    def of(cls, ticket: Ticket, agency: str | None, now: datetime) -> TicketOut:
        due = {"routed": ticket.accept_due_at, "accepted": ticket.resolve_due_at, "on_site": ticket.resolve_due_at}
        running = due.get(ticket.status)
        return cls(
            number=ticket.id,
            status=ticket.status,
            channel=ticket.channel,
            category=ticket.category,
            priority=ticket.priority,
            urgent=ticket.urgent,
            agency=agency,
            text=ticket.text,
            location=ticket.location_text,
            kecamatan=ticket.kecamatan,
            desa=ticket.desa,
            reporter=ticket.reporter_phone,
            reporters=ticket.reporter_count,
            latitude=ticket.latitude,
            longitude=ticket.longitude,
            partial=ticket.partial,
            created_at=ticket.created_at,
            routed_at=ticket.routed_at,
            accepted_at=ticket.accepted_at,
            resolved_at=ticket.resolved_at,
            cancelled_at=ticket.cancelled_at,
            accept_due_at=ticket.accept_due_at,
            resolve_due_at=ticket.resolve_due_at,
            overdue=running is not None and running < now,
            cancel_requested=ticket.cancel_requested_at is not None and ticket.status in due,
        )


class TicketList(BaseModel):
    tickets: list[TicketOut]


class TimelineEntry(BaseModel):
    at: datetime
    kind: str
    actor: str
    text: str
    note: str | None


class LinkedReporterOut(BaseModel):
    """A later report of the same incident, merged into this ticket (routing/merging.yaml)."""

    id: int
    phone: str
    channel: str
    language: str
    text: str
    location: str | None
    desa: str | None
    kecamatan: str | None
    latitude: float | None
    longitude: float | None
    merged_at: datetime
    rule: str = Field(description="near_gps, same_desa or similar_text")
    score: float | None = Field(description="metres for near_gps, % alike for similar_text")
    status: str = Field(description="linked, split (see split_into), withdrawn (BATAL), primary (now the reporter)")
    split_into: int | None

    @classmethod
    def of(cls, row: TicketReporter) -> LinkedReporterOut:
        return cls(
            id=row.id,
            phone=row.phone,
            channel=row.channel,
            language=row.language,
            text=row.text,
            location=row.location_text,
            desa=row.desa,
            kecamatan=row.kecamatan,
            latitude=row.latitude,
            longitude=row.longitude,
            merged_at=row.merged_at,
            rule=row.rule,
            score=row.score,
            status=row.status,
            split_into=row.split_into_ticket_id,
        )


class TicketDetail(TicketOut):
    timeline: list[TimelineEntry]
    linked_reporters: list[LinkedReporterOut]


class TicketCreated(TicketOut):
    merged: bool = Field(description="true: the report duplicated this open ticket and joined it as a reporter")
    merge_rule: str | None = None
    merge_score: float | None = None


class CleanInput(BaseModel):
    """What a client sends: no text with a lone surrogate ("\\ud800" in JSON), which no database stores."""

    @field_validator("*", mode="after")
    @classmethod
    def _storable_text(cls, value: object) -> object:
        if isinstance(value, str) and has_lone_surrogate(value):
            raise ValueError("holds a lone UTF-16 surrogate (\\ud800-\\udfff), which is not text")
        return value


class TicketIn(CleanInput):
    text: str = Field(min_length=1, max_length=5000, description="what happened, in the reporter's words")
    reporter: str = Field("", max_length=64, description="the reporter's phone number (0812..., +62812...)")
    category: str | None = Field(None, max_length=32, description="a category code from GET /open311/v2/services.json")
    location: str | None = Field(None, max_length=500)
    kecamatan: str | None = Field(None, max_length=100)
    desa: str | None = Field(None, max_length=100, description="a desa/kelurahan of routing/areas.yaml")
    latitude: float | None = Field(
        None, ge=-90, le=90, allow_inf_nan=False, description="with longitude: where it happened (WGS84)"
    )
    longitude: float | None = Field(None, ge=-180, le=180, allow_inf_nan=False)
    merge: bool = Field(True, description="false: never join an open duplicate, always open a new ticket")
    urgent: bool = False
    language: Literal["id", "en"] = "id"


class TicketPatch(CleanInput):
    """What to change; a field left out stays as it is."""

    text: str | None = Field(None, min_length=1, max_length=5000)
    location: str | None = Field(None, max_length=500, description="where, in words; an empty string clears it")
    kecamatan: str | None = Field(None, max_length=100)
    desa: str | None = Field(None, max_length=100, description="a desa/kelurahan of routing/areas.yaml")
    category: str | None = Field(None, max_length=32)
    status: Literal["routed", "accepted", "on_site", "resolved", "cancelled"] | None = Field(
        None, description="through the usual transitions; cancelled stands the crew down by SMS"
    )


class AgencyOut(BaseModel):
    code: str
    name: str
    is_default: bool
    open_tickets: int


class MessageOut(BaseModel):
    direction: Literal["inbound", "outbound"]
    at: datetime
    number: str
    body: str
    status: str
    purpose: str | None

    @classmethod
    def of(cls, m: MessageLine) -> MessageOut:
        return cls(direction=m.direction, at=m.at, number=m.number, body=m.body, status=m.status, purpose=m.purpose)


class CallOut(BaseModel):
    id: int
    provider: str
    caller: str
    status: str
    outcome: str | None
    ticket: int | None
    category: str | None
    started_at: datetime
    waiting_since: datetime | None
    recording_url: str | None

    @classmethod
    def of(cls, call: Call, category: str | None, waiting_since: datetime | None) -> CallOut:
        return cls(
            id=call.id,
            provider=call.provider,
            caller=call.caller,
            status=call.status,
            outcome=call.outcome,
            ticket=call.ticket_id,
            category=category,
            started_at=call.started_at,
            waiting_since=waiting_since,
            recording_url=call.recording_url,
        )


# Ids are 32-bit integers in the database: a bigger number is a 422, not a database error.
MAX_ID = 2_147_483_647
RowId = Annotated[int, Path(ge=1, le=MAX_ID)]
