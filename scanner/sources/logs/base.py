"""What every log format shares: the format record, the reader with its counts, the caches.

A format is a `LogFormat`: a name, a `sniff(head)` that recognises the first bytes of a
file, and a `parse(lines, path, reader)` generator that yields `(line_number, Observation)`
and returns the number of lines it read. Parsers report problems through the reader
(`reader.bad`) and count header, comment and blank lines in `reader.skipped`, so the reader
can tell records, malformed records and a probably wrong format apart without doing any
per-line work itself.
"""

from __future__ import annotations

import bz2
import codecs
import gzip
import io
import ipaddress
import lzma
import os
import queue
import re
import threading
import time
import zlib
from collections.abc import Callable, Generator, Iterable, Iterator
from contextlib import closing
from dataclasses import dataclass
from datetime import tzinfo
from pathlib import Path
from typing import IO, Any, Protocol, TextIO, cast

import orjson

from scanner.extract import Counted, Group, Lookups, Observation, collector_paused
from scanner.names import InvalidName, is_address_literal, normalise
from scanner.sources.logs.timestamps import Clock, local_day
from scanner.sources.logs.wrappers import Unwrapper

try:  # built from _tally.c when a C compiler was at hand; every line is read in Python if not
    from scanner.sources.logs._tally import Tally
except ImportError:  # pragma: no cover - depends on how appradar was installed
    Tally = None

ROOT = {".", "<root>"}  # the root zone as logs write it (BIND, Unbound, dnsmasq; Suricata)
MAX_PROBLEMS = 20
WRONG_FORMAT_SHARE = 0.9
CACHE_LIMIT = 200_000
BLOCK_BYTES = 1 << 22  # a counting reader reads whole lines this many bytes at a time
DRAIN_KEYS = 250_000  # ...and hands its counts over when it holds this many distinct ones
DRAIN_LINES = 2_000_000  # ...or after this many lines, so a long log's progress is stored

# A syslog header (its host may be left out, as a relay rebuilds it) and a program's tag
# ('Nov 28 10:00:00 router sshd[1000]: ', '<30>mai 04 10:56:07 fw kernel: ', an ISO time),
# or an RFC 5424 header ('<134>1 2022-06-09T14:44:11Z fw filterlog 76404 - '): a line a
# syslog daemon wrote for some program.
_SYSLOG_LINE = re.compile(r"(?:<\d{1,3}>)?(?:[^\s\d]{3,5}\.? +\d{1,2} \d\d:\d\d:\d\d|"
                          r"\d{4}-\d\d-\d\dT\S+) (?:\S+ )?[\w./@-]+(?:\[\d+\])?: "
                          r"|<\d{1,3}>1 \S+ \S+ \S+ \S+ \S+ ")
GZIP, BZIP2, XZ = b"\x1f\x8b", b"BZh", b"\xfd7zXZ\x00"
UTF16_MARKS = (b"\xff\xfe", b"\xfe\xff")  # Windows PowerShell writes logs it exports as UTF-16

Parsed = Generator[tuple[int, Observation], None, int]
Parser = Callable[[Iterable[str], Path, "LogReader"], Parsed]
# What Tally.drain() hands over: the clients as written; per (day, name, port, flag) as
# written its hits, first and last time, first line, and the [start, stop) of its members;
# and the members' client indexes, hits, first and last times as arrays.
TallyGroup = tuple[str, str, str, int, int, float, float, int, int, int]
Drained = tuple[list[str], list[TallyGroup], bytes, bytes, bytes, bytes]


Block = bytes | memoryview  # whole lines, as read (a view into a larger read, not a copy)


class Tallier(Protocol):
    """A format's use of the C `Tally` for one file (see `LogReader.counted`)."""

    def feed(self, table: Any, block: Block, number: int) -> tuple[list[Counted], int]:
        """Count the whole lines of `block` (the first is line `number`) into `table`;
        returns what the lines the table handed back hold, read in Python, and how many
        lines the block has."""

    def resolve(self, drained: Drained) -> Lookups:
        """The drained groups as names, clients and days; groups without a name are
        reported."""


