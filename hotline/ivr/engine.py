"""The IVR engine: `step(flow, state, event) -> (state, actions)`. Pure: no I/O, no clock, no database.

A call is a sequence of steps. `start(flow)` makes the first state; `Start` is the first event. Each
step runs nodes from where the call rests until the next node that waits (menu, gather, record,
transfer), ends the call (hangup), or needs the ticket service (create_ticket); see
hotline/ivr/actions.py for the rules the returned actions follow, and hotline/ivr/turn.py for the
loop every transport runs around it.

What the engine guarantees, whatever the flow says:

* The operator key (flow `operator.key`, "0" in Kota Batu) at any menu or gather goes to the
  operator node; so does a menu or gather whose retries ran out without an `on_fail`.
* Nothing the caller said is lost. Before the call leaves the flow -- the caller hangs up, the call
  is put in the operator queue, or the flow hangs up -- a ticket is opened if the caller gave
  anything worth keeping (category, kecamatan, desa or a recording) and none exists yet:
  `CreateTicket(partial=True, stopped_at=<node>, reason=...)`; an existing ticket gets
  `UpdateTicket` with what was added since. `state.outcome_node` names the node where it happened.
* A failed ticket (`TicketFailed`) plays the flow's apology and goes to the operator; never silence.
* An SMS template is sent at most once per call.
* The queue: `Enqueue.priority` is the transfer's, except that a number the junk-call shield held back
  is "screened" and a call that was an emergency once (an emergency transfer, a critical ticket) stays
  "emergency". A transfer with `place` leaves the queue once after `place_after_seconds` when the
  kecamatan is unknown (`QueueLeft(answered=False)` then goes to `place`, not `on_fail`); the next wait
  there is the rest of `max_wait_seconds`.
* Silence is only ever a `Silence` event (no key and no voice heard by a listening Gather, see
  `Gather.listen`); a plain `NoInput` or `Speech` at a node with `on_silence` takes the normal no-input
  path, so a transport that cannot hear never makes a caller "silent". A silent call gets no ticket.
* A state pinned to another version of the flow (the registry could not find it after a restart)
  carries on at the same node if it still exists and waits for the same thing; otherwise the caller
  goes to the operator. `state.repinned_from` keeps the old version.
"""

from __future__ import annotations

from dataclasses import replace
from typing import NamedTuple

from hotline.ivr import actions as a
from hotline.ivr.flow import (
    ENGINE_FIELDS,
    INPUT_NODES,
    STANDARD_FIELDS,
    AcceptTicketNode,
    BranchNode,
    Condition,
    CreateTicketNode,
    Flow,
    GatherNode,
    HangupNode,
    MenuNode,
    Node,
    ReadNumberNode,
    RecordNode,
    SayNode,
    ScreenNode,
    SendSmsNode,
    SetNode,
    TransferNode,
    fill_key,
)
from hotline.ivr.state import CallState, PathStep, new_call

WORTH_KEEPING = ("category", "kecamatan", "desa", "recording_url")


class EngineError(RuntimeError):
    """The transport broke the protocol (an event before Start, a state of another flow)."""


class StepResult(NamedTuple):
    state: CallState
    actions: tuple[a.Action, ...]


def start(flow: Flow) -> CallState:
    """A fresh state pinned to this exact flow version; feed it `Start` next."""
    return new_call(flow.id, flow.version, flow.languages[0])


def step(flow: Flow, state: CallState, event: a.Event) -> StepResult:
    if state.flow_id != flow.id:
        raise EngineError(f"state belongs to flow {state.flow_id}, not {flow.id}")
    turn = _Turn(flow, state)
    turn.handle(event)
    return StepResult(turn.freeze(), tuple(turn.actions))


def holds(condition: Condition, values: dict[str, str], flow: Flow) -> bool:
    if condition.has_open_ticket is not None and bool(values.get("open_ticket_number")) != condition.has_open_ticket:
        return False
    if condition.emergency is not None and (values.get("category") in flow.emergency_categories) != condition.emergency:
        return False
    if condition.field is not None:
        value = values.get(condition.field)
        if condition.is_set is not None and bool(value) != condition.is_set:
            return False
        if condition.equals is not None and value != condition.equals:
            return False
        if condition.one_of is not None and value not in condition.one_of:
            return False
    return True


