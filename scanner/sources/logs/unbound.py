"""Unbound `log-queries` and `log-replies` lines.

    [1625491526] unbound[13532:0] info: 127.0.0.1 www.example.com. A IN
    Jul 05 15:25:26 unbound[13532:0] info: 127.0.0.1 www.example.com. A IN NOERROR 0.000000 0 49
    <30>Aug 15 16:19:02 unbound[26931]: [26931:0] info: 192.168.1.1 api.opensubtitles.org. A IN
    Nov 28 10:00:00 fw unbound: [1234:0] query: 10.0.0.5 www.example.com. A IN
    [96463:4] query: 10.0.0.5 profiles-prod-023.grafana.net. AAAA IN     (OPNsense's log view)

With `log-tag-queryreply: yes` the `info:` tag reads `query:` or `reply:`.
After `info: ` a query line is `client name type class`; a reply line adds rcode, time,
cached flag and size. When a server logs both, every lookup appears twice, the reply after
the query: a reply counts only when no query of the same client, name and type is still
waiting for it, so a file that starts with replies (an excerpt) or goes on with only
replies (`log-queries` turned off) loses nothing and counts nothing twice. The lines of
`log-local-actions` and `rpz-log` name the client and the name a local zone or a response
policy answered: a lookup too, matched to its query and reply in the same way (`Repeats`).
Other `info:` lines (`resolving`, `response for`, start-up) are valid lines without a name.
A message body without program or time (as OPNsense's log view exports it) gets the file's
time. Where Unbound shares a syslog file, the other programs' lines name nothing (and its
own tag is how the file is recognised when they are most of it).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path

from scanner.extract import Observation
from scanner.sources.logs.base import (
    LogFormat,
    LogReader,
    Parsed,
    Repeats,
    another_programs_line,
    mostly,
)

NAME = "unbound"
# 'unbound[pid:thread]: ' (on Windows 'unbound.exe[pid:thread] '), a bare '[pid:thread] '
# (thread in hex: log.c prints it with %x), or OPNsense's log view copied as columns:
# '2024-11-29T19:53:44   Informational   unbound   [49173:2] info: …'
_TAG = re.compile(r"\bunbound(?:\.exe)?(?:\[\d+(?::[0-9a-f]+)?\]:?|:) "
                  r"|^\[\d+:[0-9a-f]+\] (?=[a-z]+: )|\bunbound\s+\[\d+:[0-9a-f]+\] (?=[a-z]+: )")
# A reply may carry more fields after its size (`log-destaddr: yes` adds the address the
# query came in on).
_INFO = re.compile(r"(?:info|query|reply): (\S+) (\S+) (\S+) (\S+)"
                   r"(?:( \S+ [\d.]+ \d+ \d+)(?: \S+)*)?\s*$")
# `log-local-actions` ('info: zone. always_nxdomain 10.0.0.5@59974 ads.zone. A IN') and
# `rpz-log` ('info: rpz: applied [name] x. rpz-nxdomain 10.0.0.5@57994 x. A IN'): the client
# and the name it asked for, which the policy answered.
_ACTION = re.compile(r"info: (?:rpz: applied (?:\[[^\]]*\] )?)?\S+ \S+ "
                     r"([0-9a-fA-F.:]+)@\d+ (\S+) (\S+) \S+\s*$")


def sniff(head: bytes) -> bool:
    return mostly(head, _TAG.search)


def parse(lines: Iterable[str], path: Path, reader: LogReader) -> Parsed:
    name_of, clients, time_of = reader.name_of, reader.clients, reader.time_of
    replies, actions = Repeats(), Repeats()  # of lookups counted from their query line
    number = 0
    for number, line in enumerate(lines, reader.first_line):
        tag = _TAG.search(line)
        if tag is None:
            if not another_programs_line(line):
                reader.not_a_record(number, line, "not an unbound log line")
            continue
        match = _INFO.search(line, tag.end())
        if match is not None:
            address, raw, kind, _class, reply = match.groups()
            action = False
        else:
            policy = _ACTION.search(line, tag.end())
            if policy is None:
                continue
            (address, raw, kind), reply, action = policy.groups(), None, True
        client = clients[address]
        if not client:
            continue  # 'info: resolving ...' and the like
        asked = (address, raw.lower(), kind)
        if reply:
            if replies.matched(asked):
                continue  # the reply to a lookup already counted
        elif action:
            if actions.matched(asked):
                continue  # the policy applied to a query already counted
            replies.expect(asked)
        else:
            replies.expect(asked)
            actions.expect(asked)
        name = name_of(number, raw)
        if name is None:
            continue
        moment = time_of(number, line[: tag.start()]) if tag.start() else reader.clock.reference
        if moment is None:
            continue
        yield number, Observation(moment, client, name, "dns")
    return number


FORMAT = LogFormat(NAME, "Unbound log-queries / log-replies", sniff, parse, timeless=True,
                   program=_TAG.search)
