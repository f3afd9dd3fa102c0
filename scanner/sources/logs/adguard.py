"""AdGuard Home `querylog.json`: one JSON object per query.

    {"IP":"192.168.1.20","T":"2021-02-01T10:00:00.123456789+01:00","QH":"example.org",
     "QT":"A","QC":"IN","CP":"","Answer":"...","Result":{},"Elapsed":123,"Upstream":"..."}

`QH` is the host asked for, `IP` the client, `T` the time (RFC 3339, nanoseconds, zone).
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from scanner.extract import Observation
from scanner.sources.logs.base import LogFormat, LogReader, Parsed, head_lines, json_record

NAME = "adguard-querylog"


def sniff(head: bytes) -> bool:
    lines = head_lines(head, 5)
    return bool(lines) and lines[0].startswith("{") and '"QH"' in lines[0] and '"T"' in lines[0]


def parse(lines: Iterable[str], path: Path, reader: LogReader) -> Parsed:
    names, clients, clock, bad = reader.names, reader.clients, reader.clock, reader.bad
    number = 0
    for number, line in enumerate(lines, reader.first_line):
        record = json_record(line, number, reader)
        if record is None:
            continue
        if not isinstance(record, dict) or not isinstance(record.get("QH"), str):
            bad(number, "no 'QH' (queried host)")
            continue
        raw = record["QH"]
        name = names[raw]
        if not name:
            if name is None:
                bad(number, names.why(raw))
            continue
        try:
            moment = clock(str(record["T"]))
        except (KeyError, ValueError):
            bad(number, "no readable time 'T'")
            continue
        address = record.get("IP")
        client = clients[address] if isinstance(address, str) else b""
        yield number, Observation(moment, client, name, "dns")
    return number


FORMAT = LogFormat(NAME, "AdGuard Home querylog.json", sniff, parse)
