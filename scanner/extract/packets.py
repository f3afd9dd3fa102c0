"""From a frame to names: link layers, tunnels, IP (with fragments), UDP and TCP streams.

The hot path of every scan. Each frame is read with `struct` at offsets into its bytes; no
layer objects are built. Only flows that carry a name (DNS over TCP, a ClientHello or an HTTP
request split over segments) keep reassembly state, and that state is bounded.
"""

from __future__ import annotations

import contextlib
import gc
import struct
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import NamedTuple

from scanner.extract import dns, http, quic, tls
from scanner.names import InvalidName, normalise

SNI, HTTP, QUIC, ECH = "sni", "http", "quic", "ech"
TEREDO_PREFIX = b"\x20\x01\x00\x00"
DNS_PORTS = {53, 5353, 5355}
MULTICAST_DNS_PORTS = {5353: "mdns", 5355: "llmnr"}
MAX_DEPTH = 8  # tunnels inside tunnels
MAX_STREAMS = 50_000
MAX_FRAGMENT_SETS = 4096
MAX_STREAM_BYTES = 256 * 1024
MAX_NOTES = 20

_U16 = struct.Struct("!H")
_PORTS = struct.Struct("!I")
# First payload bytes that can start a name: a TLS handshake, an HTTP method, a DNS length.
_NAME_STARTS = frozenset([0x16, *range(ord("A"), ord("Z") + 1), 0x00])
_UDP_PORTS = frozenset([53, 5353, 5355, 4789, 6081, 3544, 2152, 5072])
_TCP_HEAD = struct.Struct("!HHI")


def without_port(server_name: bytes) -> bytes:
    """A server name some clients send with a port (`server4:443`, quic-go's interop runner):
    the host is clear, so it is kept, as in an HTTP Host header and in Zeek's logs."""
    host, colon, port = server_name.rpartition(b":")
    return host if colon and port.isdigit() and b":" not in host else server_name


class Observation(NamedTuple):
    """A name a device asked for or contacted, at a time; client is the packed IP address.

    An immutable record like the frozen dataclasses elsewhere, but a NamedTuple: one is built
    per name on the hot path, and a tuple is built in half the time.
    """

    time: float
    client: bytes
    name: str
    how: str  # dns | answer | cname | sni | http | quic | ech (a ClientHello with ECH)
    # The school's own network's names, counted but never stored: "mdns", "llmnr", "netbios"
    # (link-local name resolution), "key" (a secure dynamic update's key name) or "update"
    # (the name a client registers for itself)
    local: str = ""
    owner: str = ""  # for a CNAME: the alias whose target this name is


# The same name seen `hits` times on one local day, as a log reader counts it before storing:
# (name, how, client, day, local, owner, hits, first time, last time).
Counted = tuple[str, str, bytes, str, str, str, int, float, float]
# A name seen on one local day by several clients, as a log reader groups what it counted:
# (name, how, day, local, owner, hits, first time, last time, start, stop); its clients are
# the members at [start, stop) of `Lookups`.
Group = tuple[str, str, str, str, str, int, float, float, int, int]


@contextlib.contextmanager
def collector_paused() -> Iterator[None]:
    """Pause Python's cyclic garbage collector while thousands of containers are made that
    form no cycle (a drained tally, a batch folded and written): it would only walk them,
    and everything older, again and again."""
    collecting = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if collecting:
            gc.enable()


@dataclass
class Lookups:
    """What a log reader counted in a stretch of a log: rows read line by line, and groups of
    (name, how, day) whose members are the clients that asked, each with its own hits and
    first and last time, in arrays. A scan handles a name's day once, not once per client."""

    rows: list[Counted] = field(default_factory=list)
    groups: list[Group] = field(default_factory=list)
    clients: list[bytes] = field(default_factory=list)  # what a member's client index names
    member_clients: Sequence[int] = ()
    member_hits: Sequence[int] = ()
    member_first: Sequence[float] = ()
    member_last: Sequence[float] = ()

    @property
    def lookups(self) -> int:
        return sum(row[6] for row in self.rows) + sum(group[5] for group in self.groups)

    def __iter__(self) -> Iterator[Counted]:
        """Every lookup as a `Counted` row, one per name, how, client and day."""
        yield from self.rows
        clients, members = self.clients, self.member_clients
        for name, how, day, local, owner, _hits, _first, _last, start, stop in self.groups:
            for at in range(start, stop):
                yield (name, how, clients[members[at]], day, local, owner, self.member_hits[at],
                       self.member_first[at], self.member_last[at])


