"""Sounds of our own that Asterisk plays besides the prompts: the beep before a recording.

A stock Asterisk without the core sounds package has no `beep`; a recording asked to beep (`beep=true`)
then ends at once with nothing in it ("File beep does not exist in any format"). So Hotline never asks
Asterisk for its beep: the instruction's playback ends with `sound:hotline/beep`, this file, which
`hotline prompts export DIR` writes as DIR/beep.wav beside the prompts.
"""

from __future__ import annotations

import io
import math
import struct
import wave
from pathlib import Path

RATE = 8000  # telephony: 8 kHz mono 16-bit, what Asterisk plays without transcoding
BEEP_HZ = 1000
BEEP_SECONDS = 0.25


def beep_wav(*, hz: int = BEEP_HZ, seconds: float = BEEP_SECONDS, level: float = 0.5) -> bytes:
    """A sine beep with 5 ms fades (no clicks), as WAV bytes."""
    count = int(RATE * seconds)
    fade = int(RATE * 0.005)
    frames = bytearray()
    for i in range(count):
        envelope = min(1.0, i / fade, (count - 1 - i) / fade)
        frames += struct.pack("<h", round(32767 * level * envelope * math.sin(2 * math.pi * hz * i / RATE)))
    out = io.BytesIO()
    with wave.open(out, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(RATE)
        w.writeframes(bytes(frames))
    return out.getvalue()


def write_sounds(directory: Path) -> list[Path]:
    """Write our own sounds into the folder the prompts are exported to; the paths written."""
    directory.mkdir(parents=True, exist_ok=True)
    beep = directory / "beep.wav"
    beep.write_bytes(beep_wav())
    return [beep]
