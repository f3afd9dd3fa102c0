"""Log lines wrapped by whatever carried them: a container runtime, journald, a syslog relay.

A Pi-hole, CoreDNS or Unbound rarely leaves its log exactly as it wrote it:

    {"log":"[INFO] 10.0.0.5:3641 - 2158 \"A IN x.example. udp 43 false 512\" ...\n",
     "stream":"stdout","time":"2019-02-12T00:27:28.903433597Z"}            (Docker json-file;
                                          Filebeat/Fluentd/Vector use "message", "@timestamp")
    {"timestamp":"2026-06-03T14:19:03.330Z","component":"dnsmasq","pid":"127M",
     "message":"query[A] pi.hole from 127.0.0.1"}                    (Pi-hole FTL --log-json)
    {"__REALTIME_TIMESTAMP":"1700000000123456","SYSLOG_IDENTIFIER":"dnsmasq","_PID":"57",
     "MESSAGE":"query[A] x.example from 10.0.0.9"}                      (journalctl -o json)
    2019-02-12T00:27:28.903433597Z stdout F [INFO] 10.0.0.5:3641 - ...   (CRI: containerd, k8s)
    unbound_1  | [1551441117] unbound[1:0] info: 172.30.0.1 x.example. A IN   (docker compose)
    [pod/coredns-7fbc4ff6f5-sxkrx/coredns] [INFO] 10.244.2.86:58156 - ...  (kubectl --prefix)
    <30>1 2026-11-28T10:00:00+01:00 pihole dnsmasq 123 - - query[A] x.example from 10.0.0.3
                                                                    (RFC 5424 syslog relay)
    <134>Dec 12 05:52:50 sensor suricata[312]: {"timestamp":"2023-12-12T05:52:32.7+0000",...
                               (JSON through syslog: Suricata's eve to syslog, Corelight's export)

`detect(head)` recognises the wrapping from a file's first lines (most must share it; a
compose prefix around JSON is two layers), and the `Unwrapper` turns each line back into the
program's own line, so sniffing and parsing see what they know. Where the wrapper holds the
program's name and the time but the message does not (JSON logging, journald, RFC 5424), the
classic syslog form `TIME program[pid]: message` is rebuilt; for formats that write no time
themselves (CoreDNS) the wrapper's time is put in front. A line not wrapped like the rest is
handed over as it is, and the format's parser judges it. Line numbers stay one for one.
Of `docker compose logs` of a whole stack, each container's head lines are sniffed on their
own (`service_heads`), and only the lines of the containers that write the chosen format are
read; the others' become blank lines.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime

import orjson

_CRI = re.compile(r"(\d{4}-\d\d-\d\dT\S+) (?:stdout|stderr) [FP] ")
_COMPOSE = re.compile(r"[A-Za-z0-9][\w.-]*\s*\| ")
_KUBECTL = re.compile(r"\[pod/[^\]/\s]+/[^\]\s]+\] ")  # `kubectl logs --prefix`
_RFC5424 = re.compile(r"<\d{1,3}>1 (\S+) \S+ (\S+) (\S+) \S+ (?:-|(?:\[(?:[^\]\\]|\\.)*\])+) ?")
# A syslog header (BSD or ISO time, host, an optional tag) before a JSON object: Suricata's
# eve output to syslog, Corelight's syslog export.
_SYSLOG_JSON = re.compile(r"(?:<\d{1,3}>)?(?:[A-Z][a-z]{2} +\d{1,2} \d\d:\d\d:\d\d|"
                          r"\d{4}-\d\d-\d\dT\S+) \S+ (?:[\w./-]+(?:\[\d+\])?: )?(?=\{)")
_STARTS_WITH_TIME = re.compile(  # ISO, epoch, BIND, Windows, ctime and syslog times
    r"\s*(?:<\d{1,3}>|\[?\d{9,10}[.\]\s]|\d{4}-\d\d-\d\d|\d{1,2}[-/.]\w+[-/.]\d{2,4}|"
    r"(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun) |(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) +\d)")
_MESSAGE_KEYS = ("log", "message", "MESSAGE", "msg")
_TIME_KEYS = ("time", "timestamp", "@timestamp", "__REALTIME_TIMESTAMP")
_PROGRAM_KEYS = ("component", "SYSLOG_IDENTIFIER", "program", "appname", "ident")
_PID_KEYS = ("pid", "_PID", "SYSLOG_PID", "procid")
_RUNTIME_KEYS = ("stream", "kubernetes", "container_name", "_SYSTEMD_UNIT", "log_level",
                 *_TIME_KEYS, *_PROGRAM_KEYS)
MAX_LAYERS = 2


@dataclass(frozen=True)
class Unwrapper:
    """Turn wrapped lines back into the program's lines, one for one."""

    kinds: tuple[str, ...]  # outermost first: a key of _UNWRAP
    add_time: bool = False  # put the wrapper's time in front (for formats that write none)
    services: frozenset[str] | None = None  # of `docker compose logs` of several: those kept

    def line(self, text: str) -> str:
        if self.services is not None and _compose_service(text) not in self.services:
            return "\n"  # another container's line (a proxy beside the resolver): blank
        for kind in self.kinds:
            text = _UNWRAP[kind](text, self.add_time)
        return text

    def lines(self, lines: Iterable[str]) -> Iterator[str]:
        unwrap = self.line
        for text in lines:
            yield unwrap(text)

    def head(self, head: bytes) -> bytes:
        """The unwrapped first bytes of a file, for sniffing its format."""
        return _map_head(head, self.line)

    def service_heads(self, head: bytes) -> dict[str, bytes]:
        """For `docker compose logs` of several containers, each one's unwrapped lines in
        the head, in the order they first appear; else nothing. A resolver's lines may be
        outnumbered there by its neighbours' (cloudflared, a web server)."""
        if not self.kinds or self.kinds[0] != "compose":
            return {}
        services = dict.fromkeys(filter(None, map(_compose_service,
                                                   head.decode("utf-8", "replace").splitlines())))
        if len(services) < 2:
            return {}
        return {service: replace(self, services=frozenset([service])).head(head)
                for service in services}


