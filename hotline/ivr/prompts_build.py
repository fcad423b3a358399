"""`hotline prompts build`: one 8 kHz mono 16-bit WAV per (language, prompt key) of the flows.

For each prompt a flow can play (ivr_flows/prompts/<lang>.yaml, the generated menu choices, and
digit_0..digit_9 where a flow reads numbers):

* a city recording `ivr_flows/recordings/<lang>/<key>.wav` wins: already telephony audio, it is played
  where it is (nothing is written); otherwise it is converted into the output folder;
* else espeak-ng speaks the text (voice `id`, `en`, ...) and the result is resampled to 8 kHz.

Output: `{HOTLINE_DATA_DIR}/prompts/<lang>/<key>.wav` and `manifest.json` beside them, which records
for each file the hash of what made it (text and voice, or the recording's bytes) and the espeak-ng
version. A second build redoes only what changed; `force` redoes everything.

Planning (`plan_build`) and running (`run_build`) are separate so the CLI can show a progress bar.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
import tempfile
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from hotline.ivr.wav import WavError, is_telephony_wav, to_telephony

MANIFEST = "manifest.json"
MANIFEST_FORMAT = 1  # bump when the output changes for the same inputs: everything is rebuilt
VOICES = {"id": "id", "en": "en"}  # flow language -> espeak-ng voice; others use the language code
INSTALL_HINT = "install it with `apt-get install espeak-ng` (Debian/Ubuntu), then run `hotline prompts build` again"


class PromptBuildError(RuntimeError):
    """Something the person running the build must fix; the message says what."""


@dataclass(frozen=True)
class Tools:
    espeak: str | None  # path of espeak-ng, None when not installed
    espeak_version: str | None
    sox: str | None  # None: resample with numpy (hotline/ivr/wav.py)

    @classmethod
    def find(cls, path: str | None = None) -> Tools:
        """Look the programs up on `path` (default: $PATH)."""
        espeak = shutil.which("espeak-ng", path=path)
        return cls(espeak, _espeak_version(espeak) if espeak else None, shutil.which("sox", path=path))


def _espeak_version(espeak: str) -> str:
    done = subprocess.run([espeak, "--version"], capture_output=True, text=True, check=False)
    match = re.search(r"text-to-speech:\s*(\S+)", done.stdout)
    return match.group(1) if match else done.stdout.strip()[:40]


@dataclass(frozen=True)
class PromptJob:
    language: str
    key: str
    source: Literal["espeak", "recording"]
    text: str
    output: Path  # the generated file
    recording: Path | None = None
    in_place: bool = False  # a telephony recording played where it is: nothing is written to `output`

    @property
    def name(self) -> str:
        return f"{self.language}/{self.key}"


@dataclass
class BuildPlan:
    output_dir: Path
    tools: Tools
    jobs: list[PromptJob]  # to (re)build, in order
    up_to_date: list[str]  # "lang/key" that need nothing
    manifest: dict[str, Any]  # the manifest as it will be once every job succeeded
    in_place: list[str] = field(default_factory=list)  # recordings played where they are
    unused_recordings: list[Path] = field(default_factory=list)  # no prompt has that language/key: a typo?


@dataclass(frozen=True)
class BuildResult:
    built: list[str]
    up_to_date: list[str]
    in_place: list[str]
    output_dir: Path


def _sha(*parts: str | bytes) -> str:
    digest = hashlib.sha256()
    for part in parts:
        digest.update(part.encode() if isinstance(part, str) else part)
        digest.update(b"\0")
    return digest.hexdigest()


def plan_build(
    texts: Mapping[str, Mapping[str, str]],
    *,
    recordings_dir: Path,
    output_dir: Path,
    tools: Tools | None = None,
    force: bool = False,
) -> BuildPlan:
    """What must be (re)built for `texts` (language -> key -> text, see `prompt_audio.prompt_texts`).

    Raises PromptBuildError when a prompt without a recording needs espeak-ng and it is not installed."""
    tools = tools or Tools.find()
    entries_before = _manifest_entries(output_dir)
    entries: dict[str, Any] = {}
    jobs: list[PromptJob] = []
    up_to_date: list[str] = []
    in_place: list[str] = []
    needs_espeak: list[str] = []
    for language in sorted(texts):
        voice = VOICES.get(language, language)
        for key in sorted(texts[language]):
            name, text = f"{language}/{key}", texts[language][key]
            recording = recordings_dir / language / f"{key}.wav"
            target = output_dir / language / f"{key}.wav"
            if recording.is_file():
                ready = is_telephony_wav(recording)
                entry = {"source": "recording", "digest": _sha(recording.read_bytes()), "in_place": ready}
                job = PromptJob(language, key, "recording", text, target, recording, ready)
                if ready:
                    in_place.append(name)
            else:
                needs_espeak.append(name)
                entry = {"source": "espeak", "digest": _sha(voice, text), "espeak": tools.espeak_version}
                job = PromptJob(language, key, "espeak", text, target)
            entries[name] = entry
            # In place, the generated file must be gone (nothing may play a stale copy); else it must exist.
            current = entries_before.get(name) == entry and target.is_file() != job.in_place
            if force or not current:
                jobs.append(job)
            else:
                up_to_date.append(name)
    if needs_espeak and tools.espeak is None:
        raise PromptBuildError(
            f"espeak-ng is not installed, and {len(needs_espeak)} prompt(s) have no recording "
            f"(e.g. {needs_espeak[0]}): {INSTALL_HINT}"
        )
    manifest = {"format": MANIFEST_FORMAT, "espeak": tools.espeak_version, "prompts": entries}
    unused = sorted(path for path in recordings_dir.glob("*/*.wav") if path.stem not in texts.get(path.parent.name, {}))
    return BuildPlan(output_dir, tools, jobs, up_to_date, manifest, in_place, unused)


def run_build(
    plan: BuildPlan,
    *,
    on_done: Callable[[PromptJob], None] | None = None,
    workers: int | None = None,
) -> BuildResult:
    """Run the plan's jobs in parallel (each is a short espeak-ng/sox process); `on_done` is called in
    the caller's thread after each one. Every file that was built is kept in the manifest even when
    others fail; the failures are raised together at the end."""
    built: list[str] = []
    failures: list[str] = []
    done_entries: dict[str, Any] = {}
    before = _manifest_entries(plan.output_dir)
    workers = workers or min(8, os.cpu_count() or 1)
    with ThreadPoolExecutor(max_workers=workers) as pool:
        futures = {pool.submit(_run_job, job, plan.tools): job for job in plan.jobs}
        for future in as_completed(futures):
            job = futures[future]
            try:
                future.result()
            except (PromptBuildError, WavError, OSError) as exc:
                failures.append(f"{job.name}: {exc}")
            else:
                if not job.in_place:
                    built.append(job.name)
                done_entries[job.name] = plan.manifest["prompts"][job.name]
            if on_done:
                on_done(job)
    # Entries of failed jobs keep their old value (or none), so the next build tries them again.
    entries = {name: entry for name, entry in before.items() if name in plan.manifest["prompts"]}
    entries.update({name: plan.manifest["prompts"][name] for name in plan.up_to_date})
    entries.update(done_entries)
    _write_manifest(plan.output_dir, {**plan.manifest, "prompts": dict(sorted(entries.items()))})
    if failures:
        raise PromptBuildError(f"{len(failures)} prompt(s) failed:\n" + "\n".join(sorted(failures)))
    return BuildResult(sorted(built), plan.up_to_date, plan.in_place, plan.output_dir)


def _run_job(job: PromptJob, tools: Tools) -> None:
    if job.in_place:
        job.output.unlink(missing_ok=True)
        return
    if job.recording is not None:
        try:
            to_telephony(job.recording, job.output, sox=tools.sox)
        except WavError as exc:
            raise PromptBuildError(
                f"{exc} (fix: save it as a PCM WAV, e.g. `sox IN -r 8000 -c 1 -b 16 {job.recording}`)"
            ) from None
        return
    assert tools.espeak is not None
    with tempfile.TemporaryDirectory(prefix="hotline-prompt-") as tmp:
        spoken = Path(tmp) / "espeak.wav"
        voice = VOICES.get(job.language, job.language)
        done = subprocess.run(
            [tools.espeak, "-v", voice, "-b", "1", "-w", str(spoken), "--stdin"],
            input=job.text,
            capture_output=True,
            text=True,
            check=False,
        )
        if done.returncode != 0 or not spoken.is_file():
            raise PromptBuildError(f"espeak-ng -v {voice} failed: {done.stderr.strip() or done.returncode}")
        to_telephony(spoken, job.output, sox=tools.sox)


def _manifest_entries(output_dir: Path) -> dict[str, Any]:
    """ "lang/key" -> what made that file; empty when there is no manifest or it has another format."""
    try:
        data = json.loads((output_dir / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    if not isinstance(data, dict) or data.get("format") != MANIFEST_FORMAT:
        return {}
    entries = data.get("prompts")
    return entries if isinstance(entries, dict) else {}


def _write_manifest(output_dir: Path, manifest: dict[str, Any]) -> None:
    output_dir.mkdir(parents=True, exist_ok=True)
    tmp = output_dir / f".{MANIFEST}.tmp"
    tmp.write_text(json.dumps(manifest, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    os.replace(tmp, output_dir / MANIFEST)
