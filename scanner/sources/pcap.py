"""Stream frames out of pcap and pcapng files (plain or gzip) without loading them whole.

Yields `(number, timestamp, linktype, frame)` tuples: the hot path of a scan, so no objects
per packet beyond the tuple and the frame bytes.
"""

from __future__ import annotations

import gzip
import struct
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from scanner.errors import InputError
from scanner.sources.logs.timestamps import EARLIEST, LATEST

Frame = tuple[int, float, int, bytes]

PCAP_MAGICS = {
    b"\xd4\xc3\xb2\xa1": ("<", 1e-6),
    b"\xa1\xb2\xc3\xd4": (">", 1e-6),
    b"\x4d\x3c\xb2\xa1": ("<", 1e-9),
    b"\xa1\xb2\x3c\x4d": (">", 1e-9),
}
PCAPNG_SHB = b"\x0a\x0d\x0d\x0a"
GZIP_MAGIC = b"\x1f\x8b"
MAX_FRAME = 16 * 1024 * 1024  # larger than any real snaplen: a sign of a corrupt record


def is_capture(head: bytes) -> bool:
    """Whether the first bytes of a (decompressed) file look like pcap or pcapng."""
    return head[:4] in PCAP_MAGICS or head[:4] == PCAPNG_SHB


def open_maybe_gzip(path: Path) -> BinaryIO:
    raw = open(path, "rb")  # noqa: SIM115 - handed to the caller, which closes it
    if raw.read(2) == GZIP_MAGIC:
        raw.close()
        return gzip.open(path, "rb")  # type: ignore[return-value]
    raw.seek(0)
    return raw


class CaptureReader:
    """Iterate over a capture's frames; damage is recorded, not raised, once reading began.

    `problems` holds `packet #n: reason` lines for records that could not be read; a file that
    is not a capture at all raises InputError before the first frame.
    """

    def __init__(self, path: Path, stream: BinaryIO | None = None) -> None:
        self.path = path
        self.stream = stream if stream is not None else open_maybe_gzip(path)
        self.problems: list[str] = []
        self.frames = 0
        try:
            head = self.stream.read(4)
        except (OSError, EOFError) as error:
            self.stream.close()
            raise InputError(f"{path}: cannot read: {error}") from None
        if head in PCAP_MAGICS:
            self._iter = self._pcap(head)
        elif head == PCAPNG_SHB:
            self._iter = self._pcapng(head)
        else:
            self.stream.close()
            raise InputError(f"{path}: not a pcap or pcapng capture")

    def __iter__(self) -> Iterator[Frame]:
        try:
            yield from self._iter
        except (OSError, EOFError) as error:  # e.g. gzip stream cut short
            self.problems.append(f"packet #{self.frames + 1}: file damaged: {error}")
        finally:
            self.stream.close()

    def _truncated(self, what: str) -> None:
        self.problems.append(f"packet #{self.frames + 1}: {what} cut short (file truncated)")

    def _pcap(self, magic: bytes) -> Iterator[Frame]:
        order, unit = PCAP_MAGICS[magic]
        rest = self.stream.read(20)
        if len(rest) < 20:
            raise InputError(f"{self.path}: pcap header cut short")
        linktype = struct.unpack(order + "I", rest[16:20])[0] & 0x0FFFFFFF
        record = struct.Struct(order + "IIII")
        read = self.stream.read
        number = 0
        while True:
            header = read(16)
            if len(header) < 16:
                if header:
                    self._truncated("record header")
                return
            seconds, fraction, caplen, _ = record.unpack(header)
            if caplen > MAX_FRAME:
                self.problems.append(f"packet #{number + 1}: impossible length {caplen}, stopped")
                return
            data = read(caplen)
            if len(data) < caplen:
                self._truncated("packet data")
                return
            number += 1
            self.frames = number
            yield number, seconds + fraction * unit, linktype, data

    def _pcapng(self, magic: bytes) -> Iterator[Frame]:
        read = self.stream.read
        order = "<"
        interfaces: list[tuple[int, float, int]] = []  # linktype, seconds per tick, offset
        number = 0
        block_type_raw = magic
        while True:
            length_raw = read(4)
            if len(length_raw) < 4:
                if length_raw:
                    self._truncated("block header")
                return
            if block_type_raw == PCAPNG_SHB:
                bom = read(4)
                if bom == b"\x4d\x3c\x2b\x1a":
                    order = "<"
                elif bom == b"\x1a\x2b\x3c\x4d":
                    order = ">"
                else:
                    raise InputError(f"{self.path}: pcapng section with a bad byte-order mark")
                interfaces = []  # a new section starts a new interface list
                length = struct.unpack(order + "I", length_raw)[0]
                body = bom + read(length - 12)
            else:
                length = struct.unpack(order + "I", length_raw)[0]
                if length < 12 or length > MAX_FRAME:
                    self.problems.append(f"packet #{number + 1}: bad pcapng block length {length}")
                    return
                body = read(length - 8)
            if len(body) < length - 8:
                self._truncated("pcapng block")
                return
            block_type = struct.unpack(order + "I", block_type_raw)[0]
            if block_type == 1:  # Interface Description Block
                interfaces.append(_interface(body, order))
            elif block_type in (6, 3, 2):  # Enhanced, Simple, obsolete Packet Block
                number += 1
                self.frames = number
                frame = _pcapng_packet(block_type, body, order, interfaces)
                if frame is None:
                    self.problems.append(f"packet #{number}: packet block names no interface")
                elif not EARLIEST <= frame[0] < LATEST:  # a damaged count or tick: no day's
                    self.problems.append(f"packet #{number}: time out of range ({frame[0]:.6g})")
                else:
                    yield number, frame[0], frame[1], frame[2]
            block_type_raw = read(4)
            if len(block_type_raw) < 4:
                if block_type_raw:
                    self._truncated("block type")
                return


def _interface(body: bytes, order: str) -> tuple[int, float, int]:
    linktype = struct.unpack_from(order + "H", body, 0)[0]
    tick, offset = 1e-6, 0
    position = 8
    end = len(body) - 4
    while position + 4 <= end:
        code, size = struct.unpack_from(order + "HH", body, position)
        value = body[position + 4 : position + 4 + size]
        if code == 0:
            break
        if code == 9 and size >= 1:  # if_tsresol
            exponent = value[0]
            tick = 2.0 ** -(exponent & 0x7F) if exponent & 0x80 else 10.0**-exponent
        elif code == 14 and size == 8:  # if_tsoffset
            offset = struct.unpack(order + "q", value)[0]
        position += 4 + size + (-size % 4)
    return linktype, tick, offset


def _pcapng_packet(
    block_type: int, body: bytes, order: str, interfaces: list[tuple[int, float, int]]
) -> tuple[float, int, bytes] | None:
    if block_type == 3:  # Simple Packet Block: interface 0, no timestamp
        if not interfaces:
            return None
        original = struct.unpack_from(order + "I", body, 0)[0]
        return 0.0, interfaces[0][0], body[4 : 4 + min(original, len(body) - 8)]
    if block_type == 6:
        interface, high, low, caplen = struct.unpack_from(order + "IIII", body, 0)
    else:
        interface, _drops, high, low, caplen = struct.unpack_from(order + "HHIII", body, 0)
    if interface >= len(interfaces):
        return None
    linktype, tick, offset = interfaces[interface]
    stamp = ((high << 32) | low) * tick + offset
    return stamp, linktype, body[20 : 20 + caplen]