def _rebuild(message: str, moment: str, program: str, pid: str, add_time: bool) -> str:
    """The program's line: as written if it has its own time, else rebuilt syslog-style."""
    message = message if message.endswith("\n") else message + "\n"
    if not moment or _STARTS_WITH_TIME.match(message):
        return message
    if program:
        digits = "".join(character for character in pid if character.isdigit()) or "0"
        return f"{moment} {program}[{digits}]: {message}"
    return f"{moment} {message}" if add_time else message


def _json_line(text: str, add_time: bool) -> str:
    record = _json_object(text)
    if record is None:
        return text
    message = _first_text(record, _MESSAGE_KEYS)
    if message is None:
        return text
    moment = next((str(record[key]) for key in _TIME_KEYS if key in record), "")
    if moment.isdigit() and len(moment) > 12:  # journald: microseconds since the epoch
        moment = datetime.fromtimestamp(int(moment) / 1e6, UTC).isoformat()
    program = _first_text(record, _PROGRAM_KEYS) or ""
    pid = next((str(record[key]) for key in _PID_KEYS if key in record), "")
    return _rebuild(message, moment, program, pid, add_time)


def _first_text(record: dict[str, object], keys: tuple[str, ...]) -> str | None:
    return next((value for key in keys if isinstance(value := record.get(key), str)), None)


def _cri_line(text: str, add_time: bool) -> str:
    match = _CRI.match(text)
    if match is None:
        return text
    return _rebuild(text[match.end():], match.group(1), "", "", add_time)


def _compose_line(text: str, add_time: bool) -> str:
    match = _COMPOSE.match(text)
    return text[match.end():] if match else text


def _compose_service(text: str) -> str | None:
    match = _COMPOSE.match(text)
    return text[: match.end() - 2].rstrip() if match else None


def _kubectl_line(text: str, add_time: bool) -> str:
    match = _KUBECTL.match(text)
    return text[match.end():] if match else text


def _rfc5424_line(text: str, add_time: bool) -> str:
    match = _RFC5424.match(text)
    if match is None:
        return text
    moment, program, pid = match.groups()
    program = "" if program == "-" else program
    return _rebuild(text[match.end():], "" if moment == "-" else moment, program,
                    "" if pid == "-" else pid, add_time)


def _syslog_json_line(text: str, add_time: bool) -> str:
    match = _SYSLOG_JSON.match(text)
    return text[match.end():] if match else text


_UNWRAP = {"docker-json": _json_line, "cri": _cri_line, "compose": _compose_line,
           "kubectl": _kubectl_line, "rfc5424": _rfc5424_line, "syslog-json": _syslog_json_line}


def _json_object(text: str) -> dict[str, object] | None:
    if not text.lstrip().startswith("{"):
        return None
    try:
        record = orjson.loads(text)
    except ValueError:
        return None
    return record if isinstance(record, dict) else None


def _is_wrapping_json(line: str) -> bool:
    """A JSON object with the text under "log"/"message" next to a runtime or syslog key.

    A DNS log's own JSON (Suricata, Zeek, AdGuard) has no such pair.
    """
    record = _json_object(line)
    return (record is not None
            and _first_text(record, _MESSAGE_KEYS) is not None
            and any(key in record for key in _RUNTIME_KEYS))


_TESTS = (("docker-json", _is_wrapping_json), ("cri", _CRI.match), ("compose", _COMPOSE.match),
          ("kubectl", _KUBECTL.match), ("rfc5424", _RFC5424.match),
          ("syslog-json", _SYSLOG_JSON.match))


def detect(head: bytes) -> Unwrapper | None:
    """The wrapping most of a file's first lines share (up to two layers), or None."""
    kinds: list[str] = []
    for _ in range(MAX_LAYERS):
        lines = [line for line in head.decode("utf-8", "replace").splitlines()[:40]
                 if line.strip()]
        if len(lines) > 1:
            lines = lines[:-1]  # the last line of a head may be cut off
        kind = next((kind for kind, test in _TESTS
                     if lines and sum(1 for line in lines if test(line)) * 2 > len(lines)),
                    None)
        if kind is None:
            break
        kinds.append(kind)
        head = _map_head(head, lambda text, kind=kind: _UNWRAP[kind](text, False))
    return Unwrapper(tuple(kinds)) if kinds else None


def _map_head(head: bytes, unwrap: object) -> bytes:
    text = head.decode("utf-8", "replace")
    cut = text.rfind("\n")
    whole = text[: cut + 1] if cut >= 0 else text
    return "".join(unwrap(line)  # type: ignore[operator]
                   for line in whole.splitlines(keepends=True)).encode()
