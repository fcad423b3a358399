"""A text too long for a WhatsApp template's variable (1,024 characters) is shortened at a word boundary with an
ellipsis, never mid-word, on both WhatsApp gateways (the Cloud API's template parameter, Twilio's
ContentVariables); a text that fits is sent as it is. The end-to-end case, with its one log line per message, is
tests/test_alert_twilio_whatsapp.py."""

from __future__ import annotations

import logging

import pytest

from hotline.channels.whatsapp.gateway import template
from hotline.sms.template_text import ELLIPSIS, TEMPLATE_VARIABLE, fit, would_cut


def test_a_text_that_fits_is_untouched() -> None:
    exact = "a" * TEMPLATE_VARIABLE
    assert fit(exact) == exact and not would_cut(exact)
    assert fit("Kebakaran di Sisir") == "Kebakaran di Sisir"


def test_a_long_text_ends_at_the_last_whole_word_with_an_ellipsis() -> None:
    words = [f"rumah{i:03d}" for i in range(300)]  # 8 letters and a space each
    text = " ".join(words)
    short = fit(text)
    assert would_cut(text) and len(short) <= TEMPLATE_VARIABLE and short.endswith(ELLIPSIS)
    kept = short.removesuffix(ELLIPSIS).split(" ")
    assert kept == words[: len(kept)] and len(kept) == (TEMPLATE_VARIABLE - 1) // 9  # as many whole words as fit


def test_a_word_ending_exactly_at_the_limit_is_kept_and_a_newline_is_a_boundary() -> None:
    text = "x" * (TEMPLATE_VARIABLE - 1) + " lagi"
    assert fit(text) == "x" * (TEMPLATE_VARIABLE - 1) + ELLIPSIS
    lines = "\n".join(["baris" + "y" * 94] * 20)  # 100-character lines, no spaces
    short = fit(lines)
    assert short.endswith("y" + ELLIPSIS) and short.removesuffix(ELLIPSIS) == lines[: len(short) - 1]
    assert lines[len(short) - 1] == "\n"


def test_one_very_long_word_is_cut_where_the_room_ends() -> None:
    link = "Lihat https://peta.example/" + "a" * 2000
    short = fit(link)
    assert len(short) == TEMPLATE_VARIABLE and short == link[: TEMPLATE_VARIABLE - 1] + ELLIPSIS


def test_the_cloud_api_template_parameter_is_shortened_the_same_way() -> None:
    text = " ".join(["banjir"] * 400)
    message = template(text, "hotline_alert", "id")
    [parameter] = message["template"]["components"][0]["parameters"]
    assert parameter["text"] == fit(text) and parameter["text"].endswith("banjir" + ELLIPSIS)


def test_the_cut_is_logged_once_per_message_across_calls(
    backend: dict[str, str], caplog: pytest.LogCaptureFixture
) -> None:
    """The marker is in Redis, so a retry, a second gateway or another worker does not log it again; an early
    warning's one text is one message (`broadcast:<id>`) for all its recipients."""
    from hotline.core import template_cuts
    from hotline.core.queue import redis_connection

    redis_connection().delete(template_cuts._key("broadcast:41"), template_cuts._key("broadcast:42"))
    long = " ".join(["longsor"] * 300)
    with caplog.at_level(logging.WARNING, logger="hotline.core.template_cuts"):
        for _ in range(3):  # three recipients of one broadcast
            template_cuts.note("broadcast:41", purpose="broadcast", text=long)
        template_cuts.note("broadcast:42", purpose="broadcast", text=long)
        template_cuts.note("broadcast:43", purpose="broadcast", text="Waspada longsor di Sumberbrantas")
    lines = [r.getMessage() for r in caplog.records if r.name == "hotline.core.template_cuts"]
    assert [line.split(" (")[0] for line in lines] == [
        "WhatsApp template text of broadcast:41",
        "WhatsApp template text of broadcast:42",
    ]
    assert f"is {len(long)} characters" in lines[0] and f"shortened to {len(fit(long))}" in lines[0]
