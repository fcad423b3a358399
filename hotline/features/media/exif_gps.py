"""The place a phone wrote into a JPEG (EXIF GPS): a fallback when the report has no shared location. Read only;
the copy shown outside the console is stripped of it (hotline/features/open311/photo_metadata.py)."""

from __future__ import annotations

import struct

_GPS_IFD, _LAT_REF, _LAT, _LON_REF, _LON = 0x8825, 1, 2, 3, 4


def gps_of(data: bytes) -> tuple[float, float] | None:
    """(latitude, longitude) from a JPEG's EXIF, or None (no EXIF, no GPS, broken or zero)."""
    try:
        tiff = _exif_block(data)
        return _gps(tiff) if tiff is not None else None
    except (struct.error, IndexError, ValueError, ZeroDivisionError):
        return None  # a broken block is no place, never an error: the photo is kept all the same


def _exif_block(data: bytes) -> bytes | None:
    if data[:2] != b"\xff\xd8":
        return None
    i = 2
    while i + 4 <= len(data) and data[i] == 0xFF:
        marker = data[i + 1]
        (length,) = struct.unpack(">H", data[i + 2 : i + 4])
        if marker == 0xE1 and data[i + 4 : i + 10] == b"Exif\x00\x00":
            return data[i + 10 : i + 2 + length]
        if marker == 0xDA:  # the picture starts: no EXIF before it
            return None
        i += 2 + length
    return None


def _gps(tiff: bytes) -> tuple[float, float] | None:
    order = {b"II": "<", b"MM": ">"}.get(tiff[:2])
    if order is None:
        return None
    (ifd0,) = struct.unpack(order + "I", tiff[4:8])
    pointer = _entries(tiff, ifd0, order).get(_GPS_IFD)
    if pointer is None:
        return None
    gps = _entries(tiff, pointer[2], order)
    if _LAT not in gps or _LON not in gps:
        return None
    lat = _degrees(tiff, gps[_LAT], order) * (-1 if _ascii(gps.get(_LAT_REF)) == "S" else 1)
    lon = _degrees(tiff, gps[_LON], order) * (-1 if _ascii(gps.get(_LON_REF)) == "W" else 1)
    if (lat, lon) == (0.0, 0.0) or not (-90 <= lat <= 90 and -180 <= lon <= 180):
        return None
    return round(lat, 6), round(lon, 6)


def _entries(tiff: bytes, offset: int, order: str) -> dict[int, tuple[int, int, int, bytes]]:
    """tag -> (type, count, value-or-offset, raw 4 bytes) of one IFD."""
    (count,) = struct.unpack(order + "H", tiff[offset : offset + 2])
    out = {}
    for n in range(min(count, 200)):
        start = offset + 2 + 12 * n
        tag, kind, items = struct.unpack(order + "HHI", tiff[start : start + 8])
        raw = tiff[start + 8 : start + 12]
        (value,) = struct.unpack(order + "I", raw)
        out[tag] = (kind, items, value, raw)
    return out


def _degrees(tiff: bytes, entry: tuple[int, int, int, bytes], order: str) -> float:
    kind, items, offset, _ = entry
    if kind != 5 or items != 3:  # three RATIONALs: degrees, minutes, seconds
        raise ValueError("GPS coordinate is not three rationals")
    d, m, s = (
        num / den
        for num, den in (struct.unpack(order + "II", tiff[offset + 8 * k : offset + 8 * k + 8]) for k in range(3))
    )
    return d + m / 60 + s / 3600


def _ascii(entry: tuple[int, int, int, bytes] | None) -> str:
    return entry[3][:1].decode("ascii", "replace") if entry is not None else ""
