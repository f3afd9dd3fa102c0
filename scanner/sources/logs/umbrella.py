"""Cisco Umbrella DNS logs (CSV, as exported to S3).

    "2020-07-23 23:49:54","user","user2","identity","192.168.1.1","8.8.8.8","Allowed",
    "1 (A)","NOERROR","elastic.co.","Software/Technology,Business Services",...

The number of identity columns before the addresses differs between log versions, so the
columns are found from the action (`Allowed`/`Blocked`): internal (client) address two
before it, the domain three after it. Umbrella writes UTC, so that is this format's
default zone. A header row is skipped.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterable
from datetime import UTC
from pathlib import Path

from scanner.extract import Observation
from scanner.sources.logs.base import LogFormat, LogReader, Parsed, head_lines

NAME = "cisco-umbrella-dns-csv"
ACTIONS = ("Allowed", "Blocked")
_LINE = re.compile(r'"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d",".*","(?:Allowed|Blocked)",')


def sniff(head: bytes) -> bool:
    lines = head_lines(head)
    return bool(lines) and sum(1 for line in lines if _LINE.match(line)) * 2 >= len(lines)


def parse(lines: Iterable[str], path: Path, reader: LogReader) -> Parsed:
    name_of, clients, time_of, bad = reader.name_of, reader.clients, reader.time_of, reader.bad
    number = 0
    rows = csv.reader(lines)
    for fields in rows:
        number = rows.line_num
        if not fields or fields == [""]:
            reader.skipped += 1
            continue
        if fields[0].lower() == "timestamp":
            reader.skipped += 1
            continue
        action = next((at for at, value in enumerate(fields) if value in ACTIONS), -1)
        if action < 2 or len(fields) <= action + 3:
            bad(number, "no Allowed/Blocked column with a domain after it")
            continue
        raw = fields[action + 3].split("/", 1)[0]
        name = name_of(number, raw)
        if name is None:
            continue
        moment = time_of(number, fields[0])
        if moment is None:
            continue
        yield number, Observation(moment, clients[fields[action - 2]], name, "dns")
    return number


FORMAT = LogFormat(NAME, "Cisco Umbrella DNS log (CSV)", sniff, parse, timezone=UTC)
