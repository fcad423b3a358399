"""The buttons a channel that has them (WhatsApp) offers with a question whose SMS text already carries the
answer's words: the category menu as a list, "is it fixed?" as two reply buttons, "where?" as a location
request. Each option's id is what the person would have typed, so the grammar reads a tap as the SMS."""

from __future__ import annotations

from hotline.catalog import word
from hotline.cityconfig import CityConfig
from hotline.core.outbox import Choices

TITLE = 24  # WhatsApp's longest list row title
BUTTON = 20  # and reply button title / list button label


def category_list(config: CityConfig, language: str) -> Choices:
    options = [[str(c.menu), c.name(language)[:TITLE]] for c in sorted(config.categories, key=lambda c: c.menu)]
    return {"kind": "list", "button": word("ui", "wa_pick_category", language)[:BUTTON], "options": options[:10]}


def yes_no(language: str, yes: int, no: int) -> Choices:
    return {
        "kind": "buttons",
        "options": [
            [str(yes), word("ui", "wa_yes_fixed", language)[:BUTTON]],
            [str(no), word("ui", "wa_not_fixed", language)[:BUTTON]],
        ],
    }


LOCATION: Choices = {"kind": "location"}
