"""Palo Alto Networks PAN-OS syslog in CSV: the URL filtering and DNS entries of THREAT logs.

    Nov 30 16:44:36 PA-220 1,2018/11/30 16:44:36,012801096514,THREAT,url,2049,2018/11/30
    16:44:36,192.168.15.224,152.195.55.192,...,ssl,...,block-url,"consent.cmp.oath.com/",...

Fields (PAN-OS 8-11): 1 receive time, 3 type, 4 subtype, 6 generated time, 7 source
address (the client), 14 application, 31 misc (for subtype `url`: the URL, host first; for
subtype `spyware` of the applications `dns`, `dns-base`, ...: the name DNS Security saw
looked up; PAN-OS 8 and 9 leave it empty and name it only in the threat, field 32:
`Suspicious DNS Query (generic:comparetvs.net)(320511141)`). The host is seen as `sni`
when the application is `ssl`, as `http` for other
URLs and as `dns` for lookups. TRAFFIC, SYSTEM, CONFIG and other THREAT subtypes are valid
lines without a name. A CSV exported from the web UI starts with a row of column names
(`Domain,Receive Time,Serial #,…`), which is skipped. The time is PAN-OS 10's and later's
high-resolution timestamp, field 107 of a THREAT line, with milliseconds and the firewall's
offset ('2025-06-26T12:02:04.099+03:00'); before PAN-OS 10, the generated time, the
firewall's local time without zone, read in the reader's zone.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterable
from pathlib import Path

from scanner.extract import Observation
from scanner.sources.logs.base import LogFormat, LogReader, Parsed, mostly
from scanner.sources.logs.squid import host_of

NAME = "paloalto-csv"
_RECORD = re.compile(r"(?:^|[\s>])([^\s,]*),(\d{4}/\d\d/\d\d \d\d:\d\d:\d\d),[^,]*,"
                     r"(TRAFFIC|THREAT|SYSTEM|CONFIG|HIP-MATCH|GLOBALPROTECT|USERID|"
                     r"AUTHENTICATION|DECRYPTION|CORRELATION|TUNNEL|GTP|SCTP|IPTAG|URL),")
GENERATED, SOURCE, APPLICATION, MISC, THREAT, HIGH_RES_TIME = 6, 7, 14, 31, 32, 107
_ZONED = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?(?:[+-]\d\d:\d\d|Z)$")
_THREAT_NAME = re.compile(r"\([^():\s]*:([^():\s]+)\)\(\d+\)\s*$")  # '(generic:x.net)(3205)'


_HEADER = re.compile(r"(?:Domain|FUTURE_USE),Receive Time,Serial ")  # a web UI export's


def sniff(head: bytes) -> bool:
    return mostly(head, lambda line: _RECORD.search(line) or _HEADER.match(line))


def parse(lines: Iterable[str], path: Path, reader: LogReader) -> Parsed:
    name_of, clients, time_of, bad = reader.name_of, reader.clients, reader.time_of, reader.bad
    number = 0
    for number, line in enumerate(lines, reader.first_line):
        match = _RECORD.search(line)
        if match is None:
            if _HEADER.match(line):
                reader.skipped += 1  # the column names of a CSV exported from the web UI
            else:
                reader.not_a_record(number, line, "not a PAN-OS CSV log line")
            continue
        if match.group(3) != "THREAT" or (",url," not in line and ",spyware," not in line):
            continue
        fields = next(csv.reader([line[match.start(1):]]))
        if len(fields) <= MISC:
            bad(number, f"{len(fields)} fields, a THREAT line has more than {MISC}")
            continue
        if fields[4] == "spyware" and fields[APPLICATION].startswith("dns"):
            how = "dns"  # DNS Security: the name a client looked up, sinkholed or not
        elif fields[4] == "url":
            how = "sni" if fields[APPLICATION] == "ssl" else "http"
        else:
            continue
        raw = host_of(fields[MISC] if "://" in fields[MISC] else "http://" + fields[MISC])
        named = _THREAT_NAME.search(fields[THREAT]) if how == "dns" and len(fields) > THREAT \
            and not raw else None
        if named:  # PAN-OS 8, 9: the name only in the threat's
            raw = named.group(1)
        if raw in ("", "-"):
            continue  # '-/': PAN-OS logged no host
        name = name_of(number, raw)
        if name is None:
            continue
        zoned = fields[HIGH_RES_TIME] if len(fields) > HIGH_RES_TIME else ""
        moment = time_of(number, zoned if _ZONED.match(zoned) else fields[GENERATED] or fields[1])
        if moment is None:
            continue
        yield number, Observation(moment, clients[fields[SOURCE]], name, how)
    return number


FORMAT = LogFormat(NAME, "Palo Alto PAN-OS CSV syslog (THREAT url and DNS entries)", sniff,
                   parse)
