"""Zeek `dns.log`, `ssl.log`, `quic.log` and `http.log`, as TSV (with `#fields`) or JSON lines.

One module, eight registry entries (four logs, two encodings): the logs differ only in
which column holds the name and how it was seen.

- TSV: `#separator`, `#fields` and `#path` headers say which column is which; a file may hold
  several header blocks (logs concatenated after rotation). `-` and `(empty)` are unset.
- JSON: one object per line, keys as in TSV (`id.orig_h`), or nested (`"id": {"orig_h"}`).
  The json-streaming-logs package writes every log into one stream, each record with its
  `_path` (`dns`, `http`, `conn`, ...): `zeek-json-streaming` reads the four logs there are
  names in and counts the rest as valid records without one.
- `ts` is POSIX seconds (TSV, default JSON) or ISO 8601 (JSON with `use_json_iso`). Zeek's test
  baselines mask it as `XXXXXXXXXX.XXXXXX`; such a time reads as 0 rather than dropping
  the line, so those real samples can still be checked name by name.

`dns.log` gives the `query` column (not `answers`: those repeat what the server said). A
row without `qtype` is a reply Zeek saw no request for (a duplicate response, an mDNS
announcement with no question at all); its name came from the reply, so it is recorded as
`answer`, as the capture path records reply names. mDNS, LLMNR and NetBIOS lookups are
marked `local`. A row with `RD` false is a resolver iterating (a sensor beside it sees
those): its name counts, but it makes no device. The key name of a TKEY or TSIG row
(a secure dynamic update), and the name of an UPDATE row (`opcode` 5: a client registering
its own name), are marked `local` too.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

from scanner.errors import InputError
from scanner.extract import Counted, Lookups, Observation
from scanner.extract.dns import KEY, KEY_EXCHANGES, OPCODE_UPDATE, UPDATE
from scanner.names import host_from_header
from scanner.sources.logs.base import (
    Block,
    Drained,
    LogFormat,
    LogReader,
    Parsed,
    grouped,
    head_lines,
    json_record,
)
from scanner.sources.logs.timestamps import seconds

# log → (column with the name, how it was seen, columns that tell this log from the others)
KINDS: dict[str, tuple[str, str, tuple[str, ...]]] = {
    "dns": ("query", "dns", ("query", "qtype")),
    "ssl": ("server_name", "sni", ("server_name", "cipher")),
    "quic": ("server_name", "quic", ("server_name", "client_initial_dcid")),
    "http": ("host", "http", ("host", "uri")),
}
# Keys that only one of the logs has; JSON leaves unset fields out, so any one will do.
JSON_MARKS = {
    "dns": ("query", "qtype_name", "trans_id", "rcode_name"),
    "quic": ("client_initial_dcid", "client_scid"),
    "ssl": ("server_name", "cipher", "ssl_history", "established"),
    "http": ("host", "uri", "method", "trans_depth"),
}
# Lookups on these ports are the LAN's own names: never an app's, and mDNS service instance
# names ("Kim's MacBook._companion-link._tcp.local") may hold any character, so one that is
# no host name is skipped there, not counted malformed.
LOCAL_PORTS = {"5353": "mdns", "5355": "llmnr", "137": "netbios"}
KEY_TYPES = {str(qtype) for qtype in KEY_EXCHANGES}  # TKEY, TSIG: a key name, a LAN name
UPDATE_OPCODE = str(OPCODE_UPDATE)


def _lan_kind(qtype: str, opcode: str, port: str) -> str:
    """The `local` kind of a dns.log row as written: a key name, an update, an mDNS, LLMNR or
    NetBIOS lookup, or '' for a lookup of the internet's names."""
    return KEY if qtype in KEY_TYPES else UPDATE if opcode == UPDATE_OPCODE else \
        LOCAL_PORTS.get(port, "")
UNSET = {"-", "(empty)", ""}
NEWLINE = re.compile(rb"\n")


