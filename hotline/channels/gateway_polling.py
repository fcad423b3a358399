"""Gateways that are looked at rather than called (Gammu SMSD's folders): what they have is taken in through
the same sink as every webhook. Run by the worker's sweeper (hotline/jobs/sweeper.py) every sweep."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from hotline.channels.gateway import DeliveryReport, InboundSms, PollingGateway
from hotline.channels.gateway_sink import InboundRefused, take_inbound, take_report
from hotline.channels.gateways import build_gateway, routing
from hotline.settings import Settings, get_settings

log = logging.getLogger(__name__)


@dataclass
class PollResult:
    inbound: int = 0  # SMS stored now (not before)
    reports: int = 0


def poll_gateways(settings: Settings | None = None) -> PollResult:
    settings = settings or get_settings()
    result = PollResult()
    for spec in routing(settings).gateways.values():
        if spec.kind != "gammu":  # the only type that needs looking at (an SMPP bind is its own process)
            continue
        gateway = build_gateway(spec, settings)
        if not isinstance(gateway, PollingGateway):
            continue
        try:
            items = list(gateway.poll())
        except OSError:
            log.warning("could not look at gateway %s's folders", spec.name, exc_info=True)
            continue
        for item in items:
            try:
                if isinstance(item, InboundSms):
                    if take_inbound(item, kind=spec.kind) is not None:
                        result.inbound += 1
                    _done(gateway, "stored", item)
                elif isinstance(item, DeliveryReport):
                    take_report(item)
                    result.reports += 1
                    _done(gateway, "reported", item)
            except InboundRefused as exc:
                log.error("gateway %s: cannot store %s: %s", spec.name, item, exc)
            except Exception:  # broad: whatever failed (the database above all), the files stay for the next sweep
                log.warning("gateway %s: could not take %s in; next sweep", spec.name, item, exc_info=True)
                break
    return result


def _done(gateway: object, what: str, item: InboundSms | DeliveryReport) -> None:
    done = getattr(gateway, what, None)
    if callable(done):
        done(item)
