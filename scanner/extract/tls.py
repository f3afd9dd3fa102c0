"""TLS ClientHello: the server_name extension, read from a reassembled handshake message."""

from __future__ import annotations

import struct

HANDSHAKE = 0x16
CLIENT_HELLO = 1
MAX_HANDSHAKE = 256 * 1024  # Post-quantum key shares make ClientHellos large, not this large


def starts_client_hello(payload: bytes) -> bool:
    """First bytes of a TLS record carrying the start of a ClientHello (or too few to tell)."""
    if len(payload) < 3 or payload[0] != HANDSHAKE or payload[1] != 3 or payload[2] > 4:
        return False
    return len(payload) < 6 or payload[5] == CLIENT_HELLO


def handshake_bytes(stream: bytes) -> tuple[bytes | None, bool]:
    """Concatenate handshake record bodies from the stream start.

    Returns (first handshake message, complete?). A ClientHello may span several records and
    each record several segments; the caller keeps feeding bytes until complete is True.
    """
    body = bytearray()
    offset = 0
    needed = -1
    while offset + 5 <= len(stream):
        if stream[offset] != HANDSHAKE:
            return None, True
        length = (stream[offset + 3] << 8) | stream[offset + 4]
        body += stream[offset + 5 : offset + 5 + length]
        offset += 5 + length
        if needed < 0 and len(body) >= 4:
            needed = 4 + int.from_bytes(body[1:4], "big")
            if needed > MAX_HANDSHAKE:
                return None, True
        if needed >= 0 and len(body) >= needed:
            return bytes(body[:needed]), True
    return None, False


_U16 = struct.Struct("!H")
_EXTENSION = struct.Struct("!HH")
ENCRYPTED_CLIENT_HELLO = 0xFE0D  # draft-ietf-tls-esni: the real SNI is encrypted inside


def server_name(hello: bytes) -> tuple[bytes | None, str | None]:
    """(SNI host name or None, error or None) from a complete ClientHello handshake message."""
    name, _, error = client_hello(hello)
    return name, error


def client_hello(hello: bytes) -> tuple[bytes | None, bool, str | None]:
    """(outer SNI, uses Encrypted Client Hello?, error) from a complete ClientHello.

    With ECH the SNI seen is only the provider's public name (`cloudflare-ech.com`): the app
    behind it is invisible, which a report must be able to say.
    """
    name: bytes | None = None
    ech = False
    try:
        if hello[0] != CLIENT_HELLO:
            return None, False, None
        offset = 4 + 2 + 32  # header, legacy_version, random
        offset += 1 + hello[offset]  # session id
        offset += 2 + int.from_bytes(hello[offset : offset + 2], "big")  # cipher suites
        offset += 1 + hello[offset]  # compression methods
        if offset + 2 > len(hello):
            return None, False, None  # no extensions at all
        end = min(offset + 2 + _U16.unpack_from(hello, offset)[0], len(hello))
        offset += 2
        unpack = _EXTENSION.unpack_from
        while offset + 4 <= end:
            kind, size = unpack(hello, offset)
            offset += 4
            if kind == 0:
                name = _first_host_name(hello[offset : offset + size])
            elif kind == ENCRYPTED_CLIENT_HELLO:
                ech = True
            offset += size
    except (IndexError, struct.error):
        return name, ech, "ClientHello cut short"
    return name, ech, None


def _first_host_name(extension: bytes) -> bytes | None:
    offset = 2  # server_name_list length
    while offset + 3 <= len(extension):
        name_type = extension[offset]
        size = int.from_bytes(extension[offset + 1 : offset + 3], "big")
        if name_type == 0:
            return extension[offset + 3 : offset + 3 + size]
        offset += 3 + size
    return None
