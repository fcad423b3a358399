"""One turn of a call, the loop every transport runs around the pure engine.

    state = load(call)                                  # CallState.from_json, or engine.start(flow)
    flow = registry.pinned(state)                       # the exact version the call started on
    turn = run_turn(flow, state, event, services)       # steps, performs service actions, steps again
    render(turn.media)                                  # TwiML / ARI playbacks / terminal lines
    save(call, turn.state)                              # state.to_json(), in the same transaction

`CallServices` is the seam to the ticket service; transports never touch the database themselves.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Protocol

from hotline.ivr import actions as a
from hotline.ivr.engine import step
from hotline.ivr.flow import Flow
from hotline.ivr.state import CallState

log = logging.getLogger(__name__)


class CallServices(Protocol):
    """What a call needs from the rest of the system. SMS and updates go through the outbox and must
    not raise; `create_ticket` may raise: the caller then hears the apology and goes to an operator."""

    def create_ticket(self, action: a.CreateTicket) -> int: ...

    def update_ticket(self, action: a.UpdateTicket) -> None: ...

    def send_sms(self, action: a.SendSms) -> None: ...

    def screen_call(self, action: a.ScreenCall) -> None: ...

    def accept_ticket(self, action: a.AcceptTicket) -> a.AcceptAnswered: ...


@dataclass(frozen=True)
class Turn:
    state: CallState
    media: tuple[a.MediaAction, ...]  # render these, in order
    actions: tuple[a.Action, ...]  # everything the engine asked for, for logs and tests


def run_turn(flow: Flow, state: CallState, event: a.Event, services: CallServices) -> Turn:
    media: list[a.MediaAction] = []
    performed: list[a.Action] = []
    pending: a.Event | None = event
    while pending is not None:
        state, actions = step(flow, state, pending)
        pending = None
        for action in actions:
            performed.append(action)
            if isinstance(action, a.CreateTicket):
                try:
                    pending = a.TicketCreated(services.create_ticket(action))
                except Exception as exc:  # broad: any failure: the engine apologises and hands over to a person
                    log.exception("the call's ticket could not be opened; the caller goes to a person")
                    pending = a.TicketFailed(f"{type(exc).__name__}: {exc}")
            elif isinstance(action, a.UpdateTicket):
                services.update_ticket(action)
            elif isinstance(action, a.SendSms):
                services.send_sms(action)
            elif isinstance(action, a.ScreenCall):
                services.screen_call(action)
            elif isinstance(action, a.AcceptTicket):
                pending = services.accept_ticket(action)
            else:
                media.append(action)
    return Turn(state, tuple(media), tuple(performed))
