"""Log import: every real sample in tests/data/logs against its truth, and the reader's rules."""

from __future__ import annotations

import bz2
import gzip
import ipaddress
import json
import lzma
import os
import sqlite3
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from scanner.errors import InputError, UnknownFormat
from scanner.extract import Observation
from scanner.sources.logs import REGISTRY, base, read_log, sniff
from scanner.sources.logs.base import LogReader, open_text
from scanner.sources.logs.windows_dns import decode

LOGS = Path(__file__).parent / "data" / "logs"
TRUTHS = sorted(LOGS.rglob("*.truth.json"))
AMSTERDAM = ZoneInfo("Europe/Amsterdam")
SUPPORTED = ", ".join(REGISTRY)


def packed(text: str) -> bytes:
    return ipaddress.ip_address(text).packed


def sample_of(truth: Path, tmp_path: Path) -> Path:
    """The log a truth file describes; the Pi-hole database is kept as its SQL dump."""
    path = truth.with_name(truth.name.removesuffix(".truth.json"))
    if path.suffix == ".sql":
        database = tmp_path / "pihole-FTL.db"
        with sqlite3.connect(database) as connection:
            connection.executescript(path.read_text())
        connection.close()
        return database
    return path


def observations(path: Path, **options: object) -> tuple[LogReader, list[tuple[int, Observation]]]:
    reader = read_log(path, **options)  # type: ignore[arg-type]
    return reader, list(reader)


def write(tmp_path: Path, name: str, text: str, mtime: datetime | None = None) -> Path:
    path = tmp_path / name
    path.write_text(text)
    if mtime is not None:
        os.utime(path, (mtime.timestamp(), mtime.timestamp()))
    return path


def test_every_corpus_format_is_registered() -> None:
    formats = {json.loads(truth.read_text())["format"] for truth in TRUTHS}
    assert formats <= set(REGISTRY)
    assert len(TRUTHS) == 38


@pytest.mark.parametrize("truth", TRUTHS, ids=lambda path: path.name.removesuffix(".truth.json"))
def test_corpus_truth(truth: Path, tmp_path: Path) -> None:
    """Sniffed format, distinct names and record count equal the truth file's.

    `records` in the truth files counts the lines that are log records: every line but
    blank lines, Zeek's `#` header lines and the Windows DNS header (the field legend before
    the first dated line); for the Pi-hole database, the rows of `queries`. The reader's
    `records` (lines read minus blank, comment and header lines) is the same count.
    """
    expected = json.loads(truth.read_text())
    reader, found = observations(sample_of(truth, tmp_path))
    assert reader.sniffed
    assert reader.format == expected["format"]
    assert {observation.name for _, observation in found} == set(expected["domains"])
    assert reader.records == expected["records"]
    assert not reader.probably_wrong_format


MORE = sorted((LOGS.parent / "logs-more").rglob("*.log"))


@pytest.mark.parametrize("path", MORE, ids=lambda path: path.stem)
def test_more_real_samples(path: Path) -> None:
    """Further real samples (tests/data/logs-more, SOURCES.tsv there), each with the names a
    person reading it lists in `.expected.txt`: what clients asked for or contacted, not what
    servers answered (Suricata 4 writes each answer record as an event, CNAME targets too)."""
    expected = set(path.with_suffix(".expected.txt").read_text().split())
    reader, found = observations(path)
    assert reader.sniffed and reader.format == path.parent.name
    assert {item.name for _, item in found} == expected
    assert not reader.probably_wrong_format


def test_read_ahead_hands_over_blocks_and_errors_in_order() -> None:
    """Blocks read by a thread of their own arrive in order; an error of reading is raised
    where it happened, after the blocks before it; closing early stops the thread."""
    def blocks(fail_after: int | None) -> Iterator[bytes]:
        for number in range(6):
            if number == fail_after:
                raise EOFError("cut short")
            yield f"block {number}\n".encode()

    assert list(base._read_ahead(blocks(None))) == [f"block {n}\n".encode() for n in range(6)]
    for fail_after in (0, 1, 2, 3):
        got = []
        with pytest.raises(EOFError, match="cut short"):
            for block in base._read_ahead(blocks(fail_after)):
                got.append(block)
        assert got == [f"block {n}\n".encode() for n in range(fail_after)]
    before = threading.active_count()
    one = base._read_ahead(iter([b"only\n"]))  # a file of one block: read without a thread
    assert next(one) == b"only\n" and threading.active_count() == before
    assert list(one) == []
    early = base._read_ahead(blocks(None))
    assert next(early) == b"block 0\n"
    early.close()
    assert threading.active_count() == before


