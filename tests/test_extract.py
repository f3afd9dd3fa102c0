"""Link layers, tunnels and TCP reassembly, on frames built byte for byte."""

from __future__ import annotations

import ipaddress
import struct

import dns.flags
import dns.message
import pytest
from scapy.contrib.mpls import MPLS
from scapy.layers.inet import GRE, IP, TCP, UDP
from scapy.layers.inet6 import IPv6, IPv6ExtHdrDestOpt, IPv6ExtHdrHopByHop
from scapy.layers.l2 import CookedLinux, Dot1AD, Dot1Q
from scapy.layers.ppp import PPP, PPPoE
from scapy.packet import Packet, Raw

from scanner.extract import Dissector
from tests.packets import (
    CLIENT,
    client_hello,
    dns_query,
    dns_response,
    ether,
    split_records,
    tcp_segments,
    udp_dns,
)

ETHERNET, RAW, NULL, SLL, SLL2, PPP_LINK = 1, 101, 0, 113, 276, 9


def names(frames: list[bytes | Packet], linktype: int = ETHERNET) -> set[tuple[str, str]]:
    dissector = Dissector()
    for number, frame in enumerate(frames, 1):
        dissector.frame(number, float(number), linktype, bytes(frame))
    return {(item.how, item.name) for item in dissector.drain()}


QUERY = dns_query("school.magister.net")
INNER = IP(src=CLIENT, dst="192.0.2.53") / UDP(sport=40000, dport=53) / Raw(QUERY)
EXPECTED = {("dns", "school.magister.net")}


@pytest.mark.parametrize("frame, linktype", [
    (ether() / INNER, ETHERNET),
    (ether() / Dot1Q(vlan=10) / INNER, ETHERNET),
    (ether() / Dot1AD(vlan=100) / Dot1Q(vlan=10) / INNER, ETHERNET),
    (ether(type=0x8847) / MPLS(label=16, s=0) / MPLS(label=17, s=1) / INNER, ETHERNET),
    (ether() / PPPoE(sessionid=1) / PPP(proto=0x0021) / INNER, ETHERNET),
    (PPP(proto=0x0021) / INNER, PPP_LINK),
    (CookedLinux(proto=0x0800) / INNER, SLL),
    (struct.pack("!HHIHBB8s", 0x0800, 0, 2, 1, 0, 6, b"\x00" * 8) + bytes(INNER), SLL2),
    (bytes(INNER), RAW),
    (struct.pack("<I", 2) + bytes(INNER), NULL),
    (struct.pack(">I", 2) + bytes(INNER), 108),
    (ether() / IP(src="198.51.100.1", dst="198.51.100.2") / INNER, ETHERNET),  # IP-in-IP
    (ether() / IPv6(src="fd00::1", dst="fd00::2") / INNER, ETHERNET),  # 4in6
    (ether() / IP(src="198.51.100.1", dst="198.51.100.2") / GRE(proto=0x0800) / INNER,
     ETHERNET),
    (ether() / IP(src="198.51.100.1", dst="198.51.100.2") / GRE(proto=0x6558) / ether()
     / INNER, ETHERNET),
    (ether() / IP(src="198.51.100.1", dst="198.51.100.2")
     / GRE(proto=0x88BE, seqnum_present=1, sequence_number=5)
     / Raw(b"\x10\x00\x00\x01\x00\x00\x00\x00") / ether() / INNER, ETHERNET),  # ERSPAN II
    (ether() / IP(src="198.51.100.1", dst="198.51.100.2") / GRE(proto=0x22EB)
     / Raw(b"\x20\x00\x00\x01" + b"\x00" * 8) / ether() / INNER, ETHERNET),  # ERSPAN III
])
def test_link_layers_and_tunnels(frame: bytes | Packet, linktype: int) -> None:
    assert names([frame], linktype) == EXPECTED


