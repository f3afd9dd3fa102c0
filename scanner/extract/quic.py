"""QUIC Initial packets: decrypt the client's first flight and read the ClientHello's SNI.

A QUIC client's Initial packets are encrypted, but with keys anyone can derive from the
Destination Connection ID in the packet and a salt fixed by the version (RFC 9001 §5.2,
RFC 9369 §3.3.1). The ClientHello travels in CRYPTO frames that browsers split, reorder and
spread over several packets and datagrams, so CRYPTO data is reassembled by offset per
connection until the handshake message is complete, then handed to `tls.server_name`.

Only Initial packets are decrypted and derived keys are cached per (version, DCID). The
AEAD tag authenticates every decryption, so a wrong guess (a server's Initial, a packet that
only looks like QUIC) fails instead of inventing a name; failures are counted, never raised.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Hashable
from dataclasses import dataclass

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from scanner.extract import tls

MAX_CONNECTIONS = 10_000  # connections whose ClientHello is still incomplete, or just read
MAX_CRYPTO = 64 * 1024  # CRYPTO bytes kept per connection: a ClientHello is a few KB
MAX_PIECES = 256  # CRYPTO frames kept per connection, against floods of tiny frames
MAX_KEYS = 1024  # cipher objects kept (about 3 KB each, native); re-derived when evicted
MAX_CID = 20  # RFC 9000 §17.2: longer connection IDs are invalid in versions 1 and 2

# A datagram's flow: (source address, source port, destination address, destination port).
Flow = tuple[Hashable, ...]

SALT_V1 = bytes.fromhex("38762cf7f55934b34d179ae6a4c80cadccbb7f0a")  # RFC 9001 §5.2
SALT_V2 = bytes.fromhex("0dede3def700a6db819381be6e269dcbf9bd2ed9")  # RFC 9369 §3.3.1
SALT_DRAFT_29 = bytes.fromhex("afbfec289993d24c9e9786f19c6111e04390a899")  # drafts 29-32
SALT_DRAFT_23 = bytes.fromhex("c3eef712c72ebb5a11a7d2432bb46365bef9f502")  # drafts 23-28
SALT_DRAFT_22 = bytes.fromhex("7fbcdb0e7c66bbe9193a96cd21519ebd7a02644a")
SALT_T050 = bytes.fromhex("7ff579e5acd072915580304c43a2367c60488310")  # Google QUIC + TLS
SALT_T051 = bytes.fromhex("7a4edef4e7ccee5fa4506c19124fc8ccda6e033d")


@dataclass(frozen=True, slots=True)
class Version:
    """What differs between QUIC versions for Initial packets."""

    salt: bytes
    prefix: bytes  # of the HKDF labels: b"quic " (v1 and drafts) or b"quicv2 " (v2)
    initial: int  # long-header packet type bits of an Initial packet
    retry: int  # ... and of a Retry packet, which has no length field
    crypto: int = 0x06  # CRYPTO frame type; Google's T05x carry IETF-style CRYPTO as 0x08


_V1 = Version(SALT_V1, b"quic ", 0, 3)
_V2 = Version(SALT_V2, b"quicv2 ", 1, 0)
_DRAFT_29 = Version(SALT_DRAFT_29, b"quic ", 0, 3)
_DRAFT_23 = Version(SALT_DRAFT_23, b"quic ", 0, 3)

VERSIONS: dict[int, Version] = {
    0x00000001: _V1,
    0x6B3343CF: _V2,
    **{0xFF000000 | draft: _DRAFT_29 for draft in range(29, 33)},
    **{0xFF000000 | draft: _V1 for draft in (33, 34)},
    **{0xFF000000 | draft: _DRAFT_23 for draft in range(23, 29)},
    0xFF000016: Version(SALT_DRAFT_22, b"quic ", 0, 3),
    0xFACEB001: Version(SALT_DRAFT_22, b"quic ", 0, 3),  # Facebook mvfst
    0xFACEB002: _DRAFT_23,
    0xFACEB00E: _DRAFT_23,
    0xFACEB003: _V1,
    0x54303530: Version(SALT_T050, b"quic ", 0, 3, 0x08),  # Google QUIC with TLS: T050
    0x54303531: Version(SALT_T051, b"quic ", 0, 3, 0x08),  # ... and T051
}


def version_of(number: int) -> Version | None:
    """The Initial parameters of a version, or None when its Initials cannot be read.

    Reserved versions 0x?a?a?a?a (RFC 9000 §15) are what a client sends to provoke Version
    Negotiation; clients and Wireshark use draft-29 keys for them, and the AEAD tag tells.
    """
    known = VERSIONS.get(number)
    if known is None and number & 0x0F0F0F0F == 0x0A0A0A0A:
        return _DRAFT_29
    return known


def looks_like_initial(datagram: bytes) -> bool:
    """Cheap check: long header, fixed bit, a known version and the Initial packet type."""
    if len(datagram) < 7 or datagram[0] & 0xC0 != 0xC0:
        return False
    version = version_of(int.from_bytes(datagram[1:5], "big"))
    return version is not None and (datagram[0] >> 4) & 0x03 == version.initial


def _varint(data: bytes, offset: int) -> tuple[int, int]:
    """(value, next offset) of a QUIC variable-length integer; IndexError when cut short."""
    first = data[offset]
    size = 1 << (first >> 6)
    if size == 1:
        return first, offset + 1
    end = offset + size
    if end > len(data):
        raise IndexError("varint cut short")
    return int.from_bytes(data[offset:end], "big") & ((1 << (8 * size - 2)) - 1), end


def _expand_label(secret: bytes, label: bytes, length: int) -> bytes:
    """TLS 1.3 HKDF-Expand-Label with an empty context, for outputs of at most 32 bytes."""
    full = b"tls13 " + label
    info = length.to_bytes(2, "big") + bytes([len(full)]) + full + b"\x00"
    return hmac.digest(secret, info + b"\x01", hashlib.sha256)[:length]


def initial_keys(version: Version, dcid: bytes) -> tuple[bytes, bytes, bytes]:
    """(key, iv, hp) protecting the client's Initial packets sent to `dcid`."""
    initial_secret = hmac.digest(version.salt, dcid, hashlib.sha256)  # HKDF-Extract
    client = _expand_label(initial_secret, b"client in", 32)
    prefix = version.prefix
    return (_expand_label(client, prefix + b"key", 16), _expand_label(client, prefix + b"iv", 12),
            _expand_label(client, prefix + b"hp", 16))


