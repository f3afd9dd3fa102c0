"""Suricata `eve.json`: the name in dns, tls, http and quic events (and in alerts about them).

    {"timestamp":"2018-07-05T15:51:50.666597-0400","event_type":"tls","src_ip":"192.168.86.85",
     ..., "tls":{"sni":"p33-btmmdns.icloud.com.", ...}}

- dns: a query's `rrname` (client = src_ip); an answer's `rrname` as `answer`. Eve v1 and
  Suricata 8 write an answer in the packet's direction (client = dest_ip), Suricata 5-7 in
  the flow's (client = src_ip): the side whose port is a DNS server's is the server, so a
  resolver never counts as a device. Eve v1 writes one event per query or answer
  record, v2 groups answers under one event, v3 lists `queries` (Suricata 8 calls the events
  `request` and `response`); all are read. Answer records (CNAME targets, addresses) are
  not: they repeat what the server said, so of v1's answer events only a response's first,
  whose owner is the name asked for, counts.
- tls `sni`, http `hostname` (port removed), quic `sni`; the client is src_ip, except in
  an alert raised on the server's packet (`"direction":"to_client"`), where it is dest_ip.
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
from scanner.extract.dns import KEY, KEY_EXCHANGES, OPCODE_UPDATE, UPDATE
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
SERVER_PORTS = {53, 853, 5353, 5355, 137}  # DNS, DNS over TLS, mDNS, LLMNR, NetBIOS
KEY_TYPES = set(KEY_EXCHANGES.values())  # a secure dynamic update's key name: a LAN name
WEB_PORTS = {80, 443, 8080, 8443}
# raw name, how, the client's field (None: no device), the server's port field (None: no DNS),
# and KEY or UPDATE for a secure update's key name or its zone (the school's own names)
Found = tuple[str, str, str | None, str | None, str]


def _answer_sides(record: dict[str, Any]) -> tuple[str, str]:
    """(client's address field, server's port field) of an answer event."""
    if record.get("dest_port") in SERVER_PORTS and record.get("src_port") not in SERVER_PORTS:
        return "src_ip", "dest_port"  # Suricata 5-7: the flow's direction
    return "dest_ip", "src_port"  # the packet's: from the server to the client


def sniff(head: bytes) -> bool:
    lines = head_lines(head, 5)
    return bool(lines) and lines[0].startswith("{") and '"event_type"' in lines[0]


def _names(record: dict[str, Any], answered: dict[tuple[object, object], None]) -> list[Found]:
    """(raw name, how, client's field, server port's field) found in one event; no client's
    field for a lookup without recursion desired (a resolver iterating: no device).

    `answered` remembers the responses whose first v1 answer event was read: in eve v1 each
    answer record is an event of its own, and only the first one's owner is the name asked
    for (the later ones are CNAME targets, which the server named, not the client).
    """
    found: list[Found] = []
    dns = record.get("dns")
    if isinstance(dns, dict):
        answer = dns.get("type") in ("answer", "response")  # Suricata 8: request/response
        how, client_field, port = ("answer", *_answer_sides(record)) if answer else (
            "dns", "src_ip", "dest_port")
        side = None if dns.get("rd") is False else client_field  # a resolver iterating
        asked = isinstance(dns.get("rrname"), str)
        if asked and answer and "answers" not in dns and "queries" not in dns:  # eve v1
            response = (record.get("flow_id"), dns.get("id"))
            if len(answered) >= CACHE_LIMIT:
                answered.clear()
            asked = response not in answered
            answered[response] = None
        update = UPDATE if dns.get("opcode") == OPCODE_UPDATE else ""
        if asked:
            found.append((dns["rrname"], how, side, port,
                          KEY if dns.get("rrtype") in KEY_TYPES else update))
        # v3 `queries`; an alert's `query` (Suricata 5-7 write the DNS part of an alert so)
        for query in (*(dns.get("queries") or ()), *(dns.get("query") or ())):
            if isinstance(query, dict) and isinstance(query.get("rrname"), str):
                found.append((query["rrname"], how, side, port,
                               KEY if query.get("rrtype") in KEY_TYPES else update))
    for key, field, how in (("tls", "sni", "sni"), ("http", "hostname", "http"),
                            ("quic", "sni", "quic")):
        value = record.get(key)
        if isinstance(value, dict) and isinstance(value.get(field), str):
            found.append((host_from_header(value[field]), how, _visitor(record), None, ""))
    return found


def _visitor(record: dict[str, Any]) -> str:
    """The client's address field for a visit: src_ip in tls, http and quic events (written
    in the flow's direction), dest_ip for an alert raised on a packet from the server (its
    `direction`, from Suricata 7; before it, a web port on the source side)."""
    if record.get("direction") == "to_client" or (
            record.get("src_port") in WEB_PORTS and record.get("dest_port") not in WEB_PORTS):
        return "dest_ip"
    return "src_ip"


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
        for raw, how, side, port, own in found:
            name = name_of(number, raw)
            if name is None:
                continue
            address = record.get(side) if side else None
            client = clients[address] if isinstance(address, str) else b""
            local = own or (LOCAL_PORTS.get(str(record.get(port)), "") if port else "")
            yield number, Observation(moment, client, name, how, local)
    return number


FORMAT = LogFormat(NAME, "Suricata eve.json (dns, tls, http, quic events)", sniff, parse)
