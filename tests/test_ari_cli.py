"""`hotline ari` as its own process: refuses to start without its settings, connects with the credentials in
the Authorization header, stops cleanly on SIGTERM."""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import socket
import subprocess
import sys
import wave
from pathlib import Path

import pytest
from typer.testing import CliRunner

from hotline.fakes.fake_ari import FakeAri
from tests.ari_harness import requires_ari_docs
from tests.suite_city import CITY_DIR, clean_environment
from tests.test_prompt_serving import write_wav

pytestmark = [requires_ari_docs, pytest.mark.system]  # starts hotline processes


def ari_env(**values: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ARI_")}
    return {**env, **values}


def test_hotline_ari_without_ari_url_is_a_clear_error() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "hotline", "ari"], env=ari_env(), capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 2 and "ARI_URL is not set" in done.stderr


def test_hotline_ari_connects_to_asterisk_and_stops_on_sigterm(tmp_path: Path) -> None:
    async def scenario() -> tuple[int, list[tuple[str, str, int]], str]:
        fake = FakeAri()
        url = await fake.start()
        env = ari_env(ARI_URL=url, ARI_USERNAME=fake.username, ARI_PASSWORD=fake.password)
        env.update(HOTLINE_DATA_DIR=str(tmp_path), HOTLINE_DATABASE_URL=f"sqlite:///{tmp_path / 'h.db'}")
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "hotline", "ari", env=env, stderr=asyncio.subprocess.PIPE
        )
        await fake.wait_for(lambda r: r.path == "/channels", timeout=60)  # connected and re-read the channels
        await fake.wait_for(lambda r: r.path == "/recordings/stored", timeout=60)  # the fallback's messages
        process.send_signal(signal.SIGTERM)
        _, stderr = await asyncio.wait_for(process.communicate(), 30)
        await fake.stop()
        return process.returncode or 0, [(r.method, r.path, r.status) for r in fake.requests], stderr.decode()

    code, requests, stderr = asyncio.run(scenario())
    assert code == 0, stderr
    # the look for the fallback's messages runs beside the connection: its place in the order is not fixed
    assert sorted(requests) == [("GET", "/channels", 200), ("GET", "/events", 101), ("GET", "/recordings/stored", 200)]
    assert "Traceback" not in stderr


def test_prompts_export_lays_the_audio_out_as_asterisk_plays_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from hotline.cli import app
    from hotline.settings import get_settings

    city, data = tmp_path / "city", tmp_path / "var"
    for folder in ("routing", "sms", "ivr_flows"):
        shutil.copytree(CITY_DIR / folder, city / folder)
    built = write_wav(data / "prompts" / "id" / "welcome.wav")
    recorded = write_wav(city / "ivr_flows" / "recordings" / "en" / "goodbye.wav", frames=400)
    monkeypatch.setenv("HOTLINE_CONFIG_DIR", str(city))
    monkeypatch.setenv("HOTLINE_DATA_DIR", str(data))
    get_settings.cache_clear()
    try:
        done = CliRunner().invoke(app, ["prompts", "export", str(tmp_path / "sounds")])
    finally:
        monkeypatch.undo()
        get_settings.cache_clear()
    assert done.exit_code == 0, done.output
    assert (tmp_path / "sounds" / "id" / "welcome.wav").read_bytes() == built  # sound:hotline/id/welcome
    assert (tmp_path / "sounds" / "en" / "goodbye.wav").read_bytes() == recorded  # the city's own recording
    assert "2 prompts and the beep copied" in done.output
    with wave.open(str(tmp_path / "sounds" / "beep.wav")) as beep:  # sound:hotline/beep, before every recording
        assert (beep.getframerate(), beep.getnchannels(), beep.getsampwidth(), beep.getnframes()) == (8000, 1, 2, 2000)


