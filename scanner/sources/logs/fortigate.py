"""FortiGate syslog in key=value form: DNS filter, web filter, application control, traffic.

    date=2020-04-23 time=12:17:29 ... eventtime=1587230249360109339 tz="-0500" ... type="utm"
    subtype="dns" ... srcip=192.168.2.1 ... qname="elastic.example.com" qtype="A" ...

`qname` (DNS filter) is a lookup. A DNS filter that logs every domain writes a lookup
twice, as `dns-query` and `dns-response` (either may come first): the two, known by client,
port, `xid`, name and type, count once; either alone counts (`Repeats`). `hostname` (web
filter, app control, DLP, traffic logs with the host resolved; app control's `*.` pattern
prefix dropped), or else the host of a whole `url` (antivirus), is the site contacted, seen
as `sni` for HTTPS/SSL and `http` otherwise. `srcip` is the client. Time: `eventtime`
(POSIX seconds, or milli-, micro- or nanoseconds by its length; always UTC) when present,
else `date` + `time` in the `tz` offset, else in the reader's zone. FortiOS 7 in RFC 5424
mode writes `eventtime` and no `date`/`time`. With `set format csv` the pairs are apart by
commas instead of spaces. A line without `logid=` or any time field is malformed; other log
types, and event logs (whose `hostname` is a DHCP client's or an endpoint's own name), are
valid lines without a name.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path

from scanner.extract import Observation
from scanner.names import host_from_header
from scanner.sources.logs.base import (
    LogFormat,
    LogReader,
    Parsed,
    Repeats,
    key_values,
    mostly,
)
from scanner.sources.logs.squid import host_of
from scanner.sources.logs.timestamps import FUTURE_SLACK, Clock

NAME = "fortigate-kv"
_LOGID = re.compile(r"[\s,]logid=")  # pairs apart by spaces, or by commas (`format csv`)
_SECURE = {"HTTPS", "SSL", "QUIC"}


def sniff(head: bytes) -> bool:
    return mostly(head, lambda line: ("date=" in line or "eventtime=" in line)
                  and _LOGID.search(line) is not None and 'device="SFW"' not in line)


def event_time(fields: dict[str, str], clock: Clock) -> float:
    """eventtime if present (its digit count gives the unit), else date, time and tz; an
    eventtime after the file was written (a relay's or a sanitiser's, decades ahead) gives
    way to date and time."""
    stamp = fields.get("eventtime", "")
    if stamp.isdigit():
        moment = int(stamp) / 10 ** max(0, 3 * ((len(stamp) - 10 + 2) // 3))
        if moment <= clock.reference + FUTURE_SLACK or "date" not in fields:
            return moment
    return clock.fields(fields["date"], fields["time"], fields.get("tz"))


def _other_half(fields: dict[str, str], halves: Repeats) -> bool:
    """Whether this DNS filter line is the query or response of a lookup already counted."""
    if fields.get("eventtype") not in ("dns-query", "dns-response") or not fields.get("xid"):
        return False
    lookup = (fields.get("srcip", ""), fields.get("srcport", ""), fields["xid"],
              fields["qname"].lower(), fields.get("qtype", ""))
    if halves.matched(lookup):
        return True
    halves.expect(lookup)
    return False


def parse(lines: Iterable[str], path: Path, reader: LogReader) -> Parsed:
    name_of, clients, bad = reader.name_of, reader.clients, reader.bad
    halves = Repeats()  # of lookups counted from their dns-query or dns-response line
    number = 0
    for number, line in enumerate(lines, reader.first_line):
        if "logid=" not in line or ("date=" not in line and "eventtime=" not in line):
            reader.not_a_record(number, line,
                                "not a FortiGate log line (no logid= with date= or eventtime=)")
            continue
        fields = key_values(line, commas=",logid=" in line)
        found = []
        if fields.get("qname") and not _other_half(fields, halves):
            found.append((fields["qname"], "dns"))
        host = fields.get("hostname") or (  # an antivirus entry has only the whole URL
            host_of(fields["url"]) if "://" in fields.get("url", "") else "")
        if fields.get("type") == "event":
            host = ""  # system events: a DHCP client's or an endpoint's own name, no site
        if host:
            secure = fields.get("service", "").upper() in _SECURE or fields.get("dstport") == "443"
            # app control writes its signature's pattern ('*.vortex-win.data.microsoft.com')
            found.append((host_from_header(host).removeprefix("*."), "sni" if secure else "http"))
        if not found:
            continue
        try:
            moment = event_time(fields, reader.clock)
        except (KeyError, ValueError):
            bad(number, "no readable date/time or eventtime")
            continue
        client = clients[fields.get("srcip", "")]
        for raw, how in found:
            name = name_of(number, raw)
            if name is None:
                continue
            yield number, Observation(moment, client, name, how)
    return number


FORMAT = LogFormat(NAME, "FortiGate key=value syslog (dns, webfilter, app-ctrl, traffic)",
                   sniff, parse)
