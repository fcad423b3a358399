"""What the settings know of the voice gateway types (twilio, asterisk, ...): their names, for HOTLINE_VOICE_ALERTS,
and the settings each type reads, read and checked with the rest at start.

A type declares its own settings as a `VoiceSettings` (a pydantic-settings model whose fields' aliases are its
environment variables, e.g. ARI_URL) in its adapter package (hotline/channels/voice.py `VoiceGatewayType.settings`);
the composition root (hotline/wiring.py) registers the types (`register_kind`: core may not import the adapters,
so the list is handed to it), and hotline.settings.Settings reads each one's settings beside its own
(`Settings.voice(AriSettings)`). Settings both SMS and voice read (Twilio's account) stay in hotline/settings.py:
one source for both.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol

from pydantic import ValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict

from hotline.core.settings_errors import error_lines


class VoiceSettings(BaseSettings):
    """A voice gateway type's own settings, read as hotline.settings.Settings reads its own (environment, .env)."""

    model_config = SettingsConfigDict(env_file=".env", extra="ignore", populate_by_name=True)

    def production_problems(self) -> list[str]:
        """What production refuses to start with (a placeholder password), one sentence each."""
        return []


class VoiceKind(Protocol):
    """What the settings read of a voice gateway type (hotline/channels/voice.py `VoiceGatewayType`)."""

    @property
    def name(self) -> str: ...
    @property
    def settings(self) -> type[VoiceSettings] | None: ...


_KINDS: dict[str, VoiceKind] = {}  # in registration order: the voice alerts' order of preference


def register_kind(kind: VoiceKind) -> None:
    _KINDS[kind.name] = kind


def unregister_kind(name: str) -> None:
    _KINDS.pop(name, None)


def voice_kinds() -> Mapping[str, VoiceKind]:
    return _KINDS


def alerts_choice(name: str | None) -> str | None:
    """HOTLINE_VOICE_ALERTS checked against the registered types (None: unset, the first that can place calls)."""
    name = (name or "").strip()
    if not name:
        return None
    if not _KINDS:
        # Every name would seem unknown: say why instead.
        raise RuntimeError("no voice gateway types registered (hotline.wiring.wire() was not called in this process)")
    if name not in _KINDS:
        raise ValueError(f"{name!r} is not a voice gateway type; set it to one of {', '.join(_KINDS)} (or unset it)")
    return name


def read_voice_settings(model: type[VoiceSettings], given: Mapping[str, Any]) -> VoiceSettings:
    """One type's settings, from what hotline.settings.Settings was given (its keywords, `_env_file`), then the
    environment and .env. Anything wrong is one ValueError naming the variables, as the settings' own are."""
    try:
        return model(**given)
    except ValidationError as exc:
        raise ValueError("; ".join(error_lines(exc))) from None
