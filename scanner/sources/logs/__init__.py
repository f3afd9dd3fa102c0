"""Log files schools already have, read into the same Observations as captures.

Each format is one module exposing a `LogFormat` (a name, `sniff(head)`, `parse(...)`);
`REGISTRY` lists them in sniffing order, most specific first, so a format whose lines could
pass for another's (a Sophos line has `date=` like a FortiGate one; a Pi-hole database is
binary) is tried before the looser ones. A format may also have a `tally`: its busiest
line shape counted in C (`_tally.c`), which a scan uses through `LogReader.counted()`.

    reader = read_log(Path("pihole.log.1.gz"))          # format sniffed from the head
    for line_number, observation in reader:
        ...
    reader.format, reader.records, reader.malformed, reader.problems, reader.warning
"""

from __future__ import annotations

from dataclasses import replace
from datetime import tzinfo
from pathlib import Path

from scanner.errors import InputError, UnknownFormat
from scanner.sources.logs import (
    adguard,
    bind9,
    coredns,
    dnsmasq,
    fortigate,
    paloalto,
    pihole_ftl,
    sophos,
    squid,
    suricata,
    umbrella,
    unbound,
    windows_dns,
    wrappers,
    zeek,
)
from scanner.sources.logs.base import (
    LogFormat,
    LogReader,
    another_programs_line,
    head_lines,
    mostly,
    open_binary,
    open_text,
)

HEAD_BYTES = 64 * 1024

REGISTRY: dict[str, LogFormat] = {
    item.name: item
    for item in (
        pihole_ftl.FORMAT,  # binary: SQLite magic
        suricata.FORMAT,  # JSON lines with event_type
        zeek.STREAMING,  # _path in every record
        *[item for item in zeek.FORMATS if item.name.endswith("-json")],  # uid + id.orig_h
        adguard.FORMAT,  # JSON lines with QH
        *[item for item in zeek.FORMATS if item.name.endswith("-tsv")],  # #fields header
        windows_dns.FORMAT,  # "DNS Server log" header or PACKET lines
        squid.FORMAT,  # epoch, elapsed, client, CODE/status
        squid.COMBINED,  # client - user [time] "METHOD http://host/..." status
        paloalto.FORMAT,  # CSV with ,YYYY/MM/DD hh:mm:ss,serial,TYPE,
        umbrella.FORMAT,  # quoted CSV with Allowed/Blocked
        umbrella.PROXY,  # quoted CSV with ALLOWED/BLOCKED/WARNED and a URL
        sophos.FORMAT,  # key=value with device="SFW" / log_id= (before FortiGate's date=)
        fortigate.FORMAT,  # key=value with date= and logid=
        coredns.FORMAT,  # [INFO] client:port - id "TYPE CLASS name ..."
        unbound.FORMAT,  # unbound[pid:thread]
        bind9.FORMAT,  # named[pid] / BIND time / client ...
        dnsmasq.FORMAT,  # dnsmasq[pid] / pihole-FTL[pid]
    )
}

# Short names people type (`--format pihole`), for the registry's precise ones.
ALIASES = {
    "pihole": "dnsmasq", "pi-hole": "dnsmasq", "pihole-ftl": "pihole-ftl-db",
    "adguard": "adguard-querylog", "bind": "bind9-named-syslog", "bind9": "bind9-named-syslog",
    "windows-dns": "windows-dns-debug", "suricata": "suricata-eve", "squid": "squid-native",
    "fortigate": "fortigate-kv", "sophos": "sophos-xg-kv", "paloalto": "paloalto-csv",
    "umbrella": "cisco-umbrella-dns-csv", "umbrella-proxy": "cisco-umbrella-proxy-csv",
}

__all__ = ["ALIASES", "REGISTRY", "LogFormat", "LogReader", "open_text", "read_log", "sniff",
           "supported"]


def supported() -> str:
    """The format names, for error messages and --help."""
    return ", ".join(REGISTRY)


def sniff(head: bytes, path: Path) -> str | None:
    """The first format (in registry order) that recognises these first bytes of `path`, or
    else the DNS server with the most lines in a syslog file it shares with other programs."""
    if not head.strip():
        return None
    for name, log_format in REGISTRY.items():
        if log_format.sniff(head):
            return name
    return _shared_syslog(head)


def _shared_syslog(head: bytes) -> str | None:
    """/var/log/syslog, a firewall's remote log: mostly syslog lines, some of them a DNS
    server's (`program`), too few for its own sniff test."""
    if not mostly(head, another_programs_line):
        return None
    lines = head_lines(head, 1000)
    found = {name: sum(1 for line in lines if log_format.program(line))
             for name, log_format in REGISTRY.items() if log_format.program}
    best = max(found, key=found.__getitem__, default=None)
    return best if best is not None and found[best] else None


def read_log(path: Path, format_name: str | None = None,
             timezone: tzinfo | None = None) -> LogReader:
    """A reader for one log file; the format is sniffed unless named ('auto' sniffs too).

    `timezone` is the zone for times written without one (syslog, BIND, Windows, ...);
    without it each format's default applies (UTC for Umbrella, else this machine's zone).
    A log wrapped by a container runtime, journald or a syslog relay is unwrapped first,
    whichever way the format is chosen (see `wrappers`).
    """
    path = Path(path)
    format_name = ALIASES.get(format_name or "", format_name)
    automatic = format_name in (None, "", "auto")
    if not automatic and format_name not in REGISTRY:
        raise InputError(f"unknown log format {format_name!r}; supported: {supported()}")
    if not automatic and not path.is_file():
        raise InputError(f"{path}: no such file")
    try:
        with open_binary(path) as handle:
            head = handle.read(HEAD_BYTES)
            damage = getattr(handle, "damage", None)
        if damage and not head:
            raise InputError(f"{path}: compressed data damaged at its start ({damage})")
    except OSError as error:
        raise InputError(f"{path}: cannot read ({error.strerror or error})") from None
    except EOFError:
        raise InputError(f"{path}: compressed data ends early") from None
    unwrap = wrappers.detect(head) if not head.startswith(b"SQLite format 3") else None
    services = unwrap.service_heads(head) if unwrap else {}
    if automatic:
        found = sniff(unwrap.head(head) if unwrap else head, path)
        if found is None:  # one resolver among several containers?
            found = next(filter(None, (sniff(part, path) for part in services.values())), None)
        if found is None:
            what = "is empty" if not head.strip() else "is in no log format appradar knows"
            raise UnknownFormat(f"{path} {what}; name the format with --format "
                                f"(supported: {supported()})", f"{path} {what}")
        format_name = found
    log_format = REGISTRY[str(format_name)]
    writers = [service for service, part in services.items() if log_format.sniff(part)]
    if unwrap is not None and writers and len(writers) < len(services):
        unwrap = replace(unwrap, services=frozenset(writers))  # their lines, not the others'
    reader = LogReader(path, log_format, timezone, sniffed=automatic)
    if unwrap is not None and not log_format.reads_file:
        reader.unwrap = replace(unwrap, add_time=log_format.timeless)
    return reader
