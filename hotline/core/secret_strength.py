"""Whether a secret may be used in production (hotline/settings.py and the gateway settings ask)."""

from __future__ import annotations

PLACEHOLDER_SECRETS = {"", "change-me", "changeme", "secret", "dev", "development", "xxx"}
# Words that make a secret a placeholder wherever they are in it (compared without case and punctuation):
# CHANGE-ME-please, <change_me>, replace-me-123 ...
PLACEHOLDER_WORDS = ("changeme", "replaceme", "placeholder", "yoursecret", "yourtoken", "yourpassword", "xxxxxx")

GATEWAY_SECRET = {"min_length": 12, "min_bits": 28}  # Kannel, SMS Gateway for Android, ARI passwords and keys


def weak_secret(value: str, *, min_length: int, min_bits: int) -> str | None:
    """Why `value` cannot be a production secret ("a placeholder", "one character repeated", ...), or None.

    `min_bits` is compared with the string's own Shannon entropy times its length: a rough upper bound of what
    guessing it costs, which no random secret of `min_length` characters falls below."""
    import math
    import re
    from collections import Counter
    from itertools import pairwise

    secret = value.strip()
    plain = re.sub(r"[^a-z0-9]", "", secret.lower())
    if secret.lower() in PLACEHOLDER_SECRETS or any(word in plain for word in PLACEHOLDER_WORDS):
        return "unset or a placeholder"
    if len(secret) < min_length:
        return f"shorter than {min_length} characters"
    if len(set(secret)) == 1:
        return "one character repeated"
    if any(len(secret) % size == 0 and secret == secret[:size] * (len(secret) // size) for size in range(2, 9)):
        return "a short pattern repeated"
    steps = sum(1 for a, b in pairwise(secret) if abs(ord(b) - ord(a)) <= 1)
    if steps > len(secret) / 2:
        return "a run of neighbouring characters (abcd..., 1234...)"
    counts = Counter(secret)
    bits = -sum(n / len(secret) * math.log2(n / len(secret)) for n in counts.values()) * len(secret)
    if bits < min_bits:
        return f"too predictable (about {bits:.0f} bits of randomness, {min_bits} needed)"
    return None
