"""dnsmasq and Pi-hole query logs (`log-queries`): `query[A] name from client` lines.

    Sep  8 16:32:19 dnsmasq[577]: query[A] www.google.co.uk from 192.168.216.233
    Jan 24 15:10:19 host dnsmasq[1]: 7 10.0.0.2/5353 query[AAAA] x.example from 10.0.0.2

Only `query[...]` lines name what a client asked for; `forwarded` (the server asking its
upstream), `reply`, `cached` and `config` lines repeat that name and are read as valid lines
without a name. A line without a `program[pid]: ` tag is malformed. Times are syslog
(`Mmm dd HH:MM:SS`, no year or zone) or ISO 8601; see `timestamps`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path

from scanner.extract import Observation
from scanner.sources.logs.base import LogFormat, LogReader, Parsed, mostly

NAME = "dnsmasq"
_QUERY = re.compile(r"query\[[^\]]*\] (\S+) from (\S+)")
_SNIFF = re.compile(r"\b(?:dnsmasq|pihole-FTL)\[\d+\]: ")


def sniff(head: bytes) -> bool:
    return mostly(head, _SNIFF.search)


def parse(lines: Iterable[str], path: Path, reader: LogReader) -> Parsed:
    names, name_of, clients, bad = reader.names, reader.name_of, reader.clients, reader.bad
    clock, time_of = reader.clock, reader.time_of
    new = tuple.__new__  # an Observation with every field given, without its slower __new__
    query = _QUERY.match
    number = 0
    for number, line in enumerate(lines, reader.first_line):
        at = line.find(" query[")
        if at < 0:
            if "]: " not in line:
                reader.not_a_record(number, line, "not a dnsmasq log line")
            continue
        match = query(line, at + 1)
        tag = line.find("]: ")
        if match is None or tag < 0:
            bad(number, "query line without 'name from client'")
            continue
        raw, address = match.groups()
        name = names[raw]
        if not name:  # an address (dropped quietly) or no name at all (malformed)
            if name is None:
                name_of(number, raw)
            continue
        try:
            moment = clock(line[:tag])  # 'Sep  8 16:32:19 dnsmasq[577': the time, then ignored
        except ValueError:
            time_of(number, line[:tag])
            continue
        yield number, new(Observation, (moment, clients[address], name, "dns", "", ""))
    return number


FORMAT = LogFormat(NAME, "dnsmasq / Pi-hole query log (log-queries)", sniff, parse)
