"""Cisco Umbrella DNS and proxy (Secure Internet Gateway) logs, CSV as exported to S3.

    "2020-07-23 23:49:54","user","user2","identity","192.168.1.1","8.8.8.8","Allowed",
    "1 (A)","NOERROR","elastic.co.","Software/Technology,Business Services",...
    "2023-03-08 06:54:32","NetworkName","10.1.2.3","101.102.103.104","201.202.203.204",
    "application/octet-stream","ALLOWED","http://luna.avcdn.net/ez/...bin","",...

The number of identity columns before the addresses differs between log versions, so the
columns are found from the action. DNS logs (`Allowed`/`Blocked`): internal (client) address
two before it, the domain three after it. Proxy logs (`ALLOWED`/`BLOCKED`/`WARNED`): the
URL right after it (`https` seen as `sni`, else `http`); before it the content type, the
destination address (newer versions), the external and the internal (client) address — the
internal one is four before the verdict when that column holds an address or nothing, else
three (versions without a destination column). Umbrella writes UTC, so that is these
formats' default zone. A header row is skipped; a space after a comma is ignored.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Callable, Iterable, Iterator
from datetime import UTC
from pathlib import Path
from typing import Any

from scanner.extract import Observation
from scanner.names import is_address_literal
from scanner.sources.logs.base import LogFormat, LogReader, Parsed, head_lines
from scanner.sources.logs.squid import host_of

NAME = "cisco-umbrella-dns-csv"
ACTIONS = ("Allowed", "Blocked")
VERDICTS = ("ALLOWED", "BLOCKED", "WARNED")
_LINE = re.compile(r'"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d",".*","(?:Allowed|Blocked)",')
_PROXY_LINE = re.compile(
    r'"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d",.*"(?:ALLOWED|BLOCKED|WARNED)", ?"[a-z]+://')


def _most(pattern: re.Pattern[str]) -> Callable[[bytes], bool]:
    def sniff(head: bytes) -> bool:
        lines = head_lines(head)
        return bool(lines) and sum(1 for line in lines if pattern.match(line)) * 2 >= len(lines)

    return sniff


def _data_rows(rows: Any, reader: LogReader) -> Iterator[tuple[int, list[str]]]:
    """(line number, fields) of each row of a csv reader; blank rows and the header row are
    skipped. The caller returns `rows.line_num`, which counts the skipped ones too."""
    for fields in rows:
        if not fields or fields == [""] or fields[0].lower() == "timestamp":
            reader.skipped += 1
            continue
        yield rows.line_num, fields


def parse(lines: Iterable[str], path: Path, reader: LogReader) -> Parsed:
    name_of, clients, time_of, bad = reader.name_of, reader.clients, reader.time_of, reader.bad
    rows = csv.reader(lines, skipinitialspace=True)
    for number, fields in _data_rows(rows, reader):
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
    return rows.line_num


def parse_proxy(lines: Iterable[str], path: Path, reader: LogReader) -> Parsed:
    name_of, clients, time_of, bad = reader.name_of, reader.clients, reader.time_of, reader.bad
    rows = csv.reader(lines, skipinitialspace=True)
    for number, fields in _data_rows(rows, reader):
        verdict = next((at for at, value in enumerate(fields) if value in VERDICTS), -1)
        if verdict < 4 or len(fields) <= verdict + 1:
            bad(number, "no ALLOWED/BLOCKED/WARNED column with a URL after it")
            continue
        url = fields[verdict + 1]
        raw = host_of(url)
        if not raw:
            continue  # no host in the URL
        name = name_of(number, raw)  # an address is dropped there, quietly
        if name is None:
            continue
        moment = time_of(number, fields[0])
        if moment is None:
            continue
        internal = fields[verdict - 4]
        if internal and not is_address_literal(internal):  # an identity: no destination column
            internal = fields[verdict - 3]
        how = "sni" if url.startswith("https:") else "http"
        yield number, Observation(moment, clients[internal], name, how)
    return rows.line_num


FORMAT = LogFormat(NAME, "Cisco Umbrella DNS log (CSV)", _most(_LINE), parse, timezone=UTC)
PROXY = LogFormat("cisco-umbrella-proxy-csv", "Cisco Umbrella proxy (SIG) log (CSV)",
                  _most(_PROXY_LINE), parse_proxy, timezone=UTC)
