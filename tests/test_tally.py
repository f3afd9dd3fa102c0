"""The C Tally against the Python parsers: a log counted in blocks gives what reading it line
by line gives — the same names, clients, days, hits, first and last times, and the same
counts of records, skipped and malformed lines — on real samples and on damaged lines."""

from __future__ import annotations

import gzip
import ipaddress
import shutil
import sqlite3
import sysconfig
import threading
from collections.abc import Callable, Iterator
from datetime import UTC
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from scanner.config import Segments
from scanner.errors import InputError
from scanner.sources.logs import REGISTRY, base, read_log
from scanner.sources.logs.timestamps import Clock, local_day
from tests.conftest import DATA
from tests.test_logs import damaged_lines, real_lines
from tests.test_scan import scanner_for, snapshot

WITHOUT_TALLY = "appradar was installed without its C extension"


def test_the_extension_is_built_where_it_can_be() -> None:
    """Where a C compiler and Python's headers are, `pip install` builds the Tally (it is
    optional only so that appradar installs without them)."""
    headers = Path(sysconfig.get_paths()["include"]) / "Python.h"
    if shutil.which("cc") is None or not headers.exists():
        pytest.skip("no C compiler or no Python headers here")
    assert base.Tally is not None, "the Tally was not built: see `pip install -v` for why"

COUNTED_FORMATS = sorted(name for name, item in REGISTRY.items() if item.tally is not None)
SAMPLES = sorted(path for folder in ("logs", "logs-more") for name in COUNTED_FORMATS
                 for path in (DATA / folder / name).glob("*")
                 if not path.name.endswith((".json", ".txt", ".pcap")))

Totals = dict[tuple, list[float]]