@dataclass
class ScanStats:
    """What a run saw; `notes` keeps the first problems with their location."""

    packets: int = 0
    records: int = 0  # log records
    names: int = 0
    malformed: int = 0
    fragments: int = 0
    invalid_names: int = 0
    unsupported_links: int = 0
    notes: list[str] = field(default_factory=list)

    def note(self, where: str, what: str) -> None:
        if len(self.notes) < MAX_NOTES:
            self.notes.append(f"{where}: {what}")

    def add(self, other: ScanStats, where: str = "") -> None:
        """Add another file's counts; its notes get the file name in front."""
        for name in ("packets", "records", "names", "malformed", "fragments", "invalid_names",
                     "unsupported_links"):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        for line in other.notes:
            if len(self.notes) < MAX_NOTES:
                self.notes.append(f"{where}: {line}" if where and not line.startswith(where)
                                  else line)


class _Stream:
    """Bytes of one TCP direction, in sequence order, while a name is still incomplete."""

    __slots__ = ("buffer", "client", "kind", "next_seq", "pending")

    def __init__(self, kind: str, client: bytes, seq: int, payload: bytes) -> None:
        self.kind = kind
        self.client = client
        self.buffer = bytearray(payload)
        self.next_seq = (seq + len(payload)) & 0xFFFFFFFF
        self.pending: dict[int, bytes] = {}

    def add(self, seq: int, payload: bytes) -> None:
        ahead = (seq - self.next_seq) & 0xFFFFFFFF
        if ahead >= 0x80000000:  # starts before what we have: keep only the new tail
            overlap = 0x100000000 - ahead
            if overlap >= len(payload):
                return
            payload = payload[overlap:]
            ahead = 0
        if ahead:
            if len(self.pending) < 64:
                self.pending[seq] = payload
            return
        self.buffer += payload
        self.next_seq = (self.next_seq + len(payload)) & 0xFFFFFFFF
        while self.next_seq in self.pending:
            chunk = self.pending.pop(self.next_seq)
            self.buffer += chunk
            self.next_seq = (self.next_seq + len(chunk)) & 0xFFFFFFFF


