"""pcap in both byte orders and resolutions, pcapng sections and interfaces, gzip, damage."""

from __future__ import annotations

import gzip
import struct
from pathlib import Path

import pytest

from scanner.errors import InputError
from scanner.sources.pcap import CaptureReader
from tests.conftest import PCAP
from tests.packets import dns_query, udp_dns, write_raw_pcap

FRAMES = [bytes(udp_dns(dns_query(f"host{i}.example.com", i))) for i in range(3)]


@pytest.mark.parametrize("big_endian", [False, True])
@pytest.mark.parametrize("nanoseconds", [False, True])
def test_classic_pcap_any_byte_order_and_resolution(tmp_path: Path, big_endian: bool,
                                                    nanoseconds: bool) -> None:
    path = write_raw_pcap(tmp_path / "c.pcap", FRAMES, 1, big_endian, nanoseconds)
    frames = list(CaptureReader(path))
    assert [(number, stamp, linktype, data) for number, stamp, linktype, data in frames] == [
        (i + 1, 1_700_000_000 + i + 0.5, 1, FRAMES[i]) for i in range(3)]


def _block(kind: int, body: bytes, order: str = "<") -> bytes:
    body += b"\x00" * (-len(body) % 4)
    length = len(body) + 12
    return struct.pack(order + "II", kind, length) + body + struct.pack(order + "I", length)


def _section(order: str = "<") -> bytes:
    return _block(0x0A0D0D0A, struct.pack(order + "IHHq", 0x1A2B3C4D, 1, 0, -1), order)


def _interface(linktype: int, resolution: int | None = None, order: str = "<") -> bytes:
    options = b""
    if resolution is not None:
        options = struct.pack(order + "HHB3x", 9, 1, resolution) + struct.pack(order + "HH", 0, 0)
    return _block(1, struct.pack(order + "HHI", linktype, 0, 65535) + options, order)


def _packet(interface: int, ticks: int, frame: bytes, order: str = "<") -> bytes:
    head = struct.pack(order + "IIIII", interface, ticks >> 32, ticks & 0xFFFFFFFF, len(frame),
                       len(frame))
    return _block(6, head + frame, order)


def test_pcapng_sections_interfaces_and_resolutions(tmp_path: Path) -> None:
    raw_ip = FRAMES[2][14:]
    data = (
        _section() + _interface(1) + _interface(101, resolution=9)
        + _packet(0, 1_700_000_000_250_000, FRAMES[0])
        + _packet(1, 1_700_000_001_500_000_000, raw_ip)
        + _section(">") + _interface(1, order=">") + _packet(0, 1_700_000_002_000_000, FRAMES[1],
                                                              ">")
    )
    path = tmp_path / "multi.pcapng"
    path.write_bytes(data)
    frames = list(CaptureReader(path))
    assert [(n, round(t, 6), link, frame) for n, t, link, frame in frames] == [
        (1, 1_700_000_000.25, 1, FRAMES[0]),
        (2, 1_700_000_001.5, 101, raw_ip),
        (3, 1_700_000_002.0, 1, FRAMES[1]),
    ]


def test_a_pcapng_time_no_day_holds_is_a_damaged_packet(tmp_path: Path) -> None:
    """A timestamp of 2**48 seconds (a tick of one second, a damaged count) would give the
    inventory a year no query can print: the packet is reported and skipped."""
    path = tmp_path / "damaged.pcapng"
    path.write_bytes(_section() + _interface(1, resolution=0) + _packet(0, 2**48, FRAMES[0])
                     + _packet(0, 1_700_000_000, FRAMES[1]))
    reader = CaptureReader(path)
    assert [(number, stamp) for number, stamp, _link, _frame in reader] == [(2, 1_700_000_000)]
    assert reader.problems == ["packet #1: time out of range (2.81475e+14)"]


def test_pcapng_from_the_corpus_with_two_interfaces() -> None:
    frames = list(CaptureReader(PCAP / "zeek__pcapng-multi-interface.pcapng"))
    assert len(frames) == 6


def test_gzip_is_read_transparently(tmp_path: Path) -> None:
    plain = write_raw_pcap(tmp_path / "c.pcap", FRAMES, 1)
    packed = tmp_path / "c.pcap.gz"
    packed.write_bytes(gzip.compress(plain.read_bytes()))
    assert list(CaptureReader(packed)) == list(CaptureReader(plain))


def test_truncated_capture_keeps_what_is_whole(tmp_path: Path) -> None:
    path = write_raw_pcap(tmp_path / "c.pcap", FRAMES, 1)
    path.write_bytes(path.read_bytes()[:-10])
    reader = CaptureReader(path)
    assert len(list(reader)) == 2
    assert reader.problems == ["packet #3: packet data cut short (file truncated)"]


def test_truncated_gzip_is_reported_not_raised(tmp_path: Path) -> None:
    path = tmp_path / "c.pcap.gz"
    path.write_bytes(gzip.compress(write_raw_pcap(tmp_path / "c.pcap", FRAMES * 50, 1)
                                   .read_bytes())[:-200])
    reader = CaptureReader(path)
    assert 0 < len(list(reader)) < 150
    assert reader.problems and "file damaged" in reader.problems[0]


def test_impossible_record_length_stops_with_a_note(tmp_path: Path) -> None:
    data = bytearray(write_raw_pcap(tmp_path / "c.pcap", FRAMES, 1).read_bytes())
    second = 24 + 16 + len(FRAMES[0])
    data[second + 8 : second + 12] = struct.pack("<I", 0x7FFFFFFF)
    path = tmp_path / "bad.pcap"
    path.write_bytes(bytes(data))
    reader = CaptureReader(path)
    assert len(list(reader)) == 1
    assert reader.problems == ["packet #2: impossible length 2147483647, stopped"]


def test_not_a_capture(tmp_path: Path) -> None:
    path = tmp_path / "notes.txt"
    path.write_text("hello")
    with pytest.raises(InputError, match=r"notes.txt: not a pcap or pcapng capture$"):
        CaptureReader(path)
