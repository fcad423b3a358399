"""Pick the configured SMS provider."""

from __future__ import annotations

from hotline.channels.sms_provider import LogSmsProvider, SmsProvider
from hotline.settings import Settings


def sms_provider(settings: Settings, channel: str | None = None) -> SmsProvider:
    """The provider for an outbox row's `channel`: None (or "sms") the main one, "sms_backup" the backup gateway."""
    if channel == "sms_backup":
        return backup_sms_provider(settings)
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


def backup_sms_provider(settings: Settings) -> SmsProvider:
    from hotline.channels.kannel.sms_client import KannelSmsProvider

    if not settings.backup_sms_url:
        raise RuntimeError("the backup SMS gateway needs HOTLINE_BACKUP_SMS_URL")
    return KannelSmsProvider(
        url=settings.backup_sms_url,
        username=settings.backup_sms_username or "",
        password=settings.backup_sms_password or "",
        from_number=settings.backup_sms_from,
        smsc=settings.backup_sms_smsc,
    )