def test_ipv6_extension_headers() -> None:
    packet = (ether() / IPv6(src="fd00::3", dst="fd00::53") / IPv6ExtHdrHopByHop()
              / IPv6ExtHdrDestOpt() / UDP(sport=40000, dport=53) / Raw(QUERY))
    assert names([packet]) == EXPECTED


def test_ipv4_fragments_are_reassembled_in_any_order() -> None:
    from scapy.layers.inet import fragment

    big = dns_response("cdn.example.org", [f"hop{i}.long-label-{i:02d}.example.net"
                                           for i in range(20)])
    packet = IP(src="192.0.2.53", dst=CLIENT, id=77) / UDP(sport=53, dport=40000) / Raw(big)
    pieces = [ether() / piece for piece in fragment(packet, fragsize=200)]
    assert len(pieces) > 3
    found = names(list(reversed(pieces)))
    assert ("cname", "hop19.long-label-19.example.net") in found
    assert ("answer", "cdn.example.org") in found


def test_dns_response_names_and_cname_chain() -> None:
    response = dns_response("elo.school.example", ["school.itslearning.com", "lb.example-cdn.net"])
    assert names([udp_dns(response, response=True)]) == {
        ("answer", "elo.school.example"), ("cname", "school.itslearning.com"),
        ("answer", "school.itslearning.com"), ("cname", "lb.example-cdn.net"),
        ("answer", "lb.example-cdn.net"),
    }


def test_a_secure_update_key_name_is_a_name_of_the_schools_own_network() -> None:
    """Windows clients open a secure dynamic update with a TKEY query for a key name; Zeek
    logs it in dns.log, tshark lists it among the queries. It is counted, marked `local`
    like an mDNS name, so it is never stored as an app's domain."""
    key = dns.message.make_query("1068-ms-7.328-2f024d4.7a9463b8-b109-11ed", "TKEY")
    frames = [ether() / IP(src=CLIENT, dst="192.0.2.53") / UDP(sport=40001, dport=53)
              / Raw(wire) for wire in (key.to_wire(), QUERY)]
    dissector = Dissector()
    for number, frame in enumerate(frames, 1):
        dissector.frame(number, float(number), ETHERNET, bytes(frame))
    assert [(item.how, item.name, item.local) for item in dissector.drain()] == [
        ("dns", "1068-ms-7.328-2f024d4.7a9463b8-b109-11ed", "key"),
        ("dns", "school.magister.net", "")]


def test_a_resolver_iterating_is_no_device() -> None:
    """A query without recursion desired, and its answer, come from a resolver iterating:
    the names count, the resolver is no device."""
    iterative = dns.message.make_query("school.magister.net", "A")
    iterative.flags &= ~dns.flags.RD
    frames = [ether() / IP(src=CLIENT, dst="192.0.2.53") / UDP(sport=40002, dport=53)
              / Raw(QUERY),
              ether() / IP(src="10.0.0.53", dst="192.0.2.1") / UDP(sport=40003, dport=53)
              / Raw(iterative.to_wire())]
    dissector = Dissector()
    for number, frame in enumerate(frames, 1):
        dissector.frame(number, float(number), ETHERNET, bytes(frame))
    assert [(item.name, item.client) for item in dissector.drain()] == [
        ("school.magister.net", ipaddress.ip_address(CLIENT).packed),
        ("school.magister.net", b"")]


def test_cname_observations_know_their_alias() -> None:
    dissector = Dissector()
    response = dns_response("elo.school.example", ["school.itslearning.com"])
    dissector.frame(1, 1.0, ETHERNET, bytes(udp_dns(response, response=True)))
    links = {(item.owner, item.name) for item in dissector.drain() if item.how == "cname"}
    assert links == {("elo.school.example", "school.itslearning.com")}


def framed(message: bytes) -> bytes:
    return struct.pack("!H", len(message)) + message


def test_dns_over_tcp_several_messages_in_one_segment_and_one_split() -> None:
    stream = framed(dns_query("a.example.com")) + framed(dns_query("b.example.com", 2)) \
        + framed(dns_query("c.example.com", 3))
    cut = len(stream) - 10  # the third message is split over two segments
    segments = tcp_segments([stream[:cut], stream[cut:]], dport=53)
    assert names(segments) == {("dns", "a.example.com"), ("dns", "b.example.com"),
                               ("dns", "c.example.com")}