def _tsv_kind(head: bytes) -> str | None:
    path = fields = None
    for line in head_lines(head, 20):
        if line.startswith("#path"):
            path = line.split(None, 1)[1].strip() if " " in line or "\t" in line else None
        elif line.startswith("#fields"):
            fields = set(line.split("\t")[1:])
    if fields is None:
        return None
    if path in KINDS:
        return path
    for kind, (_column, _how, marks) in KINDS.items():
        if fields.issuperset(marks):
            return kind
    return None


def _json_kind(head: bytes) -> str | None:
    lines = head_lines(head, 5)
    if not lines or not lines[0].startswith("{"):
        return None
    try:
        record = json.loads(lines[0])
    except ValueError:
        return None
    if not isinstance(record, dict) or "uid" not in record:
        return None
    if "id.orig_h" not in record and "id" not in record:
        return None
    for kind, marks in JSON_MARKS.items():
        if any(mark in record for mark in marks):
            return kind
    return None


def _time(text: str, reader: LogReader) -> float:
    try:
        return seconds(text)
    except ValueError:
        if text.startswith("XXXX"):  # masked by the btest canonifier
            return 0.0
        return reader.clock(text)


@dataclass
class TsvLayout:
    """Which column is which, as the last `#separator` and `#fields` headers said."""

    kind: str
    separator: str = "\t"
    fields: list[str] | None = None
    name_at: int = 0
    time_at: int = 0
    client_at: int = 0
    port_at: int = 0
    qtype_at: int = 0
    rd_at: int = 0  # dns: recursion desired, 'F' from a resolver iterating (no device)
    opcode_at: int = -1  # dns: 5 for a dynamic update (a column Zeek writes when asked to)
    limit: int = 0  # columns a record must have up to the last one read
    last: bool = False  # the line's end (newline) is inside a column that is read

    def header(self, line: str, path: Path, number: int) -> None:
        """Take in a header line; ValueError for a `#separator` that does not read as one
        (the last one stays in force)."""
        if line.startswith("#separator"):
            value = line.split(None, 1)[1].strip() if len(line.split()) > 1 else "\\x09"
            try:
                self.separator = (value.encode().decode("unicode_escape") if "\\x" in value
                                  else value)
            except UnicodeDecodeError:
                raise ValueError(f"unreadable #separator {value!r}") from None
        elif line.startswith("#fields"):
            column, how, _marks = KINDS[self.kind]
            fields = self.fields = line.rstrip("\r\n").split(self.separator)[1:]
            if not fields and column in line.split():
                raise InputError(f"{path}:{number}: the #fields line is not separated by the "
                                 f"#separator {self.separator!r}; were the tabs turned into "
                                 "spaces (copied from a web page)?")
            if column not in fields:
                raise InputError(f"{path}:{number}: a zeek {self.kind}.log has a '{column}' "
                                 f"column and this one has not; choose another --format")
            self.name_at = fields.index(column)
            self.time_at = fields.index("ts") if "ts" in fields else -1
            self.client_at = fields.index("id.orig_h") if "id.orig_h" in fields else -1
            self.port_at = fields.index("id.resp_p") if "id.resp_p" in fields else -1
            self.qtype_at = fields.index("qtype") if how == "dns" and "qtype" in fields else -1
            self.rd_at = fields.index("RD") if how == "dns" and "RD" in fields else -1
            self.opcode_at = (fields.index("opcode") if how == "dns" and "opcode" in fields
                              else -1)
            self.limit = max(self.name_at, self.time_at, self.client_at, self.port_at,
                             self.qtype_at, self.rd_at, self.opcode_at) + 1
            self.last = self.limit >= len(fields)

    def for_tally(self) -> tuple[int, int, int, int, int, int, int, int, bool]:
        """The layout as `Tally.tsv` takes it; a name column of -1 hands every record back
        (as it does where an `opcode` column may mark updates, which the Tally does not read)."""
        usable = (self.fields is not None and len(self.separator) == 1 and self.time_at >= 0
                  and ord(self.separator) < 128 and self.limit <= 256 and self.opcode_at < 0)
        return (ord(self.separator[:1] or "\t"), self.name_at if usable else -1,
                self.time_at, self.client_at, self.port_at, self.qtype_at, self.rd_at,
                self.limit, self.last)