@dataclass(frozen=True)
class LogFormat:
    """One log format: how to recognise it and how to read it."""

    name: str
    description: str
    sniff: Callable[[bytes], bool]
    parse: Parser
    timezone: tzinfo | None = None  # for times written without a zone; None = local time
    reads_file: bool = False  # parse opens `path` itself (SQLite) and gets no lines
    timeless: bool = False  # lines may carry no time of their own (CoreDNS, dnsmasq stdout)
    tally: Callable[[LogReader], Tallier] | None = None  # counts lines in C (`counted`)
    # What identifies the log from one scan to the next where its first bytes cannot (a
    # database rewrites its header on every write); None: its first bytes do.
    identity: Callable[[Path], bytes] | None = None
    # Its own lines' syslog tag, to find them among other programs' in a shared syslog file.
    program: Callable[[str], object] | None = None


def is_compressed(path: Path) -> bool:
    """Whether the file's first bytes say gzip, bzip2 or xz: a rotated log, done growing."""
    with open(path, "rb") as probe:
        return probe.read(6).startswith((GZIP, BZIP2, XZ))


# What reading a compressed file raises where its data is cut short or corrupt (gzip's
# BadGzipFile and bz2's invalid stream are OSErrors).
DAMAGED_DATA = (EOFError, OSError, zlib.error, lzma.LZMAError)


class UpToDamage(io.BufferedIOBase):
    """A compressed file read up to where its data is damaged (cut short or corrupt), which
    reads as its end: the lines before are kept, and `damage` says what was wrong."""

    def __init__(self, stream: IO[bytes]) -> None:
        super().__init__()
        self.stream = stream
        self.damage: str | None = None

    def readable(self) -> bool:
        return True

    def _guarded(self, read: Callable[[int], bytes], size: int | None) -> bytes:
        if self.damage is not None:
            return b""
        try:
            return read(-1 if size is None else size)
        except DAMAGED_DATA as error:
            self.damage = str(error) or type(error).__name__
            return b""

    def read(self, size: int | None = -1) -> bytes:
        """Up to `size` bytes, gathered a decompressed piece at a time: a damaged piece
        loses only itself, not the whole read."""
        pieces, wanted = [], -1 if size is None or size < 0 else size
        while wanted:
            piece = self.read1(wanted if wanted > 0 else 1 << 20)
            if not piece:
                break
            pieces.append(piece)
            wanted = max(wanted - len(piece), 0) if wanted > 0 else -1
        return b"".join(pieces)

    def read1(self, size: int = -1) -> bytes:
        return self._guarded(self.stream.read1, size)  # type: ignore[attr-defined]

    def readline(self, size: int | None = -1) -> bytes:
        return self._guarded(self.stream.readline, size)

    def close(self) -> None:
        try:
            self.stream.close()
        finally:
            super().close()


def open_binary(path: Path) -> IO[bytes]:
    """The file's bytes, decompressed when its first bytes say gzip, bzip2 or xz (up to
    where their data is damaged: `UpToDamage`).

    A UTF-16 file (it starts with a byte-order mark) is handed out as UTF-8, so every reader
    sees one encoding; it cannot be read on from a byte offset, only line by line.
    """
    with open(path, "rb") as probe:
        magic = probe.read(6)
    if magic.startswith(UTF16_MARKS):
        return cast(IO[bytes], codecs.EncodedFile(open(path, "rb"), "utf-8", "utf-16"))
    if magic.startswith(GZIP):
        return cast(IO[bytes], UpToDamage(cast(IO[bytes], gzip.open(path, "rb"))))
    if magic.startswith(BZIP2):
        return cast(IO[bytes], UpToDamage(bz2.open(path, "rb")))
    if magic.startswith(XZ):
        return cast(IO[bytes], UpToDamage(lzma.open(path, "rb")))
    return open(path, "rb")