class _Keys:
    """Ready cipher objects for one (version, DCID): derived once, used for every packet."""

    __slots__ = ("aead", "iv", "mask")

    def __init__(self, version: Version, dcid: bytes) -> None:
        key, self.iv, hp = initial_keys(version, dcid)
        self.aead = AESGCM(key)
        self.mask = Cipher(algorithms.AES(hp), modes.ECB()).encryptor()  # RFC 9001 §5.4.3

    def open(self, packet: bytes, pn_offset: int, expected: int) -> tuple[bytes, int] | None:
        """Remove header protection and decrypt: (payload, packet number) or None."""
        sample = packet[pn_offset + 4 : pn_offset + 20]
        if len(sample) < 16:
            return None
        mask = self.mask.update(sample)
        first = packet[0] ^ (mask[0] & 0x0F)
        size = (first & 0x03) + 1
        truncated = int.from_bytes(packet[pn_offset : pn_offset + size], "big") ^ int.from_bytes(
            mask[1 : 1 + size], "big")
        number = _packet_number(truncated, size * 8, expected)
        header = bytes([first]) + packet[1:pn_offset] + truncated.to_bytes(size, "big")
        nonce = (int.from_bytes(self.iv, "big") ^ number).to_bytes(12, "big")
        try:
            return self.aead.decrypt(nonce, packet[pn_offset + size :], header), number
        except (InvalidTag, ValueError, OverflowError):
            return None


def _packet_number(truncated: int, bits: int, expected: int) -> int:
    """RFC 9000 §A.3: the full packet number closest to the next one expected."""
    window = 1 << bits
    half = window >> 1
    candidate = (expected & ~(window - 1)) | truncated
    if candidate <= expected - half and candidate < (1 << 62) - window:
        return candidate + window
    if candidate > expected + half and candidate >= window:
        return candidate - window
    return candidate


class _Connection:
    """One client connection: whose keys it uses and the CRYPTO pieces received so far.

    Only the DCID the keys come from is kept, not cipher objects: ten thousand pending
    connections then cost a few megabytes.
    """

    __slots__ = ("dcid", "done", "largest", "name", "pieces", "stored", "version")

    def __init__(self, version: Version, dcid: bytes) -> None:
        self.version = version
        self.dcid = dcid
        self.largest = -1
        self.pieces: dict[int, bytes] = {}
        self.stored = 0
        self.done = False
        self.name: bytes | None = None

    def add(self, offset: int, data: bytes) -> None:
        if offset >= MAX_CRYPTO or len(self.pieces) >= MAX_PIECES:
            return
        data = data[: MAX_CRYPTO - offset]
        if len(data) > len(self.pieces.get(offset, b"")):
            self.stored += len(data) - len(self.pieces.get(offset, b""))
            self.pieces[offset] = data

    def prefix(self) -> bytes:
        """The contiguous CRYPTO bytes from offset 0."""
        out = bytearray()
        for offset in sorted(self.pieces):
            if offset > len(out):
                break
            data = self.pieces[offset]
            if offset + len(data) > len(out):
                out += data[len(out) - offset :]
        return bytes(out)

    def finish(self, name: bytes | None) -> None:
        self.done = True
        self.name = name
        self.pieces = {}