@pytest.mark.parametrize("kind", ["gzip", "bzip2", "xz"])
def test_a_compressed_log_reads_up_to_where_its_data_is_damaged(tmp_path: Path,
                                                                kind: str) -> None:
    text = "".join(f"Sep  8 16:{i // 60 % 60:02d}:{i % 60:02d} dnsmasq[577]: query[A] "
                   f"host{i}.example.org from 10.1.0.{i % 200 + 1}\n" for i in range(40_000))
    packed = {"gzip": gzip.compress, "bzip2": bz2.compress, "xz": lzma.compress}[kind](
        text.encode())
    path = tmp_path / "pihole.log.cut"
    path.write_bytes(packed[: len(packed) * 3 // 4])
    reader, found = observations(path)
    assert reader.damage  # e.g. 'Compressed file ended before the end-of-stream marker ...'
    assert 1000 < len(found) < 40_000
    assert [item.name for _, item in found[:-1]] == [f"host{i}.example.org"
                                                     for i in range(len(found) - 1)]
    assert reader.lines in (len(found), len(found) + 1)  # the last line may be cut in two


def test_container_wrapped_logs_are_unwrapped(tmp_path: Path) -> None:
    """Docker json-file, CRI (containerd, Kubernetes) and docker compose wrap each line; the
    format is still sniffed, and CoreDNS, which writes no time, gets the runtime's."""
    docker = write(tmp_path, "coredns.json", "".join(
        json.dumps({"log": f'[INFO] 10.0.0.{n}:3641 - 2158 "A IN site{n}.example. udp 43 false '
                           f'512" NOERROR qr,rd,ra 136 0.0001s\n',
                    "stream": "stdout", "time": f"2024-03-0{n}T08:00:00.5Z"}) + "\n"
        for n in (1, 2)))
    reader, found = observations(docker)
    assert reader.format == "coredns" and reader.malformed == 0
    assert [(item.name, item.client, item.time) for _, item in found] == [
        (f"site{n}.example", packed(f"10.0.0.{n}"),
         datetime(2024, 3, n, 8, 0, 0, 500000, tzinfo=UTC).timestamp()) for n in (1, 2)]
    cri = write(tmp_path, "pihole.log", "".join(
        f"2024-03-01T08:00:0{n}.1Z stdout F Mar  1 09:00:0{n} dnsmasq[57]: query[A] "
        f"app{n}.example from 10.0.0.9\n" for n in (1, 2)),
        mtime=datetime(2024, 3, 2, tzinfo=UTC))  # syslog has no year: the file's is taken
    reader, found = observations(cri, timezone=AMSTERDAM)
    assert reader.format == "dnsmasq"
    assert [item.name for _, item in found] == ["app1.example", "app2.example"]
    assert found[0][1].time == datetime(2024, 3, 1, 9, 0, 1, tzinfo=AMSTERDAM).timestamp()
    compose = write(tmp_path, "unbound.log", (
        "unbound_1  | [1551441117] unbound[1:0] info: 172.30.0.1 cdn.example. A IN\n"
        "unbound_1  | [1551441118] unbound[1:0] info: 172.30.0.1 api.example. AAAA IN\n"
        "dnsproxy_1 | tls conn closed\n"))
    reader, found = observations(compose, format_name="unbound")
    assert [(number, item.name) for number, item in found] == [(1, "cdn.example"),
                                                               (2, "api.example")]
    assert (reader.records, reader.malformed, reader.skipped) == (2, 0, 1)  # dnsproxy's line


def test_compose_logs_of_several_containers_are_read_for_the_resolver_only(
        tmp_path: Path) -> None:
    """`docker compose logs` of a stack interleaves every container: the resolver's lines may
    be the fewest in the head, and its neighbours' lines are not its malformed records.
    Replicas of the resolver (pihole-1, pihole-2) are all read."""
    dnsproxy = "dnsproxy_bundle | tls conn ('172.30.0.2', 42888) => ('1.0.0.1', 853)\n"
    unbound = write(tmp_path, "stack.log", dnsproxy * 3 + (
        "unbound_bundle | [1551441117] unbound[1:0] info: 172.30.0.1 cdn.example. A IN "
        "NOERROR 3.552193 0 78\n") + dnsproxy * 2 + (
        "unbound_bundle | [1551441121] unbound[1:0] info: 127.0.0.1 api.example. A IN\n"))
    for format_name in (None, "unbound"):
        reader, found = observations(unbound, format_name=format_name)
        assert reader.format == "unbound"
        assert [(number, item.name) for number, item in found] == [(4, "cdn.example"),
                                                                   (7, "api.example")]
        assert (reader.records, reader.malformed, reader.skipped) == (2, 0, 5)
    cloudflared = "cloudflared  | 2023-11-14T08:00:00Z INF Starting tunnel tunnelID=abc\n"
    pihole = write(tmp_path, "pihole.log", cloudflared + "".join(
        f"pihole-{n}     | Nov 14 08:00:0{n} dnsmasq[577]: query[A] app{n}.example from "
        f"10.0.0.{n}\n{cloudflared}" for n in (1, 2)))
    reader, found = observations(pihole)
    assert reader.format == "dnsmasq"
    assert [(number, item.name) for number, item in found] == [(2, "app1.example"),
                                                               (4, "app2.example")]
    assert (reader.records, reader.malformed, reader.skipped) == (2, 0, 3)


def test_syslog_relays_json_logging_and_journald(tmp_path: Path) -> None:
    """Where the wrapper holds program, pid and time and the message does not, the classic
    `TIME program[pid]: message` line is rebuilt, so the dnsmasq reader reads it."""
    ftl = write(tmp_path, "ftl.log", "".join(
        "pihole  | " + json.dumps({"timestamp": f"2026-06-03T14:19:0{n}.330Z",
                                   "log_level": "INFO", "component": "dnsmasq", "pid": "127M",
                                   "message": message}) + "\n"
        for n, message in enumerate(["query[A] a.example from 10.0.0.1",
                                     "Pi-hole hostname pi.hole is 127.0.0.1",
                                     "query[AAAA] b.example from 10.0.0.2"])))
    journal = write(tmp_path, "journal.json", "".join(
        json.dumps({"__REALTIME_TIMESTAMP": "1780480741330000", "SYSLOG_IDENTIFIER": "dnsmasq",
                    "_PID": "57", "MESSAGE": message}) + "\n"
        for message in ["query[A] a.example from 10.0.0.1", "forwarded a.example to 9.9.9.9",
                        "query[AAAA] b.example from 10.0.0.2"]))
    relay = write(tmp_path, "relay.log", (
        "<30>1 2026-06-03T14:19:00.330Z pihole dnsmasq 127 - - query[A] a.example from 10.0.0.1\n"
        "<30>1 2026-06-03T14:19:01Z pihole dnsmasq 127 - [meta x=\"1\"] reply a.example is "
        "1.2.3.4\n"
        "<30>1 2026-06-03T14:19:02Z pihole dnsmasq 127 - - query[AAAA] b.example from 10.0.0.2\n"))
    for path in (ftl, journal, relay):
        reader, found = observations(path)
        assert (reader.format, reader.malformed) == ("dnsmasq", 0), path.name
        assert [(n, item.name, item.client) for n, item in found] == [
            (1, "a.example", packed("10.0.0.1")), (3, "b.example", packed("10.0.0.2"))]
    assert observations(ftl)[1][0][1].time == datetime(
        2026, 6, 3, 14, 19, 0, 330000, tzinfo=UTC).timestamp()
    assert observations(journal)[1][0][1].time == 1780480741.33


def test_unbound_through_syslog_and_opnsense(tmp_path: Path) -> None:
    """`unbound:` without a pid in the tag, `log-tag-queryreply` tags, and OPNsense's RFC 5424
    lines with structured data all read as unbound."""
    plain = write(tmp_path, "unbound.log", (
        "Nov 28 10:00:00 fw unbound: [1234:0] query: 10.0.0.5 a.example. A IN\n"
        "Nov 28 10:00:00 fw unbound: [1234:1] reply: 10.0.0.5 a.example. A IN NOERROR 0.01 0 45\n"
        "Nov 28 10:00:01 fw unbound[1234]: [1234:0] info: 10.0.0.6 b.example. AAAA IN\n"))
    relayed = write(tmp_path, "opnsense.log", (
        '<30>1 2026-11-28T10:00:00+01:00 opnsense unbound 1234 - [meta sequenceId="1"] '
        "[1234:0] info: 10.0.0.5 a.example. A IN\n"
        '<30>1 2026-11-28T10:00:01+01:00 opnsense unbound 1234 - [meta sequenceId="2"] '
        "[1234:0] info: 10.0.0.6 b.example. AAAA IN\n"))
    for path in (plain, relayed):
        reader, found = observations(path)
        assert (reader.format, reader.malformed) == ("unbound", 0)
        assert [(item.name, item.client) for _, item in found] == [
            ("a.example", packed("10.0.0.5")), ("b.example", packed("10.0.0.6"))]


def test_bind_views_ipv6_clients_and_iso_times(tmp_path: Path) -> None:
    """A query without recursion desired ('-E(0)DC') comes from a resolver iterating, as
    outside resolvers ask a zone the school's server holds: the name counts, no device."""
    path = write(tmp_path, "queries.log", (
        "2026-11-28T10:00:00.125Z queries: info: client @0x7f1 10.0.0.7#53211 (a.example): "
        "query: a.example IN HTTPS +E(0) (10.0.0.1)\n"
        "28-Nov-2026 10:00:01.124 queries: info: client @0x7f1 2001:db8::6#53211 (b.example): "
        "view external: query: b.example IN AAAA +E(0)DC (2001:db8::1)\n"
        "28-Nov-2026 10:00:02.000 queries: info: client @0x7f1 172.70.120.45#39512 "
        "(school.example): query: school.example IN A -E(0)D (10.0.0.1)\n"))
    reader, found = observations(path)
    assert (reader.format, reader.malformed) == ("bind9-named-syslog", 0)
    assert [(item.name, item.client, item.time) for _, item in found] == [
        ("a.example", packed("10.0.0.7"),
         datetime(2026, 11, 28, 10, 0, 0, 125000, tzinfo=UTC).timestamp()),
        ("b.example", packed("2001:db8::6"), datetime(2026, 11, 28, 10, 0, 1, 124000).timestamp()),
        ("school.example", b"", datetime(2026, 11, 28, 10, 0, 2).timestamp()),
    ]


def test_suricata_8_requests_and_responses(tmp_path: Path) -> None:
    """Suricata 8 writes dns events as `request` and `response` (eve dns v3): a response goes
    to the client, so it is an answer for dest_ip, not a lookup by the server."""
    events = [
        {"src_ip": "10.0.0.5", "dest_ip": "10.0.0.53", "src_port": 50000, "dest_port": 53,
         "dns": {"version": 3, "type": "request", "queries": [{"rrname": "a.example"}]}},
        {"src_ip": "10.0.0.53", "dest_ip": "10.0.0.5", "src_port": 53, "dest_port": 50000,
         "dns": {"version": 3, "type": "response", "queries": [{"rrname": "a.example"}],
                 "answers": [{"rrname": "a.example", "rrtype": "CNAME", "rdata": "b.example"}]}},
    ]
    path = write(tmp_path, "eve.json", "".join(
        json.dumps({"timestamp": "2026-11-28T10:00:00.000000+0000", "event_type": "dns", **event})
        + "\n" for event in events))
    _, found = observations(path)
    assert [(item.name, item.client, item.how) for _, item in found] == [
        ("a.example", packed("10.0.0.5"), "dns"), ("a.example", packed("10.0.0.5"), "answer")]


def test_suricata_answers_go_to_the_client_whichever_direction_is_written(
        tmp_path: Path) -> None:
    """Suricata 5-7 write a dns v2 answer in the flow's direction (the client as src_ip),
    eve v1 and Suricata 8 in the packet's (the client as dest_ip): the resolver, on port 53,
    is never the device; an answer to an mDNS query stays a LAN name, and so are a TKEY's
    name, a secure update's key, and the zone of an update (opcode 5)."""
    events = [
        {"src_ip": "10.0.2.15", "dest_ip": "10.0.2.3", "src_port": 42115, "dest_port": 53,
         "dns": {"version": 2, "type": "answer", "rrname": "raw.githubusercontent.com"}},
        {"src_ip": "192.168.86.1", "dest_ip": "192.168.86.85", "src_port": 53,
         "dest_port": 39464, "dns": {"type": "answer", "id": 1, "rrname": "v1.example"}},
        {"src_ip": "10.0.2.16", "dest_ip": "224.0.0.251", "src_port": 5353, "dest_port": 5353,
         "dns": {"version": 2, "type": "answer", "rrname": "printer.local"}},
        {"src_ip": "10.0.2.17", "dest_ip": "10.0.2.3", "src_port": 50000, "dest_port": 53,
         "dns": {"type": "query", "rrname": "336-ms-7.1-6c1a.0b750ce3", "rrtype": "TKEY"}},
        {"src_ip": "10.0.2.17", "dest_ip": "10.0.2.3", "src_port": 50001, "dest_port": 53,
         "dns": {"version": 2, "type": "query", "rrname": "ad.school.example", "rrtype": "SOA",
                 "opcode": 5}},
    ]
    path = write(tmp_path, "eve.json", "".join(
        json.dumps({"timestamp": "2020-02-04T11:30:04.398067+0000", "flow_id": flow,
                    "event_type": "dns", **event}) + "\n" for flow, event in enumerate(events)))
    reader, found = observations(path)
    assert reader.malformed == 0
    assert [(item.name, item.client, item.how, item.local) for _, item in found] == [
        ("raw.githubusercontent.com", packed("10.0.2.15"), "answer", ""),
        ("v1.example", packed("192.168.86.85"), "answer", ""),
        ("printer.local", packed("224.0.0.251"), "answer", "mdns"),
        ("336-ms-7.1-6c1a.0b750ce3", packed("10.0.2.17"), "dns", "key"),
        ("ad.school.example", packed("10.0.2.17"), "dns", "update")]


def test_a_real_suricata_5_log_has_one_device_not_its_resolver() -> None:
    path = LOGS.parent / "logs-more" / "suricata-eve" / "cdmcs-suricata5-dns-v2-tls.log"
    reader, found = observations(path)
    assert reader.malformed == 0
    assert {item.how for _, item in found} == {"dns", "answer", "sni"}
    assert {item.client for _, item in found} == {packed("10.0.2.15")}  # not 10.0.2.3


def test_suricata_alert_on_the_servers_packet_names_the_client_as_device(
        tmp_path: Path) -> None:
    """An alert is written in its packet's direction: one raised on the server's reply has
    the server as src_ip (Suricata 7 says `"direction":"to_client"`; before it, the web port
    is on the source side)."""
    events = [
        {"src_ip": "198.255.46.10", "src_port": 443, "dest_ip": "192.168.1.28",
         "dest_port": 51922, "direction": "to_client", "tls": {"sni": "a.example"}},
        {"src_ip": "198.255.46.11", "src_port": 443, "dest_ip": "192.168.1.29",
         "dest_port": 51923, "tls": {"sni": "b.example"}},
        {"src_ip": "192.168.1.30", "src_port": 51924, "dest_ip": "8.8.4.4", "dest_port": 443,
         "direction": "to_server", "tls": {"sni": "dns.google"}},
    ]
    path = write(tmp_path, "eve.json", "".join(
        json.dumps({"timestamp": "2024-10-27T14:22:14.949407+0000", "event_type": "alert",
                    "alert": {"signature": "ET INFO"}, **event}) + "\n" for event in events))
    _, found = observations(path)
    assert [(item.name, item.client) for _, item in found] == [
        ("a.example", packed("192.168.1.28")), ("b.example", packed("192.168.1.29")),
        ("dns.google", packed("192.168.1.30"))]


def test_suricata_alerts_about_dns_queries(tmp_path: Path) -> None:
    """Suricata 5-7 write the DNS part of an alert as a `query` list; the alert may be the
    only event for the lookup."""
    alert = {"timestamp": "2024-12-09T18:30:39.505175+0000", "event_type": "alert",
             "src_ip": "10.0.0.5", "dest_ip": "10.0.0.53", "src_port": 50000, "dest_port": 53,
             "alert": {"signature": "ET DNS Query for .uk TLD", "severity": 2},
             "dns": {"query": [{"type": "query", "id": 245, "rrname": "Adv.Example.UK",
                                "rrtype": "A", "tx_id": 0}]}, "app_proto": "dns"}
    path = write(tmp_path, "eve.json", json.dumps(alert) + "\n")
    reader, found = observations(path)
    assert reader.malformed == 0
    assert [(item.name, item.client, item.how) for _, item in found] == [
        ("adv.example.uk", packed("10.0.0.5"), "dns")]


def test_suricata_events_without_a_name_are_counted_not_decoded(tmp_path: Path) -> None:
    """A flow event whose app_proto is tls names nothing; a cut-off one is still malformed;
    an event re-written with spaces after the colons (json.dumps) is still read."""
    flow = ('{"timestamp":"2026-11-28T10:00:00.000000+0000","flow_id":1,"event_type":"flow",'
            '"src_ip":"10.0.0.5","app_proto":"tls","flow":{"pkts_toserver":4}}')
    dns = json.dumps({"timestamp": "2026-11-28T10:00:01.000000+0000", "event_type": "dns",
                      "src_ip": "10.0.0.5", "dest_port": 53,
                      "dns": {"type": "query", "rrname": "www.wikiwijs.nl", "rrtype": "A"}})
    path = write(tmp_path, "eve.json", f"{flow}\n{flow[:70]}\n{dns}\n")
    reader, found = observations(path)
    assert (reader.records, reader.malformed) == (3, 1)
    assert reader.problems == [f"{path}:2: not a JSON object"]
    assert [(number, item.name, item.client) for number, item in found] == [
        (3, "www.wikiwijs.nl", packed("10.0.0.5"))]


def test_utf16_and_byte_order_marks(tmp_path: Path) -> None:
    """Windows PowerShell exports logs as UTF-16, Notepad saves UTF-8 with a byte-order mark:
    both read like the plain file, first line included."""
    text = ("21-5-2015 13:51:18 0D48 PACKET  0000000000 UDP Rcv 10.250.2.246    0c6b   Q "
            "[0001   D   NOERROR] A      (3)www(9)magister(3)net(0)\r\n") * 2
    plain = tmp_path / "plain.log"
    plain.write_text(text, encoding="utf-8")
    expected = observations(plain, timezone=AMSTERDAM)[1]
    for encoding in ("utf-16", "utf-8-sig"):
        path = tmp_path / f"{encoding}.log"
        path.write_text(text, encoding=encoding)
        reader, found = observations(path, timezone=AMSTERDAM)
        assert (reader.format, reader.malformed, found) == ("windows-dns-debug", 0, expected)
    assert [number for number, _ in expected] == [1, 2]


def test_openwrt_logread_time(tmp_path: Path) -> None:
    path = write(tmp_path, "messages", "Sat Nov 28 10:00:00 2026 daemon.info dnsmasq[1234]: "
                                       "query[A] www.example.org from 192.168.1.20\n")
    reader, found = observations(path, timezone=AMSTERDAM)
    assert reader.format == "dnsmasq"
    assert found[0][1].time == datetime(2026, 11, 28, 10, tzinfo=AMSTERDAM).timestamp()


ONE_LINE = {  # a variant in one line: its format, and what it names, when and for whom
    "fortigate RFC 5424, eventtime only": (
        '<188>1 2025-06-05T18:12:15Z FW01 - - - - eventtime=1749147134399466940 tz="-0500" '
        'logid="1501054803" type="utm" subtype="dns" srcip=10.1.2.3 qname="quiz.example" '
        'qtype="A"', "fortigate-kv",
        Observation(1749147134.399467, packed("10.1.2.3"), "quiz.example", "dns")),
    "fortigate format csv (pairs apart by commas)": (
        'date=2018-12-27,time=14:45:26,logid="1501054802",type="dns",subtype="dns-response",'
        'eventtime=1545950726,srcip=10.1.1.1,srcport=54621,dstport=53,'
        'qname="detectportal.firefox.com",qtype="A",ipaddr="104.80.89.26, 104.80.89.24",'
        'msg="Domain is monitored",action="pass"', "fortigate-kv",
        Observation(1545950726.0, packed("10.1.1.1"), "detectportal.firefox.com", "dns")),
    "sophos SFOS 19: device_name= and an ISO timestamp=": (
        '<134>device_name="SFW" timestamp="2026-08-18T16:05:54+0200" log_type="Content '
        'Filtering" log_component="HTTP" src_ip="10.0.0.10" url="https://www.wikiwijs.nl/" '
        'domain="www.wikiwijs.nl"', "sophos-xg-kv",
        Observation(datetime(2026, 8, 18, 14, 5, 54, tzinfo=UTC).timestamp(),
                    packed("10.0.0.10"), "www.wikiwijs.nl", "sni")),
    "squid through syslog (access_log syslog:), 'squid[pid]: ' tag": (
        "Nov 28 10:00:00 proxy squid[812]: 1764324000.123      5 10.0.0.9 TCP_MISS/200 512 GET "
        "http://www.wikiwijs.nl/ - HIER_DIRECT/1.2.3.4 text/html", "squid-native",
        Observation(1764324000.123, packed("10.0.0.9"), "www.wikiwijs.nl", "http")),
    "umbrella proxy with a destination column: the client four before the verdict": (
        '"2017-10-02 23:52:53","PC12","AD User,Site,Network","10.0.0.12","1.1.1.91","1.1.1.92",'
        '"","ALLOWED","https://www.wikiwijs.nl/x","","Mozilla/5.0","200","562","1489"',
        "cisco-umbrella-proxy-csv",
        Observation(datetime(2017, 10, 2, 23, 52, 53, tzinfo=UTC).timestamp(),
                    packed("10.0.0.12"), "www.wikiwijs.nl", "sni")),
    "umbrella proxy without one: three before": (
        '"2017-10-02 23:52:53","user","AD User,Site,Network","10.0.0.12","1.1.1.91","",'
        '"BLOCKED","http://quiz.example/the.js","","Mozilla/5.0","403","562","1489"',
        "cisco-umbrella-proxy-csv",
        Observation(datetime(2017, 10, 2, 23, 52, 53, tzinfo=UTC).timestamp(),
                    packed("10.0.0.12"), "quiz.example", "http")),
}


@pytest.mark.parametrize("case", ONE_LINE)
def test_one_line_variants(case: str, tmp_path: Path) -> None:
    line, log_format, expected = ONE_LINE[case]
    reader, found = observations(write(tmp_path, "variant.log", line + "\n"))
    assert (reader.format, found, reader.problems) == (log_format, [(1, expected)], [])


def test_squid_logformat_with_extra_fields(tmp_path: Path) -> None:
    """A client port and byte counts between the fields of the native layout move the URL."""
    path = write(tmp_path, "access.log", (
        "1773416922.568    158 10.1.2.3 58948 TCP_TUNNEL/200 28854 2051 39 120 - CONNECT "
        "www.example.org:443 1.1 - HIER_DIRECT/198.51.100.20 443 - - -\n"
        "1157689320.327   2864 10.1.2.3 TCP_MISS/200 10182 GET http://www.example.com/ - "
        "DIRECT/207.58.145.61 text/html\n"))
    reader, found = observations(path)
    assert reader.format == "squid-native" and reader.malformed == 0
    assert [item.name for _, item in found] == ["www.example.org", "www.example.com"]


def test_reply_only_zeek_rows_are_answers() -> None:
    """The truth lists three mDNS names that are in no question: `mdns-no-assoc.pcap` packets
    2, 3 and 5 are responses with qdcount 0, the name only as an answer's owner, and Zeek
    copies it into `query` (with qtype unset). They are kept, as answers, like the capture
    path keeps reply names."""
    path = LOGS / "zeek-dns-tsv" / "zeek_scripts.base.protocols.dns.mdns-no-assoc_dns.log"
    _, found = observations(path)
    seen = {observation.name: observation.how for _, observation in found}
    assert seen == {
        "initial-query-a.local": "dns", "initial-query-aaaa.local": "dns",
        "v6-initial.local": "dns", "unrelated-reply-a.local": "answer",
        "unrelated-reply-aaaa.local": "answer", "v6-unrelated.local": "answer",
    }
    assert {observation.local for _, observation in found} == {"mdns"}


def test_dnsmasq_observations_in_detail() -> None:
    path = LOGS / "dnsmasq" / "pihole-web-issue1713_pihole.log-debug-excerpt.log"
    _, found = observations(path, timezone=UTC)
    year = datetime.fromtimestamp(path.stat().st_mtime, UTC).year
    moment = datetime(year, 1, 24, 15, 10, 19, tzinfo=UTC).timestamp()
    if moment > path.stat().st_mtime + 86400:
        moment = datetime(year - 1, 1, 24, 15, 10, 19, tzinfo=UTC).timestamp()
    name = "settings-win.data.microsoft.com"
    assert found == [
        (1, Observation(moment, packed("fddc:704f:99b9:178:a4bd:67b4:3a05:88f8"), name, "dns")),
        (3, Observation(moment, packed("fddc:704f:99b9:178:a4bd:67b4:3a05:88f8"), name, "dns")),
        (5, Observation(moment, packed("192.168.178.20"), name, "dns")),
        (6, Observation(moment, packed("192.168.178.20"), name, "dns")),
    ]


@pytest.mark.parametrize("compress", [gzip.compress, bz2.compress, lzma.compress],
                         ids=["gzip", "bz2", "xz"])
@pytest.mark.parametrize("sample", [
    "dnsmasq/pihole-web-issue136_pihole.log-excerpt.log",
    "zeek-dns-tsv/zeek_opt.basic_dns.log",
    "sophos-xg-kv/beats_cfilter.log",
])
def test_compressed_files_read_the_same(sample: str, compress, tmp_path: Path) -> None:
    plain = LOGS / sample
    packed_copy = tmp_path / (plain.name + ".z")
    packed_copy.write_bytes(compress(plain.read_bytes()))
    os.utime(packed_copy, (plain.stat().st_mtime, plain.stat().st_mtime))
    reader, found = observations(plain)
    packed_reader, packed_found = observations(packed_copy)
    assert packed_reader.format == reader.format
    assert packed_found == found
    assert (packed_reader.lines, packed_reader.records, packed_reader.malformed) == (
        reader.lines, reader.records, reader.malformed)
    with open_text(packed_copy) as handle:
        assert handle.read() == plain.read_text()


def test_compressed_pihole_database(tmp_path: Path) -> None:
    database = ftl_database(tmp_path)
    copy = tmp_path / "pihole-FTL.db.gz"
    copy.write_bytes(gzip.compress(database.read_bytes()))
    assert list(read_log(copy)) == list(read_log(database))
    assert read_log(copy).format == "pihole-ftl-db"


def ftl_database(tmp_path: Path) -> Path:
    dump = (LOGS / "pihole-ftl-db" / "pihole-FTL_test_pihole-FTL.db.sql").read_text()
    database = tmp_path / "pihole-FTL.db"
    with sqlite3.connect(database) as connection:
        connection.executescript(dump)
        connection.executemany(
            "insert into queries (id, timestamp, type, status, domain, client) "
            "values (?, ?, 1, 2, ?, ?)",
            [(1, 1700000000, "Classroom.Google.com", "10.1.2.3"),
             (2, 1700000001, "bad name!", "10.1.2.3"),
             (3, 1700000002, "10.0.0.1", "10.1.2.4"),
             (4, 1700000003, "magister.net", "fd00::1")])
    connection.close()
    return database


def test_pihole_database_rows(tmp_path: Path) -> None:
    database = ftl_database(tmp_path)
    reader, found = observations(database)
    assert reader.format == "pihole-ftl-db"
    assert found == [
        (1, Observation(1700000000.0, packed("10.1.2.3"), "classroom.google.com", "dns")),
        (4, Observation(1700000003.0, packed("fd00::1"), "magister.net", "dns")),
    ]
    assert (reader.records, reader.malformed, reader.invalid_names) == (4, 0, 1)
    assert reader.problems == [
        f"{database}:2: invalid name 'bad name!': characters not allowed in a host name"]


def test_a_database_that_is_not_pihole(tmp_path: Path) -> None:
    other = tmp_path / "inventory.db"
    with sqlite3.connect(other) as connection:
        connection.execute("create table domains (name text)")
    connection.close()
    with pytest.raises(InputError) as error:
        list(read_log(other))
    assert str(error.value) == (
        f"{other}: an SQLite database without a 'queries' table; not a pihole-FTL.db")


GARBAGE = "".join(f"{n} this is not a log line at all\n" for n in range(50))


def test_garbage_is_probably_the_wrong_format(tmp_path: Path) -> None:
    path = write(tmp_path, "notes.txt", GARBAGE)
    with pytest.raises(InputError) as error:
        read_log(path)
    assert str(error.value) == (
        f"{path} is in no log format appradar knows; name the format with --format "
        f"(supported: {SUPPORTED})")
    reader, found = observations(path, format_name="dnsmasq")
    assert found == []
    assert reader.probably_wrong_format
    assert (reader.records, reader.malformed, len(reader.problems)) == (50, 50, 20)
    assert reader.problems[0] == f"{path}:1: not a dnsmasq log line"
    assert reader.warning == (
        f"{path}: 50 of 50 records could not be read as dnsmasq; probably the wrong format "
        f"(choose one with --format)")


def test_a_log_with_some_bad_lines_is_not_the_wrong_format(tmp_path: Path) -> None:
    good = "Sep  8 16:32:19 dnsmasq[577]: query[A] www.example.com from 192.168.1.2\n"
    path = write(tmp_path, "pihole.log", good * 8 + "garbage\n" * 2)
    reader, found = observations(path)
    assert (len(found), reader.malformed, reader.probably_wrong_format) == (8, 2, False)
    assert reader.warning == ""


def test_unknown_format_name() -> None:
    path = LOGS / "squid-native" / "beats_access1.log"
    with pytest.raises(InputError) as error:
        read_log(path, format_name="syslog")
    assert str(error.value) == f"unknown log format 'syslog'; supported: {SUPPORTED}"


def test_empty_file(tmp_path: Path) -> None:
    path = write(tmp_path, "empty.log", "")
    with pytest.raises(InputError) as error:
        read_log(path)
    assert str(error.value) == (
        f"{path} is empty; name the format with --format (supported: {SUPPORTED})")


def test_malformed_lines_are_counted_with_their_place(tmp_path: Path) -> None:
    text = (
        "Sep  8 16:32:19 dnsmasq[577]: query[A] www.example.com from 192.168.1.2\n"
        "\n"
        "half a line\n"
        "Sep  8 16:32:20 dnsmasq[577]: query[A] bad_name..com from 192.168.1.2\n"
        "Sep  8 16:32:21 dnsmasq[577]: query[A] from\n"
        "Sep  8 16:32:22 dnsmasq[577]: query[A] 10.0.0.1 from 192.168.1.2\n"
        "Sep  8 16:32:23 dnsmasq[577]: forwarded www.example.com to 1.1.1.1\n"
        "Sep  8 16:32:24 dnsmasq[577]: query[AAAA] www.example.com from 192.168.1.2\n"
        "Sep 38 16:32:25 dnsmasq[577]: query[A] www.example.org from 192.168.1.2\n"
    )
    path = write(tmp_path, "pihole.log", text)
    reader, found = observations(path)
    assert [number for number, _ in found] == [1, 8]
    assert (reader.lines, reader.skipped, reader.records, reader.malformed,
            reader.invalid_names) == (9, 1, 8, 3, 1)
    assert reader.problems == [
        f"{path}:3: not a dnsmasq log line",
        f"{path}:4: invalid name 'bad_name..com': empty label",
        f"{path}:5: query line without 'name from client'",
        f"{path}:9: impossible date 'Sep 38 16:32:25'",
    ]


def test_zeek_tsv_rows_that_cannot_be_read_are_counted_with_their_place(tmp_path: Path) -> None:
    fields = "ts\tuid\tid.orig_h\tid.orig_p\tid.resp_h\tid.resp_p\tquery\tqtype"
    rows = [
        "1700000000.5\tC1\t10.0.0.7\t5000\t10.0.0.53\t53\twww.example.com\t1",
        "1700000001.5\tC2\t10.0.0.7\t5001\t10.0.0.53\t53\tbad_name..com\t1",
        "1700000002.5\tC3\t10.0.0.7\t5002\t10.0.0.53\t53\t192.0.2.1\t1",
        "yesterday\tC4\t10.0.0.7\t5003\t10.0.0.53\t53\twww.example.org\t1",
        "XXXXXXXXXX.XXXXXX\tC5\t10.0.0.7\t5004\t10.0.0.53\t53\twww.example.net\t1",
        "2023-11-14T22:13:22.5Z\tC6\t10.0.0.8\t5005\t10.0.0.53\t53\tmail.example.net\t1",
    ]
    path = write(tmp_path, "dns.log", "#separator \\x09\n#path\tdns\n#fields\t" + fields
                 + "\n" + "\n".join(rows) + "\n")
    reader, found = observations(path)
    assert [(number, item.time, item.name) for number, item in found] == [
        (4, 1700000000.5, "www.example.com"), (8, 0.0, "www.example.net"),
        (9, 1700000002.5, "mail.example.net")]  # a masked time reads as 0, ISO 8601 as such
    assert reader.problems == [f"{path}:5: invalid name 'bad_name..com': empty label",
                               f"{path}:7: unreadable time 'yesterday'"]
    assert (reader.records, reader.malformed, reader.invalid_names) == (6, 1, 1)


def test_dnsmasq_without_a_tag_pi_hole_6_and_standard_output(tmp_path: Path) -> None:
    """Pi-hole v6 writes its own ISO time and no 'dnsmasq[pid]: '; dnsmasq with
    log-facility=- writes 'dnsmasq: ' and no time, which a container runtime supplies."""
    pihole6 = write(tmp_path, "pihole.log", (
        "2025-05-01 10:33:48.949 query[A] aol.com from 10.1.1.1\n"
        "2025-05-01 10:33:48.949 forwarded aol.com to 127.0.0.1#5335\n"
        "2025-05-01 10:33:48.953 validation result is INSECURE\n"
        "2025-05-01 10:33:49.010 7 10.1.1.2/5353 query[AAAA] www.aol.com from 10.1.1.2\n"
        "unrelated words\n"))
    reader, found = observations(pihole6, timezone=AMSTERDAM)
    assert reader.format == "dnsmasq" and reader.sniffed
    assert [(item.name, item.time) for _, item in found] == [
        ("aol.com", datetime(2025, 5, 1, 10, 33, 48, 949000, tzinfo=AMSTERDAM).timestamp()),
        ("www.aol.com", datetime(2025, 5, 1, 10, 33, 49, 10000, tzinfo=AMSTERDAM).timestamp())]
    assert reader.problems == [f"{pihole6}:5: not a dnsmasq log line"]
    stdout = write(tmp_path, "dnsmasq.out", (
        "dnsmasq: query[AAAA] printer.lan from 10.89.0.5\n"
        "dnsmasq: config printer.lan is NODATA-IPv6\n"),
        mtime=datetime(2025, 6, 1, 12, 0, tzinfo=UTC))
    reader, found = observations(stdout)
    assert reader.format == "dnsmasq" and reader.malformed == 0
    assert found == [(1, Observation(datetime(2025, 6, 1, 12, 0, tzinfo=UTC).timestamp(),
                                     packed("10.89.0.5"), "printer.lan", "dns"))]
    docker = write(tmp_path, "dnsmasq.json", json.dumps(
        {"log": "dnsmasq: query[A] printer.lan from 10.89.0.5\n", "stream": "stderr",
         "time": "2025-06-02T07:00:00Z"}) + "\n")
    _, found = observations(docker)
    assert found[0][1].time == datetime(2025, 6, 2, 7, 0, tzinfo=UTC).timestamp()
    # In the foreground (-d, -k) dnsmasq writes 'dnsmasq[pid]: ' to standard error, no time;
    # `docker compose up` puts the service's name before each line.
    stderr = write(tmp_path, "compose.log", (
        "dnsmasq_1  | dnsmasq[1]: query[A] xp.apple.com from 172.18.0.1\n"
        "dnsmasq_1  | dnsmasq[1]: forwarded xp.apple.com to 8.8.8.8\n"
        "dnsmasq_1  | pihole-FTL[7]: query[AAAA] itunes.apple.com from 172.18.0.1\n"),
        mtime=datetime(2025, 6, 3, 9, 0, tzinfo=UTC))
    reader, found = observations(stderr)
    assert reader.format == "dnsmasq" and reader.malformed == 0 and reader.records == 3
    # `pihole -t` shows the log with 'dnsmasq[pid]' cut out: 'Dec  3 20:09:40: query[A] ...'
    tail = write(tmp_path, "pihole-tail.txt", (
        "Dec  3 20:09:40: query[type=65] api.example.com from 192.168.0.142\n"
        "Dec  3 20:09:40: forwarded api.example.com to 1.1.1.1\n"
        "Dec  3 20:09:41: query[A] www.example.org from 192.168.0.143\n"),
        mtime=datetime(2025, 12, 4, 9, 0, tzinfo=UTC))
    tail_reader, tail_found = observations(tail, timezone=UTC)
    assert tail_reader.format == "dnsmasq" and tail_reader.malformed == 0
    assert [(item.name, item.time) for _, item in tail_found] == [
        ("api.example.com", datetime(2025, 12, 3, 20, 9, 40, tzinfo=UTC).timestamp()),
        ("www.example.org", datetime(2025, 12, 3, 20, 9, 41, tzinfo=UTC).timestamp())]
    assert [(item.name, item.client, item.time) for _, item in found] == [
        (name, packed("172.18.0.1"), datetime(2025, 6, 3, 9, 0, tzinfo=UTC).timestamp())
        for name in ("xp.apple.com", "itunes.apple.com")]


def test_json_logs_through_syslog(tmp_path: Path) -> None:
    """Suricata's eve output to syslog and Corelight's syslog export put a syslog header
    before each JSON object; Corelight's reduced logs (`dns_red`) have the usual fields."""
    eve = {"timestamp": "2023-12-12T05:52:32.763303+0000", "event_type": "tls",
           "src_ip": "10.0.0.5", "dest_ip": "192.0.2.8", "tls": {"sni": "lms.example.org"}}
    path = write(tmp_path, "eve.log", "".join(
        f"<134>Dec 12 05:52:5{n} sensor suricata[312]: {json.dumps(eve)}\n" for n in range(3)))
    reader, found = observations(path)
    assert (reader.format, reader.malformed) == ("suricata-eve", 0)
    assert [item.name for _, item in found] == ["lms.example.org"] * 3
    corelight = [
        {"_path": "dns_red", "ts": "2024-03-07T04:38:40.085451Z", "id.orig_h": "10.10.10.10",
         "id.resp_p": 53, "query": "time.example.edu", "qtype": 1, "qtype_name": "A"},
        {"_path": "conn", "ts": "2024-03-07T04:38:41Z", "id.orig_h": "10.10.10.11"},
        {"_path": "ssl", "ts": "2024-03-07T04:38:42Z", "id.orig_h": "10.10.10.12",
         "server_name": "app.example.com"}]
    path = write(tmp_path, "corelight.log", "".join(
        f"<134>Mar  6 22:39:3{n} machine-name {json.dumps(record)}\n"
        for n, record in enumerate(corelight)))
    reader, found = observations(path)
    assert (reader.format, reader.malformed) == ("zeek-json-streaming", 0)
    assert [(item.name, item.how) for _, item in found] == [("time.example.edu", "dns"),
                                                            ("app.example.com", "sni")]


def test_bind_without_print_time_gets_the_file_time(tmp_path: Path) -> None:
    path = write(tmp_path, "queries.log", (
        "client @0x7f25 127.0.0.1#33923 (www.google.com): view in: query: www.google.com IN A "
        "+E(0)K (127.0.0.1)\n"
        "queries: info: client @0x7f99 127.0.0.1#46947 (gitlab.com): query: gitlab.com IN A "
        "+E(0)K (127.0.0.1)\n"), mtime=datetime(2021, 3, 28, 12, 0, tzinfo=UTC))
    reader, found = observations(path)
    assert reader.format == "bind9-named-syslog" and reader.malformed == 0
    assert [(item.name, item.time) for _, item in found] == [
        (name, datetime(2021, 3, 28, 12, 0, tzinfo=UTC).timestamp())
        for name in ("www.google.com", "gitlab.com")]


def test_placeholders_are_no_names() -> None:
    from scanner.names import InvalidName, normalise
    for placeholder in ("-", "*", "_", "--"):
        with pytest.raises(InvalidName, match="no letter or digit"):
            normalise(placeholder)
    assert normalise("-x-.example") == "-x-.example"  # odd labels stay names, as DNS allows


@pytest.mark.parametrize("encoding", ["tsv", "json"])
def test_zeek_mdns_service_names_and_update_keys_are_lan_names(
        tmp_path: Path, encoding: str) -> None:
    """mDNS names a service instance in any characters ("Kim's MacBook Air"): on the LAN's
    own ports a name that is no host name is not an app's, and no malformed record either.
    A TKEY's name, the key of a Windows secure dynamic update, is a LAN name too."""
    rows = [("1700000000.1", "5353", "Kim\u2019s MacBook Air._companion-link._tcp.local", 1),
            ("1700000000.2", "5353", "_googlecast._tcp.local", 1),
            ("1700000000.3", "53", "bad name.example.org", 1),
            ("1700000000.4", "53", "336-ms-7.1-6c1a.0b750ce3-de33", 249),  # TKEY
            ("1700000000.5", "53", "bad key!.example", 249)]
    if encoding == "tsv":
        text = ("#separator \\x09\n#path\tdns\n#fields\tts\tid.orig_h\tid.resp_p\tquery\tqtype\n"
                + "".join(f"{ts}\t10.0.0.5\t{port}\t{query}\t{qtype}\n"
                          for ts, port, query, qtype in rows))
    else:
        text = "".join(json.dumps({"ts": float(ts), "uid": "C1", "id.orig_h": "10.0.0.5",
                                   "id.resp_p": int(port), "query": query, "qtype": qtype})
                       + "\n" for ts, port, query, qtype in rows)
    reader, found = observations(write(tmp_path, "dns.log", text))
    assert reader.format == f"zeek-dns-{encoding}"
    assert [(item.name, item.local) for _, item in found] == [
        ("_googlecast._tcp.local", "mdns"), ("336-ms-7.1-6c1a.0b750ce3-de33", "key")]
    assert reader.problems == [f"{tmp_path / 'dns.log'}:{3 + 3 * (encoding == 'tsv')}: "
                               "invalid name 'bad name.example.org': characters not allowed in "
                               "a host name"]


def test_windows_dns_names() -> None:
    assert decode("(3)www(7)example(3)com(0)") == "www.example.com"
    assert decode("(4)_ldap(4)_tcp(2)dc(6)_msdcs(3)lan(0)") == "_ldap._tcp.dc._msdcs.lan"
    assert decode("(0)") == ""


def test_windows_dns_root_queries_and_year_first_locales(tmp_path: Path) -> None:
    """zh-CN and ja-JP servers write 2024/12/2 9:30:50; '(0)' asks for the root zone."""
    path = write(tmp_path, "dns.log", (
        "2024/12/2 9:30:50 0D48 PACKET  0000000000 UDP Rcv 10.0.0.7    0c6b   Q "
        "[0001   D   NOERROR] A      (3)www(9)magister(3)net(0)\n"
        "2024/12/2 9:30:51 0D48 PACKET  0000000000 UDP Rcv 10.0.0.7    0c6c   Q "
        "[0001   D   NOERROR] NS     (0)\n"))
    reader, found = observations(path, timezone=AMSTERDAM)
    assert (reader.records, reader.malformed) == (2, 0)
    assert found == [(1, Observation(datetime(2024, 12, 2, 9, 30, 50, tzinfo=AMSTERDAM).timestamp(),
                                     packed("10.0.0.7"), "www.magister.net", "dns"))]


def test_windows_dns_dutch_locale_and_directions(tmp_path: Path) -> None:
    text = (
        "21-5-2015 13:51:18 0D48 PACKET  0000000000 UDP Rcv 10.250.2.246    0c6b   Q "
        "[0001   D   NOERROR] A      (3)www(9)magister(3)net(0)\n"
        "21-5-2015 13:51:18 0D48 PACKET  0000000000 UDP Snd 10.250.128.151  b94d   Q "
        "[0001   D   NOERROR] A      (3)www(9)magister(3)net(0)\n"
        "21-5-2015 13:51:18 0D48 PACKET  0000000000 UDP Snd 10.250.2.246    0c6b R Q "
        "[8081   DR  NOERROR] A      (3)www(9)magister(3)net(0)\n"
    )
    path = write(tmp_path, "dns.log", text)
    reader, found = observations(path, timezone=AMSTERDAM)
    moment = datetime(2015, 5, 21, 13, 51, 18, tzinfo=AMSTERDAM).timestamp()
    assert reader.format == "windows-dns-debug"
    client = packed("10.250.2.246")
    assert found == [(1, Observation(moment, client, "www.magister.net", "dns")),
                     (3, Observation(moment, client, "www.magister.net", "answer"))]


@pytest.mark.parametrize("locale", ["en-GB", "en-US"])
def test_windows_dns_learns_the_date_order_from_the_file(tmp_path: Path, locale: str) -> None:
    """'01/02/2025' is 1 February on a British, French or Italian server and 2 January on an
    American one: a later date after the 12th (13/02 or 02/13) settles it for every line."""
    days = [(1, 8), (5, 9), (13, 10)]

    def stamp(day: int) -> str:
        return f"{day:02d}/02/2025" if locale == "en-GB" else f"02/{day:02d}/2025"

    header = f"DNS Server log file creation at {stamp(1)} 07:00:00\n\n"
    path = write(tmp_path, "dns.log", header + "".join(
        f"{stamp(day)} {hour:02d}:00:00 0E4C PACKET  000000D1E2A3B4C5 UDP Rcv 192.168.1.5     "
        f"8c6d   Q [0001   D   NOERROR] A      (3)www(7)example(3)com(0)\n"
        for day, hour in days))
    reader, found = observations(path, timezone=UTC)
    assert reader.malformed == 0
    assert [item.time for _, item in found] == [
        datetime(2025, 2, day, hour, tzinfo=UTC).timestamp() for day, hour in days]


def test_windows_dns_outgoing_only_and_dotted_names(tmp_path: Path) -> None:
    """A server logging only sent packets still shows the client; some write dotted names."""
    text = (
        "4/21/2017 7:52:03 AM 06B0 PACKET  00000000028657F0 UDP Snd 10.2.0.1        6590 R Q "
        "[8081   DR  NOERROR] A      (7)example(3)com(0)\n"
        "4/15/2014 3:16:00 PM 0710 PACKET  0000000028FB94C0 UDP  Rcv 10.2.0.7    8857   Q "
        "[0001   D   NOERROR] A      .www.school.example.\n"
        "4/15/2014 3:16:00 PM 0710 PACKET  0000000028FB94C0 UDP  Rcv 69.160.33.71    8857 R Q "
        "[0080       NOERROR] A      .ns1.upstream.example.\n"
    )
    reader, found = observations(write(tmp_path, "dns.log", text), timezone=UTC)
    assert reader.malformed == 0
    assert [(number, item.client, item.name, item.how) for number, item in found] == [
        (1, packed("10.2.0.1"), "example.com", "answer"),
        (2, packed("10.2.0.7"), "www.school.example", "dns"),
    ]


def test_windows_dns_single_spaced_columns_and_lookups_only(tmp_path: Path) -> None:
    """Copies of the log on web pages and in tools' test data have single spaces between the
    columns, so the empty R column is one space, not three. Dynamic updates (opcode U), in
    which clients register their own names, are no lookups of an app; the key name of the
    TKEY exchange securing them is a LAN name."""
    text = (
        "06.03.2020 17:15:40 0BD4 PACKET 0000008F15AD2190 UDP Rcv 10.200.1.222 9e90 Q "
        "[0001 D NOERROR] A (3)www(7)example(2)eu(0)\n"
        "06.03.2020 17:15:40 0BD4 PACKET 0000008F15AD2190 UDP Snd 10.200.1.222 9e90 R Q "
        "[8085 A DR NOERROR] A (3)www(7)example(2)eu(0)\n"
        "9/3/2010 2:06:38 PM 1720 PACKET 02306B10 UDP Snd 10.0.0.30 6068 Q [0001 D NOERROR] "
        "A (3)www(7)example(2)eu(0)\n"
        "2017-05-21 19:46:12 05C0 PACKET  00000020F4B1BE70 UDP Rcv 192.168.66.21   f1af   U "
        "[0028       NOERROR] SOA    (2)ad(6)school(2)nl(0)\n"
        "2017-05-21 19:46:12 0538 PACKET  00000020F4B1BE70 UDP Snd 192.168.66.21   f1af R U "
        "[00a8       NOERROR] SOA    (2)ad(6)school(2)nl(0)\n"
        "2017-05-21 19:46:20 0518 PACKET  00000020F51A8AB0 TCP Rcv 192.168.66.21   0913   Q "
        "[0000       NOERROR] TKEY   (8)952-ms-7(7)1-21b2f(36)654f75a4-3e4d-11e7-c880-c03fd56561d2"
        "(0)\n")
    for format_name in (None, "windows-dns-debug"):
        reader, found = observations(write(tmp_path, "dns.log", text), timezone=UTC,
                                     format_name=format_name)
        assert (reader.format, reader.records, reader.malformed) == ("windows-dns-debug", 6, 0)
        assert [(number, item.client, item.name, item.how, item.local)
                for number, item in found] == [
            (1, packed("10.200.1.222"), "www.example.eu", "dns", ""),
            (2, packed("10.200.1.222"), "www.example.eu", "answer", ""),
            (6, b"", "952-ms-7.1-21b2f.654f75a4-3e4d-11e7-c880-c03fd56561d2", "dns", "key")]


def test_a_resolver_iterating_counts_for_the_name_but_is_no_device(tmp_path: Path) -> None:
    """Devices ask with recursion desired; a resolver iterating (or one outside asking a zone
    the school's server holds) does not. Seen by a sensor or a server, its lookups count for
    the name and make no device: Zeek (TSV and JSON), Suricata and Windows DNS."""
    zeek = write(tmp_path, "dns.log", (
        "#separator \\x09\n#path\tdns\n#fields\tts\tid.orig_h\tid.resp_p\tquery\tqtype\tRD\n"
        "1700000000.1\t10.0.0.5\t53\ta.example\t1\tT\n"
        "1700000000.2\t10.0.0.53\t53\ta.example\t1\tF\n"))
    zeek_json = write(tmp_path, "dns.json", "".join(json.dumps(
        {"ts": 1700000000.0 + n, "uid": "C1", "id.orig_h": client, "id.resp_p": 53,
         "query": "a.example", "qtype": 1, "RD": desired}) + "\n"
        for n, (client, desired) in enumerate([("10.0.0.5", True), ("10.0.0.53", False)])))
    eve = write(tmp_path, "eve.json", "".join(json.dumps(
        {"timestamp": "2020-02-04T11:30:04.398067+0000", "flow_id": n, "event_type": "dns",
         "src_ip": client, "src_port": 40000, "dest_ip": "192.0.2.1", "dest_port": 53,
         "dns": {"version": 2, "type": "answer", "rrname": "a.example", "rd": desired}})
        + "\n" for n, (client, desired) in enumerate([("10.0.0.5", True), ("10.0.0.53", False)])))
    windows = write(tmp_path, "windows.log", (
        "21-5-2015 13:51:18 0D48 PACKET  0000000000 UDP Rcv 10.0.0.5        0c6b   Q "
        "[0001   D   NOERROR] A      (1)a(7)example(0)\n"
        "21-5-2015 13:51:18 0D48 PACKET  0000000000 UDP Rcv 10.0.0.53       0c6c   Q "
        "[0000       NOERROR] A      (1)a(7)example(0)\n"))
    for path in (zeek, zeek_json, eve, windows):
        reader, found = observations(path, timezone=UTC)
        assert reader.malformed == 0, path.name
        assert [(item.name, item.client) for _, item in found] == [
            ("a.example", packed("10.0.0.5")), ("a.example", b"")], path.name


def test_a_time_without_a_date_is_on_the_day_the_file_was_written(tmp_path: Path) -> None:
    """Old `pihole -t` output keeps only the time of day: the file's last write gives the
    date, the day before for a time after it."""
    path = write(tmp_path, "pihole.log", (
        "23:59:58 dnsmasq[784]: 34 10.0.0.5/56893 query[A] late.example from 10.0.0.5\n"
        "00:00:01 dnsmasq[784]: 35 10.0.0.5/56893 query[A] early.example from 10.0.0.5\n"),
        mtime=datetime(2026, 11, 28, 0, 5, tzinfo=UTC))
    reader, found = observations(path, timezone=UTC)
    assert (reader.format, reader.malformed) == ("dnsmasq", 0)
    assert [(item.name, item.time) for _, item in found] == [
        ("late.example", datetime(2026, 11, 27, 23, 59, 58, tzinfo=UTC).timestamp()),
        ("early.example", datetime(2026, 11, 28, 0, 0, 1, tzinfo=UTC).timestamp())]


def test_unbound_on_windows_and_copied_from_opnsense_columns(tmp_path: Path) -> None:
    path = write(tmp_path, "unbound.log", (
        "2024-11-29T19:53:44\tInformational\tunbound\t[49173:2] info: 10.0.0.5 a.example. A IN\n"
        "2024-11-29T19:53:45   Informational   unbound   [49173:2] query: 10.0.0.6 b.example. "
        "AAAA IN\n"
        "[1488985948] C:\\Program Files (x86)\\Unbound\\unbound.exe[332:0] info: 10.0.0.7 "
        "c.example. A IN\n"))
    reader, found = observations(path, timezone=UTC)
    assert (reader.format, reader.malformed) == ("unbound", 0)
    second = datetime(2024, 11, 29, 19, 53, 44, tzinfo=UTC).timestamp()
    assert [(item.client, item.name, item.time) for _, item in found] == [
        (packed("10.0.0.5"), "a.example", second), (packed("10.0.0.6"), "b.example", second + 1),
        (packed("10.0.0.7"), "c.example", 1488985948.0)]


def test_months_in_the_language_journalctl_writes_them(tmp_path: Path) -> None:
    """`journalctl` writes the month in the machine's language: Dutch, German, French,
    Portuguese, Swedish and Italian servers."""
    months = [("mei", 5), ("Mär", 3), ("févr.", 2), ("out", 10), ("maj", 5), ("dic", 12),
              ("okt", 10)]
    path = write(tmp_path, "journal.log", "".join(
        f"{name} {day:2d} 10:56:07 school unbound[123:0]: [123:1] info: 10.0.0.5 "
        f"app{day}.example. A IN\n" for day, (name, _) in enumerate(months, 1)),
        mtime=datetime(2026, 12, 31, tzinfo=UTC))
    reader, found = observations(path, timezone=UTC)
    assert (reader.format, reader.malformed) == ("unbound", 0)
    assert [item.time for _, item in found] == [
        datetime(2026, month, day, 10, 56, 7, tzinfo=UTC).timestamp()
        for day, (_, month) in enumerate(months, 1)]


def test_syslog_time_without_zone_or_year(tmp_path: Path) -> None:
    """Syslog has neither: the zone is the `timezone` given, the year the one that puts the
    line at or before the file's modification time."""
    text = ("Dec 31 23:59:59 dnsmasq[1]: query[A] a.example from 10.0.0.1\n"
            "Jan  1 00:00:01 dnsmasq[1]: query[A] b.example from 10.0.0.1\n")
    path = write(tmp_path, "pihole.log", text, mtime=datetime(2024, 1, 1, 12, tzinfo=UTC))
    _, found = observations(path, timezone=AMSTERDAM)
    assert [observation.time for _, observation in found] == [
        datetime(2023, 12, 31, 23, 59, 59, tzinfo=AMSTERDAM).timestamp(),
        datetime(2024, 1, 1, 0, 0, 1, tzinfo=AMSTERDAM).timestamp(),
    ]
    _, in_utc = observations(path, timezone=UTC)
    assert in_utc[0][1].time - found[0][1].time == 3600
    spelled_out = write(tmp_path, "wazuh.log", "January 10 08:00:00 dnsmasq[53]: query[A] "
                        "c.example from 10.0.0.1\n", mtime=datetime(2025, 2, 1, tzinfo=UTC))
    _, found = observations(spelled_out, timezone=UTC)  # as some syslog templates write it
    assert found[0][1].time == datetime(2025, 1, 10, 8, tzinfo=UTC).timestamp()


def test_times_with_a_fraction_are_cached_by_the_second() -> None:
    from scanner.sources.logs.timestamps import Clock
    clock = Clock(AMSTERDAM, datetime(2026, 1, 1, tzinfo=UTC).timestamp())
    texts = ["2025-06-28 08:47:18.378", "2025-06-28T08:47:18.379123+0200",
             "2023-11-14T22:13:20.000001Z", "2023-11-14 22:13:20,5 UTC",
             "2025-03-30T02:30:00.25"]  # a wall-clock time that does not exist in Amsterdam
    assert [clock(text) for text in texts] == [clock.parse(text) for text in texts]
    assert clock("2025-06-28T08:47:18.379123+0200") == datetime(
        2025, 6, 28, 6, 47, 18, 379123, tzinfo=UTC).timestamp()
    assert "2025-06-28T08:47:18+0200" in clock._cache  # one entry a second, not one a line


def test_times_with_a_zone_ignore_the_timezone_parameter() -> None:
    path = LOGS / "suricata-eve" / "beats_eve-small.log"
    _, plain = observations(path)
    _, shifted = observations(path, timezone=timezone(timedelta(hours=9)))
    assert plain == shifted
    stamp = datetime(2018, 7, 5, 15, 7, 20, 910626, tzinfo=timezone(timedelta(hours=-4)))
    assert plain[0] == (2, Observation(stamp.timestamp(), packed("192.168.86.85"), "l2.io", "sni"))


def test_umbrella_is_utc_unless_told_otherwise() -> None:
    path = LOGS / "cisco-umbrella-dns-csv" / "beats_umbrella-dnslogs.log"
    _, found = observations(path)
    assert found[0] == (1, Observation(datetime(2020, 7, 23, 23, 49, 54, tzinfo=UTC).timestamp(),
                                       packed("192.168.1.1"), "elastic.co", "dns"))
    _, local = observations(path, timezone=AMSTERDAM)
    assert found[0][1].time - local[0][1].time == 2 * 3600


def test_bind_single_digit_day_and_unbound_message_bodies(tmp_path: Path) -> None:
    """BIND writes '4-Aug-2021' for early days; OPNsense's log view gives unbound's message
    bodies without program or time (the file's time is used)."""
    bind = write(tmp_path, "named.log", (
        "4-Aug-2021 10:00:00.123 queries: info: client @0x7f1 10.0.0.5#53211 (www.wikiwijs.nl): "
        "query: www.wikiwijs.nl IN A -E(0)DC (10.0.0.1)\n"))
    reader, found = observations(bind, timezone=UTC)
    assert (reader.format, reader.malformed) == ("bind9-named-syslog", 0)
    assert found[0][1].time == datetime(2021, 8, 4, 10, 0, 0, 123000, tzinfo=UTC).timestamp()
    unbound = write(tmp_path, "unbound.txt", (
        "[96463:4] query: 10.0.0.5 profiles-prod-023.grafana.net. AAAA IN\n"
        "[46775:0] info: 10.in-addr.arpa. typetransparent 127.0.0.1@7365 20.100.0.10.in-addr.arpa"
        ". PTR IN\n"
        "[96463:11] query: 2001:db8::105b www.msftconnecttest.com. A IN\n"),
        mtime=datetime(2026, 11, 28, 9, 0, tzinfo=UTC))
    reader, found = observations(unbound)
    assert (reader.format, reader.malformed) == ("unbound", 0)
    moment = datetime(2026, 11, 28, 9, 0, tzinfo=UTC).timestamp()
    assert found == [  # a local zone's action names a lookup too (a reverse one: not stored)
        (1, Observation(moment, packed("10.0.0.5"), "profiles-prod-023.grafana.net", "dns")),
        (2, Observation(moment, packed("127.0.0.1"), "20.100.0.10.in-addr.arpa", "dns")),
        (3, Observation(moment, packed("2001:db8::105b"), "www.msftconnecttest.com", "dns"))]


def test_fortigate_eventtime_and_offsets() -> None:
    path = LOGS / "fortigate-kv" / "beats_utm.log"
    _, found = observations(path)
    first = found[0][1]
    assert (first.name, first.how, first.client) == ("elastic.co", "sni", packed("192.168.2.1"))
    assert first.time == 1587230269052907555 / 1e9
    dns = [observation for _, observation in found if observation.how == "dns"]
    assert {observation.name for observation in dns} == {"elastic.example.com", "elastic.co"}


def test_fortigate_relayed_times(tmp_path: Path) -> None:
    """FortiAnalyzer relays write tz="UTC+1:00"; an eventtime after the file was written (a
    relay's or a sanitiser's, decades ahead) gives way to date and time."""
    head = ('<185>logver=600050268 tz="UTC+1:00" devname="FGT" date=2020-03-27 time=16:58:31 '
            'logid="0419016384" type="utm" subtype="{subtype}" eventtime=3285324711 '
            'srcip={client} dstip=172.2.193.1 service="HTTPS" dstport=443 {extra}'
            'hostname="{host}"\n')
    path = write(tmp_path, "fortigate.log", "".join(head.format(**fields) for fields in [
        {"subtype": "webfilter", "client": "10.0.0.5", "extra": "", "host": "www.wikiwijs.nl"},
        {"subtype": "ips", "client": "10.0.0.6", "extra": 'direction="outgoing" ',
         "host": "bad.example"}]), mtime=datetime(2026, 11, 28, tzinfo=UTC))
    reader, found = observations(path)
    assert (reader.format, reader.records, reader.malformed) == ("fortigate-kv", 2, 0)
    moment = datetime(2020, 3, 27, 15, 58, 31, tzinfo=UTC).timestamp()
    assert found == [(1, Observation(moment, packed("10.0.0.5"), "www.wikiwijs.nl", "sni")),
                     (2, Observation(moment, packed("10.0.0.6"), "bad.example", "sni"))]


def test_fortigate_dns_query_and_response_count_once(tmp_path: Path) -> None:
    """A DNS filter that logs every domain writes each lookup as a query and a response,
    here the response first, as FortiOS's own log reference shows them; a response alone,
    and the same name asked again (another xid), count."""
    def dns(event: str, xid: int, port: int, nanoseconds: int) -> str:
        return (f'date=2019-05-15 time=15:05:49 logid="150{event == "dns-query"}054000" '
                f'type="utm" subtype="dns" eventtype="{event}" level="notice" vd="root" '
                f"eventtime={nanoseconds} sessionid=6887 srcip=10.1.100.22 srcport={port} "
                f'dstip=172.16.100.100 dstport=53 proto=17 xid={xid} '
                f'qname="changelogs.ubuntu.com" qtype="AAAA" qtypeval=28 qclass="IN"\n')

    path = write(tmp_path, "fortigate.log",
                 dns("dns-response", 57945, 50002, 1557957949740931155)
                 + dns("dns-query", 57945, 50002, 1557957949653103543)
                 + dns("dns-response", 1200, 50003, 1557957950000000000)
                 + dns("dns-query", 1201, 50004, 1557957951000000000)
                 + dns("dns-response", 1201, 50004, 1557957951100000000))
    reader, found = observations(path)
    assert (reader.records, reader.malformed) == (5, 0)
    assert [(number, item.name, round(item.time, 1)) for number, item in found] == [
        (1, "changelogs.ubuntu.com", 1557957949.7), (3, "changelogs.ubuntu.com", 1557957950.0),
        (4, "changelogs.ubuntu.com", 1557957951.0)]


def test_paloalto_export_with_column_names(tmp_path: Path) -> None:
    """A CSV exported from the web UI starts with the column names: not a malformed line."""
    path = write(tmp_path, "threat.csv", (
        "Domain,Receive Time,Serial #,Type,Threat/Content Type,Config Version,Generate Time,"
        "Source address\n" + "".join(
            f"1,2026/09/08 17:18:0{n},023001021706,THREAT,url,2049,2026/09/08 17:18:0{n},"
            f"10.0.0.2{n},142.250.1.1,0.0.0.0,0.0.0.0,Rule,,,ssl,vsys1,LAN,WAN,e1/2,e1/1,Fwd,"
            f"2026/09/08 17:18:0{n},1,1,5000{n},443,0,0,0x0,tcp,alert,\"site{n}.example/\","
            "(9999),search-engines,informational,client-to-server\n" for n in range(3))))
    reader, found = observations(path, timezone=UTC)
    assert (reader.format, reader.records, reader.malformed) == ("paloalto-csv", 3, 0)
    assert [item.name for _, item in found] == ["site0.example", "site1.example", "site2.example"]


def test_paloalto_dns_security_lookups(tmp_path: Path) -> None:
    """PAN-OS logs a lookup DNS Security caught as THREAT/spyware of a `dns*` application,
    the name in the misc field; other spyware and vulnerability entries hold no name."""
    common = ("2817,2026/09/08 17:18:02,10.0.0.26,8.8.8.8,198.51.100.1,8.8.8.8,Vlan0,,,{app},"
              "vsys1,LAN,WAN,ethernet1/2,ethernet1/1,Forward to Panorama,2026/09/08 17:18:03,"
              "187553,1,34259,53,43891,53,0x407000,udp,{action},{misc},{threat},any,low,"
              "client-to-server,7648486543962866192,0x8000000000000000,10.0.0.0-10.255.255.255,"
              "United States\n")
    path = write(tmp_path, "panos.log", "".join(
        f"1,2026/09/08 17:18:02,023001021706,THREAT,{subtype}," + common.format(**fields)
        for subtype, fields in [
            ("spyware", {"app": "dns-base", "action": "sinkhole", "misc": '"phish.example"',
                         "threat": "Phishing:phish.example(109010001)"}),
            ("spyware", {"app": "web-browsing", "action": "alert", "misc": '"c2.example/x"',
                         "threat": "Some C2(86000)"}),
            ("vulnerability", {"app": "dns", "action": "alert", "misc": "",
                               "threat": "DNS ANY Request(34842)"}),
            # PAN-OS 8 and 9: the misc field empty, the name only in the threat's
            ("spyware", {"app": "dns", "action": "sinkhole", "misc": '""',
                         "threat": "Suspicious DNS Query (generic:sink.example)(320511141)"})]))
    reader, found = observations(path, timezone=UTC)
    assert (reader.format, reader.records, reader.malformed) == ("paloalto-csv", 4, 0)
    moment = datetime(2026, 9, 8, 17, 18, 2, tzinfo=UTC).timestamp()
    assert found == [(1, Observation(moment, packed("10.0.0.26"), "phish.example", "dns")),
                     (4, Observation(moment, packed("10.0.0.26"), "sink.example", "dns"))]


def test_paloalto_10_lines_carry_their_own_zone(tmp_path: Path) -> None:
    """PAN-OS 10 and later write the generated time again with milliseconds and the
    firewall's offset (field 107): that time is the one taken, whatever zone the reader
    assumes; an older line has only the local time, read in the reader's zone."""
    def threat(high_res: str | None) -> str:
        fields = [""] * (123 if high_res else 70)
        fields[:8] = ["1", "2025/06/26 12:02:02", "024301003410", "THREAT", "url", "2817",
                      "2025/06/26 12:02:02", "10.10.200.111"]
        fields[14], fields[30], fields[31] = "ssl", "block-url", "web.whatsapp.com/"
        if high_res:
            fields[107] = high_res
        return "Jun 26 12:02:04 FW01 " + ",".join(fields) + "\n"

    path = write(tmp_path, "panos.log", threat("2025-06-26T12:02:04.099+03:00")
                 + threat(None) + threat("2025-06-26T09:02:05Z"))
    reader, found = observations(path, timezone=ZoneInfo("Europe/Amsterdam"))
    assert (reader.format, reader.records, reader.malformed) == ("paloalto-csv", 3, 0)
    assert [item.time for _, item in found] == [
        datetime(2025, 6, 26, 9, 2, 4, 99000, tzinfo=UTC).timestamp(),
        datetime(2025, 6, 26, 10, 2, 2, tzinfo=UTC).timestamp(),  # 12:02 in Amsterdam
        datetime(2025, 6, 26, 9, 2, 5, tzinfo=UTC).timestamp()]


def test_coredns_through_kubectl_timestamps_with_banner_klog_and_loop_probe(
        tmp_path: Path) -> None:
    """`kubectl logs --prefix --timestamps` puts a time before the banner and client-go's
    klog lines, which name nothing; the loop plugin asks itself a random HINFO name."""
    prefix = "[pod/coredns-7c9d4b8f6d-5kq2w/coredns] 2026-10-05T19:25:{second}.380819918Z "
    lines = [".:53", "CoreDNS-1.12.3", "linux/amd64, go1.24.6, 6e7b8a1",
             "W1005 19:26:26.000117       1 reflector.go:561] failed to list *v1.Service",
             '[INFO] 127.0.0.1:48899 - 63371 "HINFO IN 3388893353626257077.643398171450697041. '
             'udp 57 false 512" NXDOMAIN qr,rd,ra 57 0.01s',
             '[INFO] 10.244.0.7:41675 - 59925 "A IN github.com. udp 28 false 512" NOERROR '
             'qr,rd,ra 62 0.002s']
    path = write(tmp_path, "coredns.log", "".join(
        prefix.format(second=10 + n) + line + "\n" for n, line in enumerate(lines)))
    reader, found = observations(path)
    assert (reader.format, reader.records, reader.malformed) == ("coredns", 6, 0)
    assert found == [(6, Observation(
        datetime(2026, 10, 5, 19, 25, 15, 380819, tzinfo=UTC).timestamp(),
        packed("10.244.0.7"), "github.com", "dns"))]


def test_coredns_early_and_unquoted_lines(tmp_path: Path) -> None:
    """CoreDNS 1.2 wrote the time in brackets and no level; a Corefile `log` format may drop
    the quotes around the question."""
    early = LOGS.parent / "logs-more" / "coredns" / \
        "kubernetes-website_dns-debugging-resolution.log"
    reader, found = observations(early)
    assert reader.malformed == 0
    assert found[0] == (8, Observation(datetime(2018, 9, 7, 15, 29, 11, tzinfo=UTC).timestamp(),
                                       packed("172.17.0.18"),
                                       "kubernetes.default.svc.cluster.local", "dns"))
    unquoted = write(tmp_path, "coredns.log", (
        "[INFO] 10.0.0.7:41478 - 45106 SRV IN _ldap._tcp.school.example. udp 29 false 512 "
        "NOERROR qr,aa,rd,ra 119 0.099735863s denial NODATA\n"
        '[INFO] 10.0.0.8:7090 - 43392 "A IN www.wikiwijs.nl. udp 42 false 4096" NOERROR '
        "qr,rd,ra 149 0.001478317s\n"), mtime=datetime(2026, 1, 5, 9, 0, tzinfo=UTC))
    reader, found = observations(unquoted, format_name="coredns")
    assert reader.malformed == 0
    assert [(item.name, item.client) for _, item in found] == [
        ("_ldap._tcp.school.example", packed("10.0.0.7")), ("www.wikiwijs.nl", packed("10.0.0.8"))]


def test_sophos_urls_without_scheme_and_waf_paths(tmp_path: Path) -> None:
    """Cyberoam writes `domainname=` and URLs without their scheme; the UTM's web application
    firewall logs requests to the school's own servers with a bare path: no name, no error."""
    path = write(tmp_path, "sophos.log", (
        'date=2013-08-07 time=13:27:41 timezone="GMT" device_name="CC500ia" log_id=030906208001 '
        'log_type="Anti-Virus" log_component="HTTP" src_ip=10.1.2.3 url="example.fr/img/a.gif" '
        'domainname="example.fr"\n'
        'date=2013-08-07 time=13:27:42 timezone="GMT" device_name="CC500ia" log_id=030906208001 '
        'log_type="Anti-Virus" log_component="HTTP" src_ip=10.1.2.3 url="cdn.example.org/x.js"\n'
        '<142>2021:05:19-09:43:16 fw httpd: id="0299" srcip="198.51.100.7" method="GET" '
        'statuscode="200" url="/Microsoft-Server-ActiveSync" server="mail.school.example"\n'))
    reader, found = observations(path, format_name="sophos-xg-kv")
    assert (reader.records, reader.malformed) == (3, 0)
    assert [(item.name, item.how) for _, item in found] == [("example.fr", "http"),
                                                            ("cdn.example.org", "http")]


def test_squid_requests_for_no_url_and_combined_through_syslog(tmp_path: Path) -> None:
    native = write(tmp_path, "access.log", (
        "1140701044.525   1231 192.168.1.201 TCP_DENIED/400 1536 GET ahmet - NONE/- text/html\n"
        "1140701045.525   1231 192.168.1.201 TCP_MISS/200 1536 GET http://www.ossec.net/ - "
        "DIRECT/1.2.3.4 text/html\n"))
    reader, found = observations(native)
    assert (reader.format, reader.malformed) == ("squid-native", 0)
    assert [item.name for _, item in found] == ["www.ossec.net"]
    wsa = write(tmp_path, "wsa.log", "".join(  # a Cisco WSA's access log, relayed by syslog
        f"<38>Sep 26 11:36:0{n} 10.55.90.60 <14>Sep 26 11:36:0{n} ACCESS_LOGS: Info: "
        f"147491496{n}.011 6 10.55.13.11{n} TCP_MISS/304 285 GET http://crl{n}.example.com/a.crl"
        f" - DIRECT/crl{n}.example.com application/pkix-crl DEFAULT_CASE_12 <IW_comp,4.0> - "
        '203.0.113.7 80 259 - "Microsoft-CryptoAPI/6.1"\n' for n in range(1, 4)))
    reader, found = observations(wsa)
    assert (reader.format, reader.malformed) == ("squid-native", 0)
    assert [(item.name, item.client, item.time) for _, item in found] == [
        (f"crl{n}.example.com", packed(f"10.55.13.11{n}"), 1474914960.011 + n)
        for n in range(1, 4)]
    relayed = write(tmp_path, "squid-syslog.log", "".join(
        f"<134>2020-08-12T00:06:0{n}.829943+00:00 proxy01 squid[859]: 192.168.2.{n} - - "
        f'[12/Aug/2020:00:06:0{n} +0000] "GET http://site{n}.example.com/path HTTP/1.1" 200 2352 '
        '"-" "User-Agent" TCP_MISS:HIER_DIRECT\n' for n in range(1, 4)))
    reader, found = observations(relayed)
    assert (reader.format, reader.malformed) == ("squid-combined", 0)
    assert [(item.name, item.time) for _, item in found] == [
        (f"site{n}.example.com", datetime(2020, 8, 12, 0, 6, n, tzinfo=UTC).timestamp())
        for n in range(1, 4)]


def test_coredns_after_kubectl_and_stern_prefixes_and_unbound_hex_threads(
        tmp_path: Path) -> None:
    """`kubectl logs --prefix` (taken off like any wrapper, whatever the program) and stern
    put the pod and container first (with --timestamps, a time after them); unbound prints
    its thread number in hex."""
    query = '[INFO] 10.244.2.86:58156 - 54541 "A IN {}. udp 79 false 512" NOERROR qr,rd 346 0.1s'
    file_time = datetime(2024, 3, 2, 12, 0, tzinfo=UTC).timestamp()
    kubectl = write(tmp_path, "kubectl.log", (
        "[pod/coredns-7fbc4ff6f5-sxkrx/coredns] " + query.format("one.example.org") + "\n"
        "[pod/coredns-x/coredns] 2024-03-01T08:00:01Z " + query.format("four.example.org")
        + "\n"), mtime=datetime(2024, 3, 2, 12, 0, tzinfo=UTC))
    stern = write(tmp_path, "stern.log", (
        "coredns-5b6d5d5566-g8rr7 coredns " + query.format("two.example.org") + "\n"
        "coredns-5b6d5d5566-g8rr7 coredns 2024-03-01T08:00:00Z " + query.format("three.example.org")
        + "\n"), mtime=datetime(2024, 3, 2, 12, 0, tzinfo=UTC))
    for path, expected in (
            (kubectl, [("one.example.org", file_time), ("four.example.org", datetime(
                2024, 3, 1, 8, 0, 1, tzinfo=UTC).timestamp())]),
            (stern, [("two.example.org", file_time), ("three.example.org", datetime(
                2024, 3, 1, 8, 0, 0, tzinfo=UTC).timestamp())])):
        reader, found = observations(path)
        assert (reader.format, reader.malformed) == ("coredns", 0)
        assert [(item.name, item.time) for _, item in found] == expected
    pihole = write(tmp_path, "pihole.log", "".join(
        f"[pod/pihole-0/pihole] 2025-05-01 10:33:4{n}.949 query[A] app{n}.example from 10.1.1.1\n"
        for n in range(3)))
    reader, found = observations(pihole, timezone=UTC)
    assert (reader.format, reader.malformed) == ("dnsmasq", 0)
    assert [item.name for _, item in found] == [f"app{n}.example" for n in range(3)]
    unbound = write(tmp_path, "unbound.log", (
        "[16667:e] info: 192.168.1.1 _ldap._tcp.dc._msdcs.school.example. SRV IN\n"
        "[1700000000] unbound[3888:1f] info: 192.168.1.2 www.wikiwijs.nl. A IN\n"))
    reader, found = observations(unbound)
    assert (reader.format, reader.malformed) == ("unbound", 0)
    assert [item.name for _, item in found] == ["_ldap._tcp.dc._msdcs.school.example",
                                                 "www.wikiwijs.nl"]


def test_lines_without_a_client_still_count(tmp_path: Path) -> None:
    text = ('device="SFW" date=2020-05-18 time=14:38:51 timezone="CEST" log_id=050901616001 '
            'log_type="Content Filtering" url="https://app.example.nl/x" domain=app.example.nl\n')
    path = write(tmp_path, "sophos.log", text)
    _, found = observations(path)
    moment = datetime(2020, 5, 18, 14, 38, 51, tzinfo=timezone(timedelta(hours=2)))
    assert found == [(1, Observation(moment.timestamp(), b"", "app.example.nl", "sni"))]


def test_adguard_querylog(tmp_path: Path) -> None:
    text = ('{"IP":"192.168.1.20","T":"2021-02-01T10:00:00.123456789+01:00","QH":"Wikiwijs.NL",'
            '"QT":"A","QC":"IN","CP":"","Answer":"","Result":{},"Elapsed":123,"Upstream":"x"}\n'
            '{"IP":"192.168.1.21","T":"2021-02-01T10:00:01+01:00","QH":"10.1.1.1","QT":"PTR"}\n'
            'not json\n')
    path = write(tmp_path, "querylog.json", text)
    reader, found = observations(path)
    moment = datetime(2021, 2, 1, 9, 0, 0, 123456, tzinfo=UTC).timestamp()
    assert reader.format == "adguard-querylog"
    assert found == [(1, Observation(moment, packed("192.168.1.20"), "wikiwijs.nl", "dns"))]
    assert reader.problems == [f"{path}:3: not a JSON object"]


def test_bind_old_and_new_styles(tmp_path: Path) -> None:
    text = (
        "07-Apr-2022 08:08:10.043 client 10.0.0.5#5353: query: old.example IN A + (10.0.0.1)\n"
        "07-Apr-2022 08:08:11.000 queries: info: client @0x7f1dd4114af0 10.0.0.6#59735 "
        "(new.example): query: new.example IN AAAA +E(0) (10.0.0.1)\n"
        "07-Apr-2022 08:08:12.000 client @0x7f1dd4114af0 10.0.0.6#59735 (new.example): "
        "view internal: query: view.example IN A +\n"
        "07-Apr-2022 08:08:13.000 resolver priming query complete\n"
    )
    path = write(tmp_path, "query.log", text)
    reader, found = observations(path, timezone=UTC)
    assert reader.format == "bind9-named-syslog"
    assert [(number, o.name, o.client) for number, o in found] == [
        (1, "old.example", packed("10.0.0.5")),
        (2, "new.example", packed("10.0.0.6")),
        (3, "view.example", packed("10.0.0.6")),
    ]
    assert found[0][1].time == datetime(2022, 4, 7, 8, 8, 10, 43000, tzinfo=UTC).timestamp()


def test_response_policy_hits_are_lookups_counted_once(tmp_path: Path) -> None:
    """BIND's `rpz` category and Unbound's `rpz-log` and `log-local-actions` name the client
    and the name a policy answered (a blocklist, often in a file of its own): a lookup. Where
    the query (and reply) lines are in the same log, the hit repeats them."""
    bind = write(tmp_path, "rpz.log", (
        "09-Sep-2019 18:50:49.439 client @0x7faf8e004a00 ::1#54175 (canary.example): "
        "rpz QNAME NXDOMAIN rewrite canary.example/AAAA/IN via canary.example.policy.rpz\n"
        "17-Mar-2020 09:34:49.887 rpz: info: client 192.168.123.10#53112 (phish.example): rpz "
        "QNAME NODATA rewrite phish.example via phish.example.phishy.rpz.example\n"
        "17-Mar-2020 09:35:00.001 queries: info: client @0x7f1 10.0.0.9#5000 (ads.example): "
        "query: ads.example IN A + (10.0.0.53)\n"
        "17-Mar-2020 09:35:00.002 rpz: info: client @0x7f1 10.0.0.9#5000 (ads.example): rpz QNAME "
        "NXDOMAIN rewrite ads.example/A/IN via ads.example.blocklist.rpz\n"))
    reader, found = observations(bind)
    assert (reader.format, reader.records, reader.malformed) == ("bind9-named-syslog", 4, 0)
    assert [(number, item.client, item.name) for number, item in found] == [
        (1, packed("::1"), "canary.example"),
        (2, packed("192.168.123.10"), "phish.example"), (3, packed("10.0.0.9"), "ads.example")]
    unbound = write(tmp_path, "unbound.log", (
        "[1791027875] unbound[687999:0] info: pub.example. always_nxdomain 192.168.1.50@59974 "
        "ads.pub.example. A IN\n"
        "Jun 26 10:51:57 dns unbound[1:1] info: rpz: applied [blocklist] bad.example. "
        "rpz-nxdomain 10.0.0.7@57994 bad.example. A IN\n"
        "[1791027880] unbound[687999:0] query: 10.0.0.8 track.example. A IN\n"
        "[1791027880] unbound[687999:0] info: rpz: applied [blocklist] track.example. "
        "rpz-nxdomain 10.0.0.8@40000 track.example. A IN\n"
        "[1791027880] unbound[687999:0] reply: 10.0.0.8 track.example. A IN NXDOMAIN 0.0 0 40\n"
        "[1791027881] unbound[687999:0] reply: 192.168.1.50 ads.pub.example. A IN NXDOMAIN "
        "0.0 0 40\n"))
    reader, found = observations(unbound, timezone=UTC)
    assert (reader.format, reader.records, reader.malformed) == ("unbound", 6, 0)
    assert [(number, item.client, item.name) for number, item in found] == [
        (1, packed("192.168.1.50"), "ads.pub.example"), (2, packed("10.0.0.7"), "bad.example"),
        (3, packed("10.0.0.8"), "track.example")]


def test_unbound_replies_count_only_when_no_query_waits_for_them(tmp_path: Path) -> None:
    """With log-queries and log-replies both on, each lookup is a query line and later its
    reply: counted once. A reply whose query is not in the file (an excerpt, log-queries
    turned off) is the only record of that lookup and counts."""
    def line(second: int, client: str, name: str, reply: bool = False) -> str:
        return (f"[16254915{second:02d}] unbound[13532:0] info: {client} {name}. A IN"
                + (" NOERROR 0.000000 0 49\n" if reply else "\n"))

    only_replies = write(tmp_path, "replies.log", line(26, "10.0.0.7", "www.example.com", True)
                         * 2)
    assert len(list(read_log(only_replies))) == 2
    both = write(tmp_path, "both.log", "".join([
        line(20, "10.0.0.9", "early.example", reply=True),   # its query was before the file
        line(26, "10.0.0.7", "www.example.com"),
        line(26, "10.0.0.8", "www.example.com"),
        line(26, "10.0.0.7", "WWW.example.com", reply=True),  # answers line 2
        line(27, "10.0.0.7", "www.example.com"),
        line(27, "10.0.0.7", "www.example.com", reply=True),  # answers line 5
        line(27, "10.0.0.8", "www.example.com", reply=True),  # answers line 3
        line(28, "10.0.0.8", "www.example.com", reply=True),  # log-queries off from here on
        line(29, "10.0.0.7", "late.example", reply=True),
    ]))
    reader, found = observations(both)
    assert (reader.records, reader.malformed) == (9, 0)
    assert [(number, item.client, item.name) for number, item in found] == [
        (1, packed("10.0.0.9"), "early.example"), (2, packed("10.0.0.7"), "www.example.com"),
        (3, packed("10.0.0.8"), "www.example.com"), (5, packed("10.0.0.7"), "www.example.com"),
        (8, packed("10.0.0.8"), "www.example.com"), (9, packed("10.0.0.7"), "late.example")]
    assert found[1][1] == Observation(1625491526.0, packed("10.0.0.7"), "www.example.com", "dns")


@pytest.mark.parametrize("format_name, root, spaced", [
    ("dnsmasq", "dnsmasq[812]: query[NS] . from 127.0.0.1",
     "dnsmasq[812]: query[A] weird name.example.org from 10.0.0.5"),
    ("unbound", "unbound[1:0] info: 10.0.0.5 . NS IN", None),
    ("bind9-named-syslog", "named[500]: client @0x7f1 10.0.0.5#5353 (.): query: . IN NS +E(0)",
     None),
])
def test_the_root_zone_is_no_name_and_a_spaced_name_is_an_invalid_one(
        tmp_path: Path, format_name: str, root: str, spaced: str | None) -> None:
    """`NS .` (a resolver priming, `dig NS .`) names no app and is no error; dnsmasq logs a
    question with a space as it came (a record whose name is no host name, not a damaged
    line), in the C Tally's count as in Python's."""
    lines = [root, "dnsmasq[812]: query[A] www.wikiwijs.nl from 10.0.0.5"
             if format_name == "dnsmasq" else None, spaced]
    path = write(tmp_path, "dns.log", "".join(f"Nov 28 10:00:0{number} router {line}\n"
                                              for number, line in enumerate(lines) if line))
    reader, found = observations(path, format_name=format_name)
    assert (reader.malformed, reader.invalid_names) == (0, 1 if spaced else 0)
    assert [item.name for _, item in found] == (["www.wikiwijs.nl"] if spaced else [])
    if reader.can_count:
        counted = read_log(path, format_name)
        assert [row[0] for _, group in counted.counted() for row in group] == ["www.wikiwijs.nl"]
        assert (counted.malformed, counted.invalid_names) == (0, 1)


@pytest.mark.parametrize("format_name, line", [
    ("unbound", "unbound[75499]: [26931:0] info: 10.0.0.5 www.wikiwijs.nl. A IN"),
    ("bind9-named-syslog", "named[500]: client @0x7f1 10.0.0.5#5353 (www.wikiwijs.nl): query: "
                           "www.wikiwijs.nl IN A +E(0)K (10.0.0.1)"),
    ("dnsmasq", "dnsmasq[812]: query[A] www.wikiwijs.nl from 10.0.0.5"),
])
def test_a_dns_servers_lines_in_a_shared_syslog_file(
        tmp_path: Path, format_name: str, line: str) -> None:
    """A DNS server's lines among every other program's (/var/log/syslog, a firewall's remote
    log in BSD or RFC 5424 form): too few for the format's own sniff test, found by its
    program's tag; the other programs' lines are valid lines without a name, and an unknown
    line stays malformed."""
    path = write(tmp_path, "syslog", (
        "Nov 28 10:00:00 router systemd[1]: Started Session 5 of user root.\n"
        f"Nov 28 10:00:01 router {line}\n"
        "Nov 28 10:00:02 router CRON[900]: (root) CMD (run-parts /etc/cron.hourly)\n"
        "Nov 28 10:00:03 router kernel: [12345.678] eth0: link up\n"
        "<134>1 2025-11-28T10:00:04+01:00 fw.example filterlog 76404 - [meta sequenceId=\"1\"] "
        "124,,,fae559,igb1,match,pass,out,4\n"
        "<30>mai 04 10:56:07 fw dhcpd[401]: DHCPACK on 10.0.0.5\n"
        "2025-11-28T10:00:05+01:00 sshd[1000]: Accepted publickey for root from 10.0.0.2\n"
        "this line is nobody's\n"))
    assert not REGISTRY[format_name].sniff(path.read_bytes())
    lines = path.read_text().splitlines(keepends=True)
    others = write(tmp_path, "others", "".join(lines[:1] + lines[2:]))
    with pytest.raises(UnknownFormat):  # no DNS server's line at all
        read_log(others)
    for named in (None, format_name):
        reader, found = observations(path, format_name=named, timezone=UTC)
        assert reader.format == format_name
        assert [(number, item.name) for number, item in found] == [(2, "www.wikiwijs.nl")]
        assert (reader.records, reader.malformed) == (8, 1)
    assert reader.problems == [f"{path}:8: not {'an' if format_name == 'unbound' else 'a'} "
                               f"{'named' if format_name.startswith('bind') else format_name} "
                               "log line"]


def test_unbound_reply_with_fields_after_its_size(tmp_path: Path) -> None:
    """A reply line may go on after the size (newer Unbound's `log-destaddr`): still the
    client's lookup. A query line with a stray fifth word is no reply and stays unread."""
    path = write(tmp_path, "unbound.log", (
        "mai 04 10:56:07 unbound unbound[123:0]: [123:1] info: 10.0.0.5 evil.example.com. A IN "
        "NOERROR 0.001 0 0 0.0.0.0\n"
        "mai 04 10:56:08 unbound unbound[123:0]: [123:1] info: 10.0.0.5 b.example. A IN "
        "NOERROR 0.000000 0 49 10.0.0.1@53 udp\n"
        "mai 04 10:56:09 unbound unbound[123:0]: [123:1] info: 10.0.0.5 c.example. A IN odd\n"))
    reader, found = observations(path)
    assert (reader.records, reader.malformed) == (3, 0)
    assert [(number, item.name) for number, item in found] == [
        (1, "evil.example.com"), (2, "b.example")]

def test_squid_lines_without_a_host_are_no_error(tmp_path: Path) -> None:
    """A scanner's 'GET /' sent to the proxy port, and Squid's own error pseudo-URLs and
    cache manager requests (squidclient, a monitoring agent)."""
    path = write(tmp_path, "access.log", (
        "1753229566.990      0 192.168.68.50 NONE_NONE/000 0 - "
        "error:transaction-end-before-headers - HIER_NONE/- -\n"
        "1753229580.417     15 192.168.68.50 NONE_NONE/400 3896 GET / - HIER_NONE/- text/html\n"
        "1753229580.500     15 192.168.68.50 NONE_NONE/400 3896 OPTIONS * - HIER_NONE/- -\n"
        "1486686388.768      0 10.1.1.4 TCP_MISS/200 2965 GET cache_object://localhost/5min - "
        "HIER_NONE/- text/plain\n"))
    reader, found = observations(path)
    assert (reader.format, reader.records, reader.malformed, found) == ("squid-native", 4, 0, [])


def test_squid_combined_logformat(tmp_path: Path) -> None:
    """`logformat combined` (%>a %[ui %[un [%tl] "%rm %ru HTTP/%rv" %>Hs %<st ...); a web
    server's log of the same shape asks for paths and is not taken for a proxy's."""
    path = write(tmp_path, "access.log", (
        '10.0.0.5 - - [03/Dec/2025:12:42:15 -0700] "GET http://www.wikiwijs.nl/a?b HTTP/1.1" '
        '200 10139 "-" "Wget/1.21.1" TCP_MISS:HIER_DIRECT\n'
        '10.0.0.6 - jan [03/Dec/2025:12:42:16.250 -0700] "CONNECT teams.microsoft.com:443 '
        'HTTP/1.1" 200 5809 "-" "-" TCP_TUNNEL:HIER_DIRECT\n'
        '10.0.0.6 - - [03/Dec/2025:12:42:17 -0700] "GET / HTTP/1.1" 400 3896 "-" "-" '
        'NONE_NONE:HIER_NONE\n'
        'half a line\n'))
    reader, found = observations(path)
    seven_hours = timezone(timedelta(hours=-7))
    assert reader.format == "squid-combined"
    assert found == [
        (1, Observation(datetime(2025, 12, 3, 12, 42, 15, tzinfo=seven_hours).timestamp(),
                        packed("10.0.0.5"), "www.wikiwijs.nl", "http")),
        (2, Observation(datetime(2025, 12, 3, 12, 42, 16, 250000, tzinfo=seven_hours).timestamp(),
                        packed("10.0.0.6"), "teams.microsoft.com", "http"))]
    assert reader.problems == [f"{path}:4: not a Squid combined log line"]
    web_server = write(tmp_path, "nginx.log", "".join(
        f'10.0.0.{n} - - [03/Dec/2025:12:42:1{n} +0100] "GET /page{n} HTTP/1.1" 200 512 "-" "-"\n'
        for n in range(4)))
    with pytest.raises(InputError, match="in no log format"):
        read_log(web_server)
    relayed = write(tmp_path, "wsa.log", "".join(  # a Cisco WSA's Apache-style access log
        f"Jun 01 00:14:4{n} relay wsa.proxy.school.example: 10.0.0.{n} - - "
        f'[01/Jun/2013:00:00:0{n} +0200] "POST http://push{n}.example/xhr" 200 2088 '
        "TCP_MISS:DIRECT 155 DEFAULT_CASE_11\n" for n in range(3)))
    reader, found = observations(relayed)
    assert (reader.format, reader.malformed) == ("squid-combined", 0)
    assert [(item.client, item.name) for _, item in found] == [
        (packed(f"10.0.0.{n}"), f"push{n}.example") for n in range(3)]


def test_squid_hosts() -> None:
    _, found = observations(LOGS / "squid-native" / "beats_access1.log")
    first = found[0]
    assert first == (1, Observation(1157689312.049, packed("10.105.21.199"), "login.yahoo.com",
                                    "http"))


def test_zeek_json_nested_ids_and_iso_time(tmp_path: Path) -> None:
    text = ('{"ts":"2024-01-08T08:30:00.5Z","uid":"C1","id":{"orig_h":"10.1.0.9",'
            '"resp_h":"10.1.0.1","resp_p":53},"query":"Teams.Microsoft.com","qtype":1}\n')
    path = write(tmp_path, "dns.log", text)
    reader, found = observations(path)
    moment = datetime(2024, 1, 8, 8, 30, 0, 500000, tzinfo=UTC).timestamp()
    assert reader.format == "zeek-dns-json"
    assert found == [(1, Observation(moment, packed("10.1.0.9"), "teams.microsoft.com", "dns"))]


def test_zeek_tsv_of_another_log_is_refused(tmp_path: Path) -> None:
    source = LOGS / "zeek-ssl-tsv" / "zeek_scripts.base.protocols.ssl.basic_ssl.log"
    with pytest.raises(InputError) as error:
        list(read_log(source, format_name="zeek-http-tsv"))
    assert str(error.value) == (
        f"{source}:8: a zeek http.log has a 'host' column and this one has not; "
        f"choose another --format")


def test_sniff_needs_bytes_it_knows() -> None:
    assert sniff(b"", Path("x")) is None
    assert sniff(GARBAGE.encode(), Path("x")) is None
    head = (LOGS / "coredns" / "beats_coredns.log").read_bytes()
    assert sniff(head, Path("x")) == "coredns"


def damaged_lines(data: st.DataObject, lines: list[str], most: int, noise: str,
                  intact: int = 1) -> list[str]:
    """Up to `most` of `lines`, each cut, spliced with characters of `noise`, prefixed with
    them, or (`intact` times as likely as each of those) left whole."""
    damaged = []
    for _ in range(data.draw(st.integers(1, most))):
        line = data.draw(st.sampled_from(lines))
        cut = data.draw(st.integers(0, len(line)))
        added = data.draw(st.text(st.sampled_from(noise), max_size=6))
        damaged.append(data.draw(st.sampled_from([line[:cut], line[:cut] + added + line[cut:],
                                                  added + line] + [line] * intact)))
    return damaged


LINE_FORMATS = sorted(name for name, item in REGISTRY.items() if not item.reads_file)


def real_lines(format_name: str) -> list[str]:
    """Lines of the real samples of a format (both sample folders), to damage."""
    folders = [LOGS / format_name, LOGS.parent / "logs-more" / format_name]
    files = [path for folder in folders if folder.is_dir()
             for path in sorted(folder.glob("*")) if not path.name.endswith((".json", ".txt"))
             or path.name.endswith("eve.json")]
    return [line for path in files for line in path.read_text(errors="replace").splitlines()
            if line.strip()][:200]


@pytest.mark.parametrize("format_name", LINE_FORMATS)
@settings(max_examples=40, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_damaged_lines_are_counted_never_a_crash(format_name: str, data: st.DataObject,
                                                 tmp_path: Path) -> None:
    """Real lines of each format, cut, spliced and sprinkled with odd characters: the reader
    counts and places every bad one, and every line is either a record or skipped."""
    damaged = damaged_lines(data, real_lines(format_name) or ["x"], 12,
                            '"{}[]:;,=\t |/\\#-.\x00é\ufffd')
    path = tmp_path / "damaged.log"
    path.write_text("\n".join(damaged) + "\n")
    reader = read_log(path, format_name)
    try:
        found = list(reader)
    except InputError as error:  # a Zeek TSV header without the log's column: said plainly
        assert str(error).startswith(f"{path}:")
        return
    assert reader.records + reader.skipped == reader.lines == len(damaged)
    assert reader.malformed <= reader.records
    assert all(problem.startswith(f"{path}:") for problem in reader.problems)
    assert all(item.name and item.name == item.name.lower() for _, item in found)
