"""Logs through `appradar scan`: same names as the truth files, incremental and rotation-safe."""

from __future__ import annotations

import gzip
import json
import os
import re
import sqlite3
import time
from datetime import date, timedelta
from pathlib import Path

import pytest

from scanner import names as names_module
from scanner import scan as scan_module
from scanner.config import Config
from scanner.extract import Observation
from scanner.extract.packets import Dissector
from scanner.inventory import open_database, queries
from scanner.inventory import unknown as unknown_module
from scanner.inventory import writer as writer_module
from scanner.inventory.retention import purge
from scanner.inventory.writer import stays_out
from scanner.signatures.catalog import Catalog
from scanner.sources.logs import base as logs_base
from scanner.sources.logs import open_text, read_log
from scanner.sources.logs.base import LogReader
from scanner.sources.logs.timestamps import local_day
from scanner.sources.pcap import CaptureReader
from tests.conftest import DATA
from tests.test_scan import scan_interrupted, scanner_for, snapshot

LOGS = DATA / "logs"
TRUTHS = sorted(LOGS.glob("*/*.truth.json"))


@pytest.mark.parametrize("truth", TRUTHS, ids=[path.parent.name + "/" + path.name[:40]
                                               for path in TRUTHS])
def test_scan_of_a_log_gives_the_truth(app, truth: Path, tmp_path: Path) -> None:
    expected = json.loads(truth.read_text())
    log = truth.with_name(truth.name.removesuffix(".truth.json"))
    if log.suffix == ".sql":  # the Pi-hole database is shipped as its SQL dump
        database = tmp_path / "pihole-FTL.db"
        connection = sqlite3.connect(database)
        connection.executescript(log.read_text())
        connection.close()
        log = database
    result = app("scan", str(log))
    assert f"{log}: {expected['format']} (sniffed)" in result.stderr
    observations = [item for _, item in read_log(log)]
    local_only = {item.name for item in observations if item.local} - {
        item.name for item in observations if not item.local}
    assert local_only <= set(expected["domains"])  # mDNS/LLMNR names: counted, not stored
    kept_out = {name for name in expected["domains"] if stays_out(name)}  # LAN, reverse
    assert {item["domain"] for item in app.json("domains")} == set(expected["domains"]) - \
        local_only - kept_out


CAPTURE_AND_LOG = [
    ("zeek-dns-tsv", "zeek_opt.basic_wikipedia.pcap", "zeek_opt.basic_dns.log"),
    ("zeek-http-tsv", "zeek_opt.basic_wikipedia.pcap", "zeek_opt.basic_http.log"),
    ("zeek-http-tsv", "zeek_core.tunnels.teredo_Teredo.pcap", "zeek_core.tunnels.teredo_http.log"),
    ("zeek-http-tsv", "zeek_core.tunnels.ayiya_ayiya3.pcap", "zeek_core.tunnels.ayiya_http.log"),
    ("zeek-ssl-tsv", "zeek_scripts.base.protocols.ssl.basic_tls-conn-with-extensions.pcap",
     "zeek_scripts.base.protocols.ssl.basic_ssl.log"),
    *[("zeek-quic-tsv", f"zeek_scripts.base.protocols.quic.{capture}",
       f"zeek_scripts.base.protocols.quic.{log}") for capture, log in [
        ("chromium_chromium-115.0.5790.110-api-cirrus-com.pcap", "chromium_quic.log"),
        ("firefox_firefox-102.13.0esr-blog-cloudflare-com.pcap", "firefox_quic.log"),
        ("interop.quic-go_quic-go.zerortt_zerortt.pcap",
         "interop.quic-go_quic-go.zerortt_quic.log")]],  # SNI 'server4:443'
    # quicdoq.pcap carries no server name at all: nothing to compare
]


# Zeek logs no request for a connection whose handshake the capture lacks; tshark and appradar
# read the request anyway (frame 6 of wikipedia.pcap, TCP stream 0 starts mid-stream).
ZEEK_MISSES = {"zeek_opt.basic_http.log": {"www.wikipedia.org"}}


@pytest.mark.parametrize("folder, capture, log", CAPTURE_AND_LOG)
def test_capture_and_its_zeek_log_give_the_same_names(app, tmp_path: Path, folder: str,
                                                      capture: str, log: str) -> None:
    from tests.conftest import App

    how = {"zeek-dns-tsv": {"dns"}, "zeek-http-tsv": {"http"}, "zeek-ssl-tsv": {"sni"},
           "zeek-quic-tsv": {"quic"}}[folder]
    app("scan", str(LOGS / folder / log))
    from_log = {item["domain"] for item in app.json("domains") if how & set(item["seen_as"])}
    other = App(tmp_path / "capture.db")
    other("scan", str(LOGS / folder / capture))
    from_capture = {item["domain"] for item in other.json("domains")
                    if how & set(item["seen_as"])}
    assert from_log == from_capture - ZEEK_MISSES.get(log, set())
    # read, before the store leaves out LAN names ('server4', a lab's single label)
    read_from_log = {item.name for _, item in read_log(LOGS / folder / log)
                     if item.how in how and not item.local}
    dissector = Dissector()
    for frame in CaptureReader(LOGS / folder / capture):
        dissector.frame(*frame)
    read_from_capture = {item.name for item in dissector.drain()
                         if item.how in how and not item.local}
    assert read_from_log == read_from_capture - ZEEK_MISSES.get(log, set())
    assert read_from_log


