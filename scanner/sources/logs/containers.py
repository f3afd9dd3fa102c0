"""Logs written through a container runtime: the DNS server's own line, wrapped.

A Pi-hole, CoreDNS or Unbound in Docker or Kubernetes rarely leaves its log as it wrote it:

    {"log":"[INFO] 10.0.0.5:3641 - 2158 \"A IN x.example. udp 43 false 512\" ...\n",
     "stream":"stdout","time":"2019-02-12T00:27:28.903433597Z"}          (Docker json-file;
                                                      Filebeat/Fluentd use "message")
    2019-02-12T00:27:28.903433597Z stdout F [INFO] 10.0.0.5:3641 - ...  (CRI: containerd, k8s)
    unbound_1  | [1551441117] unbound[1:0] info: 172.30.0.1 x.example. A IN   (docker compose)

`detect(head)` recognises the wrapping from a file's first lines (most of them must share
it), and the `Unwrapper` it returns turns each line back into the program's own line, so
sniffing and parsing see what they know. The runtime's time is put in front only for
formats that write none themselves (CoreDNS): a line keeps its own time where it has one.
A line that is not wrapped like the rest is handed over as it is, and the format's parser
judges it.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

_CRI = re.compile(r"(\d{4}-\d\d-\d\dT\S+) (?:stdout|stderr) [FP] ")
_COMPOSE = re.compile(r"[A-Za-z0-9][\w.-]*\s*\| ")
_MESSAGE_KEYS = ("log", "message", "MESSAGE", "msg")


@dataclass(frozen=True)
class Unwrapper:
    """Turn wrapped lines back into the program's lines, one for one (line numbers hold)."""

    kind: str  # docker-json | cri | compose
    add_time: bool = False  # put the runtime's time in front (for formats that write none)

    def line(self, text: str) -> str:
        if self.kind == "docker-json":
            message, moment = _from_json(text)
        elif self.kind == "cri":
            match = _CRI.match(text)
            if match is None:
                return text
            message, moment = text[match.end():], match.group(1)
        else:
            match = _COMPOSE.match(text)
            return text[match.end():] if match else text
        if message is None:
            return text
        if not message.endswith("\n"):
            message += "\n"
        return f"{moment} {message}" if self.add_time and moment else message

    def lines(self, lines: Iterable[str]) -> Iterator[str]:
        unwrap = self.line
        for text in lines:
            yield unwrap(text)

    def head(self, head: bytes) -> bytes:
        """The unwrapped first bytes of a file, for sniffing its format."""
        text = head.decode("utf-8", "replace")
        cut = text.rfind("\n")
        whole = text[: cut + 1] if cut >= 0 else text
        return "".join(self.line(line) for line in whole.splitlines(keepends=True)).encode()


def _from_json(text: str) -> tuple[str | None, str]:
    if not text.lstrip().startswith("{"):
        return None, ""
    try:
        record = json.loads(text)
    except ValueError:
        return None, ""
    if not isinstance(record, dict):
        return None, ""
    for key in _MESSAGE_KEYS:
        message = record.get(key)
        if isinstance(message, str):
            moment = record.get("time", record.get("@timestamp", ""))
            return message, moment if isinstance(moment, str) else ""
    return None, ""


def detect(head: bytes) -> Unwrapper | None:
    """The wrapping most of a file's first lines share, or None for a plain log."""
    lines = [line for line in head.decode("utf-8", "replace").splitlines()[:40] if line.strip()]
    if len(lines) > 1:
        lines = lines[:-1]  # the last line of a head may be cut off
    if not lines:
        return None

    def most(test: object) -> bool:
        return sum(1 for line in lines if test(line)) * 2 > len(lines)  # type: ignore[operator]

    if most(_is_docker_json):
        return Unwrapper("docker-json")
    if most(_CRI.match):
        return Unwrapper("cri")
    if most(_COMPOSE.match):
        return Unwrapper("compose")
    return None


def _is_docker_json(line: str) -> bool:
    """A JSON object whose text is under "log"/"message" next to runtime keys, not a DNS log's
    own JSON (Suricata, Zeek and AdGuard lines have no such pair)."""
    if not line.startswith("{"):
        return False
    try:
        record = json.loads(line)
    except ValueError:
        return False
    return (isinstance(record, dict)
            and any(isinstance(record.get(key), str) for key in _MESSAGE_KEYS)
            and any(key in record for key in ("stream", "time", "kubernetes", "container_name",
                                               "@timestamp", "_SYSTEMD_UNIT")))
