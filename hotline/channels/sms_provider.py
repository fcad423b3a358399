"""The interface of before, kept as names: every SMS gateway now implements `SmsGateway`
(hotline/channels/gateway.py), both directions."""

from __future__ import annotations

from hotline.channels.gateway import SendError, SendResult, SmsGateway
from hotline.channels.gateways import LogGateway

SmsProvider = SmsGateway
LogSmsProvider = LogGateway

__all__ = ["LogSmsProvider", "SendError", "SendResult", "SmsProvider"]
