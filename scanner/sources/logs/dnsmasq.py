"""dnsmasq and Pi-hole query logs (`log-queries`): `query[A] name from client` lines.

    Sep  8 16:32:19 dnsmasq[577]: query[A] www.google.co.uk from 192.168.216.233
    Jan 24 15:10:19 host dnsmasq[1]: 7 10.0.0.2/5353 query[AAAA] x.example from 10.0.0.2
    2025-05-01 10:33:48.949 query[A] aol.com from 10.1.1.1          (Pi-hole v6 pihole.log)
    dnsmasq: query[A] printer.lan from 10.89.0.5                    (log-facility=-, stdout)

Only `query[...]` lines name what a client asked for; `forwarded` (the server asking its
upstream), `reply`, `cached` and `config` lines repeat that name and are read as valid lines
without a name, as are the lines of other programs where dnsmasq shares a syslog file. A
line is malformed unless it has a `program[pid]: ` tag or another syslog header, starts
with an ISO 8601 time (Pi-hole v6 writes no tag), or with `dnsmasq: ` (dnsmasq on stdout,
which writes no time: such a line gets the runtime's time when a container log wraps it,
else the file's modification time, as CoreDNS lines do). Times are syslog (`Mmm dd
HH:MM:SS`, no year or zone) or ISO 8601; see `timestamps`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from functools import partial
from pathlib import Path
from typing import Any

from scanner.extract import Counted, Lookups, Observation
from scanner.sources.logs.base import (
    Block,
    Drained,
    LogFormat,
    LogReader,
    Parsed,
    another_programs_line,
    grouped,
    mostly,
)

NAME = "dnsmasq"
# The name as the client sent it, spaces and all ('query[A] bad name.example from 10.0.0.5': a
# record, whose name is no host name), then the client (and, in a debug build, the source line).
_QUERY = re.compile(r"query\[[^\]]*\] (.+?) from (\S+)(?:\s|$)")
_PROGRAMS = ("dnsmasq[", "pihole-FTL[")  # a line that starts with its tag has no time
_SNIFF = re.compile(r"\b(?:dnsmasq|pihole-FTL)\[\d+\]: ")
# A line without a tag: Pi-hole v6's ISO time (group 1), a syslog time as `pihole -t` leaves
# it ('Dec  3 20:09:40: ', group 2), dnsmasq on standard output, or the bare message of
# `log-queries=extra` ('14666331 10.0.0.5/57020 query[A] …') as a relay that keeps only the
# message (rsyslog's %msg%) writes it.
_UNTAGGED = re.compile(r"(\d{4}-\d\d-\d\d[T ]\d\d:\d\d:\d\d\S*) "
                       r"|([A-Z][a-z]{2} [ \d]\d \d\d:\d\d:\d\d): |dnsmasq(?:\[\d+\])?: "
                       r"|(?=\d+ [\d.:a-fA-F]+/\d+ )")
# ...and what such lines say, to tell them from other logs that start with a time.
_MESSAGE = re.compile(
    r"(?:\d+ \S+ )?(?:(?:TCP|UDP) \d+ \S+ )?(?:query\[|forwarded |reply |cached|config "
    r"|validation result|dnssec-|gravity blocked|exactly |regex |special domain|Pi-hole "
    r"|Rate-limiting|Apple iCloud|Designated Resolver|started, version|compile time|using "
    r"|read |reading |exiting|DHCP|DNS |/etc/)")


def _untagged_line(line: str) -> bool:
    start = _UNTAGGED.match(line)
    return start is not None and _MESSAGE.match(line, start.end()) is not None


def sniff(head: bytes) -> bool:
    return mostly(head, lambda line: _SNIFF.search(line) or _untagged_line(line))


def parse(lines: Iterable[str], path: Path, reader: LogReader) -> Parsed:
    names, name_of, clients, bad = reader.names, reader.name_of, reader.clients, reader.bad
    clock, time_of = reader.clock, reader.time_of
    new = tuple.__new__  # an Observation with every field given, without its slower __new__
    query, untagged = _QUERY.match, _UNTAGGED.match
    number = 0
    for number, line in enumerate(lines, reader.first_line):
        at = line.find(" query[")
        if at < 0:
            if "]: " not in line and not untagged(line) and not another_programs_line(line):
                reader.not_a_record(number, line, "not a dnsmasq log line")
            continue
        match = query(line, at + 1)
        tag = line.find("]: ")
        if match is None:
            bad(number, "query line without 'name from client'")
            continue
        if tag < 0 or tag > at:  # no 'program[pid]: ' before the query: Pi-hole v6, stdout
            start = untagged(line)
            if start is None:
                bad(number, "query line without 'program[pid]: ' or a time")
                continue
            tag = start.end(1) if start.group(1) else start.end(2) if start.group(2) else 0
        elif line.startswith(_PROGRAMS):  # 'dnsmasq[1]: query[A] …' on standard error: no time
            tag = 0
        raw, address = match.groups()
        name = names[raw]
        if not name:  # an address (dropped quietly) or no name at all (malformed)
            if name is None:
                name_of(number, raw)
            continue
        try:  # 'Sep  8 16:32:19 dnsmasq[577': the time, then ignored; '' for none at all
            moment = clock(line[:tag]) if tag else clock.reference
        except ValueError:
            time_of(number, line[:tag])
            continue
        yield number, new(Observation, (moment, clients[address], name, "dns", "", ""))
    return number


class Tallier:
    """Query lines with a syslog time and a `program[pid]: ` tag, or Pi-hole 6's ISO time,
    counted in C; the Tally hands back every other shape (standard output, a time with a
    zone, anything odd) to `parse`."""

    def __init__(self, reader: LogReader) -> None:
        self.reader = reader
        self.parse = partial(parse, path=reader.path, reader=reader)

    def minute_of(self, minute: str) -> float:
        """POSIX time of 'Sep  8 16:32' or '2025-05-01 10:33' (second 0); the Tally adds the
        seconds. A minute that would not read that way (a year boundary inside it) is left
        to `parse`."""
        clock = self.reader.clock
        start = clock(minute + ":00")
        if clock(minute + ":59") - start != 59:
            raise ValueError(f"{minute!r}: seconds are not linear in this minute")
        return start

    def feed(self, table: Any, block: Block, number: int) -> tuple[list[Counted], int]:
        handed_back, lines = table.dnsmasq(block, number, self.minute_of)
        return self.reader.reread(self.parse, block, handed_back, number), lines

    def resolve(self, drained: Drained) -> Lookups:
        names, groups = self.reader.names, []
        for group in drained[1]:
            day, raw, _port, _flag, hits, first, last, _line, start, stop = group
            name = names[raw]
            if name:
                groups.append((name, "dns", day, "", "", hits, first, last, start, stop))
            elif name is None:
                self.reader.unnamed(group, raw)
        return grouped(drained, groups, self.reader.clients)


FORMAT = LogFormat(NAME, "dnsmasq / Pi-hole query log (log-queries)", sniff, parse,
                   timeless=True, tally=Tallier, program=_SNIFF.search)
