"""Suricata `eve.json`: the name in dns, tls, http and quic events (and in alerts about them).

    {"timestamp":"2018-07-05T15:51:50.666597-0400","event_type":"tls","src_ip":"192.168.86.85",
     ..., "tls":{"sni":"p33-btmmdns.icloud.com.", ...}}

- dns: a query's `rrname` (client = src_ip); an answer's `rrname` as `answer` (client =
  dest_ip, the answer goes to the client). Eve v1 writes one event per query or answer
  record, v2 groups answers under one event, v3 lists `queries` (Suricata 8 calls the events
  `request` and `response`); all are read. Answer records (CNAME targets, addresses) are
  not: they repeat what the server said, so of v1's answer events only a response's first,
  whose owner is the name asked for, counts.
- tls `sni`, http `hostname` (port removed), quic `sni`.
- An event without any of those objects (flow, netflow, stats, ssh, smb..., most of a busy
  sensor's file) is not decoded at all once it looks whole (a JSON object with an
  `event_type`): it cannot name anything, and decoding was most of the time spent.
- alert events carry the same objects (an alert's DNS queries as a `query` list): an alert
  may be the only event for a flow when the protocol logger is off, so they count too.
  fileinfo events are left out: they repeat an http event, with source and destination
  swapped for downloads.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

from scanner.extract import Observation
from scanner.names import host_from_header
from scanner.sources.logs.base import (
    CACHE_LIMIT,
    LogFormat,
    LogReader,
    Parsed,
    head_lines,
    json_record,
)
from scanner.sources.logs.zeek import LOCAL_PORTS

NAME = "suricata-eve"
SKIP_EVENTS = {"fileinfo", "flow", "netflow", "stats", "drop", "anomaly"}


def sniff(head: bytes) -> bool:
    lines = head_lines(head, 5)
    return bool(lines) and lines[0].startswith("{") and '"event_type"' in lines[0]


def _names(record: dict[str, Any], answered: dict[tuple[object, object], None]
           ) -> list[tuple[str, str, str]]:
    """(raw name, how, client field) found in one event.

    `answered` remembers the responses whose first v1 answer event was read: in eve v1 each
    answer record is an event of its own, and only the first one's owner is the name asked
    for (the later ones are CNAME targets, which the server named, not the client).
    """
    found: list[tuple[str, str, str]] = []
    dns = record.get("dns")
    if isinstance(dns, dict):
        answer = dns.get("type") in ("answer", "response")  # Suricata 8: request/response
        how, side = ("answer", "dest_ip") if answer else ("dns", "src_ip")
        asked = isinstance(dns.get("rrname"), str)
        if asked and answer and "answers" not in dns and "queries" not in dns:  # eve v1
            response = (record.get("flow_id"), dns.get("id"))
            if len(answered) >= CACHE_LIMIT:
                answered.clear()
            asked = response not in answered
            answered[response] = None
        if asked:
            found.append((dns["rrname"], how, side))
        # v3 `queries`; an alert's `query` (Suricata 5-7 write the DNS part of an alert so)
        for query in (*(dns.get("queries") or ()), *(dns.get("query") or ())):
            if isinstance(query, dict) and isinstance(query.get("rrname"), str):
                found.append((query["rrname"], how, side))
    for key, field, how in (("tls", "sni", "sni"), ("http", "hostname", "http"),
                            ("quic", "sni", "quic")):
        value = record.get(key)
        if isinstance(value, dict) and isinstance(value.get(field), str):
            found.append((host_from_header(value[field]), how, "src_ip"))
    return found


def parse(lines: Iterable[str], path: Path, reader: LogReader) -> Parsed:
    name_of, clients, clock, bad = reader.name_of, reader.clients, reader.clock, reader.bad
    number = 0
    answered: dict[tuple[object, object], None] = {}
    for number, line in enumerate(lines, reader.first_line):
        if '"dns":' not in line and '"tls":' not in line and '"http":' not in line \
                and '"quic":' not in line and line[:1] == "{" and '"event_type":' in line \
                and line.rstrip().endswith("}"):
            continue  # flow, stats, ssh...: a whole event with no name in it; not decoded
        record = json_record(line, number, reader)
        if record is None:
            continue
        if "event_type" not in record:
            bad(number, "not an eve event (no event_type)")
            continue
        if record["event_type"] in SKIP_EVENTS:
            continue
        found = _names(record, answered)
        if not found:
            continue
        try:
            moment = clock(str(record["timestamp"]))
        except (KeyError, ValueError):
            bad(number, "no readable timestamp")
            continue
        for raw, how, side in found:
            name = name_of(number, raw)
            if name is None:
                continue
            address = record.get(side)
            client = clients[address] if isinstance(address, str) else b""
            local = ""
            if how in ("dns", "answer"):
                port = record.get("src_port" if how == "answer" else "dest_port")
                local = LOCAL_PORTS.get(str(port), "")
            yield number, Observation(moment, client, name, how, local)
    return number


FORMAT = LogFormat(NAME, "Suricata eve.json (dns, tls, http, quic events)", sniff, parse)
