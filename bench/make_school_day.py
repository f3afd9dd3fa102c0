#!/usr/bin/env python3
"""Write a synthetic but realistic "school day" pcap, fast, for benchmarks and demos.

    python bench/make_school_day.py OUT.pcap --packets N [--seed S] [--clients 600] [--example]

Packets are assembled as raw bytes with ``struct`` rather than scapy (scapy costs ~100 us a
packet, which makes a million-packet benchmark file take minutes). They still carry correct IP,
TCP, UDP and ICMP checksums, consistent TCP sequence numbers, DNS name compression and real
TLS 1.3 style ClientHellos, so tshark, nDPI and appradar all read it like a capture from a
school's core-switch mirror port (frames padded to 60 bytes, as on the wire).

Next to OUT.pcap it writes OUT.pcap.names.json: every distinct name that ended up in a written
packet (DNS question, DNS answer owner or CNAME target, TLS SNI, HTTP Host), so a benchmark can
check that a scanner missed nothing and invented nothing.

Timestamps are UTC and cover 08:00-16:00 Europe/Amsterdam (07:00-15:00 UTC) on Tuesday
2024-03-12, busiest in the breaks. The same seed gives a byte-identical file.
"""

from __future__ import annotations

import argparse
import bisect
import calendar
import hashlib
import heapq
import itertools
import json
import random
import struct
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from school_names import CNAME_CHAINS, HTTP_HOSTS, well_known_names

DAY_START_US = calendar.timegm((2024, 3, 12, 7, 0, 0)) * 1_000_000  # 08:00 CET
DAY_US = 8 * 3600 * 1_000_000
MSS = 1448  # payload of a full-size segment (1460 MSS less 12 bytes, as behind most firewalls)

# Packet categories, for the mix summary.
CAT_DNS_UDP, CAT_DNS_TCP, CAT_TLS_HELLO, CAT_HTTP_GET, CAT_TCP, CAT_NOISE = range(6)
CAT_NAMES = ("dns-udp", "dns-tcp", "tls-clienthello", "http-get", "tcp-other", "noise")

# Name sources, as recorded in the names file.
SRC_QUERY, SRC_ANSWER, SRC_SNI, SRC_HOST = "dns_query", "dns_answer", "sni", "http_host"

ETH = struct.Struct("!6s6sH")
IP4 = struct.Struct("!BBHHHBBH4s4s")
IP6 = struct.Struct("!IHBB16s16s")
TCP = struct.Struct("!HHIIBBHHH")
UDP = struct.Struct("!HHHH")
U16 = struct.Struct("!H")
RR = struct.Struct("!HHIH")
PCAP_HEADER = struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1)
PCAP_RECORD = struct.Struct("<IIII")

FIN, SYN, RST, PSH, ACK = 0x01, 0x02, 0x04, 0x08, 0x10
ETH_IP4, ETH_IP6, ETH_ARP = 0x0800, 0x86DD, 0x0806
PROTO_ICMP, PROTO_TCP, PROTO_UDP = 1, 6, 17

ROUTER_MAC = bytes.fromhex("001b17000101")  # the school's firewall, default gateway of all VLANs
RESOLVER4 = bytes([10, 0, 0, 53])
RESOLVER6 = bytes.fromhex("fd5c2f1a7e0100000000000000000053")
PUBLIC_RESOLVERS4 = (bytes([8, 8, 8, 8]), bytes([1, 1, 1, 1]))
NTP_SERVER4 = bytes([10, 0, 0, 123])
ULA_PREFIX = bytes.fromhex("fd5c2f1a7e01")  # fd5c:2f1a:7e01::/48, one /64 per VLAN

# Lesson timetable: (minutes after 08:00, relative traffic intensity until the next entry).
TIMETABLE = (
    (0, 1.0), (30, 2.0), (130, 3.5), (150, 2.0), (250, 4.0), (280, 2.0), (390, 3.0),
    (405, 2.0), (455, 0.6),
)


@dataclass(slots=True)
class Client:
    """A pupil's or staff member's device: addresses, and the TLS stack it speaks."""

    mac: bytes
    ip4: bytes
    ip6: bytes | None
    ttl: int
    profile: str  # chrome | firefox | safari | okhttp


def checksum(total: int) -> int:
    """Internet checksum from a sum of big-endian chunks, each taken modulo 0xFFFF.

    The one's-complement sum of 16-bit words is congruent to the whole buffer read as one
    big-endian integer modulo 0xFFFF, so `int.from_bytes` does the word loop in C.
    """
    return 0xFFFF - total % 0xFFFF


def payload_sum(data: bytes) -> int:
    """The checksum contribution of data starting at an even offset (odd tail zero-padded)."""
    value = int.from_bytes(data, "big")
    return value << 8 if len(data) & 1 else value


def pad60(frame: bytes) -> bytes:
    """Ethernet minimum frame size, as a mirror port delivers short frames."""
    return frame + bytes(60 - len(frame)) if len(frame) < 60 else frame


