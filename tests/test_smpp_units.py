"""The SMPP gateway's pure parts: PDUs read by smpp34's codec (written by others), texts in parts as
hotline/sms/encoding.measure counts them, receipts in every form SMSCs send, and the settings check."""

from __future__ import annotations

import struct

import pytest
import smpp34

from hotline.channels.smpp import check, inbound, pdu
from hotline.channels.smpp.config import address, read
from hotline.channels.smpp.holder import _validity
from hotline.channels.smpp.text import decode, gsm7_decode, gsm7_encode, parts, split_udh
from hotline.core.gateway_config import GatewaySpec
from hotline.sms.encoding import measure


def test_our_submit_sm_is_what_smpp34_reads() -> None:
    sm = pdu.ShortMessage(
        source_addr="1500112",
        source_ton=3,
        destination_addr="6281234567890",
        esm_class=0x40,
        validity_period="000000003000000R",
        registered_delivery=1,
        data_coding=8,
        short_message=b"\x05\x00\x03\x07\x02\x01" + "黄".encode("utf-16-be"),
        tlvs={pdu.TLV_SAR_MSG_REF_NUM: b"\x00\x07"},
    )
    theirs = smpp34.decode(pdu.submit_sm(42, sm).encode())
    assert isinstance(theirs, smpp34.SubmitSm)
    assert (theirs.sequence_number, theirs.source_addr, theirs.source_addr_ton) == (42, "1500112", 3)
    assert (theirs.destination_addr, theirs.dest_addr_ton, theirs.dest_addr_npi) == ("6281234567890", 1, 1)
    assert (theirs.esm_class, theirs.registered_delivery, theirs.data_coding) == (0x40, 1, 8)
    assert theirs.validity_period == "000000003000000R"
    assert theirs.short_message == sm.short_message
    assert [(t.tag, t.value) for t in theirs.tlvs] == [(pdu.TLV_SAR_MSG_REF_NUM, b"\x00\x07")]


def test_we_read_smpp34s_deliver_sm() -> None:
    wire = smpp34.DeliverSm(
        "6281234567890",
        "1500112",
        b"id:abc stat:DELIVRD",
        source_addr_ton=1,
        esm_class=4,
        data_coding=0,
        tlvs=[smpp34.Tlv(smpp34.TLV_RECEIPTED_MESSAGE_ID, b"abc\x00"), smpp34.Tlv(smpp34.TLV_MESSAGE_STATE, b"\x02")],
        sequence_number=7,
    ).encode()
    length, command_id, status, sequence = pdu.decode_header(wire[:16])
    assert (length, command_id, status, sequence) == (len(wire), pdu.DELIVER_SM, 0, 7)
    sm = pdu.ShortMessage.decode_body(wire[16:])
    assert (sm.source_addr, sm.source_ton, sm.destination_addr, sm.esm_class) == ("6281234567890", 1, "1500112", 4)
    assert sm.short_message == b"id:abc stat:DELIVRD"
    assert inbound.receipt(sm) == inbound.Receipt("abc", "delivered", None, "id:abc stat:DELIVRD")
    answer = pdu.response(pdu.Pdu(pdu.DELIVER_SM, 0, 7), pdu.ESME_RX_T_APPN).encode()
    assert struct.unpack(">IIII", answer[:16]) == (17, pdu.DELIVER_SM_RESP, 0x64, 7) and answer[16:] == b"\x00"


def test_malformed_pdus_are_refused_not_guessed() -> None:
    with pytest.raises(pdu.PduError):
        pdu.decode_header(struct.pack(">IIII", 8, pdu.DELIVER_SM, 0, 1))
    with pytest.raises(pdu.PduError):
        pdu.ShortMessage.decode_body(b"\x00\x01\x01628")  # a C-Octet String with no end
    with pytest.raises(pdu.PduError):
        pdu.bind_transceiver(1, system_id="kotabatu", password="much-too-long")
    assert pdu.response(pdu.Pdu(0x00000103, 0, 5)).command_id == pdu.GENERIC_NACK  # data_sm: not ours to take