def crypto_frames(payload: bytes, crypto: int = 0x06) -> tuple[list[tuple[int, bytes]],
                                                                 str | None]:
    """The (offset, data) of every CRYPTO frame in a decrypted Initial payload.

    Returns the frames read and an error, if any; parsing stops at the first frame type an
    Initial packet may not carry or at a frame cut short, keeping what came before. `crypto`
    is the CRYPTO frame type: 0x06, or 0x08 in Google's T050/T051, whose other frames
    (gQUIC ACK 0x40-0x7f and the like) end the parse without an error.
    """
    frames: list[tuple[int, bytes]] = []
    offset = 0
    end = len(payload)
    try:
        while offset < end:
            kind = payload[offset]
            offset += 1
            if kind == 0x00:  # PADDING: runs of zeros, often hundreds of bytes
                offset = end - len(payload[offset:].lstrip(b"\x00"))
            elif kind == 0x01:  # PING
                continue
            elif kind == crypto:
                start, offset = _varint(payload, offset)
                size, offset = _varint(payload, offset)
                if offset + size > end:
                    return frames, "CRYPTO frame cut short"
                frames.append((start, payload[offset : offset + size]))
                offset += size
            elif crypto != 0x06:
                return frames, None  # Google QUIC frames: nothing more we need
            elif kind in (0x02, 0x03):  # ACK: largest, delay, range count, first range
                _, offset = _varint(payload, offset)
                _, offset = _varint(payload, offset)
                ranges, offset = _varint(payload, offset)
                _, offset = _varint(payload, offset)
                for _ in range(min(ranges, end)):  # gap and length per range
                    _, offset = _varint(payload, offset)
                    _, offset = _varint(payload, offset)
                if kind == 0x03:  # ECN counts
                    for _ in range(3):
                        _, offset = _varint(payload, offset)
            elif kind in (0x1C, 0x1D):  # CONNECTION_CLOSE
                _, offset = _varint(payload, offset)
                if kind == 0x1C:
                    _, offset = _varint(payload, offset)
                size, offset = _varint(payload, offset)
                offset += size
                if offset > end:
                    return frames, "CONNECTION_CLOSE frame cut short"
            else:
                return frames, f"frame type {kind:#x} in an Initial packet"
    except IndexError:
        return frames, "frame cut short"
    return frames, None


