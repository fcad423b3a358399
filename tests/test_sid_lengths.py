"""A gateway's own message id, namespaced with the gateway's name, fits outbound_messages.provider_sid.

Found while fuzzing for issue 18 on PostgreSQL: a Gammu outbox file name (`OUTB<date>_<time>_00_<number>_hl<id>x
<expiry>.txt`) with the gateway's name in front was 65 characters once the outbox id reached 1,000 with a gateway
called "modem" (and from the first SMS with a 16-character name), and every send failed on the UPDATE."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from hotline.channels.gammu.gateway import GammuGateway
from hotline.channels.gateway import OutgoingSms
from hotline.features.sms.sms_intake import namespaced_sid
from hotline.models import OutboundMessage
from hotline.sms.encoding import measure


def test_a_gammu_send_id_fits_its_column() -> None:
    longest_name = "g" * 16  # the longest gateway name HOTLINE_SMS_GATEWAYS allows
    gateway = GammuGateway(name=longest_name, outbox=Path("/outbox"), sent=Path("/sent"), error=Path("/error"))
    body = "Laporan No. 1 diterima"
    sms = OutgoingSms(
        message_id=2_147_483_647,  # the largest outbox id
        to="+628123456789012",
        body=body,
        coding=measure(body),
        purpose="alert",
        validity=timedelta(days=7),
    )
    name = gateway.file_name(sms, datetime(2026, 12, 7, 10, 8, 35, tzinfo=UTC))
    column = OutboundMessage.__table__.c.provider_sid.type.length
    assert len(namespaced_sid(longest_name, "gammu", name)) <= column, (len(name), column)
