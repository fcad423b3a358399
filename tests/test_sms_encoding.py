"""GSM-7 and UCS-2: which alphabet an SMS goes out in, what it costs, and folding text into GSM-7."""

from __future__ import annotations

import random

import pytest

from hotline.sms.encoding import GSM7_BASIC, GSM7_EXTENSION, fold, is_gsm7, measure, septets


@pytest.mark.parametrize(
    ("text", "gsm7"),
    [
        ("KEBAKARAN di Jl. Diponegoro 12 Sisir", True),
        ("@£$¥èéùìòÇØøÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ¤¡ÄÖÑÜ§¿äöñüà", True),
        ("a{b}c[d]e~f|g\\h^i€", True),  # the extension table
        ("baris satu\nbaris dua\r\n", True),
        ("", True),
        ("asap…", False),
        ("“tolong”", False),
        ("api 🔥", False),
        ("tab\there", False),
        ("ç", False),  # only the capital Ç is in the alphabet
        ("`", False),
    ],
)
def test_is_gsm7(text: str, gsm7: bool) -> None:
    assert is_gsm7(text) is gsm7


@pytest.mark.parametrize(
    ("text", "folded"),
    [
        ("asap tebal…", "asap tebal..."),
        ("“tolong” kata ‘pak’ RT", "\"tolong\" kata 'pak' RT"),
        ("jam 10–11 — segera", "jam 10-11 - segera"),
        ("Jl.\u00a0Diponegoro\u202f12", "Jl. Diponegoro 12"),
        ("ru\u200bmah\ufeff", "rumah"),
        ("api 🔥 besar", "api besar"),
        ("🔥🔥 kebakaran!! 🚒", "kebakaran!!"),
        ("tolong 🙏🏽", "tolong"),  # an emoji with a skin tone
        ("👨\u200d👩\u200d👧 terjebak", "terjebak"),  # a family: emoji joined by zero-width joiners
        ("café crème à la façon, São", "café crème à la facon, Sao"),  # é è à are GSM-7; ç and ã lose theirs
        ("Ａｂｃ １２３", "Abc 123"),  # fullwidth forms
        ("½ jam, 30°C", "1/2 jam, 30C"),
        ("×2 ≥ 3", "x2 >= 3"),
        ("«kutip»", '"kutip"'),
        ("a\tb", "a b"),
        ("δ φ α", "Δ Φ ?"),  # Greek: the alphabet has ten capitals
        ("ꦧꦠꦸ Batu", "?? Batu"),  # Javanese script: letters marked missing (the vowel sign goes)
        ("٣ rumah", "3 rumah"),  # an Arabic-Indic digit
        ("plain text stays", "plain text stays"),
        ("two  spaces stay", "two  spaces stay"),
        ("€ {x}", "€ {x}"),
    ],
)
def test_fold(text: str, folded: str) -> None:
    assert fold(text) == folded
    assert is_gsm7(fold(text))
    assert fold(fold(text)) == fold(text)


def test_the_outbox_keeps_a_name_in_another_script_and_folds_the_rest() -> None:
    """What queue_sms does: a name is worth the UCS-2 it costs; a curly quote or an emoji is not."""
    kept = fold("Pak Hóng 黄 “datang” 🙏", keep_other_scripts=True)
    assert kept == 'Pak Hong 黄 "datang"' and measure(kept).encoding == "ucs2"
    assert fold("ꦧꦠꦸ Batu…", keep_other_scripts=True) == "ꦧꦠ Batu..."  # the letters stay, the vowel sign goes
    assert fold("Pak Hóng 黄", keep_other_scripts=True) != fold("Pak Hóng 黄")  # crew texts mark it "?"


def test_fold_always_gives_gsm7() -> None:
    """Whatever a phone sends (here: random code points of every plane), what we send back is GSM-7."""
    rng = random.Random(24)
    for _ in range(300):
        text = "".join(
            chr(rng.choice([rng.randrange(0x20, 0x3000), rng.randrange(0x1F300, 0x1FAFF)])) for _ in range(40)
        )
        folded = fold(text)
        assert is_gsm7(folded), (text, folded)
        assert fold(folded) == folded


@pytest.mark.parametrize(
    ("text", "encoding", "length", "segments"),
    [
        ("", "gsm7", 0, 1),
        ("a" * 160, "gsm7", 160, 1),
        ("a" * 161, "gsm7", 161, 2),
        ("a" * 306, "gsm7", 306, 2),
        ("a" * 307, "gsm7", 307, 3),
        ("€" * 80, "gsm7", 160, 1),  # extension characters count two
        ("€" * 81, "gsm7", 162, 2),
        ("a" * 158 + "€", "gsm7", 160, 1),
        ("a" * 152 + "€" + "a" * 152, "gsm7", 306, 3),  # an escape pair is never split: 152 | 2+151 | 1
        ("a" * 69 + "…", "ucs2", 70, 1),
        ("a" * 70 + "…", "ucs2", 71, 2),
        ("a" * 133 + "…", "ucs2", 134, 2),
        ("a" * 134 + "…", "ucs2", 135, 3),
        ("🔥" * 35, "ucs2", 70, 1),  # a character outside the BMP is two UTF-16 units
        ("a" * 66 + "🔥" + "a" * 66, "ucs2", 134, 3),  # the surrogate pair is not split at 67
    ],
)
def test_measure(text: str, encoding: str, length: int, segments: int) -> None:
    size = measure(text)
    assert (size.encoding, size.length, size.segments) == (encoding, length, segments)


def test_septets_and_the_alphabet_tables() -> None:
    assert septets("Jl. [12]") == 10
    assert len(GSM7_BASIC) == 127 and len(GSM7_EXTENSION) == 10  # 128 codes less the escape
    assert not GSM7_BASIC & GSM7_EXTENSION


def test_a_typical_long_report_costs_one_part_folded_and_three_as_it_came() -> None:
    report = "Ada kebakaran di gudang “Sumber Rejeki” dekat pasar, asap hitam tebal… tolong cepat, warga panik 🙏"
    assert measure(report).encoding == "ucs2" and measure(report).segments == 2
    assert measure(fold(report)) == measure(fold(report))
    assert measure(fold(report)).encoding == "gsm7" and measure(fold(report)).segments == 1