class _Turn:
    """One step's working copy of the state, plus the actions it emits."""

    def __init__(self, flow: Flow, state: CallState):
        self.flow, self.state = flow, state
        self.phase = state.phase
        self.node = state.node
        self.retries_left = state.retries_left
        self.language = state.language
        self.fields = dict(state.fields)
        self.saved_fields = dict(state.saved_fields) if state.saved_fields is not None else None
        self.sms_sent = list(state.sms_sent)
        self.resume = state.resume
        self.ticket_failed = state.ticket_failed
        self.path = list(state.path)
        self.outcome = state.outcome
        self.outcome_node = state.outcome_node
        self.repinned_from = state.repinned_from
        self.actions: list[a.Action] = []
        self.max_hops = 4 * len(flow.nodes) + 10  # the validator refuses loops without input

    def freeze(self) -> CallState:
        return replace(
            self.state,
            flow_version=self.flow.version,
            phase=self.phase,
            node=self.node,
            retries_left=self.retries_left,
            language=self.language,
            fields=self.fields,
            saved_fields=self.saved_fields,
            sms_sent=tuple(self.sms_sent),
            resume=self.resume,
            ticket_failed=self.ticket_failed,
            path=tuple(self.path),
            outcome=self.outcome,
            outcome_node=self.outcome_node,
            repinned_from=self.repinned_from,
        )

    # --- dispatch ------------------------------------------------------------------------------

    def handle(self, event: a.Event) -> None:
        if self.phase == "ended":
            return  # late webhooks (status callbacks, a second hang-up) change nothing
        if self.phase == "new":
            if isinstance(event, a.Start):
                self._start(event)
            elif isinstance(event, a.HangUp):
                self.phase, self.outcome = "ended", "hung_up"
            else:
                raise EngineError(f"the first event must be Start, got {type(event).__name__}")
            return
        if self.state.flow_version != self.flow.version and self._repin(event):
            return
        if isinstance(event, a.HangUp):
            self._caller_hung_up()
        elif self.phase == "ticket" and isinstance(event, a.TicketCreated | a.TicketFailed):
            self._ticket_answered(event)
        elif self.phase == "accept" and isinstance(event, a.AcceptAnswered):
            self._accept_answered(event)
        elif self.phase == "queue" and isinstance(event, a.QueueLeft):
            self._queue_left(event)
        elif self.phase == "input" and isinstance(event, a.Digits | a.NoInput | a.Silence | a.Speech | a.Recorded):
            self._input(event)
        else:
            raise EngineError(f"{type(event).__name__} does not fit a call in phase {self.phase} at {self.node}")

    def _start(self, event: a.Start) -> None:
        self.state = replace(self.state, caller=event.caller)
        if event.open_ticket is not None:
            self.fields["open_ticket_number"] = str(event.open_ticket.number)
            self.fields["open_ticket_status"] = event.open_ticket.status
            if event.open_ticket.category:
                self.fields["open_ticket_category"] = event.open_ticket.category
        if event.screening:
            self.fields["screening"] = event.screening
        if event.verify_by:
            self.fields["verify_by"] = event.verify_by
        if event.recent_silent_calls > 0:
            self.fields["recent_silent_calls"] = str(event.recent_silent_calls)
        if event.farmer:
            self.fields["farmer"] = "1"
        # A screened call starts where the flow says; a decision the flow has no node for starts normally.
        self.enter(self.flow.screening.get(event.screening, self.flow.start))

    def _repin(self, event: a.Event) -> bool:
        """The state was made on another version. True when this step is handled (sent to the operator)."""
        self.repinned_from = self.repinned_from or self.state.flow_version
        node = self.flow.nodes.get(self.node or "")
        fits = (
            (self.phase == "input" and isinstance(node, INPUT_NODES))
            or (self.phase == "queue" and isinstance(node, TransferNode))
            or (self.phase == "ticket" and node is not None)
            or (self.phase == "accept" and isinstance(node, AcceptTicketNode))
        )
        if fits:
            if isinstance(node, INPUT_NODES):
                self.retries_left = min(self.retries_left, node.retry.retries)
            return False
        if isinstance(event, a.HangUp | a.TicketCreated | a.TicketFailed | a.AcceptAnswered):
            return False  # these mean the same on any version
        self.path.append(PathStep(self.node or "-", "repinned"))
        self.enter(self.flow.operator_node)
        return True

    # --- running nodes -------------------------------------------------------------------------

    def values(self) -> dict[str, str]:
        return {**self.fields, "language": self.language, "caller": self.state.caller}

    def enter(self, node_id: str, *, again: bool = False) -> None:
        """Run nodes from `node_id` until one waits; `again` re-enters the resting node silently."""
        target: str | None = node_id
        for _ in range(self.max_hops):
            if target is None:
                return
            if target not in self.flow.nodes:  # only after a re-pin to a version without it
                target = self.flow.operator_node
            if not again:
                self.path.append(PathStep(target))
            again = False
            target = self._run(self.flow.nodes[target])
        raise EngineError(f"flow {self.flow.id} does not wait for input (a loop without input?)")

    def _run(self, node: Node) -> str | None:
        """Do what the node does; the next node to run, or None when the turn stops here."""
        match node:
            case SayNode():
                self.actions.extend(self._prompts(node.prompts))
                return node.next
            case SetNode():
                for name, value in node.values.items():
                    self._set(name, value)
                return node.next
            case BranchNode():
                values = self.values()
                return next((c.next for c in node.cases if holds(c.when, values, self.flow)), node.otherwise)
            case ReadNumberNode():
                number = self.values().get(node.field, "")
                if number.isdigit():
                    self.actions.extend(self._prompts(node.prompts))
                    self.actions.append(self.flow.read_digits(number, self.language))
                return node.next
            case SendSmsNode():
                ticket = self.ticket_number
                if ticket is not None and node.template not in self.sms_sent:
                    self.sms_sent.append(node.template)
                    self.actions.append(a.SendSms(node.template, self.language, self.state.caller, ticket))
                return node.next
            case ScreenNode():
                self.actions.append(a.ScreenCall(node.decision, node.id, self.state.caller))
                return node.next
            case CreateTicketNode():
                if self.ticket_number is not None and node.priority == "critical" and not self._ticket_is_critical():
                    # The emergency key after a report was begun (2, roads, then 0 and 1 at "operators busy"):
                    # the report stays as it is for the operator, and the emergency is a ticket of its own,
                    # so the command center is alerted now instead of the roads team's report changing.
                    self._update_ticket(partial=True, stopped_at=node.id)
                    self._forget_report()
                if self.ticket_number is None:
                    self._create_ticket(node.id, resume=node.next, partial=False, reason="", priority=node.priority)
                    return None
                self._update_ticket(partial=False, stopped_at=None)
                return node.next
            case AcceptTicketNode():
                number = self.fields.get("open_ticket_number", "")
                if not number.isdigit():  # the flow check keeps this from happening; never accept blind
                    return node.refused
                self.actions.append(a.AcceptTicket(int(number), self.state.caller))
                self.phase, self.node = "accept", node.id
                return None
            case MenuNode() | GatherNode() | RecordNode():
                if isinstance(node, GatherNode) and node.choices and not node.choices_for(self.values()):
                    self.path.append(PathStep(node.id, "skip"))  # nothing to choose from (no kecamatan yet)
                    return node.next
                self.phase, self.node, self.retries_left = "input", node.id, node.retry.retries
                self._wait(node)
                return None
            case TransferNode():
                if self._save_before_leaving(node.id, reason="operator"):
                    return None
                self.actions.extend(self._prompts(node.prompts))
                self.actions.append(
                    a.Enqueue(node.queue, node.hold_music, self._wait_seconds(node), self._queue_priority(node))
                )
                self.phase, self.node = "queue", node.id
                return None
            case HangupNode():
                if self._save_before_leaving(node.id, reason="flow_ended"):
                    return None
                self.actions.extend(self._prompts(node.prompts))
                self.actions.append(a.Hangup())
                self.phase, self.node = "ended", node.id
                self.outcome, self.outcome_node = "completed", node.id
                return None
        raise EngineError(f"unknown node {node!r}")

    def _prompts(self, keys: tuple[str, ...]) -> list[a.Prompt]:
        values = self.values()
        found = []
        for key in keys:
            concrete = fill_key(key, values)
            if concrete is not None:  # a key built from an unset field says nothing
                found.append(self.flow.prompt(concrete, self.language))
        return found

    def _set(self, name: str, value: str) -> None:
        if name == "language":
            self.language = value
            return
        if self.fields.get(name) != value:
            # A new kecamatan makes the desa chosen for the old one meaningless.
            for node in self.flow.nodes.values():
                if isinstance(node, GatherNode) and node.depends_on == name:
                    self.fields.pop(node.field, None)
        self.fields[name] = value

    def _wait(self, node: MenuNode | GatherNode | RecordNode, before: tuple[str, ...] = ()) -> None:
        prompts = self._prompts(before + node.prompts)
        match node:
            case MenuNode():
                self.actions.append(
                    a.Gather(
                        tuple(prompts),
                        1,
                        node.max_digits,
                        node.retry.timeout_seconds,
                        node.inter_digit_timeout_seconds,
                        "#",
                        self.language,
                        node.on_silence is not None,
                        self.flow.talk_detection if node.on_silence is not None else None,
                    )
                )
            case GatherNode():
                choices = [self.flow.prompt(c.prompt, self.language) for c in node.choices_for(self.values())]
                self.actions.append(
                    a.Gather(
                        (*prompts, *choices, *self._prompts(node.prompts_after)),
                        node.min_digits,
                        node.max_digits,
                        node.retry.timeout_seconds,
                        node.inter_digit_timeout_seconds,
                        node.finish_on_key,
                        self.language,
                        node.on_silence is not None,
                        self.flow.talk_detection if node.on_silence is not None else None,
                    )
                )
            case RecordNode():
                self.actions.append(
                    a.Record(
                        tuple(prompts),
                        node.max_seconds,
                        node.silence_timeout_seconds,
                        node.finish_on_key,
                        node.beep,
                        self.language,
                    )
                )

    # --- input ---------------------------------------------------------------------------------

    def _input(self, event: a.Digits | a.NoInput | a.Silence | a.Speech | a.Recorded) -> None:
        node = self.flow.nodes[self.node or ""]
        assert isinstance(node, INPUT_NODES)
        if isinstance(node, RecordNode):
            self._recorded(node, event)
            return
        if isinstance(event, a.Silence) and node.on_silence is not None:
            self.path.append(PathStep(node.id, "silence"))
            self.enter(node.on_silence)
            return
        if isinstance(event, a.NoInput | a.Silence | a.Speech):
            # A voice without a key is a caller who is there; it takes the no-input path like a timeout.
            label = "speech" if isinstance(event, a.Speech) else "no_input"
            if node.default:
                self.path.append(PathStep(node.id, label))
                self.enter(node.default)
            else:
                self._retry(node, "no_input", label)
            return
        if not isinstance(event, a.Digits):
            self._retry(node, "invalid", "invalid")
            return
        finish = node.finish_on_key if isinstance(node, GatherNode) else "#"
        digits = event.digits.removesuffix(finish) if len(event.digits) > 1 else event.digits
        if node.operator_key and self.flow.operator_key is not None and digits == self.flow.operator_key:
            self.path.append(PathStep(node.id, "operator"))
            self.enter(self.flow.operator_node)
            return
        if isinstance(node, MenuNode):
            option = node.options.get(digits)
            if option is None:
                self._retry(node, "invalid", f"invalid:{digits}")
                return
            self.path.append(PathStep(node.id, digits))
            for name, value in option.set.items():
                self._set(name, value)
            self.enter(option.next)
            return
        self._gathered(node, digits)

    def _gathered(self, node: GatherNode, digits: str) -> None:
        if node.skip_key is not None and digits == node.skip_key:
            self.path.append(PathStep(node.id, "skip"))
            self.enter(node.next)
            return
        if node.choices:
            choice = next((c for c in node.choices_for(self.values()) if c.digits == digits), None)
            value = choice.value if choice else None
        else:
            fits = digits.isdigit() and node.min_digits <= len(digits) <= node.max_digits
            value = digits if fits else None
        if value is None:
            self._retry(node, "invalid", f"invalid:{digits}")
            return
        self.path.append(PathStep(node.id, digits))
        self._set(node.field, value)
        self.enter(node.next)

    def _recorded(self, node: RecordNode, event: a.Digits | a.NoInput | a.Silence | a.Speech | a.Recorded) -> None:
        if not isinstance(event, a.Recorded) or event.seconds < node.min_seconds:
            self._retry(node, "no_input", "no_input" if not isinstance(event, a.Recorded) else "too_short")
            return
        self.path.append(PathStep(node.id, "recorded"))
        self.fields["recording_url"] = event.recording_url
        self.fields["recording_seconds"] = f"{event.seconds:g}"
        self.enter(node.next)

    def _retry(self, node: MenuNode | GatherNode | RecordNode, kind: str, label: str) -> None:
        self.path.append(PathStep(node.id, label))
        if self.retries_left > 0:
            self.retries_left -= 1
            self._wait(node, node.retry.invalid if kind == "invalid" else node.retry.no_input)
            return
        self.enter(node.retry.on_fail)

    # --- tickets, queue, hang-up ---------------------------------------------------------------

    @property
    def ticket_number(self) -> int | None:
        number = self.fields.get("ticket_number")
        return int(number) if number else None

    def _details(self) -> a.TicketDetails:
        f = self.fields
        seconds = f.get("recording_seconds")
        extra = {k: v for k, v in f.items() if k not in STANDARD_FIELDS and k not in ENGINE_FIELDS}
        return a.TicketDetails(
            language=self.language,
            category=f.get("category"),
            kecamatan=f.get("kecamatan"),
            desa=f.get("desa"),
            recording_url=f.get("recording_url"),
            recording_seconds=float(seconds) if seconds else None,
            extra=extra,
        )

    def _saveable(self) -> dict[str, str]:
        return {k: v for k, v in self.fields.items() if not k.startswith("open_ticket_") and k != "ticket_number"}

    def _ticket_is_critical(self) -> bool:
        """The call's ticket was opened by a `create_ticket` node with `priority: critical`."""
        opened = [step.node for step in self.path if step.input and step.input.startswith("ticket:")]
        node = self.flow.nodes.get(opened[-1]) if opened else None
        return isinstance(node, CreateTicketNode) and node.priority == "critical"

    def _forget_report(self) -> None:
        """What the begun report said (and its number) is its ticket's now; the next ticket starts empty."""
        for name in (*WORTH_KEEPING, "recording_seconds", "ticket_number"):
            self.fields.pop(name, None)
        self.saved_fields = None

    def _worth_keeping(self) -> bool:
        return any(self.fields.get(name) for name in WORTH_KEEPING)

    def _create_ticket(
        self, at: str, *, resume: str | None, partial: bool, reason: str, priority: str | None = None
    ) -> None:
        self.actions.append(
            a.CreateTicket(
                caller=self.state.caller,
                details=self._details(),
                partial=partial,
                stopped_at=at if partial else None,
                reason=reason,
                flow_id=self.flow.id,
                flow_version=self.flow.version,
                priority=priority,
            )
        )
        self.phase, self.node, self.resume = "ticket", at, resume

    def _update_ticket(self, *, partial: bool, stopped_at: str | None) -> None:
        number = self.ticket_number
        if number is None or self._saveable() == self.saved_fields:
            return
        self.actions.append(a.UpdateTicket(number, self._details(), partial, stopped_at))
        self.saved_fields = self._saveable()

    def _save_before_leaving(self, at: str, *, reason: str) -> bool:
        """Keep what was said before the caller leaves the flow. True: wait for the new ticket first."""
        if self.ticket_number is None and self._worth_keeping() and not self.ticket_failed:
            self._create_ticket(at, resume=at, partial=True, reason=reason)
            return True
        self._update_ticket(partial=True, stopped_at=at)
        return False

    def _ticket_answered(self, event: a.TicketCreated | a.TicketFailed) -> None:
        at, resume = self.node, self.resume
        self.resume = None
        if isinstance(event, a.TicketCreated):
            self.fields["ticket_number"] = str(event.number)
            self.saved_fields = self._saveable()
            self.path.append(PathStep(at or "-", f"ticket:{event.number}"))
        else:
            self.ticket_failed = True
            self.path.append(PathStep(at or "-", "ticket_failed"))
        if resume is None:  # the caller is gone: this was the last thing to do
            self.phase = "ended"
            return
        if isinstance(event, a.TicketFailed):
            self.actions.extend(self._prompts(self.flow.apology))
            self.enter(self.flow.operator_node)
            return
        self.enter(resume, again=resume == at)

    def _accept_answered(self, event: a.AcceptAnswered) -> None:
        node = self.flow.nodes[self.node or ""]
        assert isinstance(node, AcceptTicketNode)
        self.path.append(PathStep(node.id, event.outcome))
        self.fields["open_ticket_status"] = event.status  # what the prompts after it say
        self.enter(node.next_for(event.outcome))

    def _queue_left(self, event: a.QueueLeft) -> None:
        node = self.flow.nodes[self.node or ""]
        assert isinstance(node, TransferNode)
        if event.answered:
            self.path.append(PathStep(node.id, "answered"))
            self.phase, self.outcome, self.outcome_node = "ended", "operator", node.id
            return
        if node.place is not None and self._place_due(node):
            self.path.append(PathStep(node.id, "place"))  # the caller gives the place while still waiting
            self.enter(node.place)
            return
        self.path.append(PathStep(node.id, "unanswered"))
        self.enter(node.on_fail)

    # --- the operator queue --------------------------------------------------------------------

    def _place_due(self, node: TransferNode) -> bool:
        """The transfer asks for the place once per call, and only when the kecamatan is not known yet."""
        return (
            node.place is not None and not self.fields.get("kecamatan") and PathStep(node.id, "place") not in self.path
        )

    def _wait_seconds(self, node: TransferNode) -> int:
        """How long this wait lasts: until the place is asked, or what is left of `max_wait_seconds` after."""
        if node.place_after_seconds is None:
            return node.max_wait_seconds
        if self._place_due(node):
            return node.place_after_seconds
        if PathStep(node.id, "place") in self.path:
            return node.max_wait_seconds - node.place_after_seconds
        return node.max_wait_seconds

    def _queue_priority(self, node: TransferNode) -> str:
        """A number the shield held back waits behind everyone; an emergency stays one whatever transfer
        (the operator key, a failed ticket, a full wait) queues the caller again."""
        if self.fields.get("screening"):
            return "screened"
        if node.priority == "emergency" or self._emergency_call():
            return "emergency"
        return node.priority

    def _emergency_call(self) -> bool:
        for past in self.path:
            was = self.flow.nodes.get(past.node)
            if isinstance(was, TransferNode) and was.priority == "emergency":
                return True
            if isinstance(was, CreateTicketNode) and was.priority == "critical":
                return True
        return False

    def _caller_hung_up(self) -> None:
        at = self.node
        self.path.append(PathStep(at or "-", "hangup"))
        self.outcome, self.outcome_node = "hung_up", at
        if self.phase == "ticket":
            self.resume = None  # the ticket is being opened; its answer ends the call
            return
        self.phase = "ended"
        if self.ticket_number is None and self._worth_keeping() and not self.ticket_failed:
            self._create_ticket(at or "-", resume=None, partial=True, reason="hung_up")
        else:
            self._update_ticket(partial=True, stopped_at=at)
