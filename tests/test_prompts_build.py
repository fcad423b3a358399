"""`hotline prompts build` with the real espeak-ng (and sox): telephony WAVs, rebuilt only when they change,
city recordings winning, and a clear error without espeak-ng."""

from __future__ import annotations

import wave
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from hotline.ivr.prompt_audio import PromptAudio
from hotline.ivr.prompts_build import BuildResult, PromptBuildError, Tools, plan_build, run_build
from hotline.ivr.wav import resample, wav_info

TOOLS = Tools.find()
needs_espeak = pytest.mark.skipif(
    TOOLS.espeak is None, reason="espeak-ng is not installed (apt-get install espeak-ng sox; .ci/run does)"
)
TEXTS = {
    "id": {"welcome": "Selamat datang di Hotline Kota Batu.", "digit_1": "satu"},
    "en": {"welcome": "Welcome to the Kota Batu hotline."},
}


def build(
    texts: dict[str, dict[str, str]], tmp: Path, tools: Tools = TOOLS, force: bool = False
) -> tuple[list[str], BuildResult]:
    """Plan and run; returns the names the plan scheduled and the result."""
    plan = plan_build(texts, recordings_dir=tmp / "recordings", output_dir=tmp / "out", tools=tools, force=force)
    return [job.name for job in plan.jobs], run_build(plan)


def write_wav(path: Path, *, rate: int, channels: int, seconds: float = 1.0, freq: float = 440.0) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    t = np.arange(int(rate * seconds)) / rate
    tone = (0.5 * np.sin(2 * np.pi * freq * t) * 32767).astype("<i2")
    with wave.open(str(path), "wb") as f:
        f.setnchannels(channels)
        f.setsampwidth(2)
        f.setframerate(rate)
        f.writeframes(np.repeat(tone, channels).tobytes())


def peak(path: Path) -> float:
    with wave.open(str(path), "rb") as f:
        samples = np.frombuffer(f.readframes(f.getnframes()), dtype="<i2")
    return float(np.abs(samples).max()) / 32768.0


@needs_espeak
def test_build_makes_8khz_mono_16bit_speech(tmp_path: Path) -> None:
    scheduled, result = build(TEXTS, tmp_path)
    assert scheduled == result.built == ["en/welcome", "id/digit_1", "id/welcome"]
    for name in result.built:
        info = wav_info(tmp_path / "out" / f"{name}.wav")
        assert (info.rate, info.channels, info.sample_width) == (8000, 1, 2), name
        assert info.seconds > 0.3, f"{name} is {info.seconds:.2f} s"
        assert peak(tmp_path / "out" / f"{name}.wav") > 0.1, f"{name} is silent"
    # A sentence lasts longer than one word: the text really was spoken.
    assert wav_info(tmp_path / "out/id/welcome.wav").seconds > 2 * wav_info(tmp_path / "out/id/digit_1.wav").seconds


@needs_espeak
def test_second_build_rebuilds_nothing(tmp_path: Path) -> None:
    build(TEXTS, tmp_path)
    stamps = {p: p.stat().st_mtime_ns for p in (tmp_path / "out").rglob("*.wav")}
    scheduled, result = build(TEXTS, tmp_path)
    assert scheduled == [] and result.built == []
    assert len(result.up_to_date) == 3
    assert {p: p.stat().st_mtime_ns for p in (tmp_path / "out").rglob("*.wav")} == stamps


@needs_espeak
def test_changed_text_rebuilds_only_that_prompt(tmp_path: Path) -> None:
    build(TEXTS, tmp_path)
    before = (tmp_path / "out/id/welcome.wav").read_bytes()
    changed = {**TEXTS, "id": {**TEXTS["id"], "welcome": "Selamat datang. Laporan warga Kota Batu, silakan."}}
    scheduled, result = build(changed, tmp_path)
    assert scheduled == result.built == ["id/welcome"]
    assert (tmp_path / "out/id/welcome.wav").read_bytes() != before
    assert build(changed, tmp_path)[0] == []  # and the manifest remembers it


