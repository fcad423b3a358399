"""Strip what a phone writes into a photo besides the picture (EXIF: exact GPS, the device, the time) before the
photo is published. Only JPEG and PNG are rewritten; GIF carries no such block; anything else is not published.
The original stays in the database for the console."""

from __future__ import annotations

import struct

# JPEG markers with no length after them (start of image, restart markers).
_STANDALONE = {0xD8, *range(0xD0, 0xD8), 0x01}
# PNG chunks that hold text or EXIF: dropped.
_PNG_DROP = {b"eXIf", b"tEXt", b"iTXt", b"zTXt", b"tIME"}
_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


class NotPublishable(ValueError):
    """A file that cannot be cleaned of its metadata here."""


def _jpeg(data: bytes) -> bytes:
    out, i = bytearray(data[:2]), 2
    while i + 4 <= len(data):
        if data[i] != 0xFF:
            raise NotPublishable("broken JPEG segment")
        marker = data[i + 1]
        if marker in _STANDALONE:
            out += data[i : i + 2]
            i += 2
            continue
        (length,) = struct.unpack(">H", data[i + 2 : i + 4])
        segment = data[i : i + 2 + length]
        if marker == 0xDA:  # start of scan: the picture itself, to the end
            out += data[i:]
            return bytes(out)
        if not (0xE1 <= marker <= 0xEF or marker == 0xFE):  # APP1-APP15 (EXIF, XMP, ...) and comments go
            out += segment
        i += 2 + length
    raise NotPublishable("JPEG without a picture")


def _png(data: bytes) -> bytes:
    out, i = bytearray(_PNG_SIGNATURE), len(_PNG_SIGNATURE)
    while i + 12 <= len(data):
        (length,) = struct.unpack(">I", data[i : i + 4])
        kind = data[i + 4 : i + 8]
        chunk = data[i : i + 12 + length]
        if kind not in _PNG_DROP:
            out += chunk
        i += 12 + length
        if kind == b"IEND":
            return bytes(out)
    raise NotPublishable("PNG without its end")


def without_metadata(data: bytes, content_type: str) -> bytes:
    if content_type == "image/jpeg":
        return _jpeg(data)
    if content_type == "image/png":
        return _png(data)
    if content_type == "image/gif":
        return data
    raise NotPublishable(f"{content_type} is kept for the console only")
