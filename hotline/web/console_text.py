"""Every word the console shows, Bahasa Indonesia first, English second: the `ui` section of hotline/catalog."""

from __future__ import annotations

from hotline.catalog import word


def text(key: str, language: str) -> str:
    return word("ui", key, language)
