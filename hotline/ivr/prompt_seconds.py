"""How long a prompt takes to say: the length of its audio file, else an estimate from its words.

The file is the one the transports play (hotline/ivr/prompt_audio.py): the city's recording, or what
`hotline prompts build` made with espeak-ng. A prompt without a file is estimated at `WORDS_PER_MINUTE`
(175, an ordinary speaking rate), and remembered in `estimated`, so whoever shows a figure built on it can
say so. Used by the terminal's paced prompts (`hotline simulate call`) and bench/ivr_timing.py.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from hotline.ivr.actions import Prompt, ReadDigits
from hotline.ivr.flow import Flow
from hotline.ivr.prompt_audio import PromptAudio, generated_dir, prompt_texts, recordings_dir
from hotline.ivr.wav import WavError, wav_info

WORDS_PER_MINUTE = 175.0


def estimated_seconds(text: str) -> float:
    """`text` said at WORDS_PER_MINUTE."""
    return len(text.split()) * 60.0 / WORDS_PER_MINUTE


@dataclass
class PromptSeconds:
    audio: PromptAudio
    estimated: set[tuple[str, str]] = field(default_factory=set)  # (language, key) of prompts without a file
    _known: dict[tuple[str, str], float] = field(default_factory=dict)

    @classmethod
    def for_flows(cls, flows: Iterable[Flow], *, config_dir: Path, data_dir: Path) -> PromptSeconds:
        """Every prompt of the flows, from the files the transports would play."""
        pairs = [(language, key) for language, keys in prompt_texts(flows).items() for key in keys]
        audio = PromptAudio.scan(pairs, recordings=recordings_dir(config_dir), generated=generated_dir(data_dir))
        return cls(audio)

    def __call__(self, prompt: Prompt) -> float:
        pair = (prompt.language, prompt.key)
        if pair not in self._known:
            self._known[pair] = self._measure(prompt)
        return self._known[pair]

    def of(self, media: Prompt | ReadDigits) -> float:
        """A prompt, or a number read digit by digit (its digit prompts; a number without them: its digits
        as words)."""
        if isinstance(media, Prompt):
            return self(media)
        if media.prompts:
            return sum(self(p) for p in media.prompts)
        return estimated_seconds(" ".join(media.digits))

    def _measure(self, prompt: Prompt) -> float:
        path = self.audio.path(prompt.language, prompt.key)
        if path is not None:
            try:
                return wav_info(path).seconds
            except WavError:
                pass  # unreadable: estimated like a missing file
        self.estimated.add((prompt.language, prompt.key))
        return estimated_seconds(prompt.text)
