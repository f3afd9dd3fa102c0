"""Sophos firewall web logs in key=value form: XG / SFOS and UTM (astaro) web proxy.

    device="SFW" date=2017-01-31 time=14:03:33 timezone="IST" ... log_type="Content Filtering"
    ... url="https://r8---sn-ci5gup-qxas.googlevideo.com/" ... src_ip=10.198.47.71 ...
    domain=r8---sn-ci5gup-qxas.googlevideo.com ...
    2023:04:28-10:00:01 utm httpproxy[123]: id="0001" ... srcip="10.0.0.1" ... url="http://x/"

The host is `domain` (`domainname` in Cyberoam's), else `website`, else the host of `url`
(the first that is a whole name; a URL may lack its scheme, and a bare path, as the UTM's
web application firewall writes for requests to the school's own servers, names no host);
`https` URLs are seen as `sni`, others as `http`. The client is `src_ip` (XG) or `srcip`
(UTM). Time: `date` and `time` in the `timezone` abbreviation when it is one of the common
ones (Sophos writes IST for India, its home), else in the reader's zone; newer SFOS writes
`timestamp` (ISO 8601 with its offset) instead; UTM lines start with `YYYY:MM:DD-hh:mm:ss`,
a relay's syslog header with its own. A line with no time at all (SFOS 18.5 "Web Content
Policy" alerts) gets the file's time.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path

from scanner.extract import Observation
from scanner.sources.logs.base import LogFormat, LogReader, Parsed, key_values, mostly
from scanner.sources.logs.squid import host_of

NAME = "sophos-xg-kv"
_XG = re.compile(r'device(?:_name)?="?SF|\blog_id=\S+ log_type=')
_SYSLOG_HEADER = re.compile(r"[A-Z][a-z]{2} +\d{1,2} \d\d:\d\d:\d\d ")
_UTM = re.compile(r'\bhttpproxy\[\d+\]: .*\bsys="SecureWeb"')


def sniff(head: bytes) -> bool:
    return mostly(head, lambda line: _XG.search(line) or _UTM.search(line))


def parse(lines: Iterable[str], path: Path, reader: LogReader) -> Parsed:
    names, clients, clock, bad = reader.names, reader.clients, reader.clock, reader.bad
    number = 0
    for number, line in enumerate(lines, reader.first_line):
        if "=" not in line:
            reader.not_a_record(number, line, "not a Sophos key=value log line")
            continue
        fields = key_values(line)
        url = fields.get("url", "")
        if url and "://" not in url:  # Cyberoam: 'example.fr/img/a.gif'; a WAF: '/path'
            url = "" if url.startswith("/") else "http://" + url
        candidates = [raw for raw in (fields.get("domain"), fields.get("domainname"),
                                      fields.get("website"), host_of(url) if url else "") if raw]
        if not candidates:
            continue
        # the first that is a full name: a `domain` cut at a stray space ("www. x.ca") is not
        name = next((found for found in map(names.__getitem__, candidates)
                     if found and "." in found), None)
        if name is None:
            name = names[candidates[0]]
            if name is None:
                reader.invalid(number, candidates[0])
            if not name:
                continue
        try:
            if fields.get("timestamp"):  # SFOS 18.5+: ISO 8601 with its offset
                moment = clock(fields["timestamp"])
            elif "date" in fields and "time" in fields:
                moment = clock.fields(fields["date"], fields["time"], fields.get("timezone"))
            elif line[:1].isdigit() or line.startswith("<") or _SYSLOG_HEADER.match(line):
                moment = clock(line)
            else:  # SFOS 18.5 policy lines carry no time at all: the file's is the closest
                moment = clock.reference
        except ValueError:
            bad(number, "no readable date and time")
            continue
        address = fields.get("src_ip") or fields.get("srcip") or ""
        how = "sni" if url.startswith("https:") else "http"
        yield number, Observation(moment, clients[address], name, how)
    return number


FORMAT = LogFormat(NAME, "Sophos XG/SFOS and UTM web proxy key=value log", sniff, parse)