class QuicInitials:
    """Feed client UDP payloads in capture order; get each connection's SNI once.

    State is per (flow, DCID), where the flow is the datagram's `key`: a 4-tuple
    (source address, source port, destination address, destination port). Connections whose
    ClientHello is complete keep only a flag, so retransmitted Initials are skipped unread.
    """

    def __init__(self, max_connections: int = MAX_CONNECTIONS) -> None:
        self.max_connections = max_connections
        self.failures = 0  # Initial packets that did not decrypt: server's, corrupt, unknown
        self.errors = 0  # malformed headers, frames or ClientHellos (in decrypted packets)
        self.packets = 0  # Initial packets decrypted
        self._connections: dict[tuple[Flow, bytes], _Connection] = {}
        self._flows: dict[Flow, _Connection] = {}  # latest connection of each client flow
        self._keys: dict[tuple[Version, bytes], _Keys] = {}

    def feed(self, datagram: bytes, key: Flow) -> bytes | None:
        """The SNI once a connection's ClientHello is complete in this datagram, else None.

        Every coalesced long-header packet is read; only Initials are decrypted. Datagrams
        going the other way on a flow whose client we know (the server's replies) are skipped.
        """
        try:
            return self._feed(datagram, key)
        except (IndexError, ValueError, OverflowError):  # hostile input never escapes
            self.errors += 1
            return None

    def _feed(self, datagram: bytes, key: Flow) -> bytes | None:
        if len(key) == 4 and (key[2], key[3], key[0], key[1]) in self._flows:
            return None  # from the server of a connection we follow
        found: bytes | None = None
        offset = 0
        size = len(datagram)
        while offset + 7 <= size:
            first = datagram[offset]
            if not first & 0x80:
                break  # a short-header packet takes the rest of the datagram
            version = version_of(int.from_bytes(datagram[offset + 1 : offset + 5], "big"))
            if version is None:
                break  # Version Negotiation or unknown: the length field cannot be read
            position = offset + 5
            dcid_size = datagram[position]
            if dcid_size > MAX_CID:
                break
            dcid = datagram[position + 1 : position + 1 + dcid_size]
            position += 1 + dcid_size
            if position >= size or datagram[position] > MAX_CID:
                break
            position += 1 + datagram[position]
            kind = (first >> 4) & 0x03
            if kind == version.retry:
                break
            if kind == version.initial:
                token, position = _varint(datagram, position)
                position += token
            length, position = _varint(datagram, position)
            end = position + length
            if end > size or length < 20:
                break  # cut short, or too short to hold a packet number and a tag
            if kind == version.initial:
                name = self._initial(datagram[offset:end], position - offset, version, dcid, key)
                if name is not None:
                    found = name
            offset = end
        return found

    def _initial(self, packet: bytes, pn_offset: int, version: Version, dcid: bytes,
                 flow: Flow) -> bytes | None:
        found = self._open(packet, pn_offset, version, dcid, flow)
        if found is None:
            return None
        connection, (payload, number) = found
        self.packets += 1
        connection.largest = max(connection.largest, number)
        frames, error = crypto_frames(payload, connection.version.crypto)
        if error:
            self.errors += 1
        for start, data in frames:
            connection.add(start, data)
        return self._complete(connection)

    def _open(self, packet: bytes, pn_offset: int, version: Version, dcid: bytes,
              flow: Flow) -> tuple[_Connection, tuple[bytes, int]] | None:
        """The connection an Initial belongs to and its plaintext; None when there is
        nothing to read (the ClientHello was read already, or the packet did not decrypt)."""
        connection = self._connections.get((flow, dcid))
        if connection is not None:
            if connection.done:
                return None  # a retransmission or an ACK-only Initial: not even decrypted
            keys = self._derive(connection.version, connection.dcid)
            opened = keys.open(packet, pn_offset, connection.largest + 1)
            if opened is None:
                self.failures += 1
                return None
            return connection, opened
        previous = self._flows.get(flow)
        if previous is not None and previous.version is version:
            # After the server's first Initial the client sends to the server's chosen
            # connection ID, still with the keys of its first DCID (RFC 9001 §5.2).
            keys = self._derive(previous.version, previous.dcid)
            opened = keys.open(packet, pn_offset, previous.largest + 1)
            if opened is not None:
                self._remember((flow, dcid), previous)
                return None if previous.done else (previous, opened)
        keys = self._derive(version, dcid)
        opened = keys.open(packet, pn_offset, 0)
        if opened is None:
            self.failures += 1
            return None
        connection = _Connection(version, dcid)
        if previous is not None and previous.done:
            connection.name = previous.name  # to recognise the same ClientHello after a Retry
        self._remember((flow, dcid), connection)
        self._flows.pop(flow, None)
        self._flows[flow] = connection
        return connection, opened

    def _complete(self, connection: _Connection) -> bytes | None:
        """The SNI when the ClientHello is whole; finishes connections that cannot have one."""
        if 0 not in connection.pieces:
            return None
        hello = connection.prefix()
        if hello[0] != tls.CLIENT_HELLO:
            connection.finish(None)  # a server's Initial, or not a handshake we read
            return None
        if len(hello) < 4:
            return None
        needed = 4 + int.from_bytes(hello[1:4], "big")
        if needed > MAX_CRYPTO:
            connection.finish(None)
            return None
        if len(hello) < needed:
            if connection.stored >= MAX_CRYPTO or len(connection.pieces) >= MAX_PIECES:
                connection.finish(None)
            return None
        name, error = tls.server_name(hello[:needed])
        if error:
            self.errors += 1
        repeat = connection.name is not None and name == connection.name
        connection.finish(name)
        return None if repeat else name

    def _derive(self, version: Version, dcid: bytes) -> _Keys:
        cached = self._keys.get((version, dcid))
        if cached is None:
            if len(self._keys) >= MAX_KEYS:
                del self._keys[next(iter(self._keys))]
            cached = self._keys[(version, dcid)] = _Keys(version, dcid)
        return cached

    def _remember(self, state: tuple[Flow, bytes], connection: _Connection) -> None:
        if len(self._connections) >= self.max_connections:
            oldest = next(iter(self._connections))
            dropped = self._connections.pop(oldest)
            flow = oldest[0]
            if self._flows.get(flow) is dropped:
                del self._flows[flow]
        self._connections[state] = connection
