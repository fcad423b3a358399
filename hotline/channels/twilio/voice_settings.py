"""The Twilio voice gateway type's own settings, read with the rest at start (hotline/core/voice_config.py):
`settings.voice(TwilioVoiceSettings)`. Twilio's account (TWILIO_*) is shared with SMS: it stays in
hotline/settings.py, the one source for both."""

from __future__ import annotations

from pydantic import Field, field_validator

from hotline.core.voice_config import VoiceSettings


class TwilioVoiceSettings(VoiceSettings):
    # A call that arrives while the database is down (or on the Voice Fallback URL) is put through to this
    # phone, e.g. the command center's desk (E.164); nobody answers, or unset: the caller leaves a message.
    fallback_number: str | None = Field(None, alias="HOTLINE_VOICE_FALLBACK_NUMBER")

    @field_validator("fallback_number")
    @classmethod
    def _dialable(cls, number: str | None) -> str | None:
        if not number or not number.strip():
            return None
        compact = "".join(c for c in number if c not in " -().")
        if not (compact.startswith("+") and compact[1:].isdigit() and 8 <= len(compact) <= 16):
            raise ValueError(f"{number!r} must be a phone number in E.164 form, e.g. +62341512345")
        return compact