def test_prompts_export_without_audio_says_what_to_do(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from hotline.cli import app
    from hotline.settings import get_settings

    monkeypatch.setenv("HOTLINE_DATA_DIR", str(tmp_path / "empty"))
    get_settings.cache_clear()
    try:
        done = CliRunner().invoke(app, ["prompts", "export", str(tmp_path / "sounds")])
    finally:
        monkeypatch.undo()  # before clearing: a thread's get_settings() in between would keep this test's dir
        get_settings.cache_clear()
    assert done.exit_code == 1 and "hotline prompts build" in done.output


def test_hotline_up_starts_the_ari_app_when_ari_url_is_set(tmp_path: Path) -> None:
    """... and the SMPP binds when an SMPP gateway is configured (one `hotline up` for both: it takes seconds)."""
    from tests.smsc_peer import Smsc

    smsc = Smsc().start()

    async def scenario() -> tuple[int, list[tuple[str, str, int]], str]:
        fake = FakeAri()
        url = await fake.start()
        env = {**clean_environment(), **{k: v for k, v in ari_env().items() if k.startswith("ARI_")}}
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        env.update(
            ARI_URL=url,
            ARI_USERNAME=fake.username,
            ARI_PASSWORD=fake.password,
            HOTLINE_DATA_DIR=str(tmp_path / "var"),
            HOTLINE_PORT=str(port),
            HOTLINE_SMS_GATEWAYS="telco",
            HOTLINE_GATEWAY_TELCO_TYPE="smpp",
            HOTLINE_GATEWAY_TELCO_HOST="127.0.0.1",
            HOTLINE_GATEWAY_TELCO_PORT=str(smsc.port),
            HOTLINE_GATEWAY_TELCO_SYSTEM_ID="kotabatu",
            HOTLINE_GATEWAY_TELCO_PASSWORD="rahasia1",
        )
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "hotline",
            "up",
            env=env,
            cwd=tmp_path,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
        )
        try:
            await fake.wait_for(lambda r: r.path == "/channels", timeout=90)
            for _ in range(600):
                if smsc.bound():
                    break
                await asyncio.sleep(0.05)
        finally:
            process.send_signal(signal.SIGINT)
            output, _ = await asyncio.wait_for(process.communicate(), 60)
            await fake.stop()
        return process.returncode or 0, [(r.method, r.path, r.status) for r in fake.requests], output.decode()

    try:
        code, requests, output = asyncio.run(scenario())
        bound, binds = smsc.bound(), smsc.binds
    finally:
        smsc.stop()
    assert code == 0, output
    assert binds == 1 and not bound, output  # bound once while up, unbound when it stopped
    assert "SMPP binds: telco" in output
    connecting = [r for r in requests if r[1] != "/recordings/stored"]  # the fallback's messages: looked at beside
    assert connecting[:2] == [("GET", "/events", 101), ("GET", "/channels", 200)]
    assert "Asterisk ARI app 'hotline' on http://127.0.0.1:" in output and "Hotline stopped" in output


def test_production_refuses_the_sample_ari_password() -> None:
    from hotline.channels.ari.settings import AriSettings
    from hotline.settings import Settings

    production = {
        "HOTLINE_ENV": "production",
        "HOTLINE_SECRET_KEY": "q7Lr2vXc9PzK4mWn8tYb3JhF6sDg1aEu0oRkVwZx",  # production refuses "s" * 40
        "HOTLINE_PUBLIC_URL": "https://hotline.example.org",
        "HOTLINE_SMS_PROVIDER": "log",
        "ARI_URL": "http://127.0.0.1:8088",
        "ARI_USERNAME": "hotline",
    }
    with pytest.raises(ValueError, match="ARI_PASSWORD"):  # pydantic wraps the SettingsError
        Settings(**production, ARI_PASSWORD="change-me-to-a-long-random-secret")  # type: ignore[arg-type]
    accepted = Settings(**production, ARI_PASSWORD="9f2c1e7a5b3d")  # type: ignore[arg-type]
    assert accepted.voice(AriSettings).password == "9f2c1e7a5b3d"  # the Asterisk type's own settings
