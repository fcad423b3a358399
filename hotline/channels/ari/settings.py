"""The Asterisk voice gateway type's own settings (ARI_*), read with the rest at start (hotline/core/voice_config.py):
`settings.voice(AriSettings)`. Their names and meanings are docs/interface.md's."""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

from pydantic import Field

from hotline.core.gateway_config import Findings
from hotline.core.secret_strength import GATEWAY_SECRET, weak_secret
from hotline.core.voice_config import VoiceSettings

if TYPE_CHECKING:
    from hotline.settings import Settings


class AriSettings(VoiceSettings):
    url: str | None = Field(None, alias="ARI_URL")
    username: str | None = Field(None, alias="ARI_USERNAME")
    password: str | None = Field(None, alias="ARI_PASSWORD")
    app: str = Field("hotline", alias="ARI_APP")
    # One ARI app per Asterisk (hotline/channels/ari/lease.py): a standby takes over this long after the
    # running app dies. 0 turns the lease off.
    lease_seconds: float = Field(15.0, alias="ARI_LEASE_SECONDS", ge=0)
    # sounds: sound:hotline/{lang}/{key} from Asterisk's sounds folder; http: fetched from HOTLINE_PUBLIC_URL
    prompts: Literal["sounds", "http"] = Field("sounds", alias="ARI_PROMPTS")
    # Voice alerts through Asterisk: the dial string a member's phone is rung at ({number}: +62812...,
    # {national}: 0812...), and the number they see. hotline/channels/ari/voice_gateway.py
    alert_endpoint: str = Field("PJSIP/{national}@trunk", alias="ARI_ALERT_ENDPOINT")
    alert_caller_id: str | None = Field(None, alias="ARI_ALERT_CALLER_ID")

    @property
    def connected(self) -> bool:
        """Whether Hotline can talk to an Asterisk: its address and the ARI user's credentials."""
        return bool(self.url and self.username and self.password)

    def production_problems(self) -> list[str]:
        if not self.url:
            return []
        weak = weak_secret(self.password or "", **GATEWAY_SECRET)
        # config/asterisk/ari.conf ships CHANGE-ME
        return [f"ARI_PASSWORD is {weak}; set the password of the ARI user in ari.conf"] if weak else []


def ari_settings(settings: Settings) -> AriSettings:
    return settings.voice(AriSettings)


def setting_problems(settings: Settings) -> list[str]:
    """What stops the ARI app (and the Asterisk gateway) with ARI_URL set, one sentence each."""
    ari = ari_settings(settings)
    problems = []
    if not ari.username or not ari.password:
        problems.append("ARI_USERNAME and ARI_PASSWORD must be set (config/asterisk/ari.conf)")
    if ari.prompts == "http" and not settings.public_url:
        problems.append("ARI_PROMPTS=http needs HOTLINE_PUBLIC_URL (where Asterisk fetches the prompts)")
    return problems


def check(settings: Settings) -> Findings:
    """`hotline config check`'s problems with the Asterisk settings (none without ARI_URL: no Asterisk here)."""
    found = Findings()
    if ari_settings(settings).url:
        found.problems.extend(f"settings: {problem}" for problem in setting_problems(settings))
    return found
