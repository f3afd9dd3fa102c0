r"""Windows Server DNS debug log (`dns.log`, "Log packets for debugging").

    5/21/2015 1:51:18 PM 0D48 PACKET  000000000181D1C0 UDP Rcv 10.250.2.246    0c6b   Q \
        [0001   D   NOERROR] A      (10)sitecheck2(5)opera(3)com(0)

Names are written as length-prefixed labels: `(3)www(7)example(3)com(0)` (some servers write
`.www.example.com.`). Queries the server received (`Rcv`, no `R` flag) are a client asking;
responses it sent (`Snd` with `R`) go back to that client and are recorded as `answer`, so a
server set to log only outgoing packets still shows who looked up what. `Snd` queries are
the server asking its forwarders and `Rcv` responses their replies: neither is a client.
Only standard queries (opcode Q) are lookups: dynamic updates (U), in which Windows and
DHCP clients register their own names, and notifies (N) name no app; the key name of the
TKEY exchange that secures an update is marked `local`, like an mDNS name. A query without
D (recursion desired) in its flags comes from a resolver iterating: it counts for the name,
but makes no device. Columns are read however many spaces separate them (copies from web
pages have one). The header (the field legend), indented detail lines and blank lines are
skipped; dated lines other than PACKET (EVENT, Note) are
valid lines without a name. Times are the server's local time in its locale's format, read
in the reader's zone. Whether 'a/b/YYYY' puts the day first (en-GB, fr-FR, it-IT) or the
month (en-US) is learnt from the file: the first such date in its first 20,000 lines whose
day is after the 12th decides for all of it.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterable
from pathlib import Path

from scanner.extract import Observation
from scanner.extract.dns import KEY, KEY_EXCHANGES
from scanner.sources.logs.base import LogFormat, LogReader, Parsed, head_lines

NAME = "windows-dns-debug"
_PACKET = re.compile(
    r"(\S+ \d{1,2}:\d\d:\d\d(?: ?[AaPp]\.?[Mm]\.?)?) +[0-9A-Fa-f]+ PACKET +[0-9A-Fa-f]+ "
    r"(?:UDP|TCP) +(Rcv|Snd) (\S+) +[0-9A-Fa-f]+ +(?:(R) +)?(\S) +\[([^\]]*)\] +(\S+) +(\S+)")
_KEY_TYPES = set(KEY_EXCHANGES.values())
_LABEL = re.compile(r"\((\d+)\)")
_SLASH_DATE = re.compile(r"\b(\d{1,2})/(\d{1,2})/\d{4}\b")
LOOK_AHEAD = 20_000  # lines read before the first record, to learn the date order


def sniff(head: bytes) -> bool:
    lines = head_lines(head)
    return any(line.startswith("DNS Server log") or _PACKET.match(line) for line in lines)


def decode(wire: str) -> str:
    """'(3)www(7)example(3)com(0)' → 'www.example.com' (lengths are trusted, not checked)."""
    return _LABEL.sub(".", wire).strip(".")


def day_first(lines: Iterable[str]) -> bool | None:
    """Whether the file's 'a/b/YYYY' dates put the day first: the first date whose first or
    second number cannot be a month says; None when no date does (month first, en-US, is then
    assumed line by line)."""
    for line in lines:
        for first, second in _SLASH_DATE.findall(line[:80]):
            if int(first) > 12:
                return True
            if int(second) > 12:
                return False
    return None


def parse(lines: Iterable[str], path: Path, reader: LogReader) -> Parsed:
    name_of, clients, time_of, bad = reader.name_of, reader.clients, reader.time_of, reader.bad
    lines = iter(lines)
    ahead = list(itertools.islice(lines, LOOK_AHEAD))  # a day after the 12th tells the order
    reader.clock.day_first = day_first(ahead)
    number = 0
    for number, line in enumerate(itertools.chain(ahead, lines), reader.first_line):
        if not line[:1].isdigit():
            reader.skipped += 1  # header, legend, detail lines, blank lines
            continue
        if " PACKET " not in line:
            continue
        match = _PACKET.match(line)
        if match is None:
            bad(number, "PACKET line in an unknown layout")
            continue
        stamp, direction, address, response, opcode, flags, kind, wire = match.groups()
        if (direction == "Rcv") == (response == "R"):
            continue  # the server's own lookups at its forwarders, and their replies
        if opcode != "Q":
            continue  # dynamic updates (U) and notifies (N): no lookup
        how = "dns" if direction == "Rcv" else "answer"
        raw = decode(wire)
        if not raw:
            continue  # '(0)': the root zone (priming, NS .), a lookup but no app's name
        name = name_of(number, raw)
        if name is None:
            continue
        moment = time_of(number, stamp)
        if moment is None:
            continue
        # '[0001   D   NOERROR]': D, recursion desired, as every device asks; without it a
        # resolver is iterating, and its lookups count for the name but make no device
        parts = flags.split()  # the message id, its flags, the response code
        asked = len(parts) < 2 or "D" in "".join(parts[1:-1])
        local = KEY if kind in _KEY_TYPES else ""  # a secure update's key name: a LAN name
        yield number, Observation(moment, clients[address] if asked else b"", name, how, local)
    return number


FORMAT = LogFormat(NAME, "Windows Server DNS debug log (dns.log)", sniff, parse)