def open_text(path: Path) -> TextIO:
    """Lines of a log, plain or compressed; bytes that are not UTF-8 become U+FFFD."""
    return io.TextIOWrapper(open_binary(path), encoding="utf-8", errors="replace")


def mostly(head: bytes, looks_right: Callable[[str], object], limit: int = 40) -> bool:
    """Whether most whole lines of a file's head pass `looks_right`: a format's sniff test."""
    lines = head_lines(head, limit)
    return bool(lines) and sum(1 for line in lines if looks_right(line)) * 2 > len(lines)


def another_programs_line(line: str) -> bool:
    """A syslog line of some program: in a shared log (/var/log/syslog, a firewall's remote
    log) the other programs' lines are valid lines that name nothing, not malformed ones."""
    return _SYSLOG_LINE.match(line) is not None


def json_record(line: str, number: int, reader: LogReader) -> dict[str, Any] | None:
    """The JSON object on a JSON-lines line; a blank line is skipped, anything else (bad JSON,
    or JSON that is no object) counted bad. Returns `None` for both, so callers go on.
    """
    try:
        record = orjson.loads(line)
    except ValueError:  # orjson.JSONDecodeError is one
        record = None
    if isinstance(record, dict):
        return record
    reader.not_a_record(number, line, "not a JSON object")
    return None


def _drained(tallier: Tallier, table: Any, rows: list[Counted]) -> Lookups:
    """The table's groups, resolved, with the rows read in Python beside them."""
    with collector_paused():
        lookups = tallier.resolve(table.drain())
    lookups.rows = rows
    return lookups


def grouped(drained: Drained, groups: list[Group], clients: ClientCache) -> Lookups:
    """`Lookups` of a drain whose groups a format has resolved, its clients as bytes."""
    written, _groups, members, hits, first, last = drained
    return Lookups(groups=groups, clients=[clients[client] for client in written],
                   member_clients=memoryview(members).cast("I"),
                   member_hits=memoryview(hits).cast("I"),
                   member_first=memoryview(first).cast("d"),
                   member_last=memoryview(last).cast("d"))


def _line_blocks(handle: IO[bytes], hold_unfinished: bool = False) -> Iterator[Block]:
    """The whole lines of `handle` in blocks of about BLOCK_BYTES, none of them copied: a
    block's unfinished last line waits for the next block's first, and the two make a small
    block of their own. The file's own unfinished last line is read, unless held."""
    rest = b""
    while True:
        data = handle.read(BLOCK_BYTES)
        if not data:
            if rest and not hold_unfinished:
                yield rest  # the last line, without its newline
            return
        start = 0
        if rest:
            start = data.find(b"\n") + 1
            if not start:  # a line longer than a block
                rest += data
                continue
            yield rest + data[:start]
        cut = data.rfind(b"\n") + 1
        if cut > start:
            yield data if start == 0 and cut == len(data) else memoryview(data)[start:cut]
        rest = data[max(cut, start):]


def _read_ahead(blocks: Iterator[Block], depth: int = 2) -> Generator[Block, None, None]:
    """The blocks of `blocks`, read by a thread of their own while the caller counts the
    ones before: reading waits for the disk, and zlib, bz2 and lzma decompress, without
    holding the GIL. Errors of reading are raised here, in order; closing this generator
    stops the thread before the file is closed."""
    first = next(blocks, None)
    if first is None:
        return
    try:
        second = next(blocks, None)
    except BaseException:
        yield first
        raise
    if second is None:  # a file of one block (most archives): no thread to start
        yield first
        return
    handoff: queue.Queue[Block | BaseException | None] = queue.Queue(depth)
    stop = threading.Event()

    def hand(item: Block | BaseException | None) -> bool:
        while not stop.is_set():
            try:
                handoff.put(item, timeout=0.05)
                return True
            except queue.Full:
                continue
        return False

    def read() -> None:
        try:
            for block in blocks:
                if not hand(block):
                    return
        except BaseException as error:  # raised in the caller's thread, where it belongs
            hand(error)
            return
        hand(None)

    thread = threading.Thread(target=read, name="appradar-read-ahead", daemon=True)
    thread.start()
    try:
        yield first
        yield second
        while (item := handoff.get()) is not None:
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop.set()
        thread.join()


