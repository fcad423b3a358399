"""Asterisk over ARI: the thin client (client.py), engine actions as ARI requests (media.py), the app that
runs calls on channels (executor.py), the call service seam (calls.py), operators (operators.py,
takeover.py) and `hotline ari` (run.py). docs/asterisk.md explains the whole.

`VOICE` is the voice gateway type `asterisk` (hotline/channels/voice.py `VoiceGatewayType`), with its own settings
(ARI_*: settings.py)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from hotline.channels.ari.settings import AriSettings, ari_settings, check
from hotline.channels.voice import VoiceGateway, VoiceGatewayType

if TYPE_CHECKING:
    from hotline.settings import Settings


def _configured(settings: Settings) -> bool:
    return ari_settings(settings).connected


def _describe(settings: Settings) -> str:
    return f"asterisk, at {ari_settings(settings).alert_endpoint}"


def _build(settings: Settings) -> VoiceGateway:
    from hotline.channels.ari.voice_gateway import AsteriskVoice

    return AsteriskVoice.from_settings(settings)


VOICE = VoiceGatewayType(
    name="asterisk", configured=_configured, build=_build, settings=AriSettings, check=check, describe=_describe
)