def _parse_tsv(kind: str, lines: Iterable[str], path: Path, reader: LogReader,
               layout: TsvLayout | None = None) -> Parsed:
    how = KINDS[kind][1]
    names, name_of, clients, bad = reader.names, reader.name_of, reader.clients, reader.bad
    new = tuple.__new__  # an Observation with every field given, without its slower __new__
    layout = layout or TsvLayout(kind)
    separator, name_at, time_at, client_at, port_at, qtype_at, rd_at, opcode_at, limit, last = (
        layout.separator, layout.name_at, layout.time_at, layout.client_at, layout.port_at,
        layout.qtype_at, layout.rd_at, layout.opcode_at, layout.limit, layout.last)
    fields = layout.fields
    number = 0
    for number, line in enumerate(lines, reader.first_line):
        if line[0] == "#":
            try:
                layout.header(line, path, number)
            except ValueError as error:
                bad(number, str(error))
                continue
            reader.skipped += 1
            separator, name_at, time_at, client_at, port_at, qtype_at, rd_at, opcode_at, \
                limit, last = (layout.separator, layout.name_at, layout.time_at,
                               layout.client_at, layout.port_at, layout.qtype_at, layout.rd_at,
                               layout.opcode_at, layout.limit, layout.last)
            fields = layout.fields
            continue
        if fields is None:
            reader.not_a_record(number, line, "a record before the #fields header")
            continue
        parts = (line.rstrip("\r\n") if last else line).split(separator, limit)
        if len(parts) < limit:
            reader.not_a_record(number, line,
                                f"{len(parts)} fields where #fields names {len(fields)}")
            continue
        raw = parts[name_at]
        if raw in UNSET:
            continue
        if how != "dns" and ":" in raw:
            raw = host_from_header(raw)
        local = _lan_kind(parts[qtype_at] if qtype_at >= 0 else "",
                          parts[opcode_at] if opcode_at >= 0 else "",
                          parts[port_at] if port_at >= 0 else "") if how == "dns" else ""
        name = names[raw]
        if not name:  # an address (dropped quietly) or no name at all (malformed)
            if name is None and not local:
                name_of(number, raw)
            continue
        try:
            moment = seconds(parts[time_at]) if time_at >= 0 else reader.clock.reference
        except ValueError:
            try:
                moment = _time(parts[time_at], reader)
            except ValueError as error:
                bad(number, str(error))
                continue
        client = clients[parts[client_at]] if client_at >= 0 else b""
        if rd_at >= 0 and parts[rd_at] == "F":
            client = b""  # recursion not desired: a resolver iterating, no device of the school
        if how == "dns":
            seen = "answer" if qtype_at >= 0 and parts[qtype_at] == "-" else "dns"
            yield number, new(Observation, (moment, client, name, seen, local, ""))
        else:
            yield number, new(Observation, (moment, client, name, how, "", ""))
    return number


class TsvTallier:
    """Records counted in C with the columns the headers name; header lines, and records the
    Tally hands back, are read by `_parse_tsv` with the same layout."""

    def __init__(self, kind: str, reader: LogReader) -> None:
        self.kind, self.reader = kind, reader
        self.layout = TsvLayout(kind)
        self.parse = partial(_parse_tsv, kind, path=reader.path, reader=reader,
                             layout=self.layout)

    def feed(self, table: Any, block: Block, number: int) -> tuple[list[Counted], int]:
        found: list[Counted] = []
        offset = 0
        first = number
        while offset < len(block):
            handed_back, offset, lines = table.tsv(block, offset, number,
                                                   self.layout.for_tally())
            found += self.reader.reread(self.parse, block, handed_back, number)
            number += lines
            if offset < len(block):  # a header line: the columns may change
                newline = NEWLINE.search(block, offset)  # a view has no find(); re reads it
                end = len(block) if newline is None else newline.start()
                found += self.reader.reread(self.parse, block, [(0, offset, end)], number)
                number += 1
                offset = end + 1
        return found, number - first

    def resolve(self, drained: Drained) -> Lookups:
        _column, how, _marks = KINDS[self.kind]
        names, groups = self.reader.names, []
        for group in drained[1]:
            day, raw, port, unasked, hits, first, last, _line, start, stop = group
            if how != "dns" and ":" in raw:
                raw = host_from_header(raw)
            name = names[raw]
            if not name:
                if name is None and not (how == "dns" and port in LOCAL_PORTS):
                    self.reader.unnamed(group, raw)
                continue
            if how == "dns":
                groups.append((name, "answer" if unasked else "dns", day,
                               LOCAL_PORTS.get(port, ""), "", hits, first, last, start, stop))
            else:
                groups.append((name, how, day, "", "", hits, first, last, start, stop))
        return grouped(drained, groups, self.reader.clients)


