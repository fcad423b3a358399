"""Pick the configured SMS provider."""

from __future__ import annotations

from hotline.channels.sms_provider import LogSmsProvider, SmsProvider
from hotline.settings import Settings


def sms_provider(settings: Settings) -> SmsProvider:
    if settings.effective_sms_provider == "twilio":
        from hotline.channels.twilio.sms_client import TwilioSmsProvider

        missing = [
            name
            for name, value in (
                ("TWILIO_ACCOUNT_SID", settings.twilio_account_sid),
                ("TWILIO_AUTH_TOKEN", settings.twilio_auth_token),
                ("TWILIO_FROM_NUMBER", settings.twilio_from_number),
            )
            if not value
        ]
        if missing:
            raise RuntimeError(f"Twilio SMS needs {', '.join(missing)}")
        return TwilioSmsProvider(
            account_sid=settings.twilio_account_sid or "",
            auth_token=settings.twilio_auth_token or "",
            from_number=settings.twilio_from_number or "",
            api_base=settings.twilio_api_base,
        )
    return LogSmsProvider()