class Net:
    """Raw frame builders with real checksums; the only per-packet hot path."""

    def __init__(self) -> None:
        self.ip_id = 0

    def ip(self, eth: bytes, src: bytes, dst: bytes, proto: int, ttl: int, seg: bytes) -> bytes:
        """Wrap a transport segment (its checksum already filled in) in IPv4 or IPv6."""
        if len(src) == 4:
            self.ip_id = (self.ip_id + 1) & 0xFFFF
            hdr = IP4.pack(0x45, 0, 20 + len(seg), self.ip_id, 0x4000, ttl, proto, 0, src, dst)
            cs = checksum(int.from_bytes(hdr, "big"))
            hdr = IP4.pack(0x45, 0, 20 + len(seg), self.ip_id, 0x4000, ttl, proto, cs, src, dst)
        else:
            hdr = IP6.pack(0x60000000, len(seg), proto, ttl, src, dst)
        return pad60(eth + hdr + seg)

    def udp(self, eth: bytes, src: bytes, dst: bytes, sport: int, dport: int, ttl: int,
            payload: bytes) -> bytes:
        length = 8 + len(payload)
        total = (int.from_bytes(src, "big") + int.from_bytes(dst, "big") + PROTO_UDP + length
                 + sport + dport + length + payload_sum(payload))
        cs = checksum(total) or 0xFFFF
        return self.ip(eth, src, dst, PROTO_UDP, ttl, UDP.pack(sport, dport, length, cs) + payload)

    def icmp4(self, eth: bytes, src: bytes, dst: bytes, ttl: int, kind: int, ident: int,
              seq: int, payload: bytes) -> bytes:
        body = struct.pack("!BBHHH", kind, 0, 0, ident, seq) + payload
        cs = checksum(payload_sum(body))
        body = body[:2] + U16.pack(cs) + body[4:]
        return self.ip(eth, src, dst, PROTO_ICMP, ttl, body)


class Flow:
    """One TCP connection seen from the mirror port, keeping both sides' sequence numbers."""

    __slots__ = ("addr_sum", "cip", "client", "cport", "cseq", "eth_c2s", "eth_s2c", "net",
                 "server", "sport", "sseq", "ttl_s")

    def __init__(self, net: Net, client: Client, server: bytes, cport: int, sport: int,
                 rng: random.Random) -> None:
        self.net = net
        self.client = client
        self.server = server
        self.cport = cport
        self.sport = sport
        self.cseq = rng.getrandbits(32)
        self.sseq = rng.getrandbits(32)
        self.ttl_s = 64 if server[:1] in (b"\x0a", b"\xfd") else rng.choice((52, 56, 57, 117))
        self.eth_c2s = ETH.pack(ROUTER_MAC, client.mac, ETH_IP4 if len(server) == 4 else ETH_IP6)
        self.eth_s2c = ETH.pack(client.mac, ROUTER_MAC, ETH_IP4 if len(server) == 4 else ETH_IP6)
        cip = client.ip4 if len(server) == 4 else client.ip6
        assert cip is not None, "IPv6 flow from a client without an IPv6 address"
        self.cip: bytes = cip
        self.addr_sum = int.from_bytes(cip, "big") + int.from_bytes(server, "big") + PROTO_TCP

    def send(self, c2s: bool, flags: int, payload: bytes = b"", opts: bytes = b"") -> bytes:
        """A segment in one direction; advances that side's sequence number."""
        if c2s:
            sp, dp, seq, ack, win = self.cport, self.sport, self.cseq, self.sseq, 1026
            src, dst, ttl, eth = self.cip, self.server, self.client.ttl, self.eth_c2s
        else:
            sp, dp, seq, ack, win = self.sport, self.cport, self.sseq, self.cseq, 501
            src, dst, ttl, eth = self.server, self.cip, self.ttl_s, self.eth_s2c
        if flags & SYN:
            win = 64240 if c2s else 65535
        if not flags & ACK:
            ack = 0
        hl = 20 + len(opts)
        hdr = TCP.pack(sp, dp, seq, ack, hl << 2, flags, win, 0, 0) + opts
        total = (self.addr_sum + hl + len(payload) + int.from_bytes(hdr, "big")
                 + payload_sum(payload))
        hdr = TCP.pack(sp, dp, seq, ack, hl << 2, flags, win, checksum(total), 0) + opts
        advance = len(payload) + (1 if flags & (SYN | FIN) else 0)
        if c2s:
            self.cseq = (seq + advance) & 0xFFFFFFFF
        else:
            self.sseq = (seq + advance) & 0xFFFFFFFF
        return self.net.ip(eth, src, dst, PROTO_TCP, ttl, hdr + payload)


# --- DNS -------------------------------------------------------------------------------------


def dns_name(name: str) -> bytes:
    """Uncompressed wire form, as in every question section."""
    out = bytearray()
    for label in name.split("."):
        raw = label.encode("ascii")
        out.append(len(raw))
        out += raw
    out.append(0)
    return bytes(out)


def dns_name_compressed(name: str, buf: bytearray, table: dict[str, int]) -> bytes:
    """Wire form that points at the longest suffix already in the message (RFC 1035 4.1.4)."""
    labels = name.split(".")
    out = bytearray()
    for i in range(len(labels)):
        suffix = ".".join(labels[i:])
        ptr = table.get(suffix)
        if ptr is not None:
            out += U16.pack(0xC000 | ptr)
            return bytes(out)
        offset = len(buf) + len(out)
        if offset < 0x3FFF:
            table[suffix] = offset
        raw = labels[i].encode("ascii")
        out.append(len(raw))
        out += raw
    out.append(0)
    return bytes(out)


def remember_question(name: str, table: dict[str, int]) -> None:
    """Register the question name's suffixes at their offsets, starting at byte 12."""
    offset = 12
    labels = name.split(".")
    for i, label in enumerate(labels):
        table[".".join(labels[i:])] = offset
        offset += 1 + len(label)


