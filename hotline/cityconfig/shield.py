"""routing/shield.yaml: the junk-call shield's limits (optional file; without it the shield only logs).

Validated like every city file: unknown keys and bad values are reported with file:line and a fix.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from hotline.cityconfig.errors import ConfigError
from hotline.cityconfig.model import ShieldRules
from hotline.cityconfig.schema_errors import pydantic_errors
from hotline.cityconfig.yamlsource import ConfigErrorOnRead, read_yaml
from hotline.phone import to_e164

FILE = "routing/shield.yaml"
Hours = Annotated[float, Field(gt=0, le=24 * 90)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class LimitsIn(_Strict):
    calls_per_hour: Annotated[int, Field(ge=1, le=1000)]
    calls_per_day: Annotated[int, Field(ge=1, le=10000)]
    # a number that confirmed (replied 1), was cleared, or has an open report: a higher ceiling, never none
    confirmed_calls_per_hour: Annotated[int, Field(ge=1, le=1000)] | None = None
    confirmed_calls_per_day: Annotated[int, Field(ge=1, le=10000)] | None = None


class OffenderIn(_Strict):
    silent_calls: Annotated[int, Field(ge=1, le=100)]
    within_hours: Hours
    flag_hours: Hours


class VerificationIn(_Strict):
    reply_hours: Hours = 24
    after_silent_call: bool = True


class ShieldFile(_Strict):
    limits: LimitsIn
    repeat_offender: OffenderIn
    verification: VerificationIn = VerificationIn()
    exempt: list[str | int] = []


def read_shield(root: Path, region: str) -> tuple[ShieldRules, list[ConfigError]]:
    """The rules of `root`/routing/shield.yaml; no file: the shield is off (every call allowed, still logged)."""
    if not (root / FILE).exists():
        return ShieldRules(), []
    try:
        source = read_yaml(root / FILE, FILE)
    except ConfigErrorOnRead as exc:
        return ShieldRules(), [exc.error]
    try:
        parsed = ShieldFile.model_validate(source.data)
    except ValidationError as exc:
        return ShieldRules(), list(pydantic_errors(source, exc))
    errors: list[ConfigError] = []
    limits = parsed.limits
    if limits.calls_per_hour > limits.calls_per_day:
        errors.append(
            source.error(
                ("limits", "calls_per_hour"),
                f"calls_per_hour ({limits.calls_per_hour}) is above calls_per_day ({limits.calls_per_day})",
                "make calls_per_day at least calls_per_hour",
            )
        )
    for key, normal in (("confirmed_calls_per_hour", "calls_per_hour"), ("confirmed_calls_per_day", "calls_per_day")):
        higher = getattr(limits, key)
        if higher is not None and higher < getattr(limits, normal):
            errors.append(
                source.error(
                    ("limits", key),
                    f"{key} ({higher}) is below {normal} ({getattr(limits, normal)})",
                    f"make {key} at least {normal} (it is the higher ceiling of a confirmed number)",
                )
            )
    exempt = set()
    for i, raw in enumerate(parsed.exempt):
        phone = to_e164(str(raw), region)
        if phone is None:
            errors.append(
                source.error(("exempt", i), f"'{raw}' is not a valid phone number", "write +62341... or 0341...")
            )
        else:
            exempt.add(phone)
    offender = parsed.repeat_offender
    rules = ShieldRules(
        enabled=True,
        calls_per_hour=limits.calls_per_hour,
        calls_per_day=limits.calls_per_day,
        confirmed_calls_per_hour=limits.confirmed_calls_per_hour or 0,
        confirmed_calls_per_day=limits.confirmed_calls_per_day or 0,
        offender_silent_calls=offender.silent_calls,
        offender_within_hours=offender.within_hours,
        flag_hours=offender.flag_hours,
        verify_reply_hours=parsed.verification.reply_hours,
        verify_after_silent_call=parsed.verification.after_silent_call,
        exempt=frozenset(exempt),
    )
    return rules, errors
