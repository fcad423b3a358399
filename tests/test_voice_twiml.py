"""The TwiML renderer: tables of media actions -> the exact TwiML Twilio receives."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

import pytest

from hotline.channels.twilio.voice_twiml import VoiceUrls, barge_in_url, record_after_key, render
from hotline.cityconfig import load_city_config
from hotline.ivr import actions as a
from hotline.ivr.engine import start
from hotline.ivr.prompt_audio import PromptAudio
from hotline.ivr.turn import run_turn
from tests.suite_city import CITY_DIR

BASE = "https://hotline.example.id"
URLS = VoiceUrls.under(BASE + "/")
HEAD = '<?xml version="1.0" encoding="UTF-8"?><Response>'
TAIL = "</Response>"
P = f"{BASE}/ivr/prompts"
GATHER_URL = f"{BASE}/twilio/voice/gather"
RECORD_URL = f"{BASE}/twilio/voice/record"
STATUS_URL = f"{BASE}/twilio/voice/recording-status"
BARGE_60 = f"{RECORD_URL}?barge=1&amp;max=60&amp;silence=5&amp;finish=%23&amp;beep=1"  # a key starts the <Record>


def audio(*names: str) -> PromptAudio:
    """A PromptAudio where 'lang/key' names have a file."""
    return PromptAudio({tuple(n.split("/")): Path(f"/x/{n}.wav") for n in names})  # type: ignore[misc]


WELCOME_ID = a.Prompt("welcome", "id", "Selamat datang di Hotline Kota Batu.")
WELCOME_EN = a.Prompt("welcome", "en", "Welcome to the Kota Batu Hotline.")
ASK_CATEGORY = a.Prompt("ask_category", "id", "Kejadian apa yang ingin Anda laporkan?")
FIRE = a.Prompt("choice_category_fire", "id", "Untuk Kebakaran, tekan 1.")
ASK_DESCRIPTION = a.Prompt("ask_description", "id", "Setelah bunyi bip, ceritakan kejadiannya.")
WORDS = ["nol", "satu", "dua", "tiga", "empat", "lima", "enam", "tujuh", "delapan", "sembilan"]
DIGITS = {str(d): a.Prompt(f"digit_{d}", "id", word) for d, word in enumerate(WORDS)}


def read(number: str) -> a.ReadDigits:
    return a.ReadDigits(number, "id", tuple(DIGITS[d] for d in number))


def gather(prompts: tuple[a.Prompt, ...], lo: int = 1, hi: int = 1, timeout: float = 6, key: str = "#") -> a.Gather:
    return a.Gather(prompts, lo, hi, timeout, 3, key, "id")


@dataclass(frozen=True)
class Case:
    name: str
    media: tuple[a.MediaAction, ...]
    files: tuple[str, ...]
    twiml: str  # between <Response> and </Response>


CASES = [
    Case("nothing ends the call", (), (), ""),
    Case("prompt with a file plays it", (WELCOME_ID,), ("id/welcome",), f"<Play>{P}/id/welcome.wav</Play>"),
    Case(
        "prompt without a file is spoken in Bahasa Indonesia",
        (WELCOME_ID,),
        ("en/welcome",),
        '<Say language="id-ID" voice="Google.id-ID-Standard-A">Selamat datang di Hotline Kota Batu.</Say>',
    ),
    Case(
        "English prompt without a file is spoken in English",
        (WELCOME_EN,),
        ("id/welcome",),
        '<Say language="en-US">Welcome to the Kota Batu Hotline.</Say>',
    ),
    Case(
        "text is escaped",
        (a.Prompt("x", "id", 'Jl. A & B <5> "x"'),),
        (),
        '<Say language="id-ID" voice="Google.id-ID-Standard-A">Jl. A &amp; B &lt;5&gt; "x"</Say>',
    ),
    Case(
        "number with every digit file plays the digits",
        (read("102"),),
        ("id/digit_0", "id/digit_1", "id/digit_2"),
        f"<Play>{P}/id/digit_1.wav</Play><Play>{P}/id/digit_0.wav</Play><Play>{P}/id/digit_2.wav</Play>",
    ),
    Case(
        "number with a digit file missing is spoken digit by digit",
        (read("102"),),
        ("id/digit_1", "id/digit_2"),
        '<Say language="id-ID" voice="Google.id-ID-Standard-A">1 0 2</Say>',
    ),
    Case(
        "menu: one key, prompts nested so the caller can barge in",
        (gather((ASK_CATEGORY, FIRE)),),
        ("id/ask_category",),
        f'<Gather action="{GATHER_URL}" actionOnEmptyResult="true" finishOnKey="#" input="dtmf" numDigits="1" '
        f'timeout="6"><Play>{P}/id/ask_category.wav</Play>'
        '<Say language="id-ID" voice="Google.id-ID-Standard-A">Untuk Kebakaran, tekan 1.</Say></Gather>',
    ),
    Case(
        "free digits: numDigits is the most, timeout rounded up, other finish key",
        (gather((ASK_CATEGORY,), lo=2, hi=4, timeout=4.2, key="*"),),
        ("id/ask_category",),
        f'<Gather action="{GATHER_URL}" actionOnEmptyResult="true" finishOnKey="*" input="dtmf" numDigits="4" '
        f'timeout="5"><Play>{P}/id/ask_category.wav</Play></Gather>',
    ),
    Case(
        "record: the instruction in a one-key gather (a key starts the recording), beep, redirect when empty",
        (a.Record((ASK_DESCRIPTION,), 60, 5, "#", True, "id"),),
        ("id/ask_description",),
        f'<Gather action="{BARGE_60}" finishOnKey="" input="dtmf" numDigits="1" timeout="1">'
        f"<Play>{P}/id/ask_description.wav</Play></Gather>"
        f'<Record action="{RECORD_URL}" finishOnKey="#" maxLength="60" playBeep="true" '
        f'recordingStatusCallback="{STATUS_URL}" timeout="5" />'
        f'<Redirect method="POST">{RECORD_URL}</Redirect>',
    ),
    Case(
        "record without a beep, fractional silence: the barge-in URL carries them",
        (a.Record((ASK_DESCRIPTION,), 30, 2.5, "*", False, "id"),),
        (),
        f'<Gather action="{RECORD_URL}?barge=1&amp;max=30&amp;silence=2.5&amp;finish=%2A&amp;beep=0" '
        'finishOnKey="" input="dtmf" numDigits="1" timeout="1">'
        '<Say language="id-ID" voice="Google.id-ID-Standard-A">Setelah bunyi bip, ceritakan kejadiannya.</Say>'
        "</Gather>"
        f'<Record action="{RECORD_URL}" finishOnKey="*" maxLength="30" playBeep="false" '
        f'recordingStatusCallback="{STATUS_URL}" timeout="3" />'
        f'<Redirect method="POST">{RECORD_URL}</Redirect>',
    ),
    Case(
        "record after a re-prompt: both in the one-key gather",
        (a.Prompt("no_recording", "id", "Maaf."), a.Record((ASK_DESCRIPTION,), 60, 5, "#", True, "id")),
        ("id/no_recording", "id/ask_description"),
        f'<Gather action="{BARGE_60}" finishOnKey="" input="dtmf" numDigits="1" timeout="1">'
        f"<Play>{P}/id/no_recording.wav</Play><Play>{P}/id/ask_description.wav</Play></Gather>"
        f'<Record action="{RECORD_URL}" finishOnKey="#" maxLength="60" playBeep="true" '
        f'recordingStatusCallback="{STATUS_URL}" timeout="5" />'
        f'<Redirect method="POST">{RECORD_URL}</Redirect>',
    ),
    Case(
        "record without any prompt: nothing to interrupt, no gather",
        (a.Record((), 60, 5, "#", True, "id"),),
        (),
        f'<Record action="{RECORD_URL}" finishOnKey="#" maxLength="60" playBeep="true" '
        f'recordingStatusCallback="{STATUS_URL}" timeout="5" />'
        f'<Redirect method="POST">{RECORD_URL}</Redirect>',
    ),
    Case(
        "enqueue: the wait URL carries the longest wait",
        (a.Enqueue("operators", None, 120),),
        (),
        f'<Enqueue action="{BASE}/twilio/voice/queue/done" waitUrl="{BASE}/twilio/voice/queue/wait?max_wait=120">'
        "operators</Enqueue>",
    ),
    Case(
        "enqueue with hold music",
        (a.Enqueue("operators", "gamelan slow.mp3", 60),),
        (),
        f'<Enqueue action="{BASE}/twilio/voice/queue/done" '
        f'waitUrl="{BASE}/twilio/voice/queue/wait?max_wait=60&amp;music=gamelan+slow.mp3">operators</Enqueue>',
    ),
    Case("hangup", (a.Hangup(),), (), "<Hangup />"),
    Case(
        "goodbye: number, prompts, hangup",
        (
            a.Prompt("your_number_is", "id", "Nomor laporan Anda:"),
            read("7"),
            a.Prompt("goodbye", "id", "Terima kasih."),
            a.Hangup(),
        ),
        ("id/your_number_is", "id/digit_7", "id/goodbye"),
        f"<Play>{P}/id/your_number_is.wav</Play><Play>{P}/id/digit_7.wav</Play><Play>{P}/id/goodbye.wav</Play>"
        "<Hangup />",
    ),
    Case(
        "operator: a prompt, then the queue",
        (a.Prompt("connecting_operator", "id", "Mohon tunggu."), a.Enqueue("operators", None, 120)),
        (),
        '<Say language="id-ID" voice="Google.id-ID-Standard-A">Mohon tunggu.</Say>'
        f'<Enqueue action="{BASE}/twilio/voice/queue/done" waitUrl="{BASE}/twilio/voice/queue/wait?max_wait=120">'
        "operators</Enqueue>",
    ),
    Case(
        "re-prompt: the prompt before the gather is inside it too, so a key stops it",
        (a.Prompt("invalid_choice", "id", "Maaf."), gather((ASK_CATEGORY,))),
        ("id/invalid_choice", "id/ask_category"),
        f'<Gather action="{GATHER_URL}" actionOnEmptyResult="true" finishOnKey="#" input="dtmf" numDigits="1" '
        f'timeout="6"><Play>{P}/id/invalid_choice.wav</Play><Play>{P}/id/ask_category.wav</Play></Gather>',
    ),
    Case(
        "a number read out before a menu: inside the gather, digit by digit",
        (a.Prompt("open_ticket_intro", "id", "Laporan Anda sebelumnya, nomor"), read("42"), gather((ASK_CATEGORY,))),
        ("id/open_ticket_intro", "id/digit_4", "id/digit_2"),
        f'<Gather action="{GATHER_URL}" actionOnEmptyResult="true" finishOnKey="#" input="dtmf" numDigits="1" '
        f'timeout="6"><Play>{P}/id/open_ticket_intro.wav</Play><Play>{P}/id/digit_4.wav</Play>'
        f"<Play>{P}/id/digit_2.wav</Play>"
        '<Say language="id-ID" voice="Google.id-ID-Standard-A">Kejadian apa yang ingin Anda laporkan?</Say></Gather>',
    ),
    Case(
        "a number spoken before a menu (a digit file missing): inside the gather",
        (read("7"), gather((ASK_CATEGORY,))),
        ("id/ask_category",),
        f'<Gather action="{GATHER_URL}" actionOnEmptyResult="true" finishOnKey="#" input="dtmf" numDigits="1" '
        'timeout="6"><Say language="id-ID" voice="Google.id-ID-Standard-A">7</Say>'
        f"<Play>{P}/id/ask_category.wav</Play></Gather>",
    ),
]


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_render_exact_twiml(case: Case) -> None:
    expected = HEAD + case.twiml + TAIL if case.twiml else '<?xml version="1.0" encoding="UTF-8"?><Response />'
    assert render(case.media, urls=URLS, prompt_audio=audio(*case.files)) == expected


def test_voice_urls_sit_under_the_public_url() -> None:
    urls = VoiceUrls.under("https://batukota.go.id/hotline/")
    assert urls.gather == "https://batukota.go.id/hotline/twilio/voice/gather"
    assert urls.record == "https://batukota.go.id/hotline/twilio/voice/record"
    assert urls.recording_status == "https://batukota.go.id/hotline/twilio/voice/recording-status"
    assert urls.queue_wait == "https://batukota.go.id/hotline/twilio/voice/queue/wait"
    assert urls.queue_action == "https://batukota.go.id/hotline/twilio/voice/queue/done"
    assert urls.prompts == "https://batukota.go.id/hotline/ivr/prompts"


@pytest.mark.parametrize("bad", ["/twilio/voice/gather", "hotline.example.id/x", "ftp://hotline.example.id/x", ""])
def test_voice_urls_refuse_relative_urls(bad: str) -> None:
    with pytest.raises(ValueError, match="absolute"):
        VoiceUrls(bad, URLS.record, URLS.recording_status, URLS.queue_wait, URLS.queue_action, URLS.prompts)


def test_wait_url_with_a_query_gets_more_parameters() -> None:
    urls = VoiceUrls(
        URLS.gather, URLS.record, URLS.recording_status, f"{BASE}/wait?q=operators", URLS.queue_action, URLS.prompts
    )
    xml = render((a.Enqueue("operators", None, 90),), urls=urls, prompt_audio=PromptAudio())
    assert f'waitUrl="{BASE}/wait?q=operators&amp;max_wait=90"' in xml


def test_a_service_action_is_refused() -> None:
    with pytest.raises(TypeError, match="not a media action"):
        render((a.SendSms("ticket_created", "id", "+62812", 1),), urls=URLS, prompt_audio=PromptAudio())  # type: ignore[arg-type]


# --- the real Kota Batu flow through the engine: every URL absolute under the public URL -----------------


class _Services:
    def create_ticket(self, action: a.CreateTicket) -> int:
        return 42

    def update_ticket(self, action: a.UpdateTicket) -> None:
        pass

    def send_sms(self, action: a.SendSms) -> None:
        pass

    def screen_call(self, action: a.ScreenCall) -> None:
        pass


def _urls_in(xml: str) -> list[str]:
    found = []
    for element in ET.fromstring(xml).iter():
        found += [v for k, v in element.attrib.items() if k in ("action", "waitUrl", "recordingStatusCallback")]
        if element.tag in ("Play", "Redirect"):
            found.append(element.text or "")
    return found


def test_a_whole_call_renders_with_absolute_urls_only() -> None:
    flow = load_city_config(CITY_DIR).default_flow
    assert flow is not None
    files = audio(*(f"{lang}/{key}" for lang, keys in flow.prompts.items() for key in keys))
    state = start(flow)
    # welcome -> 2 (a report) -> category 3 (farm) -> kecamatan 1 -> recording -> goodbye
    events = [
        a.Start("+6281234567890"),
        a.Digits("2"),
        a.Digits("3"),
        a.Digits("1"),
        a.Recorded("https://api.twilio.com/rec/RE1", 12.0),
    ]
    documents = []
    for event in events:
        turn = run_turn(flow, state, event, _Services())
        state = turn.state
        documents.append(render(turn.media, urls=URLS, prompt_audio=files))
    urls = [url for doc in documents for url in _urls_in(doc)]
    assert len(urls) > 20
    assert all(url.startswith(BASE + "/") for url in urls), [u for u in urls if not u.startswith(BASE + "/")]
    assert "<Say" not in "".join(documents)  # every prompt has a file here, so none is spoken
    assert documents[-1].endswith("<Hangup /></Response>")
    assert [tag.tag for tag in ET.fromstring(documents[-2])] == ["Gather", "Record", "Redirect"]  # a key skips the ask


def test_the_barge_in_url_gives_back_the_record_it_was_made_for() -> None:
    record = a.Record((ASK_DESCRIPTION,), 45, 2.5, "*", False, "id")
    url = barge_in_url(URLS.for_turn(7).record, record)
    query = dict(parse_qsl(urlsplit(url).query))
    assert query["turn"] == "7"  # the <Record> it answers comes back to the same turn
    assert record_after_key(query) == a.Record((), 45, 2.5, "*", False, "")


def test_a_barge_in_url_that_does_not_read_falls_back_to_the_record_node_defaults() -> None:
    assert record_after_key({"barge": "1", "max": "x", "silence": "-3"}) == a.Record((), 60, 5.0, "#", True, "")