def test_dns_over_tcp_on_another_port_is_recognised() -> None:
    assert names(tcp_segments([framed(dns_query("x.example.com"))], dport=8053)) == {
        ("dns", "x.example.com")}


def test_client_hello_split_over_segments_and_out_of_order() -> None:
    record = client_hello("classroom.google.com", padding=3000)
    parts = [record[:7], record[7:1400], record[1400:2800], record[2800:]]
    segments = tcp_segments(parts, dport=443)
    assert names(segments) == {("sni", "classroom.google.com")}
    shuffled = [segments[0], segments[2], segments[1], segments[3]]
    assert names(shuffled) == {("sni", "classroom.google.com")}


def test_client_hello_over_several_records_on_a_non_standard_port() -> None:
    records = split_records(client_hello("kahoot.it", padding=600), 256)
    assert names(tcp_segments([records[:500], records[500:]], dport=8443)) == {
        ("sni", "kahoot.it")}


def test_retransmitted_segment_does_not_confuse_reassembly() -> None:
    record = client_hello("quizlet.com", padding=2000)
    segments = tcp_segments([record[:1000], record[1000:]], dport=443)
    assert names([segments[0], segments[0], segments[1]]) == {("sni", "quizlet.com")}


def test_ipv6_tls() -> None:
    assert names(tcp_segments([client_hello("padlet.com")], dport=443, v6=True)) == {
        ("sni", "padlet.com")}


def test_http_host_on_any_port_split_and_pipelined() -> None:
    first = b"GET / HTTP/1.1\r\nUser-Agent: x\r\nHost: www.Example.ORG:8080\r\n\r\n"
    second = b"POST /a HTTP/1.1\r\nHost: api.example.org\r\nContent-Length: 4\r\n\r\nbody"
    third = b"GET /b HTTP/1.1\r\nHost: cdn.example.org\r\n\r\n"
    stream = first + second + third
    segments = tcp_segments([stream[:20], stream[20:90], stream[90:]], dport=8080)
    assert names(segments) == {("http", "www.example.org"), ("http", "api.example.org"),
                               ("http", "cdn.example.org")}


def test_http_host_that_is_an_address_is_no_name() -> None:
    request = b"GET / HTTP/1.1\r\nHost: 192.0.2.7:8080\r\n\r\n"
    assert names(tcp_segments([request], dport=80)) == set()


def test_damaged_frames_are_counted_with_their_number() -> None:
    dissector = Dissector()
    good = bytes(udp_dns(QUERY))
    dissector.frame(1, 1.0, ETHERNET, good[:20])  # cut inside the IP header
    dissector.frame(2, 2.0, ETHERNET, good[:-8])  # DNS question cut short
    dissector.frame(3, 3.0, ETHERNET, good)
    assert {item.name for item in dissector.drain()} == {"school.magister.net"}
    assert dissector.stats.malformed == 2
    assert dissector.stats.notes[0].startswith("packet #1: cut short or corrupt")
    assert dissector.stats.notes[1] == "packet #2: DNS label runs past the end of the message"


def test_unsupported_link_type_is_noted_once() -> None:
    dissector = Dissector()
    for number in (1, 2):
        dissector.frame(number, 0.0, 147, b"\x00" * 40)
    assert dissector.stats.unsupported_links == 2
    assert dissector.stats.notes == ["packet #1: link type 147 not supported"]


def test_tcp_payload_that_names_nothing_keeps_no_state() -> None:
    dissector = Dissector()
    for number, packet in enumerate(tcp_segments([b"\x17\x03\x03\x00\x10" + b"x" * 16] * 50,
                                                 dport=443), 1):
        dissector.frame(number, 0.0, ETHERNET, bytes(packet))
    assert not dissector._streams
    assert TCP  # imported for readers: segments above are real TCP