@pytest.mark.parametrize(
    "text",
    [
        "KEBAKARAN di Jl. Diponegoro 12, Sisir",
        "Harga {tiket} [5] ~ 10€ | a\\b ^ @ £ $ _ ¿ à",
        "Pak Hong 黄, mohon hubungi posko " * 6,
        "Mohon hubungi posko segera untuk koordinasi evakuasi warga di RT 03 RW 05 Sisir. " * 4 + "{}" * 3,
        "api 🔥 " * 30,
    ],
)
@pytest.mark.parametrize("concat", ["udh", "sar"])
def test_parts_are_as_many_as_measure_counts_and_join_back(text: str, concat: str) -> None:
    coding, found = parts(text, concat=concat, ref=300)
    size = measure(text)
    assert len(found) == size.segments and coding == (0 if size.encoding == "gsm7" else 8)
    joined = []
    for n, part in enumerate(found, start=1):
        octets = part.short_message
        if len(found) > 1 and concat == "udh":
            header, octets = split_udh(octets)
            assert header is not None and (header.ref, header.total, header.seq) == (300 & 0xFF, len(found), n)
            assert part.esm_class == pdu.ESM_UDHI
        if len(found) > 1 and concat == "sar":
            assert part.tlvs[pdu.TLV_SAR_MSG_REF_NUM] == struct.pack(">H", 300) and part.esm_class == 0
        limit = 153 if coding == 0 else 134  # septets (one an octet, unpacked) / UCS-2 octets of a part
        assert len(octets) <= (160 if coding == 0 else 140) if len(found) == 1 else len(octets) <= limit
        joined.append(decode(coding, octets))
    assert "".join(joined) == text


def test_gsm7_escape_pairs_and_every_basic_character_go_both_ways() -> None:
    assert gsm7_encode("€{") == b"\x1be\x1b("
    assert gsm7_encode("@$_") == b"\x00\x02\x11"
    basic = bytes(c for c in range(0x80) if c != 0x1B)
    assert len(gsm7_decode(basic)) == 127 and gsm7_encode(gsm7_decode(basic)) == basic
    everything = "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./09:;<=>?¡AZÄÖÑÜ§¿azäöñüà"
    assert gsm7_decode(gsm7_encode(everything)) == everything
    with pytest.raises(ValueError):
        gsm7_encode("黄")
    assert decode(3, "café".encode("latin-1")) == "café" and decode(1, b"OK") == "OK"


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        # TLVs only (no text), a REJECTED state
        (
            {"esm_class": 4, "tlvs": {pdu.TLV_RECEIPTED_MESSAGE_ID: b"5F3A\x00", pdu.TLV_MESSAGE_STATE: b"\x08"}},
            ("5F3A", "failed", None),
        ),
        # the text only (Appendix B), undelivered with an error
        (
            {
                "esm_class": 4,
                "short_message": b"id:0123456789 sub:001 dlvrd:000 submit date:2612070900 "
                b"done date:2612070901 stat:UNDELIV err:013 text:KEBAKARAN",
            },
            ("0123456789", "undelivered", "013"),
        ),
        ({"esm_class": 4, "short_message": b"id:77 stat:EXPIRED err:000"}, ("77", "undelivered", None)),
        ({"esm_class": 4, "short_message": b"id:77 stat:ENROUTE"}, ("77", "sent", None)),
        ({"esm_class": 8, "short_message": b"id:77 stat:ACCEPTD"}, ("77", "delivered", None)),
        # a receipted_message_id TLV is a receipt even when the SMSC leaves esm_class 0
        (
            {"tlvs": {pdu.TLV_RECEIPTED_MESSAGE_ID: b"x1\x00"}, "short_message": b"stat:DELIVRD"},
            ("x1", "delivered", None),
        ),
    ],
)
def test_receipts_in_every_form(fields: dict[str, object], expected: tuple[str, str, str | None]) -> None:
    sm = pdu.ShortMessage(**fields)  # type: ignore[arg-type]
    assert inbound.is_receipt(sm)
    found = inbound.receipt(sm)
    assert found is not None and (found.smsc_id, found.status, found.error) == expected


