"""AdGuard Home `querylog.json`: one JSON object per query.

    {"IP":"192.168.1.20","T":"2021-02-01T10:00:00.123456789+01:00","QH":"example.org",
     "QT":"A","QC":"IN","CP":"","Answer":"...","Result":{},"Elapsed":123,"Upstream":"..."}

`QH` is the host asked for, `IP` the client, `T` the time (RFC 3339, nanoseconds, zone).
Versions before v0.104 wrote the question as a base64 DNS message instead, with the time
under `Time`; it is decoded with dnspython:

    {"Question":"ULgBAAABAAAAAAAAC2FkZ3VhcmR0ZWFt...","Answer":"...","Time":"2020-11-13T12:41:25
     .970861+03:00","Elapsed":244066501,"IP":"127.0.0.1","Upstream":"https://1.1.1.1:443/..."}
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Iterable
from pathlib import Path

from scanner.extract import Observation
from scanner.sources.logs.base import LogFormat, LogReader, Parsed, head_lines, json_record

NAME = "adguard-querylog"


def sniff(head: bytes) -> bool:
    return any(line.startswith("{") and (('"QH"' in line and '"T"' in line)
                                         or ('"Question"' in line and '"Time"' in line))
               for line in head_lines(head, 5))


def _question(text: str) -> str | None:
    """The name in an old-style base64 `Question` (a DNS message), or None if unreadable."""
    import dns.exception  # only logs of AdGuard Home before v0.107 need dnspython
    import dns.message

    try:
        message = dns.message.from_wire(base64.b64decode(text, validate=True),
                                        question_only=True)
    except (binascii.Error, ValueError, dns.exception.DNSException):
        return None
    return message.question[0].name.to_text() if message.question else None


def parse(lines: Iterable[str], path: Path, reader: LogReader) -> Parsed:
    name_of, clients, clock, bad = reader.name_of, reader.clients, reader.clock, reader.bad
    number = 0
    for number, line in enumerate(lines, reader.first_line):
        record = json_record(line, number, reader)
        if record is None:
            continue
        raw = record.get("QH")
        if not isinstance(raw, str):
            question = record.get("Question")
            raw = _question(question) if isinstance(question, str) and question else None
            if raw is None:
                bad(number, "no 'QH' (queried host) and no readable 'Question'")
                continue
        name = name_of(number, raw)
        if name is None:
            continue
        try:
            moment = clock(str(record["T"] if "T" in record else record["Time"]))
        except (KeyError, ValueError):
            bad(number, "no readable time 'T'")
            continue
        address = record.get("IP")
        client = clients[address] if isinstance(address, str) else b""
        yield number, Observation(moment, client, name, "dns")
    return number


FORMAT = LogFormat(NAME, "AdGuard Home querylog.json", sniff, parse)
