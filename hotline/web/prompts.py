"""GET /ivr/prompts/{lang}/{key}.wav: the prompt audio Twilio <Play>s (and anyone may listen to).

Only (language, key) pairs the loaded flows can play are served, looked up in `PromptAudio`: the city's
recording when it is telephony audio, else the file `hotline prompts build` made. Nothing in the URL
ever becomes part of a path, so `..` and friends can only get a 404.
"""

from __future__ import annotations

from fastapi import APIRouter, Response
from fastapi.responses import FileResponse

from hotline.core.city import current_config
from hotline.ivr.prompt_audio import current_prompt_audio
from hotline.settings import get_settings

router = APIRouter()

# Twilio caches <Play> media by these headers: a re-recorded prompt is heard within five minutes.
CACHE_CONTROL = "public, max-age=300"


@router.api_route("/ivr/prompts/{language}/{filename}", methods=["GET", "HEAD"], include_in_schema=False)
def prompt_audio_file(language: str, filename: str) -> Response:
    key = filename.removesuffix(".wav")
    settings = get_settings()
    audio = current_prompt_audio(
        current_config().ivr_flows.values(), config_dir=settings.config_dir, data_dir=settings.data_dir
    )
    path = audio.path(language, key) if filename.endswith(".wav") else None
    if path is None:
        return Response("no such prompt", status_code=404, media_type="text/plain")
    return FileResponse(path, media_type="audio/wav", headers={"Cache-Control": CACHE_CONTROL})
