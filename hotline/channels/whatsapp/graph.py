"""The few Graph API calls the WhatsApp channel makes (Cloud API), with Meta's errors in our words.

    POST {base}/{phone-number-id}/messages   send one message (text, interactive, template): {"messages": [{"id"}]}
    GET  {base}/{media-id}                   the media's short-lived download URL (about 5 minutes), type and size
    GET  <that url>                          the bytes, with the same bearer token

Errors come as {"error": {"message", "type", "code", "error_subcode", "fbtrace_id"}}. Retrying helps for 429
(codes 4, 80007, 130429, 131056: throttled), 5xx and codes 1, 2, 131000 (Meta's own trouble); not for 401
(code 190: the token), 400 (a bad request, a number not on WhatsApp) nor a media id that is gone (404).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx

DEFAULT_API_BASE = "https://graph.facebook.com/v21.0"
TIMEOUT = httpx.Timeout(10.0, connect=5.0)
RETRYABLE_CODES = frozenset({1, 2, 4, 80007, 130429, 131000, 131056})


class GraphError(Exception):
    def __init__(self, message: str, *, status: int, code: int | None = None, retryable: bool = False):
        super().__init__(message)
        self.status, self.code, self.retryable = status, code, retryable


@dataclass(frozen=True)
class MediaInfo:
    url: str
    mime_type: str
    file_size: int | None


def _error(response: httpx.Response, what: str) -> GraphError:
    try:
        body = response.json()
    except ValueError:
        body = {}
    error: dict[str, Any] = body.get("error", {}) if isinstance(body, dict) else {}
    code = error.get("code") if isinstance(error.get("code"), int) else None
    message = str(error.get("message") or response.reason_phrase or "no detail")
    retryable = response.status_code == 429 or response.status_code >= 500 or code in RETRYABLE_CODES
    return GraphError(
        f"{what}: Graph API {response.status_code} (code {code}): {message}",
        status=response.status_code,
        code=code,
        retryable=retryable,
    )


class GraphClient:
    def __init__(self, *, api_base: str, access_token: str, phone_number_id: str):
        self.api_base = api_base.rstrip("/")
        self.phone_number_id = phone_number_id
        self._headers = {"Authorization": f"Bearer {access_token}"}

    def send(self, message: dict[str, Any]) -> str:
        """Send one message (the body without messaging_product); returns its wamid."""
        body = {"messaging_product": "whatsapp", "recipient_type": "individual", **message}
        try:
            with httpx.Client(timeout=TIMEOUT) as http:
                response = http.post(
                    f"{self.api_base}/{self.phone_number_id}/messages", json=body, headers=self._headers
                )
        except httpx.HTTPError as exc:
            raise GraphError(
                f"send: Graph API unreachable: {type(exc).__name__}: {exc}", status=0, retryable=True
            ) from exc
        if response.status_code != 200:
            raise _error(response, "send")
        try:
            return str(response.json()["messages"][0]["id"])
        except (ValueError, KeyError, IndexError, TypeError) as exc:
            raise GraphError(f"send: unexpected answer {response.text[:200]!r}", status=200, retryable=True) from exc

    def media_info(self, media_id: str) -> MediaInfo:
        try:
            with httpx.Client(timeout=TIMEOUT) as http:
                response = http.get(f"{self.api_base}/{media_id}", headers=self._headers)
        except httpx.HTTPError as exc:
            raise GraphError(f"media {media_id}: Graph API unreachable: {exc}", status=0, retryable=True) from exc
        if response.status_code != 200:
            raise _error(response, f"media {media_id}")
        data = response.json()
        size = data.get("file_size")
        return MediaInfo(
            url=str(data["url"]),
            mime_type=str(data.get("mime_type") or "application/octet-stream"),
            file_size=int(size) if str(size or "").isdigit() else None,
        )

    def download(self, url: str, *, max_bytes: int) -> bytes:
        """The bytes at a media URL, refusing more than `max_bytes` without reading them all."""
        try:
            with httpx.Client(timeout=TIMEOUT) as http, http.stream("GET", url, headers=self._headers) as response:
                if response.status_code != 200:
                    response.read()
                    raise _error(response, "media download")
                declared = response.headers.get("content-length", "")
                if declared.isdigit() and int(declared) > max_bytes:
                    raise GraphError(f"media download: {declared} bytes, over {max_bytes}", status=413)
                chunks, size = [], 0
                for chunk in response.iter_bytes():
                    size += len(chunk)
                    if size > max_bytes:
                        raise GraphError(f"media download: over {max_bytes} bytes", status=413)
                    chunks.append(chunk)
                return b"".join(chunks)
        except httpx.HTTPError as exc:
            raise GraphError(f"media download: unreachable: {exc}", status=0, retryable=True) from exc