def test_a_receipt_naming_nothing_and_a_citizens_sms() -> None:
    assert inbound.receipt(pdu.ShortMessage(esm_class=4, short_message=b"stat:DELIVRD")) is None
    sms = pdu.ShortMessage(
        source_addr="6281234567890", source_ton=1, destination_addr="1500112", short_message=b"TOLONG"
    )
    assert not inbound.is_receipt(sms)
    mo = inbound.mo(sms)
    assert (mo.sender, mo.to, mo.text, mo.concat) == ("+6281234567890", "1500112", "TOLONG", None)
    assert (
        inbound.mo(sms).key
        == mo.key
        != inbound.mo(pdu.ShortMessage(source_addr="6281234567890", short_message=b"X")).key
    )
    national = pdu.ShortMessage(source_addr="081234567890", source_ton=2, short_message=b"x")
    assert inbound.sender_of(national) == "081234567890"
    assert inbound.id_forms("255") == ["255", "ff", "FF"] and inbound.id_forms("ff") == ["ff", "255"]


def test_addresses_and_validity() -> None:
    assert address("+6281234567890") == (1, 1, "6281234567890")
    assert address("1500112") == (3, 0, "1500112")
    assert address("081234567890") == (0, 1, "081234567890")
    assert address("DAMKAR BATU") == (5, 0, "DAMKAR BATU")
    assert _validity("1800") == "000000003000000R" and _validity("90061") == "000001010101000R" and _validity("") == ""


def _spec(**options: str) -> GatewaySpec:
    return GatewaySpec("telco", "smpp", options)


def test_config_check_names_every_setting_that_cannot_work() -> None:
    assert check(_spec(HOST="smsc.example", SYSTEM_ID="kotabatu", PASSWORD="rahasia1")) == []
    config, _ = read(_spec(HOST="smsc.example", SYSTEM_ID="kotabatu", PASSWORD="rahasia1"))
    assert (config.port, config.tps, config.window, config.concat) == (2775, 10, 10, "udh")
    assert check(
        _spec(
            HOST="smpp://smsc.example:2775",
            PASSWORD="much-too-long",
            PORT="0",
            TPS="fast",
            WINDOW="0",
            CONCAT="both",
            FROM="DINAS DAMKAR KOTA BATU",
            PASWORD="x",
        )
    ) == [
        "settings: HOTLINE_GATEWAY_TELCO_PASWORD: no such setting for a gateway of type smpp; it reads HOST, PORT, "
        "SYSTEM_ID, PASSWORD, SYSTEM_TYPE, FROM, TPS, WINDOW, CONCAT, ENQUIRE_SECONDS, TIMEOUT_SECONDS",
        "settings: HOTLINE_GATEWAY_TELCO_SYSTEM_ID: missing; the system_id of the account (at most 15 characters)",
        "settings: HOTLINE_GATEWAY_TELCO_HOST: 'smpp://smsc.example:2775' is not a host name or address (no scheme, "
        "no port)",
        "settings: HOTLINE_GATEWAY_TELCO_PORT: '0' must be a number from 1 to 65535",
        "settings: HOTLINE_GATEWAY_TELCO_PASSWORD: longer than the 8 characters SMPP 3.4 allows",
        "settings: HOTLINE_GATEWAY_TELCO_FROM: a sender name is at most 11 characters ('DINAS DAMKAR KOTA BATU')",
        "settings: HOTLINE_GATEWAY_TELCO_CONCAT: 'both' must be udh or sar",
        "settings: HOTLINE_GATEWAY_TELCO_TPS: 'fast' must be a number from 0.1 to 10000",
        "settings: HOTLINE_GATEWAY_TELCO_WINDOW: '0' must be a number from 1 to 1000",
    ]