EDNS_OPT = b"\x00" + RR.pack(41, 1232, 0, 0)  # root owner, OPT, UDP size, no options


def dns_query(qid: int, name: str, qtype: int, edns: bool, wire: bytes) -> bytes:
    header = struct.pack("!HHHHHH", qid, 0x0100, 1, 0, 0, 1 if edns else 0)
    return header + wire + struct.pack("!HH", qtype, 1) + (EDNS_OPT if edns else b"")


def dns_response(qid: int, name: str, qtype: int, edns: bool, wire: bytes, chain: list[str],
                 addrs: list[bytes], ttl: int) -> bytes:
    """A recursive resolver's answer: the CNAME chain, then the addresses, all compressed."""
    buf = bytearray(struct.pack("!HHHHHH", qid, 0x8180, 1, len(chain) - 1 + len(addrs), 0,
                                1 if edns else 0))
    buf += wire
    buf += struct.pack("!HH", qtype, 1)
    table: dict[str, int] = {}
    remember_question(name, table)
    for owner, target in itertools.pairwise(chain):
        buf += dns_name_compressed(owner, buf, table)
        rr_at = len(buf)
        buf += RR.pack(5, 1, ttl, 0)
        rdata = dns_name_compressed(target, buf, table)
        buf += rdata
        buf[rr_at + 8:rr_at + 10] = U16.pack(len(rdata))
    for addr in addrs:
        buf += dns_name_compressed(chain[-1], buf, table)
        buf += RR.pack(qtype, 1, ttl, len(addr))
        buf += addr
    if edns:
        buf += EDNS_OPT
    return bytes(buf)


# --- TLS -------------------------------------------------------------------------------------

GREASE = tuple(0x0A0A + 0x1010 * i for i in range(16))
CIPHERS = {
    "chrome": (0x1301, 0x1302, 0x1303, 0xC02B, 0xC02F, 0xC02C, 0xC030, 0xCCA9, 0xCCA8, 0xC013,
               0xC014, 0x009C, 0x009D, 0x002F, 0x0035),
    "firefox": (0x1301, 0x1303, 0x1302, 0xC02B, 0xC02F, 0xCCA9, 0xCCA8, 0xC02C, 0xC030, 0xC00A,
                0xC009, 0xC013, 0xC014, 0x009C, 0x009D, 0x002F, 0x0035),
    "safari": (0x1301, 0x1302, 0x1303, 0xC02C, 0xC02B, 0xCCA9, 0xC030, 0xC02F, 0xCCA8, 0xC00A,
               0xC009, 0xC014, 0xC013, 0x009D, 0x009C, 0x0035, 0x002F, 0xC008, 0xC012, 0x000A),
    "okhttp": (0x1301, 0x1302, 0x1303, 0xC02B, 0xC02C, 0xCCA9, 0xC02F, 0xC030, 0xCCA8, 0xC013,
               0xC014, 0x009C, 0x009D, 0x002F, 0x0035),
}
SIG_ALGS = (0x0403, 0x0804, 0x0401, 0x0503, 0x0805, 0x0501, 0x0806, 0x0601)
X25519, SECP256R1, SECP384R1, X25519MLKEM768 = 0x001D, 0x0017, 0x0018, 0x11EC


def ext(kind: int, body: bytes) -> bytes:
    return U16.pack(kind) + U16.pack(len(body)) + body


def u16_list(values: tuple[int, ...] | list[int]) -> bytes:
    return struct.pack(f"!{len(values)}H", *values)


def vec16(body: bytes) -> bytes:
    return U16.pack(len(body)) + body


def client_hello(rng: random.Random, profile: str, sni: str, pq: bool) -> bytes:
    """A TLS record holding a ClientHello the way the browser family `profile` builds it.

    `pq` adds the X25519MLKEM768 key share Chrome sends since 2024, which pushes the hello
    past one segment: the reason real SNIs sit in the second TCP segment.
    """
    grease = profile in ("chrome", "safari")
    g1, g2, g3, g4 = rng.sample(GREASE, 4)
    host = sni.encode("ascii")
    alpn = b"\x02h2\x08http/1.1"
    groups = [X25519, SECP256R1, SECP384R1]
    shares = U16.pack(X25519) + vec16(rng.randbytes(32))
    if pq:
        groups.insert(0, X25519MLKEM768)
        shares = U16.pack(X25519MLKEM768) + vec16(rng.randbytes(1216)) + shares
    if grease:
        groups.insert(0, g2)
        shares = U16.pack(g2) + b"\x00\x01\x00" + shares
    if profile == "firefox":
        groups += [0x0019, 0x0100, 0x0101]
        shares += U16.pack(SECP256R1) + vec16(b"\x04" + rng.randbytes(64))
    versions = [0x0304, 0x0303]
    if grease:
        versions.insert(0, g3)
    if profile == "safari":
        versions += [0x0302, 0x0301]
    exts = [
        ext(0x0000, vec16(b"\x00" + vec16(host))),  # server_name
        ext(0x0017, b""),  # extended_master_secret
        ext(0xFF01, b"\x00"),  # renegotiation_info
        ext(0x000A, vec16(u16_list(groups))),  # supported_groups
        ext(0x000B, b"\x01\x00"),  # ec_point_formats
        ext(0x0010, vec16(alpn)),  # application_layer_protocol_negotiation
        ext(0x0005, b"\x01\x00\x00\x00\x00"),  # status_request
        ext(0x000D, vec16(u16_list(SIG_ALGS))),  # signature_algorithms
        ext(0x0033, vec16(shares)),  # key_share
        ext(0x002D, b"\x01\x01"),  # psk_key_exchange_modes
        ext(0x002B, bytes([2 * len(versions)]) + u16_list(versions)),  # supported_versions
    ]
    if profile != "safari":
        exts.append(ext(0x0023, b""))  # session_ticket
    if profile in ("chrome", "safari"):
        exts.append(ext(0x0012, b""))  # signed_certificate_timestamp
        exts.append(ext(0x001B, b"\x02\x00\x02" if profile == "chrome" else b"\x02\x00\x01"))
    if profile == "chrome":
        exts.append(ext(0x44CD, vec16(b"\x02h2")))  # application_settings
        rng.shuffle(exts)  # Chrome permutes its extensions since version 110
    if profile == "firefox":
        exts.append(ext(0x001C, b"\x40\x01"))  # record_size_limit
    if grease:
        exts = [ext(g1, b""), *exts, ext(g4, b"\x00")]
    ciphers = list(CIPHERS[profile])
    if grease:
        ciphers.insert(0, g1)
    body = (b"\x03\x03" + rng.randbytes(32) + b"\x20" + rng.randbytes(32)
            + vec16(u16_list(ciphers)) + b"\x01\x00")
    ext_bytes = b"".join(exts)
    unpadded = 4 + len(body) + 2 + len(ext_bytes)
    if 0xFF < unpadded < 0x200:  # BoringSSL/NSS pad hellos in this range to 512 bytes
        pad = 0x200 - unpadded
        pad = pad - 4 if pad >= 5 else 1
        ext_bytes += ext(0x0015, bytes(pad))
    hello = body + vec16(ext_bytes)
    handshake = b"\x01" + len(hello).to_bytes(3, "big") + hello
    return b"\x16\x03\x01" + vec16(handshake)


