"""Small real files for the media tests: a JPEG (optionally with EXIF GPS, as a phone writes it), an Ogg voice
note, a PDF."""

from __future__ import annotations

import struct


def _rational(value: float) -> bytes:
    degrees = int(value)
    minutes = int((value - degrees) * 60)
    seconds = round(((value - degrees) * 60 - minutes) * 60 * 1000)
    return struct.pack(">IIIIII", degrees, 1, minutes, 1, seconds, 1000)


def jpeg(gps: tuple[float, float] | None = None, size: int = 600) -> bytes:
    """A JPEG the sniffer and the EXIF reader take as a phone's: SOI, APP1 Exif (big-endian TIFF, IFD0 with a
    GPS pointer, the GPS IFD), a quantisation table, SOS and the picture's bytes, EOI."""
    app1 = b""
    if gps is not None:
        lat, lon = gps
        # TIFF header (8) + IFD0: 1 entry (2 + 12 + 4) = 26; GPS IFD at 26: 4 entries (2 + 48 + 4) = 54 -> data at 80
        gps_ifd, data_at = 26, 80
        ifd0 = struct.pack(">H", 1) + struct.pack(">HHII", 0x8825, 4, 1, gps_ifd) + struct.pack(">I", 0)
        entries = [
            struct.pack(">HHI", 1, 2, 2) + (b"S" if lat < 0 else b"N") + b"\x00\x00\x00",
            struct.pack(">HHII", 2, 5, 3, data_at),
            struct.pack(">HHI", 3, 2, 2) + (b"W" if lon < 0 else b"E") + b"\x00\x00\x00",
            struct.pack(">HHII", 4, 5, 3, data_at + 24),
        ]
        gps_block = struct.pack(">H", 4) + b"".join(entries) + struct.pack(">I", 0)
        tiff = b"MM\x00\x2a" + struct.pack(">I", 8) + ifd0 + gps_block + _rational(abs(lat)) + _rational(abs(lon))
        payload = b"Exif\x00\x00" + tiff
        app1 = b"\xff\xe1" + struct.pack(">H", len(payload) + 2) + payload
    dqt = b"\xff\xdb" + struct.pack(">H", 67) + b"\x00" + bytes(range(1, 65))
    sos = b"\xff\xda" + struct.pack(">H", 8) + b"\x01\x01\x00\x00\x3f\x00"
    return b"\xff\xd8" + app1 + dqt + sos + bytes(size) + b"\xff\xd9"


def ogg_voice(size: int = 2000) -> bytes:
    return b"OggS\x00\x02" + bytes(22) + b"\x01\x13OpusHead" + bytes(size)


def pdf() -> bytes:
    return b"%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"
