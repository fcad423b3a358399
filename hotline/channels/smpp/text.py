"""SMS text on an SMPP link: GSM-7 (data_coding 0) or UCS-2 (8), split into parts with UDH or SAR, and back.

Out: `parts(text, concat, ref)` gives the short_message of each submit_sm with its esm_class and TLVs, in the
coding `hotline/sms/encoding.measure` picks, and exactly as many parts as it counts (153 septets or 67
UTF-16 units a part; an escape pair or a surrogate pair is never split).

    udh: short_message = 05 00 03 <ref> <total> <seq> + text, esm_class 0x40 (UDHI)
    sar: short_message = text; TLVs sar_msg_ref_num (2 octets), sar_total_segments, sar_segment_seqnum

data_coding 0 is "the SMSC's default alphabet", GSM 03.38 for every SMSC of an Indonesian operator we know
of: one septet per octet, unpacked, extension characters after the escape 0x1B.

In: `decode(data_coding, octets)` for what deliver_sm carries (0 GSM-7, 1 IA5/ASCII, 3 Latin-1, 8 UCS-2; other
codings are binary and kept as Latin-1 so nothing is lost), and `split_udh` for the concatenation header.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field

from hotline.channels.smpp import pdu
from hotline.sms.encoding import GSM7_EXTENSION, PART, SINGLE, measure

# GSM 03.38 default alphabet, in code order (0x1B is the escape to the extension table).
GSM7_TABLE = (
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞ\x1bÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM7_EXTENSION_TABLE = {
    0x0A: "\f",
    0x14: "^",
    0x28: "{",
    0x29: "}",
    0x2F: "\\",
    0x3C: "[",
    0x3D: "~",
    0x3E: "]",
    0x40: "|",
    0x65: "€",
}
_TO_GSM = {ch: bytes([i]) for i, ch in enumerate(GSM7_TABLE) if i != 0x1B}
_TO_GSM.update({ch: bytes([0x1B, code]) for code, ch in GSM7_EXTENSION_TABLE.items()})
assert len(GSM7_TABLE) == 128 and set(GSM7_EXTENSION_TABLE.values()) == set(GSM7_EXTENSION)

GSM7, UCS2 = 0x00, 0x08


def gsm7_encode(text: str) -> bytes:
    """Unpacked GSM-7; raises ValueError for a character outside the alphabet (measure said UCS-2 then)."""
    try:
        return b"".join(_TO_GSM[ch] for ch in text)
    except KeyError as exc:
        raise ValueError(f"{exc.args[0]!r} is not in the GSM-7 alphabet") from None


def gsm7_decode(octets: bytes) -> str:
    out: list[str] = []
    escape = False
    for octet in octets:
        octet &= 0x7F
        if escape:
            out.append(GSM7_EXTENSION_TABLE.get(octet, GSM7_TABLE[octet] if octet != 0x1B else " "))
            escape = False
        elif octet == 0x1B:
            escape = True
        else:
            out.append(GSM7_TABLE[octet])
    return "".join(out)


def decode(data_coding: int, octets: bytes) -> str:
    coding = data_coding & 0x0F if data_coding & 0xF0 in (0xF0,) else data_coding
    if coding == UCS2:
        return octets.decode("utf-16-be", "replace")
    if coding == GSM7:
        return gsm7_decode(octets)
    if coding == 0x01:
        return octets.decode("ascii", "replace")
    return octets.decode("latin-1")  # 3 Latin-1; binary codings: every octet kept


@dataclass
class Part:
    short_message: bytes
    esm_class: int = 0
    tlvs: dict[int, bytes] = field(default_factory=dict)


def _chunks(text: str, encoding: str) -> list[str]:
    """The text cut into parts as `measure` counts them: a two-unit character never split."""
    costs = [
        (2 if ch in GSM7_EXTENSION else 1) if encoding == "gsm7" else (2 if ord(ch) > 0xFFFF else 1) for ch in text
    ]
    if sum(costs) <= SINGLE[encoding]:  # type: ignore[index]
        return [text]
    chunks: list[str] = []
    current: list[str] = []
    used = 0
    for ch, cost in zip(text, costs, strict=True):
        if used + cost > PART[encoding]:  # type: ignore[index]
            chunks.append("".join(current))
            current, used = [], 0
        current.append(ch)
        used += cost
    chunks.append("".join(current))
    return chunks


def parts(text: str, *, concat: str = "udh", ref: int = 0) -> tuple[int, list[Part]]:
    """(data_coding, parts) for `text`; `ref` tells this message's parts from another's on the phone."""
    size = measure(text)
    chunks = _chunks(text, size.encoding)
    assert len(chunks) == size.segments, (len(chunks), size)
    coding = GSM7 if size.encoding == "gsm7" else UCS2
    encoded = [gsm7_encode(c) if coding == GSM7 else c.encode("utf-16-be") for c in chunks]
    if len(encoded) == 1:
        return coding, [Part(encoded[0])]
    total = len(encoded)
    if total > 255:
        raise ValueError("a text of more than 255 parts")
    if concat == "sar":
        return coding, [
            Part(
                octets,
                0,
                {
                    pdu.TLV_SAR_MSG_REF_NUM: struct.pack(">H", ref & 0xFFFF),
                    pdu.TLV_SAR_TOTAL_SEGMENTS: bytes([total]),
                    pdu.TLV_SAR_SEGMENT_SEQNUM: bytes([n]),
                },
            )
            for n, octets in enumerate(encoded, start=1)
        ]
    return coding, [
        Part(bytes([5, 0, 3, ref & 0xFF, total, n]) + octets, pdu.ESM_UDHI) for n, octets in enumerate(encoded, start=1)
    ]


@dataclass(frozen=True)
class Concat:
    ref: int
    total: int
    seq: int


def split_udh(octets: bytes) -> tuple[Concat | None, bytes]:
    """The concatenation information element of a user data header (8- or 16-bit reference), and the text."""
    if not octets:
        return None, octets
    length = octets[0]
    header, rest = octets[1 : 1 + length], octets[1 + length :]
    at = 0
    found: Concat | None = None
    while at + 2 <= len(header):
        iei, iel = header[at], header[at + 1]
        value = header[at + 2 : at + 2 + iel]
        if iei == 0x00 and iel == 3 and len(value) == 3:
            found = Concat(value[0], value[1], value[2])
        elif iei == 0x08 and iel == 4 and len(value) == 4:
            found = Concat(struct.unpack(">H", value[:2])[0], value[2], value[3])
        at += 2 + iel
    return found, rest


def sar_of(tlvs: dict[int, bytes]) -> Concat | None:
    ref, total, seq = (
        tlvs.get(t) for t in (pdu.TLV_SAR_MSG_REF_NUM, pdu.TLV_SAR_TOTAL_SEGMENTS, pdu.TLV_SAR_SEGMENT_SEQNUM)
    )
    if not ref or not total or not seq:
        return None
    return Concat(int.from_bytes(ref, "big"), total[0], seq[0])
