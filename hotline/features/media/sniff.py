"""What a file is, from its first bytes (never from what the sender said), and what we keep of each kind."""

from __future__ import annotations

# (offset, magic) -> content type; the few kinds a phone sends.
_MAGIC: tuple[tuple[int, bytes, str], ...] = (
    (0, b"\xff\xd8\xff", "image/jpeg"),
    (0, b"\x89PNG\r\n\x1a\n", "image/png"),
    (0, b"GIF87a", "image/gif"),
    (0, b"GIF89a", "image/gif"),
    (0, b"OggS", "audio/ogg"),
    (0, b"#!AMR\n", "audio/amr"),
    (0, b"ID3", "audio/mpeg"),
    (0, b"\xff\xfb", "audio/mpeg"),
    (0, b"\xff\xf1", "audio/aac"),
    (0, b"%PDF-", "application/pdf"),
)
KEPT: dict[str, frozenset[str]] = {
    "image": frozenset({"image/jpeg", "image/png", "image/gif", "image/webp", "image/heic"}),
    "sticker": frozenset({"image/webp", "image/png"}),
    "voice": frozenset({"audio/ogg", "audio/amr", "audio/mpeg", "audio/mp4", "audio/aac"}),
    "audio": frozenset({"audio/ogg", "audio/amr", "audio/mpeg", "audio/mp4", "audio/aac"}),
    "video": frozenset({"video/mp4", "video/3gpp"}),
    "document": frozenset({"application/pdf", "image/jpeg", "image/png"}),
}
EXTENSIONS = {
    "image/jpeg": "jpg", "image/png": "png", "image/gif": "gif", "image/webp": "webp", "image/heic": "heic",
    "audio/ogg": "ogg", "audio/amr": "amr", "audio/mpeg": "mp3", "audio/mp4": "m4a", "audio/aac": "aac",
    "video/mp4": "mp4", "video/3gpp": "3gp", "application/pdf": "pdf",
}  # fmt: skip


def sniff(data: bytes) -> str | None:
    for offset, magic, kind in _MAGIC:
        if data[offset : offset + len(magic)] == magic:
            return kind
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    if data[4:8] == b"ftyp":  # ISO media: the brand says which
        brand = data[8:12]
        if brand in (b"heic", b"heix", b"mif1"):
            return "image/heic"
        if brand in (b"M4A ", b"M4B "):
            return "audio/mp4"
        if brand.startswith(b"3gp"):
            return "video/3gpp"
        return "video/mp4"
    return None


def family(content_type: str) -> str:
    """ "audio/ogg; codecs=opus" -> "audio/ogg"."""
    return content_type.split(";")[0].strip().lower()


def why_refused(kind: str, claimed: str, sniffed: str | None) -> str | None:
    """Why these bytes are not kept as this kind of media, or None. A voice note's "audio/ogg" that is a JPEG, or
    a "photo" that is an executable, is refused: served to the console, it would be what it is, not what it says."""
    if sniffed is None:
        return f"not a file we know (claimed {claimed or 'nothing'})"
    allowed = KEPT.get(kind, frozenset())
    if sniffed not in allowed:
        return f"a {sniffed}, not a {kind} we keep"
    claimed_family = family(claimed)
    if claimed_family and claimed_family.split("/")[0] != sniffed.split("/")[0] and kind != "document":
        return f"claimed {claimed_family} but is {sniffed}"
    return None
