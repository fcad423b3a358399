from __future__ import annotations

import pytest

from hotline.phone import sender_id, to_e164


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("081234567890", "+6281234567890"),
        ("6281234567890", "+6281234567890"),
        ("+6281234567890", "+6281234567890"),
        ("+62 812-3456-7890", "+6281234567890"),
        ("(0341) 591234", "+62341591234"),
        ("006281234567890", "+6281234567890"),
        ("+15005550006", "+15005550006"),
        ("12", None),
        ("", None),
        ("TELKOMSEL", None),
    ],
)
def test_to_e164(raw: str, expected: str | None) -> None:
    assert to_e164(raw) == expected


def test_alphanumeric_sender_ids_are_kept_raw() -> None:
    assert sender_id(" TELKOMSEL ") == "TELKOMSEL"
    assert sender_id("0812 3456 7890") == "+6281234567890"
