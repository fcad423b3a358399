"""Which gateways one outbox row goes through, in order (the next takes it when one cannot).

- Alerts and escalations: the alerts list (HOTLINE_SMS_ROUTE_ALERTS). An alert on the `sms_backup` channel of
  routing/agencies.yaml skips the gateways its earlier SMS went through: "SMS again, another way".
- Everything else to a person who texted us (replies, notices, operator SMS): first back through the gateway,
  number and line their SMS came in on (the SMS this answers, else their latest within 30 days), then the
  replies list. A citizen who texted the Kannel modem's number is answered from it, not from another SIM.
- Broadcasts: the broadcasts list.
- An alert on the `whatsapp` channel of routing/agencies.yaml: the gateways that carry WhatsApp alerts only (the
  Cloud API's, then Twilio's WhatsApp; text in the member's 24-hour window, the `alert`/`escalation` template
  past it, a Content SID through Twilio); when none can, the alert's next channel.
- WhatsApp (issue 20): news to someone whose own latest message came on WhatsApp goes back there, free-form within
  their 24-hour window, as the city's approved template past it (sms/whatsapp.yaml), else by the replies list.
- WhatsApp through Twilio (`From=whatsapp:+62...` on /twilio/sms): answered through the same Twilio gateway with
  `whatsapp:` addresses within the 24-hour window of their last WhatsApp message; past it as the purpose's
  approved template (`twilio_content_sid` in sms/whatsapp.yaml, sent as ContentSid), else as SMS from the
  gateway's own number.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from hotline.channels.gateways import whatsapp_alert_gateways
from hotline.core.gateway_config import GatewaySpec, SmsRouting
from hotline.features.alerts.failover import ALERT_PURPOSES
from hotline.features.sms.whatsapp_templates import template_for, twilio_content_for
from hotline.models import AlertAttempt, InboundMessage, OutboundMessage, OutboundPurpose, utcnow
from hotline.settings import get_settings

ORIGIN_WINDOW = timedelta(days=30)
WHATSAPP_WINDOW = timedelta(hours=23, minutes=50)  # Meta's 24 hours, less a margin for the send's own delay


@dataclass(frozen=True)
class RouteStep:
    gateway: str
    sender: str | None = None  # our number to send from
    line: str | None = None  # the gateway's line (smsc-id, SIM)
    template: tuple[str, str] | None = None  # WhatsApp outside the 24-hour window: (template name, language)
    content_sid: str | None = None  # the same through Twilio: the template's Content SID


def purpose_list(purpose: str) -> str:
    if purpose in ALERT_PURPOSES:
        return "alerts"
    return "broadcasts" if purpose == OutboundPurpose.BROADCAST else "replies"


def route_for(session: Session, message: OutboundMessage, routing: SmsRouting) -> list[RouteStep]:
    group = purpose_list(message.purpose)
    names = list(routing.routes.get(group, ()))
    steps: list[RouteStep] = []
    if group == "replies":
        origin = _whatsapp_origin(session, message, routing) or _origin(session, message)
        known = origin is not None and origin.provider in routing.gateways
        if origin is not None and known and _via_twilio_whatsapp(origin, routing):
            steps.append(_twilio_whatsapp_step(session, origin, message, routing))
        elif origin is not None and known and _open_session(session, origin, message, routing):
            line = (origin.payload or {}).get("hotline_line")
            steps.append(RouteStep(origin.provider, origin.to_number or None, str(line) if line else None))
        elif origin is not None and known and _wrote_on_whatsapp(session, origin, message, routing):
            template = template_for(get_settings().config_dir, message.purpose)
            if template is not None:  # the window is closed: an approved template, else SMS
                steps.append(RouteStep(origin.provider, template=template))
    delivery_id = (
        session.scalar(select(AlertAttempt.delivery_id).where(AlertAttempt.outbound_id == message.id))
        if group == "alerts"
        else None
    )
    if delivery_id is not None:  # an alert failing over along routing/agencies.yaml alert_channels
        if message.channel == "whatsapp":  # none usable (no template, window closed): the next channel takes it
            return _whatsapp_alert_steps(session, message)
        if message.channel == "sms_backup":  # SMS again, through the gateways its earlier SMS did not go through
            skip = _gateways_tried(session, delivery_id, message.id) | set(names[:1])  # `sms` goes by the first
            names = [n for n in names if n not in skip]
        else:  # `sms`: the first gateway; when it cannot, the alert moves on to `sms_backup` at once (visibly)
            names = names[:1]
    steps.extend(RouteStep(n) for n in names if all(s.gateway != n for s in steps))
    return steps


TWILIO_WHATSAPP_SCAN = 20  # a person's latest messages looked at for their last WhatsApp one through Twilio
WHATSAPP_PREFIX = "whatsapp:"


def _via_twilio_whatsapp(origin: InboundMessage, routing: SmsRouting) -> bool:
    return routing.gateways[origin.provider].kind == "twilio" and (origin.payload or {}).get("twilio_channel") == (
        "whatsapp"
    )


def _twilio_whatsapp_step(
    session: Session, origin: InboundMessage, message: OutboundMessage, routing: SmsRouting
) -> RouteStep:
    """Back on WhatsApp through Twilio (`whatsapp:` From and To) while the window of the person's last WhatsApp
    message there is open; past it, the purpose's approved template (Twilio answers a free-form message there
    with error 63016), else an SMS from the gateway's own number (not from the WhatsApp sender's)."""
    recent = session.scalars(
        select(InboundMessage)
        .where(InboundMessage.from_e164 == message.to_number, InboundMessage.provider == origin.provider)
        .order_by(InboundMessage.id.desc())
        .limit(TWILIO_WHATSAPP_SCAN)
    )
    last = next((m for m in recent if (m.payload or {}).get("twilio_channel") == "whatsapp"), origin)
    ours = last.to_number or routing.gateways[origin.provider].get("WHATSAPP_FROM")
    if not ours:
        return RouteStep(origin.provider)
    sender = WHATSAPP_PREFIX + ours.removeprefix(WHATSAPP_PREFIX)
    if last.received_at > utcnow() - WHATSAPP_WINDOW:
        return RouteStep(origin.provider, sender=sender)
    content_sid = twilio_content_for(get_settings().config_dir, message.purpose)
    if content_sid is not None:
        return RouteStep(origin.provider, sender=sender, content_sid=content_sid)
    return RouteStep(origin.provider)


def _whatsapp_alert_steps(session: Session, message: OutboundMessage) -> list[RouteStep]:
    """An alert on the `whatsapp` channel: each gateway that carries WhatsApp alerts (the Cloud API's, then
    Twilio's WhatsApp: hotline/channels/gateways.py), free text within 24 hours of the member's own last WhatsApp
    message to it, else the city's approved template for the purpose (sms/whatsapp.yaml `alert`, `escalation`:
    the Meta name, or `twilio_content_sid` through Twilio); nothing else, so a refusal, a failed status (Twilio's
    63016) or a missing template moves the alert to its next channel."""
    settings = get_settings()
    template = template_for(settings.config_dir, message.purpose)
    steps: list[RouteStep] = []
    for spec in whatsapp_alert_gateways(settings):
        if spec.kind == "twilio":
            step = _twilio_whatsapp_alert_step(session, spec, message)
            if step is not None:
                steps.append(step)
            continue
        latest = session.scalar(
            select(InboundMessage.received_at)
            .where(InboundMessage.from_e164 == message.to_number, InboundMessage.provider == spec.name)
            .order_by(InboundMessage.id.desc())
            .limit(1)
        )
        if latest is not None and latest > utcnow() - WHATSAPP_WINDOW:
            steps.append(RouteStep(spec.name))
        elif template is not None:
            steps.append(RouteStep(spec.name, template=template))
    return steps


def _twilio_whatsapp_alert_step(session: Session, spec: GatewaySpec, message: OutboundMessage) -> RouteStep | None:
    """Through Twilio's WhatsApp: free text from the number the member last wrote to on WhatsApp, within 24 hours
    of it; else the purpose's Content SID from the gateway's WhatsApp sender; else None (not this gateway)."""
    recent = session.scalars(
        select(InboundMessage)
        .where(InboundMessage.from_e164 == message.to_number, InboundMessage.provider == spec.name)
        .order_by(InboundMessage.id.desc())
        .limit(TWILIO_WHATSAPP_SCAN)
    )
    last = next((m for m in recent if (m.payload or {}).get("twilio_channel") == "whatsapp"), None)
    ours = (spec.get("WHATSAPP_FROM") or "").removeprefix(WHATSAPP_PREFIX)
    if last is not None and last.received_at > utcnow() - WHATSAPP_WINDOW:
        return RouteStep(spec.name, sender=WHATSAPP_PREFIX + (last.to_number or ours).removeprefix(WHATSAPP_PREFIX))
    content_sid = twilio_content_for(get_settings().config_dir, message.purpose)
    if content_sid is None or not ours:
        return None
    return RouteStep(spec.name, sender=WHATSAPP_PREFIX + ours, content_sid=content_sid)


def _whatsapp_origin(session: Session, message: OutboundMessage, routing: SmsRouting) -> InboundMessage | None:
    """The recipient's own latest message, when it came on WhatsApp (the Cloud API's or Twilio's): news of their
    report answers them there even when a crew's SMS triggered it (the SMS origin rule would pick the crew's)."""
    whatsapp = [g.name for g in routing.gateways.values() if g.kind in ("whatsapp", "twilio")]
    if not whatsapp:
        return None
    stmt = (
        select(InboundMessage)
        .where(InboundMessage.from_e164 == message.to_number, InboundMessage.received_at > utcnow() - ORIGIN_WINDOW)
        .order_by(InboundMessage.id.desc())
        .limit(1)
    )
    latest = session.scalar(stmt)
    if latest is None or latest.provider not in whatsapp:
        return None
    return (
        latest
        if routing.gateways[latest.provider].kind == "whatsapp" or _via_twilio_whatsapp(latest, routing)
        else None
    )


def _wrote_on_whatsapp(session: Session, origin: InboundMessage, message: OutboundMessage, routing: SmsRouting) -> bool:
    if routing.gateways[origin.provider].kind != "whatsapp":
        return False
    stmt = select(InboundMessage.id).where(
        InboundMessage.from_e164 == message.to_number, InboundMessage.provider == origin.provider
    )
    return session.scalar(stmt.limit(1)) is not None


def _open_session(session: Session, origin: InboundMessage, message: OutboundMessage, routing: SmsRouting) -> bool:
    """WhatsApp answers free-form only within 24 hours of the recipient's own last message to it (Meta's customer
    service window: a member's TERIMA on WhatsApp opens none for the teammates told of it); past that, or
    never opened, the SMS of the replies list takes it. Other gateways have no such window."""
    if routing.gateways[origin.provider].kind != "whatsapp":
        return True
    latest = session.scalar(
        select(InboundMessage.received_at)
        .where(InboundMessage.from_e164 == message.to_number, InboundMessage.provider == origin.provider)
        .order_by(InboundMessage.id.desc())
        .limit(1)
    )
    return latest is not None and latest > utcnow() - WHATSAPP_WINDOW


def _origin(session: Session, message: OutboundMessage) -> InboundMessage | None:
    if message.inbound_id is not None:
        found = session.get(InboundMessage, message.inbound_id)
        if found is not None:
            return found
    stmt = (
        select(InboundMessage)
        .where(InboundMessage.from_e164 == message.to_number, InboundMessage.received_at > utcnow() - ORIGIN_WINDOW)
        .order_by(InboundMessage.id.desc())
        .limit(1)
    )
    return session.scalar(stmt)


def is_failing_over(session: Session, message: OutboundMessage) -> bool:
    """Whether this alert SMS is a step of an alert's channel failover (hotline/features/alerts/failover.py)."""
    if message.purpose not in ALERT_PURPOSES:
        return False
    return session.scalar(select(AlertAttempt.id).where(AlertAttempt.outbound_id == message.id)) is not None


def _gateways_tried(session: Session, delivery_id: int, message_id: int) -> set[str]:
    stmt = (
        select(OutboundMessage.gateway)
        .join(AlertAttempt, AlertAttempt.outbound_id == OutboundMessage.id)
        .where(AlertAttempt.delivery_id == delivery_id, OutboundMessage.id != message_id)
    )
    return {g for g in session.scalars(stmt) if g}
