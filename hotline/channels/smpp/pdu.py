"""SMPP 3.4 PDUs, as far as an ESME holding a transceiver bind needs them. Pure: bytes in, bytes out.

    header: command_length, command_id, command_status, sequence_number (4 octets each, big-endian)
    body:   the mandatory fields in the order of the specification (C-Octet Strings end in NUL), then
            optional parameters (TLVs: tag 2 octets, length 2 octets, value)

Only what `hotline smpp` sends or reads has a body here: bind_transceiver(_resp), submit_sm(_resp),
deliver_sm(_resp), enquire_link(_resp), unbind(_resp), generic_nack. Any other request is answered
generic_nack with ESME_RINVCMDID by the session.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field

HEADER = struct.Struct(">IIII")
MAX_PDU = 64 * 1024  # a length past this is garbage on the wire, not an SMS

BIND_TRANSCEIVER, BIND_TRANSCEIVER_RESP = 0x00000009, 0x80000009
SUBMIT_SM, SUBMIT_SM_RESP = 0x00000004, 0x80000004
DELIVER_SM, DELIVER_SM_RESP = 0x00000005, 0x80000005
UNBIND, UNBIND_RESP = 0x00000006, 0x80000006
ENQUIRE_LINK, ENQUIRE_LINK_RESP = 0x00000015, 0x80000015
GENERIC_NACK = 0x80000000
RESPONSE_BIT = 0x80000000

# command_status values we act on (SMPP 3.4, 5.1.3)
ESME_ROK = 0x00
ESME_RINVMSGLEN = 0x01
ESME_RINVCMDID = 0x03
ESME_RSYSERR = 0x08
ESME_RBINDFAIL = 0x0D
ESME_RINVPASWD = 0x0E
ESME_RINVSYSID = 0x0F
ESME_RMSGQFUL = 0x14
ESME_RTHROTTLED = 0x58
ESME_RX_T_APPN = 0x64  # "ESME Receiver Temporary App Error": the SMSC keeps the message and tries again
ESME_RX_P_APPN = 0x65

STATUS_NAMES = {
    0x00: "ESME_ROK",
    0x01: "ESME_RINVMSGLEN",
    0x02: "ESME_RINVCMDLEN",
    0x03: "ESME_RINVCMDID",
    0x04: "ESME_RINVBNDSTS",
    0x05: "ESME_RALYBND",
    0x08: "ESME_RSYSERR",
    0x0A: "ESME_RINVSRCADR",
    0x0B: "ESME_RINVDSTADR",
    0x0C: "ESME_RINVMSGID",
    0x0D: "ESME_RBINDFAIL",
    0x0E: "ESME_RINVPASWD",
    0x0F: "ESME_RINVSYSID",
    0x14: "ESME_RMSGQFUL",
    0x45: "ESME_RSUBMITFAIL",
    0x58: "ESME_RTHROTTLED",
    0x62: "ESME_RINVEXPIRY",
    0x64: "ESME_RX_T_APPN",
    0x65: "ESME_RX_P_APPN",
    0xFF: "ESME_RUNKNOWNERR",
}

# Optional parameter tags (5.3.2)
TLV_SAR_MSG_REF_NUM = 0x020C
TLV_SAR_TOTAL_SEGMENTS = 0x020E
TLV_SAR_SEGMENT_SEQNUM = 0x020F
TLV_RECEIPTED_MESSAGE_ID = 0x001E
TLV_MESSAGE_STATE = 0x0427
TLV_MESSAGE_PAYLOAD = 0x0424
TLV_NETWORK_ERROR_CODE = 0x0423

ESM_UDHI = 0x40  # esm_class: short_message starts with a user data header
ESM_TYPE_MASK = 0x3C  # esm_class bits 2-5: message type (0x04 delivery receipt, 0x08/0x10/0x20 notifications)


def status_name(status: int) -> str:
    return STATUS_NAMES.get(status, f"0x{status:08X}")


class PduError(ValueError):
    """What came cannot be read as the PDU it claims to be."""


@dataclass
class Pdu:
    command_id: int
    status: int = 0
    sequence: int = 0
    body: bytes = b""

    def encode(self) -> bytes:
        return HEADER.pack(HEADER.size + len(self.body), self.command_id, self.status, self.sequence) + self.body

    @property
    def is_response(self) -> bool:
        return bool(self.command_id & RESPONSE_BIT)


def decode_header(header: bytes) -> tuple[int, int, int, int]:
    length, command_id, status, sequence = HEADER.unpack(header)
    if length < HEADER.size or length > MAX_PDU:
        raise PduError(f"command_length {length} is not a PDU's")
    return length, command_id, status, sequence


def cstring(value: str | bytes, limit: int) -> bytes:
    raw = value.encode("latin-1", "replace") if isinstance(value, str) else value
    if len(raw) >= limit:
        raise PduError(f"{raw!r} is longer than {limit - 1} octets")
    return raw + b"\x00"


def tlv(tag: int, value: bytes) -> bytes:
    return struct.pack(">HH", tag, len(value)) + value


class _Reader:
    def __init__(self, data: bytes):
        self.data, self.at = data, 0

    def cstring(self, limit: int) -> bytes:
        end = self.data.find(b"\x00", self.at, self.at + limit)
        if end < 0:
            raise PduError("a C-Octet String has no NUL within its length")
        value, self.at = self.data[self.at : end], end + 1
        return value

    def byte(self) -> int:
        if self.at >= len(self.data):
            raise PduError("the body ends early")
        self.at += 1
        return self.data[self.at - 1]

    def octets(self, n: int) -> bytes:
        if self.at + n > len(self.data):
            raise PduError("the body ends early")
        value, self.at = self.data[self.at : self.at + n], self.at + n
        return value

    def tlvs(self) -> dict[int, bytes]:
        found: dict[int, bytes] = {}
        while self.at < len(self.data):
            if self.at + 4 > len(self.data):
                raise PduError("a TLV header is cut")
            tag, length = struct.unpack_from(">HH", self.data, self.at)
            self.at += 4
            found[tag] = self.octets(length)
        return found


def bind_transceiver(sequence: int, *, system_id: str, password: str, system_type: str = "") -> Pdu:
    body = (
        cstring(system_id, 16)
        + cstring(password, 9)
        + cstring(system_type, 13)
        + bytes([0x34, 0, 0])  # interface_version 3.4, addr_ton, addr_npi
        + cstring("", 41)  # address_range
    )
    return Pdu(BIND_TRANSCEIVER, 0, sequence, body)


@dataclass
class ShortMessage:
    """The fields submit_sm and deliver_sm share (5.2), both ways."""

    source_addr: str = ""
    destination_addr: str = ""
    source_ton: int = 0
    source_npi: int = 0
    dest_ton: int = 1
    dest_npi: int = 1
    service_type: str = ""
    esm_class: int = 0
    protocol_id: int = 0
    priority_flag: int = 0
    schedule_delivery_time: str = ""
    validity_period: str = ""
    registered_delivery: int = 0
    replace_if_present: int = 0
    data_coding: int = 0
    sm_default_msg_id: int = 0
    short_message: bytes = b""
    tlvs: dict[int, bytes] = field(default_factory=dict)

    def encode_body(self) -> bytes:
        if len(self.short_message) > 254:
            raise PduError("short_message is longer than 254 octets (send it in parts)")
        body = (
            cstring(self.service_type, 6)
            + bytes([self.source_ton, self.source_npi])
            + cstring(self.source_addr, 21)
            + bytes([self.dest_ton, self.dest_npi])
            + cstring(self.destination_addr, 21)
            + bytes([self.esm_class, self.protocol_id, self.priority_flag])
            + cstring(self.schedule_delivery_time, 17)
            + cstring(self.validity_period, 17)
            + bytes([self.registered_delivery, self.replace_if_present, self.data_coding, self.sm_default_msg_id])
            + bytes([len(self.short_message)])
            + self.short_message
        )
        return body + b"".join(tlv(tag, value) for tag, value in self.tlvs.items())

    @classmethod
    def decode_body(cls, body: bytes) -> ShortMessage:
        r = _Reader(body)
        sm = cls()
        sm.service_type = r.cstring(6).decode("latin-1")
        sm.source_ton, sm.source_npi = r.byte(), r.byte()
        sm.source_addr = r.cstring(65).decode("latin-1")  # 21 in 3.4; some SMSCs send longer alphanumerics
        sm.dest_ton, sm.dest_npi = r.byte(), r.byte()
        sm.destination_addr = r.cstring(65).decode("latin-1")
        sm.esm_class, sm.protocol_id, sm.priority_flag = r.byte(), r.byte(), r.byte()
        sm.schedule_delivery_time = r.cstring(17).decode("latin-1")
        sm.validity_period = r.cstring(17).decode("latin-1")
        sm.registered_delivery, sm.replace_if_present = r.byte(), r.byte()
        sm.data_coding, sm.sm_default_msg_id = r.byte(), r.byte()
        sm.short_message = r.octets(r.byte())
        sm.tlvs = r.tlvs()
        return sm


def submit_sm(sequence: int, sm: ShortMessage) -> Pdu:
    return Pdu(SUBMIT_SM, 0, sequence, sm.encode_body())


def message_id_of(resp: Pdu) -> str:
    """submit_sm_resp's message_id (empty on an error, where the body may be missing)."""
    if not resp.body:
        return ""
    end = resp.body.find(b"\x00")
    return (resp.body if end < 0 else resp.body[:end]).decode("latin-1")


def system_id_of(resp: Pdu) -> str:
    return message_id_of(resp)  # bind_*_resp: one C-Octet String too


def response(request: Pdu, status: int = ESME_ROK) -> Pdu:
    """The response to `request`: deliver_sm_resp carries an empty message_id; the others no body."""
    body = b"\x00" if request.command_id == DELIVER_SM else b""
    if request.command_id & RESPONSE_BIT or request.command_id not in (DELIVER_SM, ENQUIRE_LINK, UNBIND):
        return Pdu(GENERIC_NACK, status or ESME_RINVCMDID, request.sequence)
    return Pdu(request.command_id | RESPONSE_BIT, status, request.sequence, body)