def _after_lines(block: bytes, count: int) -> int:
    """The offset just after the first `count` lines of `block` (its length if it has fewer)."""
    if block.count(b"\n") + (not block.endswith(b"\n")) <= count:
        return len(block)
    at = 0
    for _ in range(count):
        at = block.find(b"\n", at) + 1
        if at == 0:
            return len(block)
    return at


def head_lines(head: bytes, limit: int = 40) -> list[str]:
    """Whole, non-empty lines of a file's head (the last, possibly cut, line is dropped)."""
    if b"\n" in head:
        head = head[: head.rindex(b"\n")]
    text = head.decode("utf-8", "replace").lstrip("\ufeff")
    return [line for line in text.splitlines() if line.strip()][:limit]


class NameCache(dict[str, str | None]):
    """Raw name → normalised name, computed once per distinct raw text.

    The value is '' for an IP literal or the root zone (dropped quietly: an address is not a
    name, a proxy or firewall logs plenty of them legitimately, and a resolver primes itself
    with `NS .`) and None for text that cannot be a name; `why(raw)` then gives the reason.
    """

    def __init__(self) -> None:
        super().__init__()
        self.reasons: dict[str, str] = {}

    def __missing__(self, raw: str) -> str | None:
        if len(self) >= CACHE_LIMIT:
            self.clear()
            self.reasons.clear()
        value: str | None
        try:
            value = normalise(raw)
        except InvalidName as error:
            if is_address_literal(raw.strip().rstrip(".")) or raw.strip().lower() in ROOT:
                value = ""  # an address, or the root zone (a resolver priming): no name
            else:
                value = None
                self.reasons[raw] = str(error)
        self[raw] = value
        return value

    def why(self, raw: str) -> str:
        return f"invalid name {raw[:80]!r}: {self.reasons.get(raw, 'rejected')}"


class Repeats:
    """Lookups a later line will repeat: a query's reply, the policy a resolver applied to
    it. A server that logs both writes the query first; the later line is matched to it and
    not counted again, and one whose query is not in the log (an excerpt, query logging off)
    counts. Keys that are never repeated (most queries) are forgotten in bulk, like every
    cache here."""

    def __init__(self) -> None:
        self._waiting: dict[tuple[str, ...], int] = {}

    def expect(self, key: tuple[str, ...]) -> None:
        if len(self._waiting) >= CACHE_LIMIT:
            self._waiting.clear()
        self._waiting[key] = self._waiting.get(key, 0) + 1

    def matched(self, key: tuple[str, ...]) -> bool:
        """Whether a line with this key repeats one already counted (it is then used up)."""
        pending = self._waiting.get(key)
        if not pending:
            return False
        if pending == 1:
            del self._waiting[key]
        else:
            self._waiting[key] = pending - 1
        return True


class ClientCache(dict[str, bytes]):
    """Address text → packed address; b'' for text that is no address (the name still counts)."""

    def __missing__(self, text: str) -> bytes:
        if len(self) >= CACHE_LIMIT:
            self.clear()
        try:
            value = ipaddress.ip_address(text.strip("[]")).packed
        except ValueError:
            value = b""
        self[text] = value
        return value


