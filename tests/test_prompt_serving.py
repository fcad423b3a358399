"""GET /ivr/prompts/{lang}/{key}.wav: the city's recording, else the built file; 404 for anything else."""

from __future__ import annotations

import shutil
import time
import wave
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.helpers import AsgiClient
from tests.suite_city import CITY_DIR


def write_wav(path: Path, *, rate: int = 8000, frames: int = 800, fill: bytes = b"\x10\x00") -> bytes:
    path.parent.mkdir(parents=True, exist_ok=True)
    with wave.open(str(path), "wb") as f:
        f.setnchannels(1)
        f.setsampwidth(2)
        f.setframerate(rate)
        f.writeframes(fill * frames)
    return path.read_bytes()


@pytest.fixture
def city(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Path, Path]]:
    """A copy of the project's city data (so recordings can be added) and an empty data dir."""
    from hotline.settings import get_settings

    config = tmp_path / "city"
    for folder in ("routing", "sms", "ivr_flows"):
        shutil.copytree(CITY_DIR / folder, config / folder)
    monkeypatch.setenv("HOTLINE_CONFIG_DIR", str(config))
    monkeypatch.setenv("HOTLINE_DATA_DIR", str(tmp_path / "var"))
    get_settings.cache_clear()
    yield config, tmp_path / "var"
    monkeypatch.undo()
    get_settings.cache_clear()


@pytest.fixture
def client(city: tuple[Path, Path]) -> AsgiClient:
    from hotline.web.app import create_app

    return AsgiClient(create_app())


def test_serves_the_built_file(client: AsgiClient, city: tuple[Path, Path]) -> None:
    _, data = city
    body = write_wav(data / "prompts/id/welcome.wav")
    response = client.get("/ivr/prompts/id/welcome.wav")
    assert response.status_code == 200
    assert response.headers["content-type"] == "audio/wav"
    assert response.headers["cache-control"] == "public, max-age=300"
    assert response.content == body
    head = client.head("/ivr/prompts/id/welcome.wav")
    assert head.status_code == 200 and head.content == b"" and head.headers["content-length"] == str(len(body))


def test_a_city_recording_wins_over_the_built_file(client: AsgiClient, city: tuple[Path, Path]) -> None:
    config, data = city
    write_wav(data / "prompts/en/goodbye.wav", fill=b"\x01\x00")
    assert client.get("/ivr/prompts/en/goodbye.wav").content == (data / "prompts/en/goodbye.wav").read_bytes()
    time.sleep(0.01)  # a later mtime tells the prompt cache to look again
    recorded = write_wav(config / "ivr_flows/recordings/en/goodbye.wav", fill=b"\x02\x00")
    assert client.get("/ivr/prompts/en/goodbye.wav").content == recorded
    # A recording that is not telephony audio yet is played from its converted copy (the built file).
    time.sleep(0.01)
    write_wav(config / "ivr_flows/recordings/en/goodbye.wav", rate=44100)
    assert client.get("/ivr/prompts/en/goodbye.wav").content == (data / "prompts/en/goodbye.wav").read_bytes()


@pytest.mark.parametrize(
    "path",
    [
        "/ivr/prompts/id/ask_desa.wav",  # a real prompt with no file yet (Twilio <Say>s it instead)
        "/ivr/prompts/id/not_a_prompt.wav",
        "/ivr/prompts/fr/welcome.wav",
        "/ivr/prompts/id/welcome.mp3",
        "/ivr/prompts/id/welcome",
        "/ivr/prompts/id/..%2F..%2Fmanifest.json",
        "/ivr/prompts/..%2Frecordings/welcome.wav",
        "/ivr/prompts/id/%2E%2E%2Fen%2Fwelcome.wav",
    ],
)
def test_anything_else_is_404(client: AsgiClient, city: tuple[Path, Path], path: str) -> None:
    config, data = city
    write_wav(data / "prompts/id/welcome.wav")
    write_wav(data / "prompts/en/welcome.wav")
    (data / "prompts/manifest.json").write_text("{}")
    write_wav(config / "ivr_flows/recordings/welcome.wav")
    response = client.get(path)
    assert response.status_code == 404, response.content[:100]
    assert not response.content.startswith(b"RIFF")


def test_the_running_app_serves_prompts_to_twilio(server: str, backend: dict[str, str]) -> None:
    """Through uvicorn at HOTLINE_PUBLIC_URL, on the test backend (PostgreSQL in CI)."""
    prompt = Path(backend["HOTLINE_DATA_DIR"]) / "prompts/id/digit_7.wav"
    body = write_wav(prompt)
    try:
        response = httpx.get(f"{backend['HOTLINE_PUBLIC_URL']}/ivr/prompts/id/digit_7.wav")
        assert response.status_code == 200 and response.content == body
        assert httpx.get(f"{backend['HOTLINE_PUBLIC_URL']}/ivr/prompts/id/digit_77.wav").status_code == 404
    finally:
        prompt.unlink()
