"""The shipped Asterisk files (config/asterisk/): a dialplan that never drops a caller because the ARI app is
away, and a pjsip.conf whose placeholders are valid values (a stock Asterisk 22 loads it without errors).
No Asterisk runs in CI: these read the files as Asterisk does, for the mistakes a real one showed (issue 17)."""

from __future__ import annotations

import ipaddress
import re
from pathlib import Path

import pytest

from hotline.channels.ari.fallback_messages import parse

CONFIG = Path(__file__).resolve().parent.parent / "config" / "asterisk"
pytestmark = pytest.mark.unit


def sections(name: str) -> list[tuple[str, list[tuple[str, str]]]]:
    """[(section, [(option, value)])] in file order; comments dropped, `same => n,...` kept as ('same', ...)."""
    out: list[tuple[str, list[tuple[str, str]]]] = []
    for raw in (CONFIG / name).read_text().splitlines():
        line = re.sub(r"(?<!\\);.*", "", raw).strip()
        if not line:
            continue
        if header := re.fullmatch(r"\[([^\]]+)\](\(.*\))?", line):
            out.append((header.group(1), []))
            continue
        option, _, value = line.partition("=")
        out[-1][1].append((option.strip(), value.lstrip(">").strip()))
    return out


def dialplan() -> dict[str, list[list[str]]]:
    """context -> the extensions in it, each the list of its priorities' applications with their data."""
    contexts: dict[str, list[list[str]]] = {}
    for context, lines in sections("extensions.conf"):
        extensions = contexts.setdefault(context, [])
        for option, value in lines:
            if option == "exten":
                extensions.append([value.split(",", 2)[2]])
            elif option == "same":
                extensions[-1].append(value.split(",", 1)[1])
    return contexts


def test_no_caller_is_hung_up_when_stasis_finds_no_app() -> None:
    """Issue 17, item 4: `Stasis()` with no app registered returns at once (STASISSTATUS=FAILED); a bare
    Hangup() after it dropped a caller 0.06 s into the call while `hotline ari` restarted."""
    contexts = dialplan()
    stasis_calls = 0
    for extension in contexts["hotline-in"]:
        for i, step in enumerate(extension):
            if step.startswith("Stasis(hotline"):
                stasis_calls += 1
                after = extension[i + 1]
                assert "STASISSTATUS" in after and "FAILED" in after, f"after {step}: {after}"
                assert any(s.startswith("Gosub(hotline-fallback") for s in extension[i + 1 :])
                assert any("GOSUB_RETVAL" in s and "?app" in s for s in extension[i + 1 :])  # tried again first
    assert stasis_calls == 2  # 112 and every other number
    away = contexts["hotline-away"][0]
    assert any("> 20" in s for s in away) and "Wait(0.5)" in away  # 10 s of retries, longer than a takeover
    fallback = contexts["hotline-fallback"][0]
    assert fallback[0].startswith("Dial(${HOTLINE_OPERATORS}")  # a person first
    [record] = [s for s in fallback if s.startswith("Record(")]
    assert record.startswith("Record(/var/spool/asterisk/recording/")  # where ARI lists stored recordings
    assert record.rsplit(",", 1)[1].rstrip(")") == "qk"  # no Asterisk beep (ours plays first), kept on hang-up
    # the name `hotline ari` reads to make the message a voice ticket (channels/ari/fallback_messages.py)
    path = record.removeprefix("Record(/var/spool/asterisk/recording/").rsplit(",", 3)[0]  # silence, max, options
    for variable, value in (
        ("${STRFTIME(${EPOCH},UTC,%Y%m%d-%H%M%S)}", "20261207-101500"),
        ("${FILTER(0-9,${CALLERID(num)})}", "6281234567890"),
        ("${UNIQUEID}", "1733567700.42"),
    ):
        assert variable in path, variable
        path = path.replace(variable, value)
    assert path.endswith(".wav") and "/" not in path  # in the folder ARI lists, under a name the console can fetch
    message = parse(path.removesuffix(".wav"))
    assert message is not None and (message.channel_id, message.caller) == ("1733567700.42", "6281234567890")


def test_pjsip_placeholders_are_values_asterisk_accepts() -> None:
    """Issue 17, item 9: `<account>` and `<provider host>` made three load errors on a stock Asterisk
    (from_user with '<', getaddrinfo of the identify match, an invalid server URI)."""
    for section, options in sections("pjsip.conf"):
        values = dict(options)
        for option, value in options:
            if option != "callerid":  # "Operator 1" <201> is the callerid syntax
                assert "<" not in value and ">" not in value, f"[{section}] {option} = {value}"
        for option in ("server_uri", "client_uri", "contact"):
            if option in values:
                assert re.fullmatch(r"sips?:([\w.+-]+@)?[\w.-]+(:\d+)?", values[option]), f"[{section}] {option}"
        if values.get("type") == "identify":
            for match in values["match"].split(","):
                ipaddress.ip_network(match.strip(), strict=False)  # an address or range: resolved at load
        if "from_user" in values:
            assert re.fullmatch(r"[\w.+-]+", values["from_user"])
