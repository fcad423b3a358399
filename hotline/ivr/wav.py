"""Telephony WAV files: what a prompt must be (8 kHz, mono, 16-bit PCM) and how any PCM WAV becomes one.

Conversion uses sox when it is on PATH (its resampler is the reference, and it reads every WAV flavour),
else a windowed-sinc resampler in numpy (already installed for matplotlib). Not `audioop`: it is
deprecated and gone in Python 3.13, and its `ratecv` does no low-pass filtering, so 22 kHz speech
would alias into the 4 kHz band. Both paths write through a temp file and a rename, so a file being
served is never half written.
"""

from __future__ import annotations

import os
import subprocess
import tempfile
import wave
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # numpy is imported only to convert; the web app just reads WAV headers
    import numpy as np

TELEPHONY_RATE = 8000
TELEPHONY_WIDTH = 2  # bytes: 16-bit signed PCM
_BLOCK = 4096  # output samples per resampling step: bounds memory for long recordings


class WavError(ValueError):
    """Not a WAV file we can read (compressed, float, truncated, ...)."""


@dataclass(frozen=True)
class WavInfo:
    rate: int
    channels: int
    sample_width: int  # bytes per sample
    frames: int

    @property
    def seconds(self) -> float:
        return self.frames / self.rate if self.rate else 0.0

    @property
    def is_telephony(self) -> bool:
        return (self.rate, self.channels, self.sample_width) == (TELEPHONY_RATE, 1, TELEPHONY_WIDTH)


def wav_info(path: Path) -> WavInfo:
    try:
        with wave.open(str(path), "rb") as f:
            return WavInfo(f.getframerate(), f.getnchannels(), f.getsampwidth(), f.getnframes())
    except (wave.Error, EOFError, OSError) as exc:
        raise WavError(f"{path}: not a PCM WAV file ({exc})") from exc


def is_telephony_wav(path: Path) -> bool:
    try:
        return wav_info(path).is_telephony
    except WavError:
        return False


def to_telephony(source: Path, target: Path, *, sox: str | None) -> WavInfo:
    """Write `source` (any PCM WAV) as 8 kHz mono 16-bit PCM to `target`; returns the result's info."""
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{target.stem}.", suffix=".wav", dir=target.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        if sox:
            _sox(sox, source, tmp)
        else:
            _numpy(source, tmp)
        info = wav_info(tmp)
        os.replace(tmp, target)
        return info
    finally:
        tmp.unlink(missing_ok=True)


def _sox(sox: str, source: Path, target: Path) -> None:
    command = [sox, "-V1", str(source), "-r", str(TELEPHONY_RATE), "-c", "1", "-b", "16", "-e", "signed-integer"]
    done = subprocess.run([*command, str(target)], capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise WavError(f"{source}: sox could not convert it: {done.stderr.strip() or done.returncode}")


def _numpy(source: Path, target: Path) -> None:
    import numpy as np

    info = wav_info(source)
    with wave.open(str(source), "rb") as f:
        raw = f.readframes(info.frames)
    samples = _to_float(raw, info.sample_width).reshape(-1, info.channels).mean(axis=1)
    resampled = resample(samples, info.rate, TELEPHONY_RATE)
    pcm = np.clip(np.round(resampled * 32768.0), -32768, 32767).astype("<i2")
    with wave.open(str(target), "wb") as f:
        f.setnchannels(1)
        f.setsampwidth(TELEPHONY_WIDTH)
        f.setframerate(TELEPHONY_RATE)
        f.writeframes(pcm.tobytes())


def _to_float(raw: bytes, width: int) -> np.ndarray:
    """PCM bytes (little-endian; 8-bit is unsigned) -> floats in [-1, 1)."""
    import numpy as np

    if width == 1:
        return (np.frombuffer(raw, dtype=np.uint8).astype(np.float64) - 128.0) / 128.0
    if width == 2:
        return np.frombuffer(raw, dtype="<i2").astype(np.float64) / 32768.0
    if width == 3:
        b = np.frombuffer(raw, dtype=np.uint8).reshape(-1, 3).astype(np.int32)
        value = b[:, 0] | (b[:, 1] << 8) | (b[:, 2] << 16)
        value = np.where(value >= 1 << 23, value - (1 << 24), value)
        return value.astype(np.float64) / float(1 << 23)
    if width == 4:
        return np.frombuffer(raw, dtype="<i4").astype(np.float64) / float(1 << 31)
    raise WavError(f"unsupported sample width: {width * 8} bits")


def resample(samples: np.ndarray, source_rate: int, target_rate: int, zero_crossings: int = 16) -> np.ndarray:
    """Band-limited (windowed-sinc, Blackman) resampling of mono floats.

    The kernel's cut-off is 94 % of the lower Nyquist frequency, so going down to 8 kHz removes
    everything above ~3.76 kHz instead of folding it back into the speech band."""
    import numpy as np

    if source_rate == target_rate or len(samples) == 0:
        return samples.astype(np.float64)
    ratio = target_rate / source_rate
    cutoff = min(1.0, ratio) * 0.94  # in cycles per input sample, relative to the input Nyquist
    half = int(np.ceil(zero_crossings / cutoff))  # kernel half-width, in input samples
    offsets = np.arange(-half + 1, half + 1)
    padded = np.concatenate([np.zeros(half), samples.astype(np.float64), np.zeros(half + 1)])
    count = int(len(samples) * ratio)
    out = np.empty(count)
    for start in range(0, count, _BLOCK):
        positions = np.arange(start, min(start + _BLOCK, count)) / ratio  # in input samples
        index = np.floor(positions).astype(np.int64)[:, None] + offsets[None, :]
        distance = positions[:, None] - index
        u = distance / half
        window = np.where(np.abs(u) < 1, 0.42 + 0.5 * np.cos(np.pi * u) + 0.08 * np.cos(2 * np.pi * u), 0.0)
        kernel = cutoff * np.sinc(cutoff * distance) * window
        out[start : start + len(positions)] = (padded[index + half] * kernel).sum(axis=1)
    return out
