"""Media actions as lines of text: every prompt with its key, so a flow author sees which audio would play."""

from __future__ import annotations

from hotline.ivr import actions as a


def render(action: a.MediaAction) -> list[str]:
    match action:
        case a.Prompt():
            return [prompt_line(action)]
        case a.ReadDigits():
            spoken = " ".join(p.text for p in action.prompts)
            return [f"  [digits {action.digits}] {spoken}"]
        case a.Gather():
            return [prompt_line(p) for p in action.prompts]
        case a.Record():
            beep = ["  [beep]"] if action.beep else []
            return [*(prompt_line(p) for p in action.prompts), *beep]
        case a.Enqueue():
            music = f", hold music {action.hold_music}" if action.hold_music else ""
            return [f"  [queue {action.queue}] waiting for an operator (up to {action.max_wait_seconds} s{music})"]
        case a.Hangup():
            return ["  [hangup] the hotline ends the call"]
    raise TypeError(f"not a media action: {action!r}")


def prompt_line(prompt: a.Prompt) -> str:
    return f"  [{prompt.key}] {prompt.text}"
