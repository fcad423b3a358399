"""`hotline sms ...`: what the SMS gateways call on this host (Gammu SMSD's RunOnReceive)."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console

if TYPE_CHECKING:
    from hotline.channels.gateway import InboundSms

sms_app = typer.Typer(help="SMS gateways on this host (Gammu SMSD's RunOnReceive).", no_args_is_help=True)
err = Console(stderr=True)


@sms_app.command("gammu-receive")
def gammu_receive(
    files: Annotated[list[str] | None, typer.Argument(help="the inbox file names SMSD appends")] = None,
    gateway: Annotated[str | None, typer.Option(help="the gammu gateway's name (default: the only one)")] = None,
) -> None:
    """Store the SMS gammu-smsd just received (RunOnReceive = .../hotline sms gammu-receive --gateway NAME):
    read from its inbox files, else from the SMS_* / DECODED_* environment it sets; idempotent. Exit 0 once
    stored; non-zero when it could not be (the sweeper stores it from the inbox later)."""
    from hotline.channels.gammu.gateway import GammuGateway
    from hotline.channels.gateway_sink import InboundRefused, gateway_of_kind, take_inbound
    from hotline.settings import get_settings

    name = gateway_of_kind("gammu", gateway.lower() if gateway else None)
    if name is None:
        err.print(f"no gammu gateway{' named ' + repr(gateway) if gateway else ''} (HOTLINE_SMS_GATEWAYS)")
        raise typer.Exit(2)
    spec = get_settings().sms_routing.gateways[name]
    gammu = GammuGateway.from_spec(spec)
    messages = gammu.inbox_messages(names=files or []) if gammu.inbox is not None else []
    if not messages:  # no InboxPath configured, or the files backend is not used (NULL service): the environment
        messages = _from_environment(name, files or [])
    if not messages:
        err.print("nothing to store: no inbox files given and no SMS_1_NUMBER in the environment")
        raise typer.Exit(1)
    try:
        for sms in messages:
            new_id = take_inbound(sms, kind="gammu")
            gammu.stored(sms)
            typer.echo(f"{sms.gateway_id}: {'stored as inbound ' + str(new_id) if new_id else 'already stored'}")
    except InboundRefused as exc:
        err.print(f"cannot store it: {exc}")
        raise typer.Exit(1) from None


def _from_environment(gateway: str, files: list[str]) -> list[InboundSms]:
    from hotline.channels.gammu.gateway import INBOX_FILE, message_key
    from hotline.channels.gateway import InboundSms

    count = int(os.environ.get("SMS_MESSAGES", "0") or 0)
    sender = os.environ.get("SMS_1_NUMBER", "")
    if count < 1 or not sender:
        return []
    text = os.environ.get("DECODED_1_TEXT") or "".join(os.environ.get(f"SMS_{i}_TEXT", "") for i in range(1, count + 1))
    first = INBOX_FILE.match(files[0]) if files else None
    # The same id as from the files when SMSD named them; else the SQL row id it passes.
    key = first["key"] if first else (files[0] if files else "")
    if not key:
        return []
    return [
        InboundSms(
            gateway=gateway,
            gateway_id=message_key(key, text),
            sender=sender,
            body=text,
            line=os.environ.get("PHONE_ID") or None,
            payload={"files": files},
        )
    ]