@pytest.mark.parametrize("counted", [False, True], ids=["python", "tally"])
def test_update_and_key_names_in_a_zeek_log_are_counted_not_stored(
        app, monkeypatch: pytest.MonkeyPatch, counted: bool) -> None:
    """Zeek's own logs of a dynamic update (opcode 5: clients registering their names) and of
    the TKEY exchange securing one: the names are read as the LAN's own, counted in the
    summary and never stored, as mDNS names are."""
    if not counted:
        monkeypatch.setattr(LogReader, "can_count", property(lambda self: False))
    folder = DATA / "logs-more" / "zeek-dns-tsv"
    update, key = folder / "zeek-btest-dynamic-update.log", folder / "zeek-btest-tkey.log"
    assert {(item.name, item.local) for _, item in read_log(update)} == {
        ("nwin1.stratolab.org", "update"), ("nwin2.stratolab.org", "update")}
    assert [(item.name, item.local) for _, item in read_log(key)] == [
        ("1068-ms-7.309-2c6e448.7a9463b8-b109-11ed-26a3-080027f220e5", "key")]
    result = app("scan", str(update), str(key))
    assert "3 names" in result.stderr
    assert app.json("domains") == []


def test_a_captured_dynamic_update_names_the_schools_zone_counted_not_stored(app) -> None:
    """An UPDATE's question is the zone the client registers in (the school's own, as
    tshark lists it): read as a LAN name, like Zeek's log of the same update."""
    capture = DATA / "pcap" / "zeek__dynamic-update.pcap"
    dissector = Dissector()
    for frame in CaptureReader(capture):
        dissector.frame(*frame)
    assert {(item.name, item.how, item.local) for item in dissector.drain()} == {
        ("stratolab.org", "dns", "update")}
    app("scan", str(capture))
    assert app.json("domains") == []


def pihole_lines(start: int, count: int) -> str:
    return "".join(f"Sep  8 16:{i // 60:02d}:{i % 60:02d} dnsmasq[577]: query[A] "
                   f"host{i}.magister.net from 10.1.0.{i % 200 + 1}\n"
                   for i in range(start, start + count))


def hits(app) -> int:
    return sum(item["hits"] for item in app.json("domains"))


@pytest.mark.parametrize("counted", [False, True], ids=["python", "tally"])
def test_the_resolver_asking_itself_is_no_device(app, tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch,
                                                 counted: bool) -> None:
    """Pi-hole looks up pi.hole from 127.0.0.1 every half minute, and a local process asks
    through ::1: the lookups count, but the server is no device of the school."""
    if not counted:
        monkeypatch.setattr(LogReader, "can_count", property(lambda self: False))
    log = tmp_path / "pihole.log"
    log.write_text("".join(
        f"Sep  8 16:00:{second:02d} dnsmasq[577]: query[A] {name} from {client}\n"
        for second, (name, client) in enumerate([
            ("pi.hole", "127.0.0.1"), ("pi.hole", "127.0.0.1"), ("api.github.com", "::1"),
            ("api.github.com", "10.0.0.5"), ("www.wikiwijs.nl", "10.0.0.6")])))
    app("scan", str(log))
    stored = sqlite3.connect(app.database)
    assert sorted(stored.execute(
        "SELECT d.domain, d.hits, count(DISTINCT j.value) FROM domains d LEFT JOIN "
        "device_days x ON x.domain_id = d.id LEFT JOIN json_each(x.devices) j "
        "GROUP BY d.domain")) == [
        ("api.github.com", 2, 1), ("pi.hole", 2, 0), ("www.wikiwijs.nl", 1, 1)]
    assert stored.execute("SELECT count(*) FROM devices").fetchone() == (2,)


@pytest.mark.parametrize("counted", [False, True], ids=["python", "tally"])
def test_names_of_the_schools_own_network_are_counted_not_stored(
        app, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, counted: bool) -> None:
    """Devices ask the school's DNS server for each other too: a single label (a Windows
    host, `wpad`), `.lan`, `.home.arpa`, `.internal`, `.local` by unicast DNS, a Fritz!Box.
    Such names say whose device it is, never which app: counted, never stored."""
    if not counted:
        monkeypatch.setattr(LogReader, "can_count", property(lambda self: False))
    lan = ["juliets-iphone.lan", "desktop-7f3k", "wpad", "nas.home.arpa", "dc01.school.internal",
           "_ldap._tcp.dc._msdcs.school.local", "fritz.box", "printer.localdomain"]
    apps = ["www.wikiwijs.nl", "lan.example.com", "internal.magister.net", "local.nl"]
    log = tmp_path / "pihole.log"
    log.write_text("".join(f"Sep  8 16:00:{second:02d} dnsmasq[577]: query[A] {name} from "
                           f"10.0.0.5\n" for second, name in enumerate(lan + apps)))
    result = app("scan", str(log))
    assert f"{len(lan + apps)} names" in result.stderr
    assert sorted(item["domain"] for item in app.json("domains")) == sorted(apps)


