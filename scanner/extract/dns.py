"""DNS wire format, read leniently: as many names as the bytes hold, then stop.

Hand-written rather than dnspython's `from_wire`, which rejects a whole message for one bad
record (and costs ~30 µs a message); names in a truncated or partly corrupt message are
still evidence of what a device looked up. Compression loops and overlong names are caught.
"""

from __future__ import annotations

import struct

from scanner.names import MAX_NAME

QUERY, ANSWER, CNAME = "dns", "answer", "cname"
TYPE_CNAME = 5
# TKEY and TSIG: the key exchange of a secure dynamic update (Active Directory's GSS-TSIG),
# whose question is a key name ('336-ms-7.1-6c1a.0b750ce3-…'), not an app's. Every reader
# that sees the type (captures here, logs by number or by name) keeps it as a name of the
# school's own network, `local` KEY: counted like an mDNS name, never stored.
KEY_EXCHANGES = {249: "TKEY", 250: "TSIG"}
KEY = "key"
OPCODE_UPDATE = 5
# A dynamic update names the school's own zone (its question, as a capture or Suricata sees
# it) or the host a Windows or DHCP client registers for itself (Zeek's `query`): kept
# `local` UPDATE like an mDNS name.
UPDATE = "update"
_MAX_POINTERS = 64


class DNSFormatError(ValueError):
    pass


def read_name(message: bytes, offset: int) -> tuple[bytes | None, int]:
    """Return (dotted name bytes, offset after the name in the original position).

    The name is None when it is longer than DNS allows: its bytes are still walked so the
    records after it can be read, as resolvers and tshark do.
    """
    labels: list[bytes] = []
    end = -1
    jumps = 0
    size = 0
    length_total = len(message)
    while True:
        if offset >= length_total:
            raise DNSFormatError("name runs past the end of the message")
        length = message[offset]
        if length == 0:
            offset += 1
            break
        kind = length & 0xC0
        if kind == 0xC0:
            if offset + 1 >= length_total:
                raise DNSFormatError("compression pointer cut short")
            if end < 0:
                end = offset + 2
            jumps += 1
            if jumps > _MAX_POINTERS:
                raise DNSFormatError("compression pointer loop")
            offset = ((length & 0x3F) << 8) | message[offset + 1]
            continue
        if kind:
            raise DNSFormatError("unknown label type")
        label = message[offset + 1 : offset + 1 + length]
        if len(label) < length:
            raise DNSFormatError("label runs past the end of the message")
        size += length + 1
        labels.append(label)
        offset += 1 + length
    name = b".".join(labels) if size <= MAX_NAME + 2 else None
    return name, (end if end >= 0 else offset)


def parse(message: bytes) -> tuple[bool, list[tuple[bytes | None, str, bytes | None]], str | None]:
    """(is_response, [(name, QUERY|KEY|UPDATE|ANSWER|CNAME, CNAME owner)], error or None) for
    one DNS message.

    Queries contribute their question names, the zone of an UPDATE as UPDATE and a TKEY or
    TSIG key name as KEY; responses the owner names of their answer records and the targets
    of CNAME answers — the same fields tshark reports.
    """
    if len(message) < 12:
        return False, [], "DNS header cut short"
    flags, qdcount, ancount = struct.unpack_from("!HHH", message, 2)
    response = bool(flags & 0x8000)
    update = (flags >> 11) & 0x0F == OPCODE_UPDATE
    names: list[tuple[bytes | None, str, bytes | None]] = []
    offset = 12
    try:
        for _ in range(qdcount):
            name, offset = read_name(message, offset)
            if offset + 4 > len(message):
                raise DNSFormatError("question cut short")
            qtype = (message[offset] << 8) | message[offset + 1]
            offset += 4
            if not response:
                names.append((name, KEY if qtype in KEY_EXCHANGES else UPDATE if update
                              else QUERY, None))
        if not response or update:
            return response, names, None  # UPDATE: prerequisites, not answers
        for _ in range(ancount):
            name, offset = read_name(message, offset)
            if offset + 10 > len(message):
                raise DNSFormatError("answer record cut short")
            rtype, _cls, _ttl, rdlength = struct.unpack_from("!HHIH", message, offset)
            offset += 10
            if offset + rdlength > len(message):
                raise DNSFormatError("answer data cut short")
            names.append((name, ANSWER, None))
            if rtype == TYPE_CNAME:
                target, _ = read_name(message, offset)
                names.append((target, CNAME, name))
            offset += rdlength
    except DNSFormatError as error:
        return response, names, str(error)
    return response, names, None