@needs_espeak
def test_force_rebuilds_everything(tmp_path: Path) -> None:
    build(TEXTS, tmp_path)
    assert build(TEXTS, tmp_path, force=True)[0] == ["en/welcome", "id/digit_1", "id/welcome"]


@needs_espeak
def test_a_new_espeak_version_rebuilds(tmp_path: Path) -> None:
    build(TEXTS, tmp_path)
    newer = Tools(TOOLS.espeak, "99.0", TOOLS.sox)
    assert build(TEXTS, tmp_path, tools=newer)[0] == ["en/welcome", "id/digit_1", "id/welcome"]


@needs_espeak
def test_a_deleted_output_is_rebuilt(tmp_path: Path) -> None:
    build(TEXTS, tmp_path)
    (tmp_path / "out/en/welcome.wav").unlink()
    assert build(TEXTS, tmp_path)[0] == ["en/welcome"]


@needs_espeak
def test_a_telephony_recording_is_played_where_it_is(tmp_path: Path) -> None:
    build(TEXTS, tmp_path)
    recording = tmp_path / "recordings/id/welcome.wav"
    write_wav(recording, rate=8000, channels=1, seconds=1.5)
    scheduled, result = build(TEXTS, tmp_path)
    assert scheduled == ["id/welcome"]
    assert result.in_place == ["id/welcome"] and result.built == []
    assert not (tmp_path / "out/id/welcome.wav").exists()  # the espeak copy is gone: nothing can play it
    audio = PromptAudio.scan(
        [("id", "welcome"), ("id", "digit_1"), ("en", "welcome")],
        recordings=tmp_path / "recordings",
        generated=tmp_path / "out",
    )
    assert audio.path("id", "welcome") == recording
    assert audio.path("id", "digit_1") == tmp_path / "out/id/digit_1.wav"
    assert build(TEXTS, tmp_path)[0] == []
    # The city takes its recording away: espeak-ng speaks the text again.
    recording.unlink()
    scheduled, result = build(TEXTS, tmp_path)
    assert scheduled == result.built == ["id/welcome"]
    assert wav_info(tmp_path / "out/id/welcome.wav").seconds > 1.6


@pytest.mark.parametrize("use_sox", [True, False], ids=["sox", "numpy"])
def test_a_cd_quality_recording_is_converted(tmp_path: Path, use_sox: bool) -> None:
    if use_sox and TOOLS.sox is None:
        pytest.skip("sox is not installed")
    tools = Tools(None, None, TOOLS.sox if use_sox else None)  # no espeak needed: every prompt is recorded
    recording = tmp_path / "recordings/id/welcome.wav"
    write_wav(recording, rate=44100, channels=2, seconds=2.0)
    scheduled, result = build({"id": {"welcome": "Selamat datang."}}, tmp_path, tools=tools)
    assert scheduled == result.built == ["id/welcome"] and result.in_place == []
    converted = tmp_path / "out/id/welcome.wav"
    info = wav_info(converted)
    assert (info.rate, info.channels, info.sample_width) == (8000, 1, 2)
    assert info.seconds == pytest.approx(2.0, abs=0.01)
    assert peak(converted) == pytest.approx(0.5, abs=0.02)  # a 440 Hz tone keeps its level
    audio = PromptAudio.scan([("id", "welcome")], recordings=tmp_path / "recordings", generated=tmp_path / "out")
    assert audio.path("id", "welcome") == converted
    # A new take of the recording is converted again.
    write_wav(recording, rate=44100, channels=2, seconds=3.0)
    assert build({"id": {"welcome": "Selamat datang."}}, tmp_path, tools=tools)[0] == ["id/welcome"]
    assert wav_info(converted).seconds == pytest.approx(3.0, abs=0.01)


def test_resampling_keeps_speech_and_drops_what_8khz_cannot_hold() -> None:
    rate = 22050  # what espeak-ng writes
    t = np.arange(rate) / rate
    speech_band = resample(0.5 * np.sin(2 * np.pi * 1000 * t), rate, 8000)
    too_high = resample(0.5 * np.sin(2 * np.pi * 6000 * t), rate, 8000)  # would alias to 2 kHz
    assert len(speech_band) == 8000
    assert np.abs(speech_band[500:-500]).max() == pytest.approx(0.5, abs=0.01)
    assert np.abs(too_high[500:-500]).max() < 0.01