def test_a_growing_log_is_read_only_where_it_grew(app, tmp_path: Path) -> None:
    log = tmp_path / "pihole.log"
    log.write_text(pihole_lines(0, 300))
    app("scan", str(log))
    assert hits(app) == 300
    size = log.stat().st_size
    with log.open("a") as handle:
        handle.write(pihole_lines(300, 200))
    stored = sqlite3.connect(app.database).execute("SELECT byte_offset FROM imports").fetchone()
    assert stored == (size,)
    result = app("scan", str(log))
    assert "Scanned 1 file(s): 0 packets, 200 log records" in result.stderr  # only what is new
    assert hits(app) == 500
    assert "already imported" in app("scan", str(log)).stderr
    assert hits(app) == 500


def test_a_scan_needs_no_public_suffix_list(
        app, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The registrable domain groups unknown names for triage, and is looked up there, for
    those names only: a scan, which mostly meets names of apps, never reads the list."""
    def unread() -> None:
        raise AssertionError("a scan read the Public Suffix List")

    log = tmp_path / "pihole.log"
    log.write_text(pihole_lines(0, 3) + "".join(
        f"Sep  8 16:00:{i:02d} dnsmasq[577]: query[A] {name} from 10.0.0.{i + 1}\n"
        for i, name in enumerate(["a.unknown-quiz.co.uk", "b.unknown-quiz.co.uk",
                                  "cdn.other-unknown.example"])))
    with monkeypatch.context() as patched:
        patched.setattr(names_module, "public_suffixes", unread)
        app("scan", str(log))
    looked_up: list[str] = []
    real = names_module.registrable
    monkeypatch.setattr(unknown_module, "registrable",
                        lambda name: looked_up.append(name) or real(name))
    groups = app.json("domains", "--unknown")
    assert [(group["registrable"], group["names"]) for group in groups] == [
        ("unknown-quiz.co.uk", 2), ("other-unknown.example", 1)]
    assert sorted(looked_up) == ["a.unknown-quiz.co.uk", "b.unknown-quiz.co.uk",
                                 "cdn.other-unknown.example"]  # not the app's names


@pytest.mark.parametrize("counted", [False, True], ids=["python", "tally"])
def test_a_line_still_being_written_waits_for_the_next_scan(
        app, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, counted: bool) -> None:
    """A scan can meet the last line of a live log half written: it is left for the next
    scan, not read as a malformed line now and another one then. A log that has not changed
    for a while is finished, and its last line is read with or without a newline."""
    if counted and logs_base.Tally is None:
        pytest.skip("appradar was installed without its C extension")
    if not counted:
        monkeypatch.setattr(logs_base, "Tally", None)
    log = tmp_path / "pihole.log"
    whole = pihole_lines(0, 3)
    log.write_text(whole[:-30])  # the third line cut short
    first = app("scan", str(log))
    assert "2 names, 0 malformed" in first.stderr
    assert (f"  {log}: its last line is still being written (the log changed less than 60 s "
            "ago); the next scan reads it\n") in first.stderr
    log.write_text(whole + pihole_lines(3, 2))
    second = app("scan", str(log))
    assert "3 names, 0 malformed" in second.stderr
    assert "still being written" not in second.stderr
    assert hits(app) == 5
    finished = tmp_path / "old.log"
    finished.write_text(pihole_lines(0, 2).rstrip("\n"))
    os.utime(finished, (time.time() - 3600, time.time() - 3600))
    assert "2 names, 0 malformed" in app("scan", str(finished)).stderr


def test_rotated_and_compressed_logs_are_not_counted_twice(app, tmp_path: Path,
                                                           monkeypatch: pytest.MonkeyPatch
                                                           ) -> None:
    log = tmp_path / "pihole.log"
    log.write_text(pihole_lines(0, 300))
    app("scan", str(log))
    with log.open("a") as handle:
        handle.write(pihole_lines(300, 100))
    rotated = tmp_path / "pihole.log.1.gz"
    rotated.write_bytes(gzip.compress(log.read_bytes()))
    log.unlink()
    log.write_text(pihole_lines(400, 50))
    result = app("scan", str(rotated), str(log))
    assert "150 names" in result.stderr  # what the rotation added, and the new log
    assert hits(app) == 450
    # A compressed rotation read to its end does not change: later scans do not read it.
    # (The reader is made to fail: reading it at all would end the scan.)
    monkeypatch.setattr(LogReader, "counted", None)
    monkeypatch.setattr(LogReader, "__iter__", None)
    again = app("scan", str(rotated))
    assert f"{rotated}: already imported" in again.stderr
    assert "Scanned 1 file(s): 0 packets, 0 log records" in again.stderr
    assert "no names" not in again.stderr
    assert hits(app) == 450


def zeek_dns_log(opened: str, first: int, count: int, close: bool = False) -> str:
    """A Zeek dns.log as Zeek writes it, opened at `opened`, with `count` lookups."""
    fields = ["ts", "uid", "id.orig_h", "id.orig_p", "id.resp_h", "id.resp_p", "proto", "query"]
    return (f"#separator \\x09\n#path\tdns\n#open\t{opened}\n#fields\t" + "\t".join(fields)
            + "\n" + "".join(f"{1_700_000_000 + i}.5\tC{i}\t10.0.0.{i % 50 + 1}\t5353\t"
                             f"10.0.0.53\t53\tudp\thost{i}.example.org\n"
                             for i in range(first, first + count))
            + ("#close\t2023-11-14-23-00-00\n" if close else ""))


def test_zeek_archives_give_what_the_live_log_had_not(app, tmp_path: Path) -> None:
    """Zeek moves current/dns.log into a dated directory, compressed, every hour; scanning
    both (as deploy/ suggests) takes the rest of the hour from the archive, once."""
    live = tmp_path / "logs" / "current" / "dns.log"
    live.parent.mkdir(parents=True)
    live.write_text(zeek_dns_log("2023-11-14-22-00-00", 0, 100))
    pattern = str(tmp_path / "logs" / "*" / "dns.*")
    app("scan", pattern)
    archive = tmp_path / "logs" / "2023-11-14" / "dns.22:00:00-23:00:00.log.gz"
    archive.parent.mkdir()
    archive.write_bytes(gzip.compress(zeek_dns_log("2023-11-14-22-00-00", 0, 150, close=True)
                                      .encode()))
    live.write_text(zeek_dns_log("2023-11-14-23-00-00", 150, 20))
    result = app("scan", pattern)
    assert "70 names" in result.stderr  # 50 from the archive, 20 from the new live log
    assert "already imported" in app("scan", pattern).stderr
    assert hits(app) == 170 and len(app.json("domains")) == 170


def test_a_log_is_matched_against_its_own_imports_only(tmp_path: Path) -> None:
    """A year of hourly archives is thousands of imports: a log is compared with those of the
    same head, or of its own path or the name it was rotated from, found by index."""
    logs = tmp_path / "logs"
    logs.mkdir()
    for hour in range(30):
        (logs / f"dns.{hour:02d}.log").write_text(zeek_dns_log(f"2023-11-14-{hour:02d}", hour, 3))
    database = tmp_path / "inventory.db"
    scanner = scanner_for(database)
    scanner.run([str(logs)])
    reader = read_log(logs / "dns.07.log")
    with open_text(logs / "dns.07.log") as stream:
        head = stream.read(scan_module.LOG_HEAD).encode()
    found = scanner._earlier_imports(logs / "dns.07.log", head, reader.format,
                                     (logs / "dns.07.log").stat().st_ino)
    assert [row[4] for row in found] == [str(logs / "dns.07.log")]
    rotated = logs / "dns.07.log.1"
    (logs / "dns.07.log").rename(rotated)
    rotated.write_text(zeek_dns_log("2023-11-14-07", 7, 5))  # grew, then was rotated
    with open_text(rotated) as stream:
        longer = stream.read(scan_module.LOG_HEAD).encode()
    found = scanner._earlier_imports(rotated, longer, reader.format, 0)
    assert [row[4] for row in found] == [str(logs / "dns.07.log")]


def school_lines(count: int) -> str:
    """A log where devices ask the same names again and again, as in a school."""
    return "".join(f"Sep  8 {8 + i // 3600:02d}:{i // 60 % 60:02d}:{i % 60:02d} dnsmasq[577]: "
                   f"query[A] host{i * 7 % 13}.magister.net from 10.1.0.{i % 11 + 1}\n"
                   for i in range(count))


@pytest.mark.parametrize("compressed", [False, True], ids=["plain", "gzip"])
@pytest.mark.parametrize("counted", [False, True], ids=["python", "tally"])
def test_an_interrupted_log_import_resumes_without_double_counting(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, compressed: bool,
        counted: bool) -> None:
    """Small batches, and groups of another size in the second run, so its groups would
    straddle what the first run stored; a gzip log cannot be read on from a byte offset and
    is read again from its start. Read line by line in Python, or in blocks by the Tally."""
    if counted and logs_base.Tally is None:
        pytest.skip("appradar was installed without its C extension")
    if not counted:
        monkeypatch.setattr(logs_base, "Tally", None)
    log = tmp_path / ("school.log.gz" if compressed else "school.log")
    text = school_lines(9000).encode()
    log.write_bytes(gzip.compress(text) if compressed else text)
    clean = tmp_path / "clean.db"
    scanner_for(clean).run([str(log)])
    monkeypatch.setattr(scan_module, "FLUSH_OBSERVATIONS", 500)
    monkeypatch.setattr(scan_module, "OBSERVATION_GROUP", 7)
    monkeypatch.setattr(logs_base, "BLOCK_BYTES", 4096)
    monkeypatch.setattr(logs_base, "DRAIN_LINES", 500)
    interrupted = tmp_path / "interrupted.db"
    stored = scan_interrupted(log, clean, interrupted)
    monkeypatch.setattr(scan_module, "OBSERVATION_GROUP", 5)
    monkeypatch.setattr(logs_base, "BLOCK_BYTES", 3000)
    monkeypatch.setattr(logs_base, "DRAIN_LINES", 700)
    second = scanner_for(interrupted).run([str(log)])
    assert [item.status for item in second.files] == ["resumed"]
    assert second.stats.records == 9000 - (0 if compressed else stored)
    assert snapshot(interrupted) == snapshot(clean)
    assert len(snapshot(clean)["device_days"]) == 13 * 11  # every device asked every name


def pihole_database(path: Path, created: int, rows: list[tuple[int, int, str, str]]) -> None:
    """A pihole-FTL.db as FTL keeps it (schema of FTL's own test database), created at
    `created`, with `rows` (id, timestamp, domain, client) of queries."""
    connection = sqlite3.connect(path)
    connection.executescript((LOGS / "pihole-ftl-db" / "pihole-FTL_test_pihole-FTL.db.sql")
                             .read_text())
    connection.execute("UPDATE ftl SET value = ? WHERE id = 2", (created,))
    add_queries(connection, rows)


def add_queries(connection: sqlite3.Connection, rows: list[tuple[int, int, str, str]]) -> None:
    with connection:
        connection.executemany("INSERT INTO queries (id, timestamp, type, status, domain, client)"
                               " VALUES (?, ?, 1, 2, ?, ?)", rows)
        connection.execute("UPDATE ftl SET value = ? WHERE id = 1", (rows[-1][1],))
    connection.close()


def test_a_growing_pihole_database_is_read_on_not_again(tmp_path: Path) -> None:
    """FTL rewrites the database's header on every write and deletes rows as they age: the
    next scan still knows the database (by when FTL created it) and stores only new rows."""
    log = tmp_path / "pihole-FTL.db"
    pihole_database(log, 1_700_000_000, [(1, 1_700_000_100, "classroom.google.com", "10.1.2.3"),
                                         (2, 1_700_000_101, "magister.net", "10.1.2.4")])
    head = log.read_bytes()[:100]
    database = tmp_path / "inventory.db"
    first = scanner_for(database).run([str(log)])
    assert [item.status for item in first.files] == ["imported"]
    connection = sqlite3.connect(log)
    with connection:
        connection.execute("DELETE FROM queries WHERE id = 1")  # aged out
    add_queries(connection, [(3, 1_700_000_200, "wikiwijs.nl", "10.1.2.5"),
                             (4, 1_700_000_201, "magister.net", "10.1.2.3")])
    assert log.read_bytes()[:100] != head
    second = scanner_for(database).run([str(log)])
    assert [item.status for item in second.files] == ["resumed"]
    assert second.stats.records == 2
    third = scanner_for(database).run([str(log)])
    assert [item.status for item in third.files] == ["already imported"]
    assert third.stats.records == 0
    hits = {row[0]: row[3] for row in snapshot(database)["domains"]}
    assert hits == {"classroom.google.com": 1, "magister.net": 2, "wikiwijs.nl": 1}
    log.unlink()  # Pi-hole reinstalled: a new database, its ids from 1 again
    pihole_database(log, 1_800_000_000, [(1, 1_800_000_100, "kahoot.it", "10.1.2.3")])
    fourth = scanner_for(database).run([str(log)])
    assert [item.status for item in fourth.files] == ["imported"]
    assert {row[0]: row[3] for row in snapshot(database)["domains"]}["kahoot.it"] == 1


def test_an_interrupted_pihole_database_import_resumes(tmp_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    log = tmp_path / "pihole-FTL.db"
    pihole_database(log, 1_700_000_000, [
        (row, 1_700_000_000 + row, f"host{row % 13}.magister.net", f"10.1.0.{row % 11 + 1}")
        for row in range(1, 3001)])
    clean = tmp_path / "clean.db"
    scanner_for(clean).run([str(log)])
    monkeypatch.setattr(scan_module, "FLUSH_OBSERVATIONS", 500)
    monkeypatch.setattr(scan_module, "OBSERVATION_GROUP", 7)
    interrupted = tmp_path / "interrupted.db"
    stored = scan_interrupted(log, clean, interrupted)
    second = scanner_for(interrupted).run([str(log)])
    assert [item.status for item in second.files] == ["resumed"]
    assert second.stats.records == 3000 - stored
    assert snapshot(interrupted) == snapshot(clean)


def test_device_days_of_a_failed_batch_are_written_again(tmp_path: Path) -> None:
    """The writer remembers which device-day rows it stored, but only once they are committed."""
    database = tmp_path / "inventory.db"
    scanner = scanner_for(database)
    seen = Observation(1_600_000_000.0, bytes([10, 0, 0, 7]), "www.magister.net", "dns")

    def fail() -> None:
        raise RuntimeError("disk full")

    scanner.writer.add([seen])
    with pytest.raises(RuntimeError):
        scanner.writer.flush(fail)
    assert snapshot(database)["device_days"] == []
    scanner.writer.add([seen])
    scanner.writer.flush()
    scanner.writer.add([seen._replace(time=seen.time + 60)])
    scanner.writer.flush()
    assert len(snapshot(database)["device_days"]) == 1
    assert snapshot(database)["domains"][0][3] == 2  # hits: the failed batch counts no more


def test_two_scans_beside_each_other_count_each_device_once(tmp_path: Path) -> None:
    """A writer appends to a row it stored the devices it has not stored there; a scan beside
    it may have stored one of them meanwhile. The row then names that device twice, and
    every count of devices, the retention's too, still counts it once."""
    database = tmp_path / "inventory.db"
    first, second = scanner_for(database).writer, scanner_for(database).writer
    moment = 1_600_000_000.0
    one, two, three = (bytes([10, 0, 0, number]) for number in (7, 8, 9))
    seen = Observation(moment, one, "www.magister.net", "dns")
    first.add([seen])
    first.flush()
    second.add([seen._replace(client=two)])  # a row it did not store: merged
    second.flush()
    first.add([seen._replace(client=two), seen._replace(client=three)])  # appended
    first.flush()
    connection = sqlite3.connect(database)
    [(devices,)] = connection.execute("SELECT devices FROM device_days").fetchall()
    assert sorted(json.loads(devices)) == [1, 2, 2, 3]
    connection.close()
    inventory = open_database(database)
    assert [item["devices"] for item in queries.domains(inventory)] == [3]
    assert [(item["app"], item["devices"]) for item in queries.apps(
        inventory, Catalog.load())] == [("magister", 3)]
    folded = purge(inventory, Config(), today=date.today() + timedelta(days=31))
    assert folded.device_rows_deleted == 3
    assert inventory.conn.execute("SELECT devices FROM daily").fetchall() == [(3,)]
    assert [item["devices"] for item in queries.domains(inventory)] == [3]


@pytest.mark.parametrize("remembered", [500_000, 1])
def test_a_daily_row_gains_devices_across_batches(tmp_path: Path, monkeypatch,
                                                   remembered: int) -> None:
    """Devices of one day and name arrive in several batches, as observations and as rows a
    log reader counted; each is stored once, whether or not the writer still remembers the
    rows it wrote (`remembered` = 1 forgets them after every batch)."""
    monkeypatch.setattr(writer_module, "STORED_DEVICE_DAYS", remembered)
    database = tmp_path / "inventory.db"
    writer = scanner_for(database).writer
    moment = 1_600_000_000.0
    first, second, third = bytes([10, 0, 0, 7]), bytes([10, 0, 0, 8]), bytes([10, 0, 0, 9])
    seen = Observation(moment, first, "www.magister.net", "dns")
    day = local_day(int(moment // 3600))
    writer.add([seen])
    writer.flush()
    writer.add([seen, seen._replace(client=second)])
    writer.add_counted([("www.magister.net", "dns", third, day, "", "", 3, moment, moment + 9),
                        ("www.magister.net", "answer", first, day, "", "", 2, moment, moment)])
    writer.flush()
    writer.add_counted([("www.magister.net", "dns", third, day, "", "", 1, moment, moment)])
    writer.flush()
    stored = snapshot(database)
    assert len(stored["device_days"]) == 3
    assert len({row[4] for row in stored["device_days"]}) == 3
    rows = sqlite3.connect(database).execute("SELECT devices FROM device_days").fetchall()
    assert len(rows) == 1 and sorted(json.loads(rows[0][0])) == [1, 2, 3]  # one set per row
    assert stored["daily"] == [(day, "default", "other", "www.magister.net", 1 + 2 + 3 + 1)]
    assert stored["domains"][0][3] == 1 + 2 + 3 + 2 + 1  # hits: answers too


def test_explicit_and_unknown_formats(app, tmp_path: Path) -> None:
    log = tmp_path / "odd-name.txt"
    log.write_text(pihole_lines(0, 3))
    result = app("scan", str(log), "--format", "dnsmasq")
    assert f"{log}: dnsmasq\n" in result.stderr
    result = app("scan", str(log), "--format", "syslog-ng", expect=1)
    assert result.stderr.startswith("Error: unknown format 'syslog-ng'; supported: auto, pcap, "
                                    "pihole-ftl-db, suricata-eve,")


def test_a_zeek_log_whose_tabs_became_spaces_is_refused_plainly(app, tmp_path: Path) -> None:
    """Pasted from a web page, a dns.log has spaces where the tabs were: its header names the
    cause, and the summary counts no records (not minus the header lines read)."""
    log = tmp_path / "dns.log"
    log.write_text("#separator \\x09\n#path   dns\n#fields ts      uid     id.orig_h       "
                   "query\n#types  time    string  addr    string\n1700000000.0    C1      "
                   "10.0.0.1        a.example\n")
    result = app("scan", str(log), expect=1)
    assert (f"Error: {log}:3: the #fields line is not separated by the #separator '\\t'; were "
            "the tabs turned into spaces (copied from a web page)?") in result.stderr
    assert "Scanned 1 file(s): 0 packets, 0 log records, 0 names" in result.stderr
    assert "no names in" not in result.stderr


def test_invalid_names_in_a_log_are_counted_as_such_not_as_the_wrong_format(
        app, tmp_path: Path) -> None:
    """A DNS tunnel's payload ('3x6-.57-.aSXm/3hqP*pn4k.x.example') is a well-formed lookup
    of no host name: counted as an invalid name, as a capture counts it, with its place."""
    log = tmp_path / "pihole.log"
    log.write_text("".join(
        f"Jan 15 00:51:0{n} dnsmasq[14522]: query[TXT] 3x6-.{n}-.aSXm/3hqP*pn4k.x.example "
        f"from 10.0.0.5\n" for n in range(3)) +
        "Jan 15 00:51:09 dnsmasq[14522]: query[A] www.wikiwijs.nl from 10.0.0.5\n")
    result = app("scan", str(log))
    assert ("Scanned 1 file(s): 0 packets, 4 log records, 1 names, 0 malformed, "
            "3 invalid names skipped") in result.stderr
    assert f"{log}:1: invalid name '3x6-.0-.aSXm/3hqP*pn4k.x.example'" in result.stderr
    assert "probably the wrong format" not in result.stderr


def test_a_log_with_records_but_no_names_says_so(app, tmp_path: Path) -> None:
    log = tmp_path / "waf.log"
    log.write_text('<142>2021:05:19-09:43:16 fw httpd: id="0299" srcip="198.51.100.7" '
                   'url="/owa/" server="mail.school.example"\n')
    result = app("scan", str(log), "--format", "sophos-xg-kv")
    assert (f"{log}: no names in 1 records: none of them records a lookup or a visit; if this "
            "is not a sophos-xg-kv log, choose its format with --format") in result.stderr
    assert "no names" not in app("scan", str(log), "--format", "sophos-xg-kv").stderr


def test_mostly_garbage_is_probably_the_wrong_format(app, tmp_path: Path) -> None:
    log = tmp_path / "pihole.log"
    log.write_text(pihole_lines(0, 1) + "".join(f"garbage line {i}\n" for i in range(30)))
    result = app("scan", str(log), "--format", "dnsmasq")
    assert "probably the wrong format (choose one with --format)" in result.stderr
    assert f"{log}:2: " in result.stderr


# Times written as numbers that no calendar day holds, each on its own line 2..6 of a log
# whose lines 1 and 7 are good: damage to count with its place, never the end of a run.
NO_DAY_TIMES = ["nan", "inf", "-inf", "1e300", "17000000001234567890.5"]


def numeric_time_log(tmp_path: Path, format_name: str) -> Path:
    times = ["1700000000.5", *NO_DAY_TIMES, "1700000001.5"]
    names = [f"n{i}.example.org" for i in range(len(times))]
    if format_name == "zeek-dns-tsv":
        log = tmp_path / "dns.log"
        log.write_text("#separator \\x09\n#path\tdns\n#fields\tts\tid.orig_h\tquery\n" + "".join(
            f"{moment}\t10.0.0.1\t{name}\n" for moment, name in zip(times, names, strict=True)))
    elif format_name == "zeek-dns-json":
        log = tmp_path / "dns.json"
        log.write_text("".join(f'{{"ts":{moment},"uid":"C{i}","id.orig_h":"10.0.0.1",'
                               f'"query":"{name}"}}\n'
                               for i, (moment, name) in enumerate(zip(times, names, strict=True))
                               ).replace("nan", "NaN").replace("inf", "Infinity"))
    elif format_name == "squid-native":
        log = tmp_path / "access.log"
        log.write_text("".join(f"{moment} 5 10.0.0.1 TCP_MISS/200 100 GET http://{name}/ - "
                               "HIER_DIRECT/192.0.2.1 text/html\n"
                               for moment, name in zip(times, names, strict=True)))
    else:
        log = tmp_path / "pihole-FTL.db"
        with sqlite3.connect(log) as connection:
            connection.execute("CREATE TABLE queries (id INTEGER PRIMARY KEY, timestamp INTEGER, "
                               "type INTEGER, status INTEGER, domain TEXT, client TEXT)")
            connection.executemany("INSERT INTO queries VALUES (?, ?, 1, 2, ?, '10.0.0.1')",
                                   [(i + 1, float(moment), name) for i, (moment, name)
                                    in enumerate(zip(times, names, strict=True))])
        connection.close()
    return log


@pytest.mark.parametrize("format_name,in_c", [
    ("zeek-dns-tsv", True), ("zeek-dns-tsv", False), ("zeek-dns-json", False),
    ("squid-native", False), ("pihole-ftl-db", False)],
    ids=["zeek-dns-tsv-Tally", "zeek-dns-tsv-Python", "zeek-dns-json", "squid-native",
         "pihole-ftl-db"])
def test_a_time_no_day_holds_is_a_malformed_line(app, tmp_path: Path, format_name: str,
                                                 in_c: bool, monkeypatch) -> None:
    if not in_c:  # the C Tally reads only Zeek TSV among these: the others are Python's
        monkeypatch.setattr(logs_base, "Tally", None)
    log = numeric_time_log(tmp_path, format_name)
    result = app("scan", str(log), "--format", format_name)
    assert "2 names, 5 malformed" in result.stderr
    header = 3 if format_name == "zeek-dns-tsv" else 0
    shown = re.findall(rf"^  {re.escape(str(log))}:(\d+): (.*)$", result.stderr, re.MULTILINE)
    reasons = {
        "zeek-dns-json": ["not a JSON object"] * 3 + ["no readable 'ts'"] * 2,  # NaN: no JSON
        "pihole-ftl-db": [f"unreadable timestamp {value}" for value in
                          ("None", "inf", "-inf", "1e+300", "1.7000000001234567e+19")],
    }.get(format_name, [f"unreadable time {value!r}" for value in NO_DAY_TIMES])
    assert shown == [(str(header + line), reason) for line, reason in enumerate(reasons, 2)]
    assert {item["domain"] for item in app.json("domains")} == {"n0.example.org",
                                                                "n6.example.org"}


@pytest.mark.parametrize("counted", [False, True], ids=["python", "tally"])
def test_a_damaged_archive_keeps_what_came_before_the_damage(app, tmp_path: Path,
                                                             monkeypatch, counted: bool) -> None:
    """A rotated log cut short (a full disk while it was compressed) or corrupt inside: the
    lines before the damage are stored, the damage is named, and the archive counts as
    read; one damaged at its very start is refused with what was wrong, not a traceback."""
    if not counted:
        monkeypatch.setattr(logs_base, "Tally", None)
    packed = gzip.compress(pihole_lines(0, 3600).encode())  # an hour of lines
    cut = tmp_path / "pihole.log.2.gz"
    cut.write_bytes(packed[: len(packed) // 2])
    result = app("scan", str(cut))
    stored = hits(app)
    assert 500 < stored < 3600
    assert re.search(rf"^  {re.escape(str(cut))}: compressed data damaged after line "
                     r"[\d,]+ \(Compressed file ended before the end-of-stream marker was "
                     r"reached\); the lines before it were read, the rest cannot be$",
                     result.stderr, re.MULTILINE)
    assert "already imported" in app("scan", str(cut)).stderr
    assert hits(app) == stored
    corrupt = tmp_path / "pihole.log.3.gz"
    corrupt.write_bytes(packed[:20] + bytes(2000) + packed[2020:])
    result = app("scan", str(corrupt), expect=1)
    assert result.stderr.startswith(f"Error: {corrupt}: compressed data damaged at its start "
                                    "(Error -3 while decompressing data: ")


def test_standard_input_is_scanned_like_a_file(tmp_path: Path) -> None:
    import subprocess
    import sys

    database = tmp_path / "stdin.db"
    command = [sys.executable, "-m", "scanner", "scan", "-", "--db", str(database)]
    first = subprocess.run(command, input=pihole_lines(0, 20).encode(), capture_output=True)
    assert first.returncode == 0, first.stderr
    assert b"dnsmasq (sniffed)" in first.stderr
    again = subprocess.run(command, input=pihole_lines(0, 20).encode(), capture_output=True)
    assert b"already imported" in again.stderr
    names = sqlite3.connect(database).execute("SELECT count(*), sum(hits) FROM domains")
    assert names.fetchone() == (20, 20)
    assert not list(tmp_path.glob(".appradar-stdin-*"))


def test_follow_refuses_what_does_not_grow_line_by_line(app, tmp_path: Path) -> None:
    """A database is read by row and a compressed log never grows: following either would
    only scan it again and again."""
    database = tmp_path / "pihole-FTL.db"
    pihole_database(database, 1_700_000_000, [(1, 1_700_000_100, "kahoot.it", "10.1.2.3")])
    compressed = tmp_path / "pihole.log.1.gz"
    compressed.write_bytes(gzip.compress(pihole_lines(0, 5).encode()))
    for path, why in ((database, "this is a pihole-ftl-db database: scan it from a timer"),
                      (compressed, "a compressed one does not grow")):
        result = app("scan", "--follow", str(path), expect=1)
        assert f"Error: {path}: --follow tails" in result.stderr and why in result.stderr
    assert app.json("domains") == []


def test_follow_tails_a_growing_log_through_rotation(tmp_path: Path) -> None:
    import signal
    import subprocess
    import sys
    import time

    log = tmp_path / "pihole.log"
    log.write_text(pihole_lines(0, 10))
    database = tmp_path / "follow.db"
    process = subprocess.Popen(
        [sys.executable, "-m", "scanner", "scan", "--follow", str(log), "--db", str(database)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)

    def stored() -> int:
        try:
            row = sqlite3.connect(database).execute("SELECT sum(hits) FROM domains").fetchone()
        except sqlite3.OperationalError:
            return 0
        return row[0] or 0

    def wait_for(count: int) -> None:
        deadline = time.monotonic() + 20
        while stored() != count and time.monotonic() < deadline:
            time.sleep(0.2)
        assert stored() == count

    try:
        wait_for(10)
        with log.open("a") as handle:
            handle.write(pihole_lines(10, 5))
            handle.write("Sep  8 17:00:00 dnsmasq[577]: query[A] half")  # a line being written
        wait_for(15)
        with log.open("a") as handle:
            handle.write(".magister.net from 10.1.0.9\n")
        wait_for(16)
        log.rename(tmp_path / "pihole.log.1")  # rotation: a new file under the old name
        log.write_text(pihole_lines(100, 7))
        wait_for(23)
    finally:
        process.send_signal(signal.SIGTERM)
        _, error = process.communicate(timeout=30)
    assert process.returncode == 0, error
    assert stored() == 23
    assert "half.magister.net" in {row[0] for row in sqlite3.connect(database).execute(
        "SELECT domain FROM domains")}


def test_a_growing_zeek_log_keeps_its_header_when_read_on(app, tmp_path: Path) -> None:
    source = (LOGS / "zeek-dns-tsv" / "zeek_opt.basic_dns.log").read_text().splitlines(True)
    records = [line for line in source if not line.startswith("#")]
    header = [line for line in source if line.startswith("#") and not line.startswith("#close")]
    log = tmp_path / "dns.log"
    log.write_text("".join(header + records[:4]))
    app("scan", str(log))
    first = {item["domain"] for item in app.json("domains")}
    with log.open("a") as handle:
        handle.write("".join(records[4:]))
    result = app("scan", str(log))
    assert f"{len(header)} log records" not in result.stderr
    other = type(app)(tmp_path / "once.db")
    other("scan", str(LOGS / "zeek-dns-tsv" / "zeek_opt.basic_dns.log"))
    assert first and {(item["domain"], item["hits"]) for item in app.json("domains")} == {
        (item["domain"], item["hits"]) for item in other.json("domains")}


def test_short_format_names(app, tmp_path: Path) -> None:
    log = tmp_path / "queries.txt"
    log.write_text(pihole_lines(0, 3))
    assert f"{log}: dnsmasq\n" in app("scan", str(log), "--format", "pihole").stderr
