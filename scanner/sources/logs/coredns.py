"""CoreDNS `log` plugin lines.

    [INFO] 172.17.0.4:36413 - 21583 "A IN httpbin.org.cluster.local. udp 43 false 512" NXDOMAIN ...
    2019-03-18T22:13:36.289-07:00 [INFO] [::1]:57413 - 14639 "A IN www.yahoo.com. udp 42 ..." ...

CoreDNS writes no time itself; a container runtime or journald may put one in front. A line
without one gets the file's modification time (the closest thing to "when" there is).
Other plugin lines (`[INFO] plugin/reload: ...`, `[WARNING] ...`) and the start-up banner
are valid lines without a name.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path

from scanner.extract import Observation
from scanner.sources.logs.base import LogFormat, LogReader, Parsed, head_lines

NAME = "coredns"
_QUERY = re.compile(r"\[[A-Z]+\] (\S+):\d+ - \d+ \"\S+ \S+ (\S+) ")
_LEVEL = re.compile(r"\[(?:INFO|DEBUG|WARNING|ERROR|FATAL)\] ")
_BANNER = re.compile(r"\s*(?:CoreDNS-|\S*:\d+\s*$|linux/|\.:\d+)")


def sniff(head: bytes) -> bool:
    lines = head_lines(head)
    return any(_QUERY.search(line) for line in lines)


def parse(lines: Iterable[str], path: Path, reader: LogReader) -> Parsed:
    name_of, clients, clock, bad = reader.name_of, reader.clients, reader.clock, reader.bad
    number = 0
    for number, line in enumerate(lines, reader.first_line):
        match = _QUERY.search(line)
        if match is None:
            if line.isspace():
                reader.skipped += 1
            elif not _LEVEL.search(line) and not _BANNER.match(line):
                bad(number, "not a CoreDNS log line")
            continue
        address, raw = match.groups()
        name = name_of(number, raw)
        if name is None:
            continue
        stamp = line[: match.start()].strip()
        try:
            moment = clock(stamp) if stamp else clock.reference
        except ValueError as error:
            bad(number, str(error))
            continue
        yield number, Observation(moment, clients[address], name, "dns")
    return number


FORMAT = LogFormat(NAME, "CoreDNS log plugin", sniff, parse, timeless=True)
