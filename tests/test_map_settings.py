"""HOTLINE_MAP_TILES_URL: a tile template, or none for the offline map; the CSP source it gives."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from hotline.settings import Settings, settings_problems
from hotline.web.edge import CONSOLE_CSP, map_csp


@pytest.mark.parametrize(
    ("url", "source"),
    [
        ("https://tile.openstreetmap.org/{z}/{x}/{y}.png", "https://tile.openstreetmap.org"),
        ("https://{s}.tile.example.org/{z}/{x}/{y}.png", "https://*.tile.example.org"),
        ("http://10.0.0.5:8080/tiles/{z}/{x}/{y}.png", "http://10.0.0.5:8080"),
        ("none", None),
        ("", None),
    ],
)
def test_tile_urls_and_their_policy_source(url: str, source: str | None) -> None:
    settings = Settings(HOTLINE_MAP_TILES_URL=url)  # type: ignore[call-arg]
    assert settings.map_tiles_source == source
    assert (source in map_csp(source)) if source else map_csp(source) == CONSOLE_CSP


@pytest.mark.parametrize(
    "url",
    [
        "tile.openstreetmap.org/{z}/{x}/{y}.png",
        "https://tiles.example.org/{z}/{x}.png",
        "ftp://x/{z}/{x}/{y}",
        "https://a b/{z}/{x}/{y}",
    ],
)
def test_a_tile_url_that_cannot_work_is_one_line(url: str) -> None:
    with pytest.raises(ValidationError) as caught:
        Settings(HOTLINE_MAP_TILES_URL=url)  # type: ignore[call-arg]
    (line,) = settings_problems(caught.value)
    assert "tile URL template" in line and "none" in line
