"""BIND 9 `named` query logs, through syslog or a `queries` channel file.

    client 192.168.0.1#57398: query: a1.foo.com IN A +E (10.0.0.53)                  (9.9)
    client @0x7f1dd4114af0 192.168.0.1#59735 (config.nos-avg.cz): query: config.nos-avg.cz IN TXT +
    client 192.168.0.1#57398 UDP: query: a1.foo.com IN A response: NOERROR +ED ...   (Infoblox)
    client 10.0.0.9#51000: view internal: query: example.com IN A +

A line is a named line when it carries a `named[pid]: ` syslog tag, starts with BIND's own
`07-Apr-2022 08:08:10.043` time or the ISO 8601 time of `print-time iso8601(-utc)` (9.18+),
or starts with `client ` (after `queries: ` and `info: ` when `print-category` and
`print-severity` are on). Such a line without any time (`print-time no`) gets the file's
modification time, or the runtime's when a container log wraps it. `query:` lines give a
name (with `-` flags, no recursion desired, from a resolver iterating: no device);
`query failed`, transfers, notifies and resolver chatter are valid lines without one.
A response policy zone's hit (`rpz` category: `client … (x.example): rpz QNAME NXDOMAIN
rewrite x.example/A/IN via …`) is a lookup too, often logged to a file of its own; where the
query line is in the same log, the hit is matched to it and not counted again (`Repeats`).
Infoblox NIOS also writes RPZ hits as CEF lines (`RPZ-QNAME ... src=client ... rewrite
name [A]`); those queries were answered by the policy zone and count as well.
Time: BIND's own time (it has a year) if the line has one, else the syslog header's. Lines
of other programs sharing the syslog file are valid lines without a name.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path

from scanner.extract import Observation
from scanner.sources.logs.base import (
    LogFormat,
    LogReader,
    Parsed,
    Repeats,
    another_programs_line,
    mostly,
)

NAME = "bind9-named-syslog"
_QUERY = re.compile(
    r"client (?:@0x[0-9a-fA-F]+ )?([0-9a-fA-F.:]+)#\d+(?: \([^)]*\))?:? "
    r"(?:view [^:]*: )?(?:(?:UDP|TCP): )?query: (\S+) ")
_BIND_TIME = re.compile(r"\d{1,2}-[A-Za-z]{3}-\d{4} \d\d:\d\d:\d\d(?:\.\d+)?")
_ISO_TIME = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d")
_TAG = re.compile(r"\bnamed\[\d+\]: ")
_UNTIMED = re.compile(r"(?:[a-z-]+: ){0,2}client ")  # [category: ][severity: ]client
_CEF_RPZ = re.compile(r"\|RPZ-[A-Z]+\|.*?\bsrc=(\S+).*?\brewrite (\S+) ")
# The `rpz` category: 'client @0x… 10.0.0.5#54175 (x.example): rpz QNAME NXDOMAIN rewrite
# x.example/AAAA/IN via x.example.policy.rpz' (9.10+; older ones without '/type/class').
_RPZ = re.compile(
    r"client (?:@0x[0-9a-fA-F]+ )?([0-9a-fA-F.:]+)#\d+(?: \([^)]*\))?:? "
    r"(?:view [^:]*: )?rpz \S+ \S+ rewrite ([^\s/]+)")


def sniff(head: bytes) -> bool:
    return mostly(head, lambda line: _TAG.search(line) or _BIND_TIME.match(line)
                  or _UNTIMED.match(line) or (_ISO_TIME.match(line) and "client " in line))


def _time(line: str, tag: re.Match[str] | None, reader: LogReader) -> float:
    after = line[tag.end():] if tag else line
    own = _BIND_TIME.match(after)
    if own:
        return reader.clock(own.group(0))
    if tag is None and _UNTIMED.match(line):
        return reader.clock.reference  # print-time no: the line has no time at all
    return reader.clock(line[: tag.start()] if tag else line)


def _recursion_desired(line: str, after: int) -> bool:
    """The flags after class and type: '+' when the client asked for recursion, as every
    device does; '-' from a resolver iterating (or one outside asking a zone the server holds),
    whose lookups count for the name but make no device."""
    words = line[after:].split(None, 3)
    return not (len(words) > 2 and words[2].startswith("-"))


def parse(lines: Iterable[str], path: Path, reader: LogReader) -> Parsed:
    name_of, clients, bad = reader.name_of, reader.clients, reader.bad
    rewritten = Repeats()  # queries a response policy may rewrite next
    number = 0
    for number, line in enumerate(lines, reader.first_line):
        tag = _TAG.search(line)
        if tag is None and not _BIND_TIME.match(line) and not _ISO_TIME.match(line) \
                and not _UNTIMED.match(line):
            if not another_programs_line(line):
                reader.not_a_record(number, line, "not a named log line")
            continue
        match = _QUERY.search(line)
        if match is not None:
            rewritten.expect((match.group(1), match.group(2).lower().rstrip(".")))
        elif " rpz " in line and (match := _RPZ.search(line)) is not None:
            if rewritten.matched((match.group(1), match.group(2).lower().rstrip("."))):
                continue  # the policy applied to a query already counted
        else:
            match = _CEF_RPZ.search(line) if "CEF:" in line else None
            if match is None:
                continue
        address, raw = match.groups()
        name = name_of(number, raw)
        if name is None:
            continue
        try:
            moment = _time(line, tag, reader)
        except ValueError as error:
            bad(number, str(error))
            continue
        asked = match.re is not _QUERY or _recursion_desired(line, match.end())
        yield number, Observation(moment, clients[address] if asked else b"", name, "dns")
    return number


FORMAT = LogFormat(NAME, "BIND 9 named query log (syslog or file, old and new styles)",
                   sniff, parse, timeless=True, program=_TAG.search)