def line_by_line(path: Path, format_name: str) -> tuple[Totals, tuple[int, ...], list[str]]:
    """What the Python parser reads, summed per (name, how, client, day, local, owner)."""
    reader = read_log(path, format_name)
    totals: Totals = {}
    for _number, item in reader:
        key = (item.name, item.how, item.client, local_day(int(item.time // 3600)), item.local,
               item.owner)
        entry = totals.setdefault(key, [0, item.time, item.time])
        entry[0] += 1
        entry[1], entry[2] = min(entry[1], item.time), max(entry[2], item.time)
    return totals, (reader.lines, reader.records, reader.skipped, reader.malformed,
                    reader.invalid_names), reader.problems


def counted(path: Path, format_name: str, done: int = 0) -> tuple[Totals, tuple[int, ...],
                                                                 list[str], list[int]]:
    """What `LogReader.counted` hands over, summed the same way, with each group's last line."""
    reader = read_log(path, format_name)
    assert reader.can_count
    totals: Totals = {}
    ends = []
    for number, group in reader.counted(done):
        ends.append(number)
        for name, how, client, day, local, owner, hits, first, last in group:
            entry = totals.setdefault((name, how, client, day, local, owner), [0, first, last])
            entry[0] += hits
            entry[1], entry[2] = min(entry[1], first), max(entry[2], last)
    return totals, (reader.lines, reader.records, reader.skipped, reader.malformed,
                    reader.invalid_names), reader.problems, ends


def read_alike(path: Path, format_name: str) -> tuple[Totals, tuple[int, ...], list[str]]:
    """What the Python parser reads and what the C Tally counts, asserted the same (the
    Tally may show fewer problems: it shows a bad name once); their totals and counts, and
    the problems the Tally's reading shows."""
    totals, counts, problems = line_by_line(path, format_name)
    fast_totals, fast_counts, fast_problems, _ends = counted(path, format_name)
    assert fast_totals == totals
    assert fast_counts == counts
    assert set(fast_problems) <= set(problems)
    return totals, counts, fast_problems


needs_tally = pytest.mark.skipif(base.Tally is None, reason=WITHOUT_TALLY)


@pytest.fixture(params=["large blocks", "small blocks"])
def blocks(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The default block size, and blocks of a few lines that drain after every other key."""
    if request.param == "small blocks":
        monkeypatch.setattr(base, "BLOCK_BYTES", 97)
        monkeypatch.setattr(base, "DRAIN_KEYS", 2)
    yield


@needs_tally
@pytest.mark.parametrize("sample", SAMPLES, ids=[f"{path.parent.name}/{path.name[:50]}"
                                                 for path in SAMPLES])
def test_real_samples_count_as_they_read(sample: Path, blocks: None) -> None:
    format_name = sample.parent.name
    totals, counts, problems = line_by_line(sample, format_name)
    fast_totals, fast_counts, fast_problems, ends = counted(sample, format_name)
    assert fast_totals == totals
    assert fast_counts == counts
    assert set(fast_problems) <= set(problems)
    assert ends == sorted(ends) and (not ends or ends[-1] <= counts[0])


SCHOOL = "".join(
    f"Nov 28 {8 + i // 3600:02d}:{i // 60 % 60:02d}:{i % 60:02d} dnsmasq[577]: "
    f"query[A] host{i * 7 % 13}.magister.net from 10.1.0.{i % 11 + 1}\n"
    f"Nov 28 {8 + i // 3600:02d}:{i // 60 % 60:02d}:{i % 60:02d} dnsmasq[577]: "
    f"forwarded host{i * 7 % 13}.magister.net to 1.1.1.1\n" for i in range(4000))


@needs_tally
def test_odd_lines_go_to_python_and_bad_names_are_counted_per_line(tmp_path: Path,
                                                                  blocks: None) -> None:
    """Lines the Tally does not read (no tag, non-ASCII, a time it cannot read, CRLF, a
    byte-order mark) are read in Python; a name that is none is malformed on every line."""
    odd = [
        "\ufeffNov 28 08:00:00 dnsmasq[577]: query[A] bom.example from 10.0.0.1",
        "Nov 28 08:00:01 dnsmasq[577]: query[A] crlf.example from 10.0.0.2\r",
        "Nov 28 08:00:02 dnsmasq[577]: query[A] bad_name!.example from 10.0.0.3",
        "Nov 28 08:00:03 dnsmasq[577]: query[A] bad_name!.example from 10.0.0.4",
        "Nov 28 08:00:04 dnsmasq[577]: query[A] caf\u00e9.example from 10.0.0.5",
        "Xyz 28 08:00:05 dnsmasq[577]: query[A] month.example from 10.0.0.6",
        "Nov 28 08:00:60 dnsmasq[577]: query[A] leap.example from 10.0.0.7",
        "2025-05-01 10:33:48.949 query[A] v6.example from 10.1.1.1",
        "2025-05-01T10:33:49.9 query[AAAA] v6-t.example from 10.1.1.2",
        "2025-05-01 10:33:50 query[A] v6-whole.example from 10.1.1.3",
        "2025-05-01 10:33:51.123456789 query[A] v6-nano.example from 10.1.1.4",
        "2025-05-01 10:33:52,5 query[A] v6-comma.example from 10.1.1.5",
        "2025-05-01 10:33:53.5+02:00 query[A] v6-zone.example from 10.1.1.6",
        "2025-05-01 10:33:54. query[A] v6-dot.example from 10.1.1.7",
        "2025-05-01 10:33:60.1 query[A] v6-leap.example from 10.1.1.8",
        "2025-13-01 10:33:55.1 query[A] v6-month.example from 10.1.1.9",
        "2025-05-01 10:33:56.1\tquery[A] v6-tab.example from 10.1.1.10",
        "2025-05-01 10:33:57.1 forwarded v6.example to 127.0.0.1#5335",
        "2025-05-01 10:33:58.1\tforwarded v6.example to 127.0.0.1#5335",
        "2025-05-01 10:33:59.1 Cache 1: 261 api.example query[A] v6-late.example from 10.1.1.11",
        "dnsmasq: query[A] stdout.example from 10.0.0.8",
        "Nov 28 08:00:05: query[A] pihole-tail.example from 10.0.0.8",
        "Nov 28 08:00:06 dnsmasq[577]: query[A] 10.0.0.9 from 10.0.0.9",
        "Nov 28 08:00:07 dnsmasq[577]: query[A]  two-spaces.example from 10.0.0.10",
        "Nov  2 08:00:08 host dnsmasq[1]: 7 10.0.0.2/5353 query[AAAA] extra.example from 10.0.0.2",
        "garbage without anything",
        "",
        "Nov 28 08:00:09 dnsmasq[577]: query[A] last.example from 10.0.0.11",
    ]
    path = tmp_path / "pihole.log"
    path.write_bytes(("\n".join(odd) + "\n").encode() + SCHOOL.encode())
    _totals, counts, fast_problems = read_alike(path, "dnsmasq")
    assert counts[3] >= 4  # the two bad names, the bad month, the leap second, garbage
    assert f"{path}:3: invalid name 'bad_name!.example'" in " ".join(fast_problems)


@needs_tally
def test_pihole_v6_lines_are_counted_in_c(monkeypatch: pytest.MonkeyPatch) -> None:
    """Pi-hole v6 writes its own log with ISO times; the Tally reads those lines itself (as it
    reads the syslog shape), and hands none of a real v6 log back to Python."""
    handed_back: list[int] = []
    reread = base.LogReader.reread

    def counting(self, parse, block, lines, number):  # type: ignore[no-untyped-def]
        lines = list(lines)
        handed_back.extend(index for index, _start, _end in lines)
        return reread(self, parse, block, lines, number)

    monkeypatch.setattr(base.LogReader, "reread", counting)
    assert PIHOLE_V6
    for sample in PIHOLE_V6:
        totals, counts, _problems, _ends = counted(sample, "dnsmasq")
        assert totals == line_by_line(sample, "dnsmasq")[0] and totals
        assert counts[1] >= 12  # records
    assert handed_back == []


@needs_tally
def test_zeek_headers_in_the_middle_and_odd_records(tmp_path: Path, blocks: None) -> None:
    """Concatenated logs with another column order, masked and ISO times, CRLF ends, too few
    fields, records before any header: all as `_parse_tsv` reads them."""
    fields = ["ts", "uid", "id.orig_h", "id.orig_p", "id.resp_h", "id.resp_p", "query",
              "qtype", "qtype_name", "RD"]

    def header(columns: list[str]) -> str:
        return ("#separator \\x09\n#set_separator\t,\n#empty_field\t(empty)\n"
                "#unset_field\t-\n#path\tdns\n#fields\t" + "\t".join(columns) + "\n")

    def row(columns: list[str], **values: str) -> str:
        return "\t".join(values.get(column.replace(".", "_"), "-") for column in columns) + "\n"

    rows = ["1700000000.1\tC1\t10.0.0.1\t5353\t224.0.0.251\t5353\tprinter.local\t1\tA\n"]
    text = "".join(rows)  # before any header: malformed
    text += header(fields)
    for i in range(300):
        text += row(fields, ts=f"{1_700_000_000 + i * 97.25:.6f}", id_orig_h=f"10.0.0.{i % 7}",
                    id_resp_p="53", query=f"n{i % 5}.example.org", qtype="1" if i % 9 else "-")
    text += row(fields, ts="XXXXXXXXXX.XXXXXX", query="masked.example.org", id_resp_p="53")
    text += row(fields, ts="2023-11-14T22:13:20.123456Z", query="iso.example.org")
    text += row(fields, ts="1700000000.5", query="crlf.example.org").replace("\n", "\r\n")
    text += "1700000000.7\tC9\t10.0.0.9\n"  # too few fields
    text += row(fields, ts="1700000000.8", query="bad name.example.org")
    text += row(fields, ts="1700000000.9", query="(empty)")
    text += row(fields, ts="1700000000.95")  # no query at all: '-'
    text += row(fields, ts="1700000001", query="mdns.local", id_resp_p="5353")
    text += row(fields, ts="1700000001.5", query="Kim s iPad._airplay._tcp.local",
                id_resp_p="5353")  # an mDNS service instance: no host name, but no error
    text += row(fields, ts="1700000001.7", query="336-ms-7.1-6c1a.0b750ce3-de33-11e8-b8b9",
                id_resp_p="53", qtype="249")  # TKEY: a secure update's key, a LAN name
    text += row(fields, ts="1700000001.8", query="iterated.example.org", id_orig_h="10.0.0.53",
                id_resp_p="53", qtype="1", RD="F")  # a resolver iterating: no device
    text += "#separator \\x\n"  # cut short: malformed, and the tab stays the separator
    text += row(fields, ts="1700000002", query="after-bad-separator.example.org")
    moved = ["query", "ts", "id.orig_h", "id.resp_p", "qtype"]  # a later header, reordered
    text += header(moved)
    for i in range(50):
        text += row(moved, ts=f"{1_700_100_000 + i}.{i:06d}", id_orig_h="fe80::1",
                    query=f"moved{i % 3}.example.org", qtype="28")
    path = tmp_path / "dns.log"
    path.write_text(text)
    totals, counts, _problems = read_alike(path, "zeek-dns-tsv")
    assert counts[3:] == (3, 1)  # before the header, too few fields, separator; a bad name
    assert any(key[0] == "after-bad-separator.example.org" for key in totals)
    assert [key[4] for key in totals if key[0].startswith("336-ms-7")] == ["key"]
    assert [key[2] for key in totals if key[0] == "iterated.example.org"] == [b""]


@needs_tally
def test_zeek_times_read_as_float_reads_them(tmp_path: Path, blocks: None) -> None:
    """Times at the edges of the C reader's fast path (18 digits) and past it, and at the
    edge of the times a day is given for: the same time, or the same refusal, as Python."""
    times = {  # time: read (else malformed)
        "1700000000": True, "1700000000.": True, ".5": True, "0.000001": True,
        "000001700000000.25": True, "1700000000.12345678": True, "1700000000.123456789": True,
        "0000000001700000000": True, "253402214399.5": True, "253402214400": False,
        "123456789012345678": False, "1234567890123456789": False, "9007199254740993": False,
        "1..2": False, ".": False, "1e9": True, "+1": True, "-1": True, "1_0": True,
        "nan": False, "inf": False,
    }
    text = "#separator \\x09\n#fields\tts\tid.orig_h\tquery\n" + "".join(
        f"{moment}\t10.0.0.{i}\tt{i}.example.org\n" for i, moment in enumerate(times))
    path = tmp_path / "dns.log"
    path.write_text(text)
    totals, _counts, _problems = read_alike(path, "zeek-dns-tsv")
    assert sorted(int(key[0].split(".")[0][1:]) for key in totals) == [
        i for i, read in enumerate(times.values()) if read]


@needs_tally
def test_a_block_is_counted_without_the_gil_and_the_table_kept_to_itself() -> None:
    """While one thread counts a block, others run Python (the next block is read and
    decompressed meanwhile); one that reaches for the same table is refused, not let in."""
    assert base.Tally is not None
    tally = base.Tally(local_day)
    lines = "".join(f"Sep  8 16:{i // 600 % 60:02d}:{i % 60:02d} dnsmasq[577]: query[A] "
                    f"host{i % 5000}.example.org from 10.1.{i % 7}.{i % 200 + 1}\n"
                    for i in range(400_000)).encode()
    clock = Clock(UTC, 1_700_000_000.0)
    counting = threading.Thread(target=tally.dnsmasq,
                                args=(lines, 1, lambda minute: clock(minute + ":00")))
    refused = []
    counting.start()
    while counting.is_alive() and not refused:
        try:
            tally.drain()
        except RuntimeError as error:
            refused.append(str(error))
    counting.join()
    assert refused == ["this Tally is counting a block in another thread"]


PIHOLE_V6 = sorted((DATA / "logs-more" / "dnsmasq").glob("*v6*.log"))


def pihole_v6_lines() -> list[str]:
    """Real lines of Pi-hole v6's own log ('2025-05-01 10:33:48.949 query[A] ...')."""
    return [line for path in PIHOLE_V6 for line in path.read_text().splitlines()][:200]


@needs_tally
@pytest.mark.parametrize("format_name,lines", [
    *[(name, real_lines) for name in COUNTED_FORMATS], ("dnsmasq", lambda _: pihole_v6_lines())],
    ids=[*COUNTED_FORMATS, "dnsmasq-pihole-v6"])
@settings(max_examples=60, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_damaged_lines_count_as_they_read(format_name: str, lines: Callable[[str], list[str]],
                                          data: st.DataObject, tmp_path: Path) -> None:
    """Real lines cut, spliced and sprinkled with odd characters: the Tally either reads a
    line exactly as Python does or hands it back."""
    lines = lines(format_name) or ["x"]
    header = [line for line in lines if line.startswith("#")]
    damaged = damaged_lines(data, lines, 30, '"[]:;=\t |/#-.\r\x00é\ufffd09', intact=3)
    path = tmp_path / "damaged.log"
    path.write_text("\n".join(header + damaged) + "\n")
    try:
        totals, counts, problems = line_by_line(path, format_name)
    except InputError:  # a header without the log's column: both refuse it
        with pytest.raises(InputError):
            counted(path, format_name)
        return
    fast_totals, fast_counts, fast_problems, _ends = counted(path, format_name)
    assert fast_totals == totals
    assert fast_counts == counts
    assert set(fast_problems) <= set(problems)


# The resolver asking itself, a LAN name and a reverse lookup: counted, never a device or a name
# stored; on a day of its own, before the school day.
ODD_CLIENTS = "".join(
    f"Nov 27 09:00:0{i} dnsmasq[577]: query[A] {name} from {client}\n" for i, (name, client)
    in enumerate([("pi.hole", "127.0.0.1"), ("host3.magister.net", "::1"),
                  ("nas.lan", "10.1.0.3"), ("3.0.1.10.in-addr.arpa", "10.1.0.4"),
                  ("host3.magister.net", "10.2.0.9"), ("HOST3.Magister.net.", "10.1.0.5")]))


@needs_tally
@pytest.mark.parametrize("compressed", [False, True], ids=["plain", "gzip"])
@pytest.mark.parametrize("segmented", [False, True], ids=["one segment", "segments"])
def test_scans_store_the_same_either_way(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                         blocks: None, compressed: bool, segmented: bool) -> None:
    """The whole import, counted in C or read line by line: the same inventory, per segment
    too, in one batch or (small blocks) in many."""
    text = (ODD_CLIENTS + SCHOOL).encode()
    log = tmp_path / ("pihole.log.gz" if compressed else "pihole.log")
    log.write_bytes(gzip.compress(text) if compressed else text)
    zeek = DATA / "logs" / "zeek-dns-tsv" / "zeek_opt.basic_dns.log"
    segments = Segments({"pupils": (ipaddress.ip_network("10.1.0.0/29"),),
                         "staff": (ipaddress.ip_network("10.2.0.0/16"),)}) if segmented else None
    fast = tmp_path / "fast.db"
    first = scanner_for(fast, segments).run([str(log), str(zeek)])
    assert [item.status for item in first.files] == ["imported", "imported"]
    slow = tmp_path / "slow.db"
    (tmp_path / "slow.db.key").write_bytes((tmp_path / "fast.db.key").read_bytes())
    monkeypatch.setattr(base, "Tally", None)
    second = scanner_for(slow, segments).run([str(log), str(zeek)])
    assert second.stats.names == first.stats.names > 4000
    assert snapshot(slow) == snapshot(fast)
    stored = sqlite3.connect(fast)
    first_day = stored.execute(
        "SELECT json_each.value FROM device_days x JOIN domains d ON d.id = x.domain_id, "
        "json_each(x.devices) WHERE d.domain = 'host3.magister.net' AND x.day = "
        "(SELECT min(day) FROM device_days WHERE domain_id = d.id)").fetchall()
    assert len(first_day) == 2  # 10.2.0.9 and 10.1.0.5 (its name written otherwise), not ::1
    segments_seen = stored.execute("SELECT DISTINCT segment FROM daily ORDER BY 1").fetchall()
    assert segments_seen == ([("other",)] if not segmented else
                             [("other",), ("pupils",), ("staff",)])
    devices = stored.execute("SELECT count(*) FROM devices").fetchone()[0]
    assert devices == len({row[4] for row in snapshot(fast)["device_days"]})  # none unused
    hits = sqlite3.connect(fast).execute("SELECT sum(hits) FROM daily").fetchone()[0]
    assert hits >= 4000
