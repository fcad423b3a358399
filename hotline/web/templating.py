"""Jinja2 templates and static files of the console (hotline/web/templates, hotline/web/static)."""

from __future__ import annotations

from pathlib import Path

from fastapi.templating import Jinja2Templates

from hotline.catalog import say, word
from hotline.localtime import local, zone_name
from hotline.web.console_text import text
from hotline.web.shield_words import reason_in_words

WEB_DIR = Path(__file__).resolve().parent
STATIC_DIR = WEB_DIR / "static"
templates = Jinja2Templates(directory=WEB_DIR / "templates")

templates.env.globals["text"] = text
templates.env.globals["word"] = word  # a code in words: word("status", ticket.status, lang)
templates.env.globals["say"] = say  # a sentence with its {values}: say("admin", "password_help", lang, {"min": 10})
templates.env.globals["zone_name"] = zone_name
templates.env.globals["shield_reason"] = reason_in_words
templates.env.filters["local"] = local
