r"""Squid `access.log` in the native format, and in `logformat combined`.

    1157689320.327   2864 10.105.21.199 TCP_MISS/200 10182 GET http://www.goonernews.com/ \
        badeyek DIRECT/207.58.145.61 text/html
    1157689312.049   5006 10.105.21.199 TCP_MISS/200 19763 CONNECT login.yahoo.com:443 - \
        DIRECT/209.73.177.115 -

time (POSIX seconds), elapsed, client, code/status, bytes, method, URL, user, hierarchy,
type. The host is the URL's (scheme, user, port and path removed) or CONNECT's target.
A `logformat` that adds fields (the client port after the client, byte counts after the
status, as in Squid's own examples) is read too: the URL is the field after the method,
the first word of capitals after the code/status field.
Requests to an address or for a bare path (`GET /`, sent to the proxy as if it were the
server), any other request for something that is no URL (`GET ahmet`, refused with 400), and
Squid's own `error:` pseudo-URLs are valid lines without a name. Lines Squid
sends through syslog (`access_log syslog:`) are read after their syslog header and tag:
`2017-04-14T10:00:28+02:00 proxy (squid-1): 1492156828.806 ...`, and so are a Cisco WSA's
access logs in Squid's format (`... ACCESS_LOGS: Info: 1474914966.011 6 10.55.13.113 ...`).
Every name is recorded as `http`: the client named it in a request to the proxy.

`squid-combined` reads the Apache-like `logformat combined` (and `common`):

    10.0.0.5 - - [03/Dec/2025:12:42:15 -0700] "GET http://www.example.org/ HTTP/1.1" 200 ...

client, ident, user, [time], "method URL version", status, ... (also after a syslog header
and Squid's tag). A web server's access log has the same shape but asks for paths, not whole
URLs: it is only taken for Squid's when most lines ask for a URL with a host (or CONNECT
one).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path

from scanner.extract import Observation
from scanner.names import host_from_header
from scanner.sources.logs.base import LogFormat, LogReader, Parsed, head_lines, mostly
from scanner.sources.logs.timestamps import seconds

NAME = "squid-native"
_LINE = re.compile(r"\d{9,10}(?:\.\d+)? +-?\d+ \S+ (?:\d+ )?[A-Z_]+/\d{3} \d+ \S+ \S+")
_METHOD = re.compile(r"[A-Z][A-Z_-]*\Z")
_INNER_LINE = re.compile(r": (" + _LINE.pattern + ")")  # after a tag's ': '


def native(line: str) -> str:
    """The access.log line itself: as written, after a syslog header and Squid's tag, or after
    whatever a relay put before it (a Cisco WSA's `<14>Sep 26 11:36:06 ACCESS_LOGS: Info: `)."""
    if line[:1].isdigit() and _LINE.match(line):
        return line
    inner = _INNER_LINE.search(line)  # after a tag's ': ', Squid's own or a relay's
    return line[inner.start(1):] if inner else line


def sniff(head: bytes) -> bool:
    return mostly(head, lambda line: _LINE.match(native(line)))


def host_of(url: str) -> str:
    """'http://user@www.example.com:8080/a?b' → 'www.example.com'; 'host:443' → 'host'."""
    scheme = url.find("://")
    if scheme >= 0:
        url = url[scheme + 3:]
        end = len(url)
        for mark in "/?#":
            at = url.find(mark)
            if 0 <= at < end:
                end = at
        url = url[:end]
        url = url[url.rfind("@") + 1:]
    return host_from_header(url)


def names_a_host(url: str, method: str) -> bool:
    """False for what Squid logs where a URL has no host: its own `error:` pseudo-URLs and
    cache manager requests (`cache_object://localhost/5min`), a bare path (`GET /` sent to the
    proxy port), `-`, `OPTIONS *`, and any other word that is not a URL (`GET ahmet`, a
    request Squid refused with 400); CONNECT names `host:port`."""
    if method == "CONNECT":
        return not url.startswith(("error:", "/")) and url not in ("-", "*")
    return "://" in url and not url.startswith(("error:", "cache_object:"))


def parse(lines: Iterable[str], path: Path, reader: LogReader) -> Parsed:
    name_of, clients, bad = reader.name_of, reader.clients, reader.bad
    number = 0
    for number, line in enumerate(lines, reader.first_line):
        line = native(line)
        fields = line.split(None, 7)
        if len(fields) < 7:
            reader.not_a_record(number, line,
                                f"{len(fields)} fields, a native access.log line has 10")
            continue
        try:
            moment = seconds(fields[0])
        except ValueError:
            bad(number, f"unreadable time {fields[0][:40]!r}")
            continue
        request = (fields[5], fields[6]) if "/" in fields[3] else _request_after_status(line)
        if request is None:
            bad(number, "no request method and URL after the code/status field")
            continue
        method, url = request
        if not names_a_host(url, method):
            continue
        raw = host_of(url)
        name = name_of(number, raw)
        if name is None:
            continue
        yield number, Observation(moment, clients[fields[2]], name, "http")
    return number


def _request_after_status(line: str) -> tuple[str, str] | None:
    """(method, URL) of a line with extra fields: the first method after the status, and the
    field after it."""
    fields = line.split()
    status = next((i for i, field in enumerate(fields[:6]) if "/" in field and i > 2), None)
    if status is None:
        return None
    for i in range(status + 1, len(fields) - 1):
        if _METHOD.match(fields[i]):
            return fields[i], fields[i + 1]
    return None


_COMBINED = re.compile(r'(\S+) \S+ \S+ \[([^\]]+)\] "([A-Z_-]+) (\S+)[^"]*" \d{3} ')
_INNER_COMBINED = re.compile(": " + _COMBINED.pattern)  # the same groups, after a tag's ': '


def combined(line: str) -> re.Match[str] | None:
    """The combined-format request of a line, as written or after whatever a syslog header
    and tag put before it: Squid's (`<13>Jan  1 01:23:45 proxy squid: 10.0.0.5 - - [...`) or
    a relay's, as a Cisco WSA's Apache-style access log arrives."""
    return _COMBINED.match(line) or _INNER_COMBINED.search(line)


def sniff_combined(head: bytes) -> bool:
    """Most lines of the combined shape, and most of those asking for a URL with a host."""
    lines = head_lines(head)
    requests = [match for match in map(combined, lines) if match]
    proxied = sum(1 for match in requests if "://" in match.group(4) or match.group(3) == "CONNECT")
    return len(requests) * 2 > len(lines) and proxied * 2 > len(requests)


def parse_combined(lines: Iterable[str], path: Path, reader: LogReader) -> Parsed:
    name_of, clients, time_of = reader.name_of, reader.clients, reader.time_of
    number = 0
    for number, line in enumerate(lines, reader.first_line):
        match = combined(line)
        if match is None:
            reader.not_a_record(number, line, "not a Squid combined log line")
            continue
        address, stamp, method, url = match.groups()
        if not names_a_host(url, method):
            continue
        name = name_of(number, host_of(url))
        if name is None:
            continue
        moment = time_of(number, stamp)
        if moment is None:
            continue
        yield number, Observation(moment, clients[address], name, "http")
    return number


FORMAT = LogFormat(NAME, "Squid access.log (native format)", sniff, parse)
COMBINED = LogFormat("squid-combined", "Squid access.log (logformat combined or common)",
                     sniff_combined, parse_combined)
