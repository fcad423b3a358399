"""SQLAlchemy models. Import from here so Alembic sees every table."""

from hotline.models.accounts import ROLES, ApiToken, AuditEntry, ConsoleSession, User
from hotline.models.alerts import AlertAttempt, AlertAttemptStatus, AlertDelivery, AlertDeliveryStatus
from hotline.models.base import Base, UTCDateTime, utcnow
from hotline.models.broadcasts import Broadcast, BroadcastRecipient, BroadcastStatus, RecipientStatus, Subscriber
from hotline.models.calls import Call, CallEvent, CallRecordStatus
from hotline.models.farming import Farmer, FarmOutbreak, FarmReport
from hotline.models.gauges import GaugeCount, GaugeDelta
from hotline.models.kiosk import KioskToken
from hotline.models.media import MediaItem, MediaStatus
from hotline.models.messages import (
    InboundMessage,
    InboundStatus,
    OptOut,
    OutboundMessage,
    OutboundPurpose,
    OutboundStatus,
)
from hotline.models.open311 import Open311Submission, Open311UpdateReceipt, PartnerKey, TicketAttachment
from hotline.models.reporters import ReporterStatus, TicketReporter
from hotline.models.routing import Agency, Member, Urc
from hotline.models.scorecards import ScorecardRollup
from hotline.models.screening import CallScreening
from hotline.models.tickets import Escalation, EscalationPhase, EscalationStatus, Ticket, TicketEvent, TicketStatus
from hotline.models.timers import Timer

__all__ = [
    "ROLES",
    "Agency",
    "AlertAttempt",
    "AlertAttemptStatus",
    "AlertDelivery",
    "AlertDeliveryStatus",
    "ApiToken",
    "AuditEntry",
    "Base",
    "Broadcast",
    "BroadcastRecipient",
    "BroadcastStatus",
    "Call",
    "CallEvent",
    "CallRecordStatus",
    "CallScreening",
    "ConsoleSession",
    "Escalation",
    "EscalationPhase",
    "EscalationStatus",
    "FarmOutbreak",
    "FarmReport",
    "Farmer",
    "GaugeCount",
    "GaugeDelta",
    "InboundMessage",
    "InboundStatus",
    "KioskToken",
    "MediaItem",
    "MediaStatus",
    "Member",
    "Open311Submission",
    "Open311UpdateReceipt",
    "OptOut",
    "OutboundMessage",
    "OutboundPurpose",
    "OutboundStatus",
    "PartnerKey",
    "RecipientStatus",
    "ReporterStatus",
    "ScorecardRollup",
    "Subscriber",
    "Ticket",
    "TicketAttachment",
    "TicketEvent",
    "TicketReporter",
    "TicketStatus",
    "Timer",
    "UTCDateTime",
    "Urc",
    "User",
    "utcnow",
]
