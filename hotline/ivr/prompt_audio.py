"""Where each prompt's audio file is, shared by the TwiML renderer, the HTTP route and the ARI executor.

Two places, the first that has a usable file wins:

1. `{HOTLINE_CONFIG_DIR}/ivr_flows/recordings/{lang}/{key}.wav` -- recorded by the city, committed with
   its flows, played as it is when it already is telephony audio (8 kHz, mono, 16-bit PCM).
2. `{HOTLINE_DATA_DIR}/prompts/{lang}/{key}.wav` -- written by `hotline prompts build`: espeak-ng
   speaking the prompt's text, or a city recording converted to telephony audio.

Only (language, key) pairs that the loaded flows can play are ever looked up, so a request can never
name a path of its own (the HTTP route relies on this). A key without any file is spoken by TTS where
the transport has it (Twilio <Say>).
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from hotline.ivr.flow import Flow
from hotline.ivr.wav import is_telephony_wav


def recordings_dir(config_dir: Path) -> Path:
    return Path(config_dir) / "ivr_flows" / "recordings"


def generated_dir(data_dir: Path) -> Path:
    return Path(data_dir) / "prompts"


def prompt_texts(flows: Iterable[Flow]) -> dict[str, dict[str, str]]:
    """language -> key -> text over all flows. Every flow reads the same prompts/<lang>.yaml, so a key
    means one sentence; should two flows disagree, the first one's text wins (one file per key)."""
    texts: dict[str, dict[str, str]] = {}
    for flow in flows:
        for language, prompts in flow.prompts.items():
            for key, text in prompts.items():
                texts.setdefault(language, {}).setdefault(key, text)
    return texts


@dataclass(frozen=True)
class PromptAudio:
    """Which (language, key) prompts have an audio file, and the file."""

    files: Mapping[tuple[str, str], Path] = field(default_factory=dict)

    def path(self, language: str, key: str) -> Path | None:
        return self.files.get((language, key))

    def __contains__(self, item: tuple[str, str]) -> bool:
        return item in self.files

    @classmethod
    def scan(cls, keys: Iterable[tuple[str, str]], *, recordings: Path, generated: Path) -> PromptAudio:
        files: dict[tuple[str, str], Path] = {}
        for language, key in keys:
            recorded = recordings / language / f"{key}.wav"
            built = generated / language / f"{key}.wav"
            # A recording in another format is played from its converted copy (see module docstring).
            if recorded.is_file() and is_telephony_wav(recorded):
                files[(language, key)] = recorded
            elif built.is_file():
                files[(language, key)] = built
        return cls(files)


class PromptAudioCache:
    """`PromptAudio` for the current flows, rescanned only when a prompt file changed.

    Generated files: only their presence matters, and adding, removing or replacing one (the build
    writes a temp file and renames it) changes its folder's mtime. Recordings: the city may copy a new
    take over an old one, which leaves the folder alone, and its format decides where it is played
    from, so each recording's own mtime and size count. A few stat() calls per request, no restart."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._key: tuple[object, ...] | None = None
        self._audio = PromptAudio()

    def get(self, flows: Iterable[Flow], *, config_dir: Path, data_dir: Path) -> PromptAudio:
        texts = prompt_texts(flows)
        recordings, generated = recordings_dir(config_dir), generated_dir(data_dir)
        languages = sorted(texts)
        stamp = (
            recordings,
            generated,
            tuple((language, tuple(sorted(texts[language]))) for language in languages),
            tuple(_mtime(generated / language) for language in languages),
            tuple(_files(recordings / language) for language in languages),
        )
        with self._lock:
            if stamp != self._key:
                pairs = [(language, key) for language, keys in texts.items() for key in keys]
                self._audio = PromptAudio.scan(pairs, recordings=recordings, generated=generated)
                self._key = stamp
            return self._audio


def _mtime(folder: Path) -> int | None:
    try:
        return folder.stat().st_mtime_ns
    except OSError:
        return None


def _files(folder: Path) -> tuple[tuple[str, int, int], ...]:
    try:
        with os.scandir(folder) as entries:
            stats = [(e.name, e.stat()) for e in entries if e.name.endswith(".wav")]
    except OSError:
        return ()
    return tuple(sorted((name, st.st_mtime_ns, st.st_size) for name, st in stats))


_cache = PromptAudioCache()


def current_prompt_audio(flows: Iterable[Flow], *, config_dir: Path, data_dir: Path) -> PromptAudio:
    """The process-wide cached `PromptAudio` (what webhooks and the prompt route use)."""
    return _cache.get(flows, config_dir=config_dir, data_dir=data_dir)
