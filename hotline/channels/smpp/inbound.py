"""What a deliver_sm is: a delivery receipt for one of our submit_sm, or a citizen's SMS (or a part of one).
Pure: no I/O.

Receipts: esm_class message type 0x04 (or 0x08/0x10/0x20: intermediate notifications), or a
receipted_message_id TLV. The id comes from that TLV, else from the text ("id:IIIIIIIIII sub:SSS dlvrd:DDD
submit date:YYMMDDhhmm done date:YYMMDDhhmm stat:DDDDDDD err:E text: ..."); the state from the message_state
TLV, else the text's stat:.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

from hotline.channels.gateway import DeliveryStatus
from hotline.channels.smpp import pdu
from hotline.channels.smpp.text import Concat, decode, sar_of, split_udh

# message_state (5.3.2.35) and the receipt text's stat: (Appendix B), in our words
STATES: dict[int, DeliveryStatus] = {
    1: "sent",  # ENROUTE
    2: "delivered",  # DELIVERED
    3: "undelivered",  # EXPIRED
    4: "undelivered",  # DELETED
    5: "undelivered",  # UNDELIVERABLE
    6: "delivered",  # ACCEPTED (read on the subscriber's behalf)
    7: "undelivered",  # UNKNOWN
    8: "failed",  # REJECTED
}
STATS: dict[str, DeliveryStatus] = {
    "ENROUTE": "sent",
    "DELIVRD": "delivered",
    "DELIVERED": "delivered",
    "EXPIRED": "undelivered",
    "DELETED": "undelivered",
    "UNDELIV": "undelivered",
    "UNDELIVERABLE": "undelivered",
    "ACCEPTD": "delivered",
    "ACCEPTED": "delivered",
    "UNKNOWN": "undelivered",
    "REJECTD": "failed",
    "REJECTED": "failed",
}
_ID = re.compile(r"\bid:\s*([^\s]+)", re.IGNORECASE)
_STAT = re.compile(r"\bstat:\s*([A-Za-z]+)", re.IGNORECASE)
_ERR = re.compile(r"\berr:\s*([^\s]+)", re.IGNORECASE)


@dataclass(frozen=True)
class Receipt:
    smsc_id: str
    status: DeliveryStatus
    error: str | None
    text: str


@dataclass(frozen=True)
class Mo:
    sender: str
    to: str
    text: str
    concat: Concat | None
    key: str  # stable for this PDU's content: the same deliver_sm delivered again has the same key


def is_receipt(sm: pdu.ShortMessage) -> bool:
    return bool(sm.esm_class & pdu.ESM_TYPE_MASK) or pdu.TLV_RECEIPTED_MESSAGE_ID in sm.tlvs


def _cstr(value: bytes) -> str:
    return value.split(b"\x00", 1)[0].decode("latin-1").strip()


def receipt(sm: pdu.ShortMessage) -> Receipt | None:
    """None: a receipt that names no message (nothing to apply)."""
    text = decode(sm.data_coding, sm.short_message or sm.tlvs.get(pdu.TLV_MESSAGE_PAYLOAD, b""))
    smsc_id = _cstr(sm.tlvs[pdu.TLV_RECEIPTED_MESSAGE_ID]) if pdu.TLV_RECEIPTED_MESSAGE_ID in sm.tlvs else ""
    if not smsc_id:
        found = _ID.search(text)
        smsc_id = found.group(1) if found else ""
    if not smsc_id:
        return None
    status: DeliveryStatus | None = None
    state = sm.tlvs.get(pdu.TLV_MESSAGE_STATE)
    if state:
        status = STATES.get(state[0])
    if status is None:
        stat = _STAT.search(text)
        status = STATS.get(stat.group(1).upper(), "undelivered") if stat else "sent"
    err = _ERR.search(text)
    error = err.group(1) if err and err.group(1).strip("0") else None
    if error is None and pdu.TLV_NETWORK_ERROR_CODE in sm.tlvs:
        error = sm.tlvs[pdu.TLV_NETWORK_ERROR_CODE].hex()
    if status not in ("undelivered", "failed"):
        error = None
    return Receipt(smsc_id, status, error, text)


def id_forms(smsc_id: str) -> list[str]:
    """The id as given, and its other base: SMSCs that answer submit_sm in hex often write receipts in decimal
    (and the other way round)."""
    forms = [smsc_id]
    if smsc_id.isdigit():
        forms.append(f"{int(smsc_id):x}")
        forms.append(f"{int(smsc_id):X}")
    elif re.fullmatch(r"[0-9A-Fa-f]+", smsc_id):
        forms.append(str(int(smsc_id, 16)))
    return forms


def sender_of(sm: pdu.ShortMessage) -> str:
    addr = sm.source_addr.strip()
    if sm.source_ton == 1 and addr.isdigit():
        return f"+{addr}"
    return addr


def mo(sm: pdu.ShortMessage) -> Mo:
    octets = sm.short_message or sm.tlvs.get(pdu.TLV_MESSAGE_PAYLOAD, b"")
    concat: Concat | None = None
    if sm.esm_class & pdu.ESM_UDHI:
        concat, octets = split_udh(octets)
    else:
        concat = sar_of(sm.tlvs)
    digest = hashlib.sha256()
    for part in (
        sm.source_addr,
        sm.destination_addr,
        str(sm.data_coding),
        str(sm.esm_class),
        sm.short_message.hex(),
        *(f"{t}={v.hex()}" for t, v in sorted(sm.tlvs.items())),
    ):
        digest.update(part.encode() + b"\x00")
    return Mo(sender_of(sm), sm.destination_addr, decode(sm.data_coding, octets), concat, digest.hexdigest()[:24])