def server_hello(rng: random.Random) -> bytes:
    """ServerHello + ChangeCipherSpec records, as a TLS 1.3 server sends them."""
    exts = ext(0x002B, b"\x03\x04") + ext(0x0033, U16.pack(X25519) + vec16(rng.randbytes(32)))
    hello = (b"\x03\x03" + rng.randbytes(32) + b"\x20" + rng.randbytes(32) + b"\x13\x01\x00"
             + vec16(exts))
    handshake = b"\x02" + len(hello).to_bytes(3, "big") + hello
    return b"\x16\x03\x03" + vec16(handshake) + b"\x14\x03\x03\x00\x01\x01"


# --- the day ---------------------------------------------------------------------------------


Names = tuple[tuple[str, str], ...]  # (source, name) pairs a packet puts on the wire
Pkt = tuple[int, bytes, int, Names]  # (microseconds after session start, frame, category, names)
NO_NAMES: Names = ()


class SchoolDay:
    """Draws sessions (a DNS lookup, a TLS connection, ...) and turns them into frames."""

    def __init__(self, packets: int, seed: int, clients: int, example: bool) -> None:
        self.rng = random.Random(seed)
        self.net = Net()
        self.target = packets
        self.example = example
        self.max_payload = 40 if example else MSS  # the demo file must stay small
        self.bulk_cap = max(12, packets // 400)
        self.pool = self.rng.randbytes(1 << 16)
        self.clients = self._make_clients(clients)
        self.client_cum = list(_cumulative([1.0 / (i + 3) ** 0.5 for i in range(clients)]))
        self.names, self.name_cum = self._make_names(example)
        self.http_hosts = list(HTTP_HOSTS)
        self.chains: dict[str, list[str]] = {}
        self.addrs: dict[tuple[str, int], list[bytes]] = {}
        self.wire: dict[str, bytes] = {}
        self.rtt: dict[bytes, int] = {}
        minute_w = [0.0] * 480
        for (start, weight), (end, _) in zip(TIMETABLE, [*TIMETABLE[1:], (480, 0)], strict=True):
            for m in range(start, end):
                minute_w[m] = weight
        self.minute_cum = list(_cumulative(minute_w))

    # -- population

    def _make_clients(self, count: int) -> list[Client]:
        rng = self.rng
        out: list[Client] = []
        used: set[bytes] = set()
        for i in range(count):
            staff = i % 7 == 0
            while True:
                ip4 = bytes((10, 2, rng.randrange(8), rng.randrange(2, 255)) if staff else
                            (10, 1, rng.randrange(64), rng.randrange(2, 255)))
                if ip4 not in used:
                    used.add(ip4)
                    break
            if staff:
                profile = rng.choices(("chrome", "firefox", "safari"), (60, 15, 25))[0]
            else:
                profile = rng.choices(("chrome", "safari", "okhttp"), (50, 30, 20))[0]
            if rng.random() < 0.6 and not staff:  # phones use a random, locally administered MAC
                mac = bytes([(rng.getrandbits(8) & 0xFC) | 0x02]) + rng.randbytes(5)
            else:
                mac = rng.choice((b"\x3c\x22\xfb", b"\xa4\x83\xe7", b"\x00\x1c\xbf",
                                  b"\xf0\x18\x98")) + rng.randbytes(3)
            ip6 = None
            if rng.random() < 0.2:
                ip6 = ULA_PREFIX + bytes((0, ip4[1])) + rng.randbytes(8)
            ttl = 128 if profile in ("chrome", "firefox") and staff else 64
            out.append(Client(mac, ip4, ip6, ttl, profile))
        return out

    def _make_names(self, example: bool) -> tuple[list[str], list[float]]:
        """Well-known names first (Zipf s=0.9), then the long tail at a third of the weight.

        The example uses a flatter s=0.4 so a few thousand packets still show most apps.
        """
        rng = self.rng
        known = well_known_names()
        rng.shuffle(known)
        for top in ("login.microsoftonline.com", "www.google.com", "www.youtube.com"):
            known.remove(top)
            known.insert(0, top)
        skew = 0.4 if example else 0.9
        weights = [1.0 / (r + 1) ** skew for r in range(len(known))]
        names = list(known)
        if not example:
            tlds = ("com", "net", "nl", "io", "org", "eu", "de", "app")
            prefixes = ("cdn", "api", "static", "img", "www", "assets", "edge", "media", "login",
                        "ws", "eu", "app", "track", "s", "files", "video", "auth", "m")
            tail: dict[str, None] = {}
            domains = [f"example-tail{k}.{tlds[k % len(tlds)]}" for k in range(320)]
            while len(tail) < 5000:
                domain = domains[min(int(rng.paretovariate(0.8)) - 1, len(domains) - 1)]
                label = f"{rng.choice(prefixes)}-{rng.randrange(1, 60)}"
                if rng.random() < 0.2:
                    label += f".{rng.choice(('eu', 'us', 'prod', 'v2'))}"
                tail.setdefault(f"{label}.{domain}", None)
            names += tail
            weights += [0.3 / (r + 1) for r in range(len(tail))]
        return names, list(_cumulative(weights))

    def pick_name(self) -> str:
        return self.names[bisect.bisect(self.name_cum, self.rng.random() * self.name_cum[-1])]

    def pick_client(self) -> Client:
        r = self.rng.random() * self.client_cum[-1]
        return self.clients[bisect.bisect(self.client_cum, r)]

    def chain(self, name: str) -> list[str]:
        """The CNAME chain a resolver returns for name (itself first), stable for the day."""
        got = self.chains.get(name)
        if got is None:
            h = _hash(name)
            got = [name, *CNAME_CHAINS.get(name, ())]
            if len(got) == 1 and name not in HTTP_HOSTS and h % 100 < 25 and ".example-" in name:
                edge = f"example-edge{h % 17}.net"
                got.append(f"{name.split('.')[0]}-{h % 997}.{edge}")
                if h % 7 == 0:
                    got.append(f"e{h % 9973}.a.{edge}")
            self.chains[name] = got
        return got

    def addresses(self, name: str, family: int) -> list[bytes]:
        """Where name lives: 1-4 IPv4 or 1-2 IPv6 addresses derived from its hash."""
        key = (name, family)
        got = self.addrs.get(key)
        if got is None:
            h = _hash(name)
            digest = hashlib.sha256(name.encode()).digest()
            if family == 4:
                firsts = (13, 20, 23, 34, 35, 40, 52, 104, 142, 151, 157, 185, 195, 213)
                got = [bytes((firsts[h % len(firsts)], digest[i], digest[i + 1], 1 + digest[i + 2]
                              % 254)) for i in range(0, 3 * (1 + h % 4), 3)]
            else:
                got = [bytes.fromhex(f"2a0{h % 16:x}") + digest[i:i + 14]
                       for i in range(0, 1 + (h >> 8) % 2)]
            self.addrs[key] = got
        return got

    def server_rtt(self, server: bytes) -> int:
        got = self.rtt.get(server)
        if got is None:
            got = 300 if server[:1] in (b"\x0a", b"\xfd") else 2_000 + _hash(server.hex()) % 38_000
            self.rtt[server] = got
        return got

    def time_at(self, fraction: float) -> int:
        """Map the share of the day's packets written so far onto the lesson timetable."""
        r = fraction * self.minute_cum[-1]
        m = min(bisect.bisect(self.minute_cum, r), 479)
        lo = self.minute_cum[m - 1] if m else 0.0
        within = (r - lo) / (self.minute_cum[m] - lo)
        return DAY_START_US + int((m + within) * 60_000_000)

    # -- sessions

    def session(self) -> list[Pkt]:
        kind = self.rng.random()
        if kind < 0.42:
            return self.dns_udp()
        if kind < 0.84:
            return self.tls()
        if kind < 0.924:
            return self.http()
        if kind < 0.958:
            return self.dns_tcp()
        return self.noise()

    def _dns_exchange(self, client: Client, v6: bool) -> tuple[str, bytes, bytes, Names]:
        """Query and answer for a name drawn for client; the answer carries the CNAME chain."""
        rng = self.rng
        name = self.pick_name()
        wire = self.wire.get(name)
        if wire is None:
            wire = self.wire[name] = dns_name(name)
        qtype = 28 if (v6 and rng.random() < 0.6) or rng.random() < 0.3 else 1
        edns = client.profile != "chrome" or rng.random() < 0.3
        qid = rng.getrandbits(16)
        chain = self.chain(name)
        addrs = self.addresses(chain[-1], 6 if qtype == 28 else 4)
        ttl = rng.randrange(5, 3600)
        query = dns_query(qid, name, qtype, edns, wire)
        answer = dns_response(qid, name, qtype, edns, wire, chain, addrs, ttl)
        names: Names = tuple((SRC_ANSWER, n) for n in chain)
        return name, query, answer, names

    def dns_udp(self) -> list[Pkt]:
        rng, net = self.rng, self.net
        client = self.pick_client()
        v6 = client.ip6 is not None and rng.random() < 0.5
        name, query, answer, names = self._dns_exchange(client, v6)
        if v6:
            assert client.ip6 is not None
            src, dst, etype = client.ip6, RESOLVER6, ETH_IP6
        else:
            src, etype = client.ip4, ETH_IP4
            dst = RESOLVER4 if rng.random() < 0.92 else rng.choice(PUBLIC_RESOLVERS4)
        sport = rng.randrange(49152, 65536)
        delay = rng.randrange(200, 1500) if rng.random() < 0.7 else rng.randrange(5_000, 90_000)
        out = net.udp(ETH.pack(ROUTER_MAC, client.mac, etype), src, dst, sport, 53, client.ttl,
                      query)
        back = net.udp(ETH.pack(client.mac, ROUTER_MAC, etype), dst, src, 53, sport, 63, answer)
        return [(0, out, CAT_DNS_UDP, ((SRC_QUERY, name),)), (delay, back, CAT_DNS_UDP, names)]

    def dns_tcp(self) -> list[Pkt]:
        rng = self.rng
        client = self.pick_client()
        v6 = client.ip6 is not None and rng.random() < 0.5
        name, query, answer, names = self._dns_exchange(client, v6)
        flow = Flow(self.net, client, RESOLVER6 if v6 else RESOLVER4,
                    rng.randrange(49152, 65536), 53, rng)
        pkts = self._handshake(flow, 300)
        t = pkts[-1][0] + 100
        msg = U16.pack(len(query)) + query
        if rng.random() < 0.15:  # some stubs write the length prefix on its own
            pkts.append((t, flow.send(True, PSH | ACK, msg[:2]), CAT_DNS_TCP, NO_NAMES))
            t += 60
            pkts.append((t, flow.send(False, ACK), CAT_TCP, NO_NAMES))
            pkts.append((t + 40, flow.send(True, PSH | ACK, msg[2:]), CAT_DNS_TCP,
                         ((SRC_QUERY, name),)))
            t += 40
        else:
            pkts.append((t, flow.send(True, PSH | ACK, msg), CAT_DNS_TCP, ((SRC_QUERY, name),)))
        t += rng.randrange(300, 40_000)
        pkts.append((t, flow.send(False, PSH | ACK, U16.pack(len(answer)) + answer), CAT_DNS_TCP,
                     names))
        pkts += self._close(flow, t + 200, 300)
        return pkts

    def _handshake(self, flow: Flow, rtt: int) -> list[Pkt]:
        syn_opts = b"\x02\x04\x05\xb4\x01\x03\x03\x08\x01\x01\x04\x02"  # MSS, WS, SACK_PERM
        synack_opts = b"\x02\x04\x05\xb4\x01\x01\x04\x02\x01\x03\x03\x07"
        return [
            (0, flow.send(True, SYN, opts=syn_opts), CAT_TCP, NO_NAMES),
            (rtt, flow.send(False, SYN | ACK, opts=synack_opts), CAT_TCP, NO_NAMES),
            (rtt + 150, flow.send(True, ACK), CAT_TCP, NO_NAMES),
        ]

    def _close(self, flow: Flow, t: int, rtt: int) -> list[Pkt]:
        return [
            (t, flow.send(True, FIN | ACK), CAT_TCP, NO_NAMES),
            (t + rtt, flow.send(False, FIN | ACK), CAT_TCP, NO_NAMES),
            (t + rtt + 120, flow.send(True, ACK), CAT_TCP, NO_NAMES),
        ]

    def _records(self, size: int) -> bytes:
        """One TLS application-data record of `size` bytes on the wire, ciphertext-looking."""
        at = self.rng.randrange(len(self.pool) - size)
        return b"\x17\x03\x03" + U16.pack(size - 5) + self.pool[at:at + size - 5]

    def tls(self) -> list[Pkt]:
        rng = self.rng
        client = self.pick_client()
        name = self.pick_name()
        v6 = client.ip6 is not None and rng.random() < 0.5
        addrs = self.addresses(self.chain(name)[-1], 6 if v6 else 4)
        server = addrs[rng.randrange(len(addrs))]
        flow = Flow(self.net, client, server, rng.randrange(49152, 65536), 443, rng)
        rtt = self.server_rtt(server)
        pkts = self._handshake(flow, rtt)
        t = pkts[-1][0] + 80
        split = rng.random() < 0.05
        hello = client_hello(rng, "chrome" if split else client.profile, name, pq=split)
        sni = ((SRC_SNI, name),)
        if split and len(hello) > MSS:
            pkts.append((t, flow.send(True, ACK, hello[:MSS]), CAT_TLS_HELLO, NO_NAMES))
            t += 30
            pkts.append((t, flow.send(True, PSH | ACK, hello[MSS:]), CAT_TLS_HELLO, sni))
        else:
            pkts.append((t, flow.send(True, PSH | ACK, hello), CAT_TLS_HELLO, sni))
        t += rtt
        first = server_hello(rng)
        first += self._records(max(24, self.max_payload - len(first)))
        pkts.append((t, flow.send(False, ACK, first), CAT_TCP, NO_NAMES))
        pkts.append((t + 200, flow.send(False, PSH | ACK, self._records(
            min(self.max_payload, rng.randrange(600, 1400)))), CAT_TCP, NO_NAMES))
        t += 2_000
        pkts.append((t, flow.send(True, PSH | ACK, b"\x14\x03\x03\x00\x01\x01"
                                  + self._records(58)), CAT_TCP, NO_NAMES))
        budget = min(int(rng.paretovariate(1.3) * 1.4) - 1, self.bulk_cap)
        while budget > 0:  # request, a burst of response segments, an ACK every second one
            t += rng.randrange(1_000, 4_000_000) if rng.random() < 0.5 else rng.randrange(50_000)
            size = min(self.max_payload, rng.randrange(60, 900))
            pkts.append((t, flow.send(True, PSH | ACK, self._records(size)), CAT_TCP, NO_NAMES))
            t += rtt
            burst = 1 + int(rng.expovariate(0.3))
            for i in range(burst):
                last = i == burst - 1
                size = rng.randrange(self.max_payload // 3, self.max_payload + 1) if last else (
                    self.max_payload)
                pkts.append((t, flow.send(False, PSH | ACK if last else ACK, self._records(size)),
                             CAT_TCP, NO_NAMES))
                t += rng.randrange(20, 400)
                if i % 2 == 1 or last:
                    pkts.append((t, flow.send(True, ACK), CAT_TCP, NO_NAMES))
                    budget -= 1
            budget -= 1 + burst
        end = rng.random()
        t += rng.randrange(10_000, 20_000_000)
        if end < 0.6:
            pkts.append((t, flow.send(True, PSH | ACK, b"\x15\x03\x03\x00\x13"
                                      + rng.randbytes(19)), CAT_TCP, NO_NAMES))
            pkts += self._close(flow, t + 100, rtt)
        elif end < 0.8:
            pkts.append((t, flow.send(True, RST | ACK), CAT_TCP, NO_NAMES))
        return pkts

    def http(self) -> list[Pkt]:
        rng = self.rng
        client = self.pick_client()
        host = rng.choice(self.http_hosts) if self.example or rng.random() < 0.7 else (
            self.pick_name())
        server = self.addresses(self.chain(host)[-1], 4)[0]
        flow = Flow(self.net, client, server, rng.randrange(49152, 65536), 80, rng)
        rtt = self.server_rtt(server)
        path, agent, status, body = _http_exchange(host, client.profile, rng)
        request = (f"GET {path} HTTP/1.1\r\nHost: {host}\r\nUser-Agent: {agent}\r\n"
                   "Accept: */*\r\nConnection: keep-alive\r\n\r\n").encode()
        response = (f"HTTP/1.1 {status}\r\nDate: Tue, 12 Mar 2024 09:14:07 GMT\r\n"
                    f"Content-Type: text/plain\r\nContent-Length: {len(body)}\r\n"
                    "Cache-Control: max-age=0\r\n\r\n").encode() + body
        pkts = self._handshake(flow, rtt)
        t = pkts[-1][0] + 60
        pkts.append((t, flow.send(True, PSH | ACK, request), CAT_HTTP_GET, ((SRC_HOST, host),)))
        t += rtt
        pkts.append((t, flow.send(False, PSH | ACK, response), CAT_TCP, NO_NAMES))
        pkts += self._close(flow, t + rng.randrange(200, 5_000_000), rtt)
        return pkts

    def noise(self) -> list[Pkt]:
        """ARP, ping and NTP: traffic a scanner must skip without tripping over it."""
        rng, net = self.rng, self.net
        client = self.pick_client()
        kind = rng.random()
        gw = bytes((10, client.ip4[1], 0, 1))
        if kind < 0.4:
            req = ETH.pack(b"\xff" * 6, client.mac, ETH_ARP) + struct.pack(
                "!HHBBH6s4s6s4s", 1, ETH_IP4, 6, 4, 1, client.mac, client.ip4, bytes(6), gw)
            rep = ETH.pack(client.mac, ROUTER_MAC, ETH_ARP) + struct.pack(
                "!HHBBH6s4s6s4s", 1, ETH_IP4, 6, 4, 2, ROUTER_MAC, gw, client.mac, client.ip4)
            return [(0, pad60(req), CAT_NOISE, NO_NAMES), (400, pad60(rep), CAT_NOISE, NO_NAMES)]
        if kind < 0.7:
            dst = rng.choice((*PUBLIC_RESOLVERS4, gw))
            ident, seq = rng.getrandbits(16), rng.randrange(1, 5)
            data = b"abcdefghijklmnopqrstuvwabcdefghi"
            out = net.icmp4(ETH.pack(ROUTER_MAC, client.mac, ETH_IP4), client.ip4, dst,
                            client.ttl, 8, ident, seq, data)
            back = net.icmp4(ETH.pack(client.mac, ROUTER_MAC, ETH_IP4), dst, client.ip4, 117,
                             0, ident, seq, data)
            return [(0, out, CAT_NOISE, NO_NAMES), (9_000, back, CAT_NOISE, NO_NAMES)]
        request = b"\x23" + bytes(39) + rng.randbytes(8)  # NTPv4, client mode
        reply = (b"\x24\x02\x00\xe9" + bytes(8) + b"\x0a\x00\x00\x01" + rng.randbytes(8)
                 + request[40:] + rng.randbytes(16))
        out = net.udp(ETH.pack(ROUTER_MAC, client.mac, ETH_IP4), client.ip4, NTP_SERVER4, 123,
                      123, client.ttl, request)
        back = net.udp(ETH.pack(client.mac, ROUTER_MAC, ETH_IP4), NTP_SERVER4, client.ip4, 123,
                       123, 63, reply)
        return [(0, out, CAT_NOISE, NO_NAMES), (700, back, CAT_NOISE, NO_NAMES)]

    # -- the whole day

    def packets(self) -> Iterator[Pkt]:
        """Frames in timestamp order: sessions start along the timetable and interleave."""
        heap: list[tuple[int, int, bytes, int, Names]] = []
        scheduled = emitted = order = 0
        end = DAY_START_US + DAY_US - 1
        while scheduled < self.target:
            start = self.time_at(scheduled / self.target)
            while heap and heap[0][0] <= start:
                t, _, frame, cat, names = heapq.heappop(heap)
                yield t, frame, cat, names
                emitted += 1
            for offset, frame, cat, names in self.session():
                order += 1
                heapq.heappush(heap, (min(start + offset, end), order, frame, cat, names))
                scheduled += 1
        while heap and emitted < self.target:
            t, _, frame, cat, names = heapq.heappop(heap)
            yield t, frame, cat, names
            emitted += 1


def _http_exchange(host: str, profile: str, rng: random.Random) -> tuple[str, str, str, bytes]:
    """Path, User-Agent, status and body typical for what is fetched from host over HTTP."""
    if host == "www.msftconnecttest.com":
        return "/connecttest.txt", "Microsoft NCSI", "200 OK", b"Microsoft Connect Test"
    if host == "dns.msftncsi.com":
        return "/ncsi.txt", "Microsoft NCSI", "200 OK", b"Microsoft NCSI"
    if host.startswith("connectivitycheck."):
        return "/generate_204", "Dalvik/2.1.0 (Linux; U; Android 14)", "204 No Content", b""
    if host == "captive.apple.com":
        return ("/hotspot-detect.html", "CaptiveNetworkSupport-481.0.1 wispr", "200 OK",
                b"<HTML><HEAD><TITLE>Success</TITLE></HEAD><BODY>Success</BODY></HTML>")
    if host.startswith(("ocsp.", "r3.")):
        return ("/MFMwUTBPME0wSzAJBgUrDgMCGgUABBQ" + rng.randbytes(12).hex(),
                "Microsoft-CryptoAPI/10.0", "200 OK", rng.randbytes(rng.randrange(300, 500)))
    if "windowsupdate" in host:
        return ("/msdownload/update/v3/static/trustedr/en/authrootstl.cab",
                "Microsoft-CryptoAPI/10.0", "304 Not Modified", b"")
    agent = ("Mozilla/5.0 (X11; CrOS x86_64 14541.0.0) AppleWebKit/537.36 (KHTML, like Gecko) "
             "Chrome/122.0.0.0 Safari/537.36")
    if profile == "safari":
        agent = ("Mozilla/5.0 (iPhone; CPU iPhone OS 17_3 like Mac OS X) AppleWebKit/605.1.15 "
                 "(KHTML, like Gecko) Version/17.3 Mobile/15E148 Safari/604.1")
    return "/", agent, "301 Moved Permanently", b""


def _cumulative(weights: list[float]) -> Iterator[float]:
    total = 0.0
    for w in weights:
        total += w
        yield total


def _hash(text: str) -> int:
    """Stable across runs, unlike hash(): the file must not depend on PYTHONHASHSEED."""
    return int.from_bytes(hashlib.blake2b(text.encode(), digest_size=8).digest(), "big")


def write(path: Path, packets: int, seed: int, clients: int, example: bool) -> dict[str, int]:
    """Write the pcap and its names file; return the packet count per category."""
    day = SchoolDay(packets, seed, clients, example)
    counts = [0] * len(CAT_NAMES)
    seen: dict[str, dict[str, None]] = {s: {} for s in (SRC_QUERY, SRC_ANSWER, SRC_SNI, SRC_HOST)}
    record = PCAP_RECORD.pack
    with path.open("wb") as fh:
        fh.write(PCAP_HEADER)
        chunk: list[bytes] = []
        for t, frame, cat, names in day.packets():
            chunk.append(record(t // 1_000_000, t % 1_000_000, len(frame), len(frame)))
            chunk.append(frame)
            counts[cat] += 1
            for source, name in names:
                seen[source][name] = None
            if len(chunk) >= 20_000:
                fh.write(b"".join(chunk))
                chunk.clear()
        fh.write(b"".join(chunk))
    by_source = {source: sorted(names) for source, names in seen.items()}
    every = sorted({n for names in seen.values() for n in names})
    meta = {"packets": sum(counts), "seed": seed, "clients": clients, "example": example,
            "names": every, "by_source": by_source}
    Path(f"{path}.names.json").write_text(json.dumps(meta, indent=1) + "\n", encoding="utf-8")
    return dict(zip(CAT_NAMES, counts, strict=True))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("out", type=Path, help="pcap file to write")
    parser.add_argument("--packets", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--clients", type=int, default=600)
    parser.add_argument("--example", action="store_true",
                        help="well-known apps only and short payloads: a small demo file")
    args = parser.parse_args(argv)
    if args.packets < 1 or args.clients < 1:
        parser.error("--packets and --clients must be positive")
    started = time.perf_counter()
    counts = write(args.out, args.packets, args.seed, args.clients, args.example)
    elapsed = time.perf_counter() - started
    total = sum(counts.values())
    mix = ", ".join(f"{k} {100 * v / total:.1f}%" for k, v in counts.items())
    print(f"{args.out}: {total} packets, {args.out.stat().st_size / 1e6:.1f} MB in "
          f"{elapsed:.1f} s ({total / elapsed:,.0f} packets/s); {mix}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
