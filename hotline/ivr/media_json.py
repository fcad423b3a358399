"""Media actions as JSON and back, so a call can keep its last turn and answer a retried webhook with it.

`media_from_json(media_to_json(media)) == media` for every media action in hotline/ivr/actions.py.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from hotline.ivr import actions as a

_TYPES: dict[str, type] = {t.__name__: t for t in (a.Prompt, a.ReadDigits, a.Gather, a.Record, a.Enqueue, a.Hangup)}


def media_to_json(media: tuple[a.MediaAction, ...]) -> list[dict[str, Any]]:
    return [{"type": type(action).__name__, **asdict(action)} for action in media]


def media_from_json(data: list[dict[str, Any]]) -> tuple[a.MediaAction, ...]:
    return tuple(_action(item) for item in data)


def _action(item: dict[str, Any]) -> a.MediaAction:
    values = {k: v for k, v in item.items() if k != "type"}
    if "prompts" in values:
        values["prompts"] = tuple(a.Prompt(**p) for p in values["prompts"])
    if values.get("talk") is not None:
        values["talk"] = a.TalkDetection(**values["talk"])
    return _TYPES[item["type"]](**values)
