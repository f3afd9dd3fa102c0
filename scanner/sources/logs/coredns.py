"""CoreDNS `log` plugin lines.

    [INFO] 172.17.0.4:36413 - 21583 "A IN httpbin.org.cluster.local. udp 43 false 512" NXDOMAIN ...
    2019-03-18T22:13:36.289-07:00 [INFO] [::1]:57413 - 14639 "A IN www.yahoo.com. udp 42 ..." ...
    172.17.0.18:41675 - [07/Sep/2018:15:29:11 +0000] 59925 "A IN kubernetes.default.svc. ...

CoreDNS writes no time itself (up to 1.2 it did, in brackets); a container runtime or
journald may put one in front, after the pod and container names stern writes first. A line
without one gets the file's modification time (the closest thing to "when" there is).
Other plugin lines (`[INFO] plugin/reload: ...`, `[WARNING] ...`, the errors plugin's failed
forwards), client-go's klog lines, the start-up banner and the loop plugin's HINFO probe of
itself are valid lines without a name.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path

from scanner.extract import Observation
from scanner.sources.logs.base import LogFormat, LogReader, Parsed, head_lines
from scanner.sources.logs.timestamps import Clock

NAME = "coredns"
# '[INFO] client:port - id "TYPE CLASS name. ...'; some Corefiles drop the quotes; CoreDNS
# 1.2 and before wrote no level but the time, in brackets: 'client:port - [07/Sep/2018:...] id'.
_QUERY = re.compile(
    r"(?:\[[A-Z]+\] (\S+):\d+ - |^(\S+):\d+ - \[([^\]]+)\] )\d+ \"?(\S+) \S+ (\S+) ")
_LEVEL = re.compile(r"\[(?:INFO|DEBUG|WARNING|ERROR|FATAL)\] ")
# The start-up banner and client-go's klog lines ('W1005 19:26:26.000117 1 reflector.go:…'),
# after the time `kubectl logs --timestamps` or a runtime puts first.
_BANNER = re.compile(r"\s*(?:\d{4}-\d\d-\d\dT\S+\s+)?"
                     r"(?:CoreDNS-|\S*:\d+\s*$|linux/|\.:\d+|[IWEF]\d{4} \d\d:\d\d:\d\d)")
# The loop plugin's own probe: 'HINFO IN 3388893353626257077.643398171450697041.' from itself.
_PROBES = {"HINFO"}


def sniff(head: bytes) -> bool:
    lines = head_lines(head)
    return any(_QUERY.search(line) for line in lines)


def _moment(prefix: str, clock: Clock) -> float | None:
    """The time in what precedes a query: none (the file's time), a runtime's or journald's,
    or one after the pod and container names stern puts first (`coredns-x coredns `). None
    for a time that cannot be read. (`kubectl logs --prefix` is taken off by `wrappers`.)"""
    prefix = prefix.strip()
    if not prefix:
        return clock.reference
    try:
        return clock(prefix)
    except ValueError:
        pass
    *names, last = prefix.split()
    try:
        return clock(last) if names else None  # stern --timestamps: 'pod container <time>'
    except ValueError:
        return clock.reference if len(names) == 1 and ":" not in prefix else None


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
        address, early, stamp, kind, raw = match.groups()
        if kind in _PROBES:
            continue
        name = name_of(number, raw)
        if name is None:
            continue
        moment = _moment(stamp or line[: match.start()], clock)
        if moment is None:
            bad(number, f"unreadable time {line[: match.start()].strip()[:40]!r}")
            continue
        yield number, Observation(moment, clients[address or early], name, "dns")
    return number


FORMAT = LogFormat(NAME, "CoreDNS log plugin", sniff, parse, timeless=True)
