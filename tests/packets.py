"""Build real frames for tests: DNS with dnspython, TLS ClientHellos byte by byte, scapy for
the link layers and tunnels, and a pcap writer for files."""

from __future__ import annotations

import struct
from pathlib import Path

import dns.message
import dns.rrset
from scapy.layers.inet import IP, TCP, UDP
from scapy.layers.inet6 import IPv6
from scapy.layers.l2 import Ether
from scapy.packet import Packet, Raw
from scapy.utils import PcapWriter

CLIENT = "10.1.2.3"


def ether(**fields: object) -> Ether:
    """Ethernet with fixed addresses: scapy would otherwise look up routes and ARP."""
    return Ether(src="02:00:00:00:00:01", dst="02:00:00:00:00:02", **fields)


SERVER = "192.0.2.53"


def dns_query(name: str, ident: int = 1) -> bytes:
    query = dns.message.make_query(name, "A")
    query.id = ident
    return query.to_wire()


def dns_response(name: str, chain: list[str], ident: int = 1) -> bytes:
    """A response for `name` that CNAMEs along `chain` and ends in an A record."""
    query = dns.message.make_query(name, "A")
    query.id = ident
    response = dns.message.make_response(query)
    owner = name
    for target in chain:
        response.answer.append(
            dns.rrset.from_text(owner + ".", 60, "IN", "CNAME", target + "."))
        owner = target
    response.answer.append(dns.rrset.from_text(owner + ".", 60, "IN", "A", "192.0.2.10"))
    return response.to_wire()


def client_hello(server_name: str, padding: int = 0) -> bytes:
    """A TLS 1.3-style ClientHello record with SNI (and optional padding extension)."""
    name = server_name.encode()
    sni = struct.pack("!HHHBH", 0, len(name) + 5, len(name) + 3, 0, len(name)) + name
    versions = struct.pack("!HHB", 43, 3, 2) + b"\x03\x04"
    extensions = sni + versions
    if padding:
        extensions += struct.pack("!HH", 21, padding) + b"\x00" * padding
    body = (b"\x03\x03" + bytes(range(32)) + b"\x00" + b"\x00\x02\x13\x01" + b"\x01\x00"
            + struct.pack("!H", len(extensions)) + extensions)
    handshake = b"\x01" + len(body).to_bytes(3, "big") + body
    return b"\x16\x03\x01" + struct.pack("!H", len(handshake)) + handshake


def split_records(handshake_record: bytes, size: int) -> bytes:
    """The same handshake message spread over several TLS records of `size` bytes."""
    handshake = handshake_record[5:]
    records = b""
    for start in range(0, len(handshake), size):
        chunk = handshake[start : start + size]
        records += b"\x16\x03\x03" + struct.pack("!H", len(chunk)) + chunk
    return records


def udp_dns(payload: bytes, response: bool = False) -> Packet:
    if response:
        return ether() / IP(src=SERVER, dst=CLIENT) / UDP(sport=53, dport=40000) / Raw(payload)
    return ether() / IP(src=CLIENT, dst=SERVER) / UDP(sport=40000, dport=53) / Raw(payload)


def tcp_segments(payloads: list[bytes], dport: int, sport: int = 40001, seq: int = 1000,
                 src: str = CLIENT, dst: str = SERVER, v6: bool = False) -> list[Packet]:
    """Consecutive segments of one direction of a TCP connection."""
    network = IPv6(src="fd00::3", dst="fd00::53") if v6 else IP(src=src, dst=dst)
    packets = []
    for payload in payloads:
        packets.append(ether() / network / TCP(sport=sport, dport=dport, seq=seq, flags="PA")
                       / Raw(payload))
        seq += len(payload)
    return packets


def write_pcap(path: Path, packets: list[Packet], linktype: int | None = None) -> Path:
    writer = PcapWriter(str(path), linktype=linktype, sync=True)
    for packet in packets:
        writer.write(packet)
    writer.close()
    return path


def write_raw_pcap(path: Path, frames: list[bytes], linktype: int, big_endian: bool = False,
                   nanoseconds: bool = False) -> Path:
    """A classic pcap written byte by byte, in either byte order and time resolution."""
    order = ">" if big_endian else "<"
    magic = 0xA1B23C4D if nanoseconds else 0xA1B2C3D4
    data = struct.pack(order + "IHHiIII", magic, 2, 4, 0, 0, 65535, linktype)
    for index, frame in enumerate(frames):
        fraction = 500_000_000 if nanoseconds else 500_000
        data += struct.pack(order + "IIII", 1_700_000_000 + index, fraction, len(frame),
                            len(frame)) + frame
    path.write_bytes(data)
    return path