def test_missing_espeak_is_a_clear_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    empty = tmp_path / "bin"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))
    tools = Tools.find()
    assert tools.espeak is None and tools.sox is None
    with pytest.raises(PromptBuildError, match=r"espeak-ng is not installed.*apt-get install espeak-ng"):
        plan_build(TEXTS, recordings_dir=tmp_path / "recordings", output_dir=tmp_path / "out", tools=tools)


def test_a_broken_recording_names_the_file_and_the_fix(tmp_path: Path) -> None:
    tools = Tools(None, None, None)
    (tmp_path / "recordings/id").mkdir(parents=True)
    (tmp_path / "recordings/id/welcome.wav").write_bytes(b"ID3 this is an mp3, not a wav")
    write_wav(tmp_path / "recordings/id/goodbye.wav", rate=16000, channels=1)
    texts = {"id": {"welcome": "Selamat datang.", "goodbye": "Terima kasih."}}
    with pytest.raises(PromptBuildError, match=r"1 prompt\(s\) failed:\nid/welcome: .*recordings/id/welcome.wav.*fix"):
        build(texts, tmp_path, tools=tools)
    # The good one was built and remembered; only the broken one is tried again.
    assert wav_info(tmp_path / "out/id/goodbye.wav").rate == 8000
    plan = plan_build(texts, recordings_dir=tmp_path / "recordings", output_dir=tmp_path / "out", tools=tools)
    assert [job.name for job in plan.jobs] == ["id/welcome"]


def test_recordings_for_no_prompt_are_reported(tmp_path: Path) -> None:
    for name in ("id/welcome", "id/welcom", "fr/welcome"):
        write_wav(tmp_path / f"recordings/{name}.wav", rate=8000, channels=1)
    plan = plan_build(
        {"id": {"welcome": "Selamat datang."}},
        recordings_dir=tmp_path / "recordings",
        output_dir=tmp_path / "out",
        tools=Tools(None, None, None),
    )
    assert plan.in_place == ["id/welcome"]
    assert plan.unused_recordings == [tmp_path / "recordings/fr/welcome.wav", tmp_path / "recordings/id/welcom.wav"]


# --- the command ----------------------------------------------------------------------------------------


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    from hotline.settings import get_settings

    monkeypatch.setenv("HOTLINE_DATA_DIR", str(tmp_path / "var"))
    get_settings.cache_clear()
    yield tmp_path / "var"
    monkeypatch.undo()
    get_settings.cache_clear()


@needs_espeak
def test_command_builds_every_prompt_of_the_city_flows(data_dir: Path) -> None:
    from hotline.cli import app
    from hotline.core.city import current_config

    flows = current_config().ivr_flows.values()
    expected = {f"{lang}/{key}" for flow in flows for lang, keys in flow.prompts.items() for key in keys}
    assert {"id/digit_0", "id/digit_9", "en/digit_5", "id/welcome", "id/choice_category_emergency_fire"} <= expected
    first = CliRunner().invoke(app, ["prompts", "build"])
    assert first.exit_code == 0, first.output
    assert f"{len(expected)} built, 0 up to date" in first.output
    made = {f"{p.parent.name}/{p.stem}" for p in (data_dir / "prompts").rglob("*.wav")}
    assert made == expected
    again = CliRunner().invoke(app, ["prompts", "build"])
    assert again.exit_code == 0 and f"0 built, {len(expected)} up to date" in again.output


def test_command_without_espeak_says_how_to_install_it(data_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from hotline.cli import app

    empty = data_dir.parent / "bin"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))
    result = CliRunner().invoke(app, ["prompts", "build"])
    assert result.exit_code == 1
    assert "apt-get install espeak-ng" in result.output
    assert not (data_dir / "prompts" / "id").exists()