class LogReader:
    """Iterate `(line_number, Observation)` over one log file; counts are final at the end.

    `lines` is the number of the last line read (for a database, the last row's id), `read`
    how many this pass read, `skipped` the blank, comment and header lines among them,
    `records` the rest, `malformed` the records that could not be read, `invalid_names` those
    whose name is no host name (`problems` shows the first 20 of both as `file:line: reason`).
    """

    def __init__(self, path: Path, log_format: LogFormat, timezone: tzinfo | None = None,
                 sniffed: bool = False) -> None:
        self.path = path
        self.log_format = log_format
        self.format = log_format.name
        self.sniffed = sniffed
        self.timezone = timezone if timezone is not None else log_format.timezone
        self.lines = 0
        self.skipped = 0
        self.malformed = 0
        self.invalid_names = 0
        self.problems: list[str] = []
        self.names = NameCache()
        self.clients = ClientCache()
        self.clock = Clock(self.timezone, path.stat().st_mtime)

    @property
    def records(self) -> int:
        """Records read in this pass (lines before a resume offset are not read); a format
        error that stops the pass may leave `lines` behind the header lines skipped."""
        return max(0, (self.read if self.read is not None else self.lines) - self.skipped)

    read: int | None = None  # lines this pass read (None: all `lines`)

    @property
    def probably_wrong_format(self) -> bool:
        return self.records > 0 and self.malformed >= WRONG_FORMAT_SHARE * self.records

    @property
    def warning(self) -> str:
        """What to tell the user when the file was mostly unreadable ('' when it was fine)."""
        if not self.probably_wrong_format:
            return ""
        return (f"{self.path}: {self.malformed} of {self.records} records could not be read "
                f"as {self.format}; probably the wrong format (choose one with --format)")

    def bad(self, number: int, reason: str) -> None:
        """Count a malformed record and keep its location if it is among the first few."""
        self.malformed += 1
        self._note(number, reason)

    def _note(self, number: int, reason: str) -> None:
        if len(self.problems) < MAX_PROBLEMS:
            self.problems.append(f"{self.path}:{number}: {reason}")

    def not_a_record(self, number: int, line: str, reason: str) -> None:
        """A line the format cannot read: blank, so skipped, or else malformed."""
        if line.isspace():
            self.skipped += 1
        else:
            self.bad(number, reason)

    def name_of(self, number: int, raw: str) -> str | None:
        """The normalised name, or None: an address (dropped quietly) or no host name (an
        invalid name: a well-formed record naming something no host can be called)."""
        name = self.names[raw]
        if name is None:
            self.invalid(number, raw)
        return name or None

    def invalid(self, number: int, raw: str, records: int = 1) -> None:
        """Count records whose name is no host name (a tunnel's payload, a typo with a space),
        apart from malformed ones, as a capture counts them; the first few are shown."""
        self.invalid_names += records
        self._note(number, self.names.why(raw))

    def time_of(self, number: int, text: str) -> float | None:
        """The time at the start of `text`, or None when unreadable (counted malformed)."""
        try:
            return self.clock(text)
        except ValueError as error:
            self.bad(number, str(error))
            return None

    follow: Follow | None = None  # set to tail the file until told to stop
    # Leave an unterminated last line to the next scan: the file is still being written, and
    # a line cut in the middle would be a malformed record now and another one next time.
    hold_unfinished = False
    unwrap: Unwrapper | None = None  # lines wrapped by a runtime or relay (`wrappers`)
    # (byte offset, lines before it): resume a plain log; for a database, (0, last row stored)
    start: tuple[int, int] | None = None
    first_line = 1  # the number the first line read gets
    damage: str | None = None  # what was wrong where a compressed file's data is damaged

    def __iter__(self) -> Iterator[tuple[int, Observation]]:
        self._restart()
        parse = self.log_format.parse
        if self.log_format.reads_file:
            self.lines = yield from parse((), self.path, self)
            return
        with open_binary(self.path) as handle:
            header = self._resume(handle)
            source = handle if self.follow is None else self.follow.lines(self.path, handle)
            lines = self._decoded(header, source)
            if self.unwrap is not None:
                lines = self.unwrap.lines(lines)
            self.lines = yield from parse(lines, self.path, self)
            self.lines = max(self.lines, self.first_line - 1)
            self.damage = getattr(handle, "damage", None)

    def _restart(self) -> None:
        self.damage = None
        self.lines = self.skipped = self.malformed = self.invalid_names = 0
        self.read = None
        self.problems = []
        self.position = 0
        self.number = 0

    def _resume(self, handle: IO[bytes]) -> list[bytes]:
        """Seek to `start` when resuming a plain log; returns the header lines before it.

        Only the lines after the offset are new; a Zeek-style '#' header before the first
        record is read again so the parser knows the columns. It is numbered just before the
        first new line.
        """
        header: list[bytes] = []
        self.first_line = 1
        if self.start is not None and isinstance(handle, io.BufferedReader):
            offset, before = self.start
            for raw in handle:
                if not raw.startswith(b"#"):
                    break
                header.append(raw)
            handle.seek(offset)
            self.position = offset
            self.first_line = before + 1 - len(header)
        return header

    @property
    def can_count(self) -> bool:
        """Whether `counted` reads this file in C (else it is read line by line in Python)."""
        return (Tally is not None and self.log_format.tally is not None and self.follow is None
                and self.unwrap is None)

    def counted(self, done: int = 0) -> Iterator[tuple[int, Lookups]]:
        """The file's names counted per local day, handed over in a few large groups, each
        with the number of the last line it covers; lines up to `done` (stored by an earlier
        scan) are read but not handed over.

        Whole blocks of lines are counted by the C `Tally`; only the distinct (day, name)
        groups and clients, and the lines it hands back, become Python objects. Counts,
        records and malformed lines come out as reading line by line gives them; of a name
        that is not a name, the first line is shown.
        """
        if not self.can_count:
            raise ValueError(f"{self.format} cannot be counted in C here; iterate the reader")
        assert self.log_format.tally is not None and Tally is not None
        self._restart()
        tallier = self.log_format.tally(self)
        table, stored = Tally(local_day), Tally(local_day)  # new lines; lines before `done`
        with open_binary(self.path) as handle:
            header = self._resume(handle)
            number = self.first_line - 1
            position = self.position
            found: list[Counted] = []
            if header:  # read again for its columns; its lines were counted before
                number += tallier.feed(stored, b"".join(header), number + 1)[1]
                tallier.resolve(stored.drain())
            drained_at = number
            with closing(_read_ahead(_line_blocks(handle, self.hold_unfinished))) as blocks:
                for block in blocks:
                    position += len(block)
                    if number < done:  # lines an earlier scan stored: read, counted, not handed
                        block = bytes(block)
                        cut = _after_lines(block, done - number)
                        number += tallier.feed(stored, block[:cut], number + 1)[1]
                        tallier.resolve(stored.drain())
                        block = block[cut:]
                    if block:
                        more, lines = tallier.feed(table, block, number + 1)
                        found += more
                        number += lines
                    self.number, self.position = number, position
                    if len(table) >= DRAIN_KEYS or number - drained_at >= DRAIN_LINES:
                        yield number, _drained(tallier, table, found)
                        found, drained_at = [], number
            self.damage = getattr(handle, "damage", None)
            if found or len(table):
                yield number, _drained(tallier, table, found)
        self.lines = max(number, self.first_line - 1)
        self.read = number - self.first_line + 1

    def reread(self, parse: Callable[[Iterable[str]], Parsed], block: Block,
               lines: Iterable[tuple[int, int, int]], number: int) -> list[Counted]:
        """Read the lines of `block` a `Tally` handed back, `(index, start, end)` with the
        block's first line numbered `number`, through the format's Python parser."""
        found: list[Counted] = []
        run: list[str] = []
        first = following = 0
        for index, start, end in [*lines, (-1, 0, 0)]:
            if run and number + index != following:  # a run of handed-back lines ends
                self.first_line, kept = first, self.first_line
                for _line, observation in parse(run):
                    moment = observation.time
                    found.append((observation.name, observation.how, observation.client,
                                  local_day(int(moment // 3600)), observation.local,
                                  observation.owner, 1, moment, moment))
                self.first_line = kept
                run = []
            if index < 0:
                break
            if not run:
                first = number + index
            following = number + index + 1
            end += block[end:end + 1] == b"\n"
            text = str(block[start:end], "utf-8", "replace")
            if number + index == 1:
                text = text.removeprefix("\ufeff")
            run.append(text[:-2] + "\n" if text.endswith("\r\n") else text)
        return found

    def unnamed(self, group: TallyGroup, raw: str) -> None:
        """A drained group whose name is no host name: every line of it names an invalid
        name; the first is shown."""
        self.invalid(group[7], raw, group[4])

    def _decoded(self, header: list[bytes], source: Iterable[bytes]) -> Iterator[str]:
        """Text lines (newlines as \\n, bad UTF-8 as U+FFFD), counting the bytes read.

        `number` and `position` always describe the last line handed out: parsers read lazily,
        so when a line's records are stored, this is where the next scan can start.
        """
        number = self.first_line - 1
        for raw in header:
            number += 1
            yield raw.decode("utf-8", "replace")
        position, hold = self.position, self.hold_unfinished
        for raw in source:
            if hold and not raw.endswith(b"\n"):
                break  # being written: the next scan reads it whole
            number += 1
            position += len(raw)
            self.number, self.position = number, position
            text = raw.decode("utf-8", "replace")
            if number == 1:
                text = text.removeprefix("\ufeff")  # a byte-order mark, as Notepad writes it
            yield text[:-2] + "\n" if text.endswith("\r\n") else text
        self.read = number - self.first_line + 1

    def offset_after(self, line: int) -> int | None:
        """Byte offset just after line `line`, if it is the last line read (for resuming)."""
        return self.position if line == self.number else None


@dataclass
class Follow:
    """Tail a log like `tail -F`: wait for new lines, stop on request or when it is rotated.

    `idle` is called while waiting (the scanner flushes its batch there), `should_stop` is
    polled between lines; a rotated or truncated file ends the iteration so the caller can
    open the new file as a new import.
    """

    should_stop: Callable[[], bool]
    idle: Callable[[], None] = lambda: None
    poll_seconds: float = 1.0

    def lines(self, path: Path, handle: IO[bytes]) -> Iterator[bytes]:
        inode = os.fstat(handle.fileno()).st_ino
        partial = b""
        while not self.should_stop():
            line = handle.readline()
            if line.endswith(b"\n"):
                yield partial + line
                partial = b""
                continue
            partial += line  # a line still being written: wait for its end
            self.idle()
            if self.should_stop():
                break
            time.sleep(self.poll_seconds)
            try:
                status = path.stat()
            except FileNotFoundError:
                continue  # between rename and re-create during rotation
            if status.st_ino != inode or status.st_size < handle.tell():
                return  # rotated or truncated: the caller starts on the new file


_KEY_VALUE = re.compile(r'([A-Za-z_][\w.-]*)=("(?:[^"\\]|\\.)*"|[^\s"]*)')
_KEY_VALUE_CSV = re.compile(r'([A-Za-z_][\w.-]*)=("(?:[^"\\]|\\.)*"|[^\s",]*)')


def key_values(line: str, commas: bool = False) -> dict[str, str]:
    """`a=1 b="x y"` → {'a': '1', 'b': 'x y'} (firewall syslog: FortiGate, Sophos); with
    `commas`, pairs may be separated by commas too (FortiGate's `format csv`)."""
    pairs = (_KEY_VALUE_CSV if commas else _KEY_VALUE).findall(line)
    return {key: value[1:-1] if value.startswith('"') else value for key, value in pairs}