class Dissector:
    """Feed frames in capture order; collect Observations from `drain()`."""

    def __init__(self) -> None:
        self.stats = ScanStats()
        self.observations: list[Observation] = []
        self._streams: dict[tuple[bytes, int, bytes, int], _Stream] = {}
        self._stream_ports: dict[int, int] = {}  # (sport << 16 | dport) → streams, for _boring
        self._names: dict[bytes, str] = {}  # raw name → normalised name, most names repeat
        self._quic = quic.QuicInitials()
        self._fragments: dict[tuple, dict[int, bytes]] = {}
        self._fragment_ends: dict[tuple, int] = {}
        self._number = 0
        self._time = 0.0
        self._links: dict[int, Callable[[bytes, int, int], None]] = {
            0: self._null,  # BSD loopback, host byte order
            1: self._ethernet,
            9: self._ppp,
            12: self._raw,
            14: self._raw,
            50: self._ppp,
            101: self._raw,
            105: self._wifi,
            108: self._loop,  # OpenBSD loopback, network byte order
            113: self._sll,
            127: self._radiotap,
            228: self._raw,
            229: self._raw,
            239: self._nflog,
            276: self._sll2,
        }

    # -- entry points -------------------------------------------------------------------

    def frame(self, number: int, time: float, linktype: int, data: bytes) -> None:
        self._number = number
        self._time = time
        self.stats.packets += 1
        if linktype == 1 and self._boring(data):
            return
        handler = self._links.get(linktype)
        if handler is None:
            self.stats.unsupported_links += 1
            if self.stats.unsupported_links == 1:
                self.stats.note(f"packet #{number}", f"link type {linktype} not supported")
            return
        try:
            handler(data, 0, 0)
        except (struct.error, IndexError, ValueError) as error:
            self._malformed(f"cut short or corrupt ({error})")

    def _boring(self, data: bytes) -> bool:
        """True when an Ethernet frame surely names nothing: most of a network's packets.

        A cheap look at the common case (IPv4 without options or IPv6 without extension
        headers, carrying TCP or UDP) so bulk data never walks the layered path. Anything
        unusual returns False and is dissected in full.
        """
        offset = 14
        kind = data[12:14]
        if kind == b"\x81\x00":
            offset = 18
            kind = data[16:18]
        if kind == b"\x08\x00":
            if len(data) < offset + 28 or data[offset] != 0x45 or data[offset + 6] & 0x3F \
                    or data[offset + 7]:
                return False  # options or a fragment
            protocol = data[offset + 9]
            end = offset + ((data[offset + 2] << 8) | data[offset + 3])
            transport = offset + 20
        elif kind == b"\x86\xdd":
            if len(data) < offset + 48:
                return False
            protocol = data[offset + 6]
            end = offset + 40 + ((data[offset + 4] << 8) | data[offset + 5])
            transport = offset + 40
        else:
            return False
        if end > len(data):
            end = len(data)  # a frame cut by the snap length
        ports = _PORTS.unpack_from(data, transport)[0]
        if protocol == 6:
            start = transport + ((data[transport + 12] >> 4) << 2)
            if ports in self._stream_ports or ports >> 16 == 53 or ports & 0xFFFF == 53:
                return False
            if start >= end:
                return True  # no payload, and no stream waits for this flow
            return data[start] not in _NAME_STARTS
        if protocol == 17:
            if ports >> 16 in _UDP_PORTS or ports & 0xFFFF in _UDP_PORTS:
                return False
            start = transport + 8
            # QUIC long headers (handshakes) and IPv6 inside UDP (Teredo) need a closer look
            return start >= end or (data[start] & 0xC0 != 0xC0 and data[start] >> 4 != 6)
        return False

    def drain(self) -> list[Observation]:
        out = self.observations
        self.observations = []
        return out

    # -- bookkeeping --------------------------------------------------------------------

    def _malformed(self, what: str) -> None:
        self.stats.malformed += 1
        self.stats.note(f"packet #{self._number}", what)

    def _emit(self, client: bytes, raw: bytes | None, how: str, local: str = "",
              owner: bytes | None = None) -> None:
        if raw == b"":
            return  # the root: a resolver priming query, not a name
        if raw is None:
            self.stats.invalid_names += 1
            self.stats.note(f"packet #{self._number}", f"{how} name longer than 255 bytes")
            return
        name = self._names.get(raw)
        if name is not None:
            self.stats.names += 1
            self.observations.append(Observation(self._time, client, name, how, local,
                                                 self._alias(owner)))
            return
        try:
            name = normalise(raw)
        except InvalidName as reason:
            self.stats.invalid_names += 1
            shown = raw.decode("ascii", "backslashreplace")[:80]
            self.stats.note(f"packet #{self._number}", f"{how} name {shown!r} skipped: {reason}")
            return
        if len(self._names) < 100_000:
            self._names[raw] = name
        self.stats.names += 1
        self.observations.append(Observation(self._time, client, name, how, local,
                                             self._alias(owner)))

    def _alias(self, owner: bytes | None) -> str:
        if owner is None:
            return ""
        name = self._names.get(owner)
        if name is None:
            with contextlib.suppress(InvalidName):
                name = normalise(owner)
        return name or ""

    # -- link layers --------------------------------------------------------------------

    def _ethernet(self, data: bytes, offset: int, depth: int) -> None:
        ethertype = _U16.unpack_from(data, offset + 12)[0]
        offset += 14
        if ethertype <= 1500:  # 802.3 length field: LLC/SNAP
            if data[offset : offset + 3] != b"\xaa\xaa\x03":
                return
            ethertype = _U16.unpack_from(data, offset + 6)[0]
            offset += 8
        self._ethertype(ethertype, data, offset, depth)

    def _ethertype(self, ethertype: int, data: bytes, offset: int, depth: int) -> None:
        while ethertype in (0x8100, 0x88A8, 0x9100, 0x9200):  # 802.1Q, QinQ
            ethertype = _U16.unpack_from(data, offset + 2)[0]
            offset += 4
        if ethertype == 0x0800:
            self._ipv4(data, offset, depth)
        elif ethertype == 0x86DD:
            self._ipv6(data, offset, depth)
        elif ethertype in (0x8847, 0x8848):  # MPLS: labels until bottom of stack
            while not data[offset + 2] & 0x01:
                offset += 4
            self._raw(data, offset + 4, depth)
        elif ethertype == 0x8864:  # PPPoE session: 6-byte header, then a PPP protocol
            self._ppp_protocol(_U16.unpack_from(data, offset + 6)[0], data, offset + 8, depth)
        elif ethertype == 0x6558:  # transparent Ethernet bridging (inside GRE)
            self._ethernet(data, offset, depth)

    def _raw(self, data: bytes, offset: int, depth: int) -> None:
        version = data[offset] >> 4
        if version == 4:
            self._ipv4(data, offset, depth)
        elif version == 6:
            self._ipv6(data, offset, depth)

    def _null(self, data: bytes, offset: int, depth: int) -> None:
        family = struct.unpack_from("<I", data, offset)[0]
        if family > 0xFFFF:  # written on a big-endian host
            family = struct.unpack_from(">I", data, offset)[0]
        self._family(family, data, offset + 4, depth)

    def _loop(self, data: bytes, offset: int, depth: int) -> None:
        self._family(struct.unpack_from(">I", data, offset)[0], data, offset + 4, depth)

    def _family(self, family: int, data: bytes, offset: int, depth: int) -> None:
        if family == 2:
            self._ipv4(data, offset, depth)
        elif family in (10, 23, 24, 26, 28, 30):  # AF_INET6 on Linux, the BSDs and macOS
            self._ipv6(data, offset, depth)

    def _ppp(self, data: bytes, offset: int, depth: int) -> None:
        if data[offset] == 0xFF and data[offset + 1] == 0x03:  # HDLC address and control
            offset += 2
        if data[offset] & 0x01:  # protocol field compressed to one byte
            self._ppp_protocol(data[offset], data, offset + 1, depth)
        else:
            self._ppp_protocol(_U16.unpack_from(data, offset)[0], data, offset + 2, depth)

    def _ppp_protocol(self, protocol: int, data: bytes, offset: int, depth: int) -> None:
        if protocol == 0x0021:
            self._ipv4(data, offset, depth)
        elif protocol == 0x0057:
            self._ipv6(data, offset, depth)

    def _sll(self, data: bytes, offset: int, depth: int) -> None:
        self._ethertype(_U16.unpack_from(data, offset + 14)[0], data, offset + 16, depth)

    def _sll2(self, data: bytes, offset: int, depth: int) -> None:
        self._ethertype(_U16.unpack_from(data, offset)[0], data, offset + 20, depth)

    def _nflog(self, data: bytes, offset: int, depth: int) -> None:
        family = data[offset]
        offset += 4
        while offset + 4 <= len(data):
            size, kind = struct.unpack_from("<HH", data, offset)
            if size < 4:
                return
            if kind == 9:  # NFULA_PAYLOAD
                self._family(2 if family == 2 else 10, data[: offset + size], offset + 4, depth)
                return
            offset += (size + 3) & ~3

    def _radiotap(self, data: bytes, offset: int, depth: int) -> None:
        self._wifi(data, offset + struct.unpack_from("<H", data, offset + 2)[0], depth)

    def _wifi(self, data: bytes, offset: int, depth: int) -> None:
        control = data[offset]
        flags = data[offset + 1]
        if (control >> 2) & 0x03 != 2 or flags & 0x40:  # not a data frame, or encrypted
            return
        header = 24
        if flags & 0x03 == 0x03:  # to-DS and from-DS: a fourth address
            header += 6
        if control & 0x80:  # QoS data
            header += 2
        offset += header
        if data[offset : offset + 3] != b"\xaa\xaa\x03":
            return
        self._ethertype(_U16.unpack_from(data, offset + 6)[0], data, offset + 8, depth)

    # -- IP -----------------------------------------------------------------------------

    def _ipv4(self, data: bytes, offset: int, depth: int) -> None:
        first = data[offset]
        if first >> 4 != 4:
            return self._malformed("IPv4 header with a wrong version")
        header = (first & 0x0F) * 4
        total = _U16.unpack_from(data, offset + 2)[0]
        end = min(offset + total, len(data)) if total >= header else len(data)
        protocol = data[offset + 9]
        source = data[offset + 12 : offset + 16]
        destination = data[offset + 16 : offset + 20]
        fragment = _U16.unpack_from(data, offset + 6)[0]
        if fragment & 0x3FFF:  # more-fragments flag or an offset
            key = (source, destination, data[offset + 4 : offset + 6], protocol)
            whole = self._defragment(key, (fragment & 0x1FFF) * 8, not fragment & 0x2000,
                                     data[offset + header : end])
            if whole is None:
                return
            return self._transport(protocol, source, destination, whole, 0, len(whole), depth)
        self._transport(protocol, source, destination, data, offset + header, end, depth)

    def _ipv6(self, data: bytes, offset: int, depth: int) -> None:
        if data[offset] >> 4 != 6:
            return self._malformed("IPv6 header with a wrong version")
        length = _U16.unpack_from(data, offset + 4)[0]
        protocol = data[offset + 6]
        source = data[offset + 8 : offset + 24]
        destination = data[offset + 24 : offset + 40]
        offset += 40
        end = min(offset + length, len(data)) if length else len(data)
        while protocol in (0, 43, 44, 60, 51, 135, 139, 140):  # extension headers
            next_protocol = data[offset]
            if protocol == 44:  # fragment header
                fragment = _U16.unpack_from(data, offset + 2)[0]
                key = (source, destination, data[offset + 4 : offset + 8], next_protocol)
                whole = self._defragment(key, fragment & 0xFFF8, not fragment & 0x0001,
                                         data[offset + 8 : end])
                if whole is None:
                    return
                return self._transport(next_protocol, source, destination, whole, 0,
                                       len(whole), depth)
            size = (data[offset + 1] + 2) * 4 if protocol == 51 else (data[offset + 1] + 1) * 8
            protocol = next_protocol
            offset += size
        self._transport(protocol, source, destination, data, offset, end, depth)

    def _defragment(self, key: tuple, start: int, last: bool, chunk: bytes) -> bytes | None:
        """Collect fragments; return the whole payload once every byte from 0 is there."""
        self.stats.fragments += 1
        parts = self._fragments.get(key)
        if parts is None:
            if len(self._fragments) >= MAX_FRAGMENT_SETS:
                oldest = next(iter(self._fragments))
                del self._fragments[oldest]
                self._fragment_ends.pop(oldest, None)
            parts = self._fragments[key] = {}
        parts[start] = chunk
        if last:
            self._fragment_ends[key] = start + len(chunk)
        total = self._fragment_ends.get(key)
        if total is None:
            return None
        whole = bytearray()
        for position in sorted(parts):
            if position > len(whole):
                return None  # a hole
            whole[position:] = parts[position]
        if len(whole) < total:
            return None
        del self._fragments[key]
        del self._fragment_ends[key]
        return bytes(whole[:total])

    def _transport(self, protocol: int, source: bytes, destination: bytes, data: bytes,
                   offset: int, end: int, depth: int) -> None:
        if protocol == 17:
            self._udp(source, destination, data, offset, end, depth)
        elif protocol == 6:
            self._tcp(source, destination, data, offset, end)
        elif depth < MAX_DEPTH:
            if protocol == 4:
                self._ipv4(data[:end], offset, depth + 1)
            elif protocol == 41:
                self._ipv6(data[:end], offset, depth + 1)
            elif protocol == 47:
                self._gre(data[:end], offset, depth + 1)

    def _gre(self, data: bytes, offset: int, depth: int) -> None:
        flags, protocol = struct.unpack_from("!HH", data, offset)
        offset += 4
        if flags & 0x8000:  # checksum present
            offset += 4
        if flags & 0x2000:  # key present
            offset += 4
        sequenced = bool(flags & 0x1000)
        if sequenced:
            offset += 4
        if protocol == 0x88BE:  # ERSPAN type II (type I has no sequence and no header)
            self._ethernet(data, offset + 8 if sequenced else offset, depth)
        elif protocol == 0x22EB:  # ERSPAN type III, optional platform sub-header
            self._ethernet(data, offset + (20 if data[offset + 11] & 0x01 else 12), depth)
        elif protocol == 0x8200:  # Aruba WLAN tunnels carry 802.11 frames
            self._wifi(data, offset, depth)
        else:
            self._ethertype(protocol, data, offset, depth)

    # -- UDP ----------------------------------------------------------------------------

    def _udp(self, source: bytes, destination: bytes, data: bytes, offset: int, end: int,
             depth: int) -> None:
        source_port, destination_port, length = struct.unpack_from("!HHH", data, offset)
        if length >= 8:
            end = min(end, offset + length)
        payload_start = offset + 8
        if source_port in DNS_PORTS or destination_port in DNS_PORTS:
            local = MULTICAST_DNS_PORTS.get(destination_port) or MULTICAST_DNS_PORTS.get(
                source_port, "")
            self._dns(source, destination, data[payload_start:end], local)
        elif depth < MAX_DEPTH:
            if destination_port == 4789:  # VXLAN
                self._ethernet(data[:end], payload_start + 8, depth + 1)
            elif destination_port == 6081:  # Geneve
                options = (data[payload_start] & 0x3F) * 4
                protocol = _U16.unpack_from(data, payload_start + 2)[0]
                self._ethertype(protocol, data[:end], payload_start + 8 + options, depth + 1)
            elif destination_port == 3544 or source_port == 3544:  # Teredo
                self._teredo(data[:end], payload_start, depth + 1)
            elif destination_port == 2152:  # GTP-U, mobile backhaul
                self._gtp(data[:end], payload_start, depth + 1)
            elif destination_port == 5072 or source_port == 5072:  # AYIYA (SixXS tunnels)
                self._ayiya(data[:end], payload_start, depth + 1)
            elif _is_teredo_payload(data, payload_start, end):  # Teredo on a relay's port
                self._ipv6(data[:end], payload_start, depth + 1)
                return
        if end - payload_start > 20 and data[payload_start] & 0xC0 == 0xC0 and \
                source_port not in DNS_PORTS and destination_port not in DNS_PORTS:
            payload = data[payload_start:end]
            if quic.looks_like_initial(payload):
                name = self._quic.feed(payload, (source, source_port, destination,
                                                 destination_port))
                if name is not None:
                    self._emit(source, without_port(name), QUIC)

    def _teredo(self, data: bytes, offset: int, depth: int) -> None:
        if data[offset : offset + 2] == b"\x00\x01":  # authentication header
            offset += 4 + data[offset + 2] + data[offset + 3] + 9
        if data[offset : offset + 2] == b"\x00\x00":  # origin indication
            offset += 8
        if offset < len(data) and data[offset] >> 4 == 6:
            self._ipv6(data, offset, depth)

    def _ayiya(self, data: bytes, offset: int, depth: int) -> None:
        """Anything In Anything: identity and signature of the sizes the header gives, then an
        IPv6 or IPv4 packet; only opcode 1 (forward) carries one, as in Zeek's analyzer."""
        if offset + 8 > len(data):
            return
        start = offset + 8 + (1 << (data[offset] >> 4)) + (data[offset + 1] >> 4) * 4
        if data[offset + 2] & 0x0F != 1 or start >= len(data):
            return
        if data[offset + 3] == 41:
            self._ipv6(data, start, depth)
        elif data[offset + 3] == 4:
            self._ipv4(data, start, depth)

    def _gtp(self, data: bytes, offset: int, depth: int) -> None:
        flags, message_type = data[offset], data[offset + 1]
        if flags >> 5 != 1 or message_type != 0xFF:  # version 1 G-PDU only
            return
        start = offset + 8
        if flags & 0x07:  # sequence, N-PDU or extension present
            next_extension = data[start + 3]
            start += 4
            while next_extension:
                size = data[start] * 4
                if not size:
                    return
                next_extension = data[start + size - 1]
                start += size
        self._raw(data, start, depth)

    def _dns(self, source: bytes, destination: bytes, message: bytes, local: str = "") -> None:
        response, names, error = dns.parse(message)
        client = destination if response else source
        if not local and len(message) > 2 and not message[2] & 0x01:
            client = b""  # recursion not desired: a resolver iterating, no device of the school
        for name, how, owner in names:
            if how in (dns.KEY, dns.UPDATE):  # a key name, the school's zone: like mDNS
                self._emit(client, name, dns.QUERY, how, owner)
            else:
                self._emit(client, name, how, local, owner)
        if error:
            self._malformed(f"DNS {error}")

    # -- TCP ----------------------------------------------------------------------------

    def _tcp(self, source: bytes, destination: bytes, data: bytes, offset: int,
             end: int) -> None:
        source_port, destination_port, seq = _TCP_HEAD.unpack_from(data, offset)
        header = (data[offset + 12] >> 4) * 4
        flags = data[offset + 13]
        payload = data[offset + header : end]
        key = (source, source_port, destination, destination_port)
        stream = self._streams.get(key)
        if stream is not None:
            if payload:
                stream.add(seq, payload)
                self._advance(key, stream)
            if flags & 0x05:  # FIN or RST: the direction is over
                self._drop_stream(key)
            return
        if not payload:
            return
        if source_port == 53 or destination_port == 53 or _looks_like_dns_over_tcp(payload):
            kind = "dns"
        elif tls.starts_client_hello(payload):
            kind = SNI
        elif http.starts_request(payload):
            kind = HTTP
        else:
            return
        stream = _Stream(kind, source, seq, payload)
        if self._advance(key, stream) and not flags & 0x05:
            if len(self._streams) >= MAX_STREAMS:
                self._drop_stream(next(iter(self._streams)))
            self._streams[key] = stream
            ports = (source_port << 16) | destination_port
            self._stream_ports[ports] = self._stream_ports.get(ports, 0) + 1

    def _advance(self, key: tuple, stream: _Stream) -> bool:
        """Take every complete name out of the stream; True while it waits for more bytes."""
        buffer = stream.buffer
        if stream.kind == "dns":
            while len(buffer) >= 2:
                size = (buffer[0] << 8) | buffer[1]
                if len(buffer) < 2 + size:
                    break
                source, _, destination, _ = key
                self._dns(source, destination, bytes(buffer[2 : 2 + size]))
                del buffer[: 2 + size]
            waiting = len(buffer) < MAX_STREAM_BYTES
        elif stream.kind == SNI:
            hello, complete = tls.handshake_bytes(bytes(buffer))
            if hello is not None:
                name, ech, error = tls.client_hello(hello)
                if name is not None:
                    name = without_port(name)
                    self._emit(stream.client, name, SNI)
                    if ech:
                        self._emit(stream.client, name, ECH)
                if error:
                    self._malformed(f"TLS {error}")
            waiting = not complete and len(buffer) < MAX_STREAM_BYTES
        else:
            waiting = self._http_requests(stream)
        if not waiting:
            self._drop_stream(key)
        return waiting

    def _drop_stream(self, key: tuple[bytes, int, bytes, int]) -> None:
        if self._streams.pop(key, None) is None:
            return
        ports = (key[1] << 16) | key[3]
        left = self._stream_ports[ports] - 1
        if left:
            self._stream_ports[ports] = left
        else:
            del self._stream_ports[ports]

    def _http_requests(self, stream: _Stream) -> bool:
        """Every request at the front of the buffer; pipelined requests follow each other."""
        buffer = stream.buffer
        while True:
            host, complete = http.request_host(bytes(buffer[: http.MAX_HEADER + 4]))
            if not complete:
                return len(buffer) < http.MAX_HEADER
            if host:
                self._emit_host(stream.client, host)
            end = buffer.find(b"\r\n\r\n")
            if end < 0:
                return False
            rest = end + 4 + http.content_length(bytes(buffer[:end]))
            del buffer[:rest]
            if not buffer or not http.starts_request(bytes(buffer[:24])):
                return False

    def _emit_host(self, client: bytes, value: bytes) -> None:
        host = http.host_name(value)
        if host is not None:
            self._emit(client, host, HTTP)


def _is_teredo_payload(data: bytes, start: int, end: int) -> bool:
    """IPv6 straight inside UDP, to or from a Teredo address (2001:0::/32).

    Teredo relays and clients talk on any port (3544 is only the server's), so the tunnel is
    recognised by what it carries: an IPv6 header whose length fills the datagram exactly.
    """
    if end - start < 40 or data[start] >> 4 != 6:
        return False
    if ((data[start + 4] << 8) | data[start + 5]) + 40 != end - start:
        return False
    return data[start + 8 : start + 12] == TEREDO_PREFIX or \
        data[start + 24 : start + 28] == TEREDO_PREFIX


def _looks_like_dns_over_tcp(payload: bytes) -> bool:
    """A length prefix that fits the segment and a standard query header with one question."""
    if len(payload) < 17 or (payload[0] << 8) | payload[1] != len(payload) - 2:
        return False
    flags, questions = struct.unpack_from("!HH", payload, 4)
    return questions == 1 and flags & 0x7800 == 0 and payload[14] < 64