def _parse_json(kind: str | None, lines: Iterable[str], path: Path,
                reader: LogReader) -> Parsed:
    """JSON records of a `kind`.log; with no kind, every log in one stream (the
    json-streaming-logs package), where each record's `_path` says which."""
    number = 0
    for number, line in enumerate(lines, reader.first_line):
        record = json_record(line, number, reader)
        if record is None:
            continue
        log = kind or record.get("_path")
        if isinstance(log, str):
            log = log.removesuffix("_red")  # Corelight's reduced logs keep the same fields
        if log in KINDS:  # in a stream, conn, files and the rest: records without a name
            found = _from_json(str(log), record, number, reader)
            if found is not None:
                yield number, found
    return number


def _from_json(kind: str, record: dict[str, Any], number: int,
               reader: LogReader) -> Observation | None:
    """The observation in one JSON record of a `kind`.log, if it names a host."""
    column, how, _marks = KINDS[kind]
    raw = record.get(column)
    if not isinstance(raw, str) or raw in UNSET:
        return None
    if how != "dns" and ":" in raw:
        raw = host_from_header(raw)
    nested = record["id"] if isinstance(record.get("id"), dict) else {}
    address = record.get("id.orig_h", nested.get("orig_h"))
    port = record.get("id.resp_p", nested.get("resp_p"))
    local = _lan_kind(str(record.get("qtype")), str(record.get("opcode")),
                      str(port)) if how == "dns" else ""
    # a LAN name that is no host name (a service instance, "Kim's iPad._airplay…") is quiet
    name = (reader.names[raw] or None) if local else reader.name_of(number, raw)
    if name is None:
        return None
    try:
        moment = _time(str(record["ts"]), reader)
    except (KeyError, ValueError):
        reader.bad(number, "no readable 'ts'")
        return None
    client = reader.clients[address] if isinstance(address, str) else b""
    if how == "dns" and record.get("RD") is False:
        client = b""  # recursion not desired: a resolver iterating, no device of the school
    if how == "dns":
        return Observation(moment, client, name, "dns" if "qtype" in record else "answer", local)
    return Observation(moment, client, name, how)


def _streaming(head: bytes) -> bool:
    """JSON lines that say which log each record belongs to (`_path`), mostly of Zeek's."""
    records = []
    for line in head_lines(head, 10):
        try:
            records.append(json.loads(line))
        except ValueError:
            return False
    return bool(records) and all(isinstance(record, dict) and "_path" in record and "ts" in record
                                 for record in records)


def _sniffer(kind: str, find: Callable[[bytes], str | None]) -> Callable[[bytes], bool]:
    def sniff(head: bytes) -> bool:
        return find(head) == kind

    sniff.__doc__ = f"True for the head of a zeek {kind}.log"
    return sniff


FORMATS = [
    LogFormat(f"zeek-{kind}-{encoding}", f"Zeek {kind}.log ({encoding.upper()})",
              _sniffer(kind, _tsv_kind if encoding == "tsv" else _json_kind),
              partial(_parse_tsv if encoding == "tsv" else _parse_json, kind),
              tally=partial(TsvTallier, kind) if encoding == "tsv" else None)
    for encoding in ("tsv", "json") for kind in KINDS
]
STREAMING = LogFormat("zeek-json-streaming", "Zeek logs in one JSON stream (_path per record)",
                      _streaming, partial(_parse_json, None))
