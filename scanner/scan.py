"""The scan pipeline: files → frames → names → pseudonymised, attributed aggregates.

Each file is an import with a fingerprint (size and a hash of its head). Progress is stored
with every batch, so an interrupted scan resumes where its last batch ended and a finished
file is never counted twice.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import os
import shutil
import sys
import tempfile
import time
import zlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, tzinfo
from pathlib import Path
from typing import Any

import sqlite_utils

from scanner.config import Segments
from scanner.errors import AppradarError, InputError, UnknownFormat
from scanner.extract import Dissector, Lookups, Observation, ScanStats
from scanner.inventory.writer import InventoryWriter
from scanner.privacy import Pseudonymiser
from scanner.signatures.catalog import Catalog
from scanner.sources import expand
from scanner.sources.logs import ALIASES, REGISTRY, open_text, read_log, supported
from scanner.sources.logs.base import Follow, LogReader, is_compressed
from scanner.sources.pcap import CaptureReader, is_capture, open_maybe_gzip

FINGERPRINT_BYTES = 1 << 20
LOG_HEAD = 4096  # characters of a log that identify it across growth and rotation
STILL_WRITTEN = 60.0  # seconds since a log last changed within which it is still being written
FLUSH_OBSERVATIONS = 100_000  # a transaction at most: bounds memory and what a crash re-reads
FLUSH_SECONDS = 5.0
OBSERVATION_GROUP = 2048  # observations of a log handed to the writer at once


@dataclass
class FileResult:
    path: str
    status: str  # imported | resumed | already imported | skipped | failed
    frames: int = 0  # frames of a capture, lines of a log
    message: str = ""
    kind: str = ""  # 'pcap' or the log format, with ' (sniffed)' when it was guessed


@dataclass
class ScanResult:
    run_id: int
    stats: ScanStats = field(default_factory=ScanStats)
    files: list[FileResult] = field(default_factory=list)
    interrupted: bool = False

    @property
    def failed(self) -> list[FileResult]:
        return [item for item in self.files if item.status == "failed"]


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def fingerprint(path: Path) -> tuple[str, int, int]:
    """(sha256 of size and head, size, inode): the same content under a new name is known."""
    status = path.stat()
    digest = hashlib.sha256(str(status.st_size).encode())
    with open(path, "rb") as handle:
        digest.update(handle.read(FINGERPRINT_BYTES))
    return digest.hexdigest(), status.st_size, status.st_ino


def _like_escaped(text: str) -> str:
    """`text` matched literally by SQL LIKE … ESCAPE '\\'."""
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


class Scanner:
    """One run over a list of paths, writing into the inventory."""

    def __init__(self, database: sqlite_utils.Database, catalog: Catalog,
                 pseudonymiser: Pseudonymiser, site: str = "default",
                 on_progress: Callable[[str, int], None] | None = None,
                 segment_of: Callable[[bytes], str] | None = None,
                 log_format: str | None = None, timezone: tzinfo | None = None,
                 lan_domains: tuple[str, ...] = ()) -> None:
        self.log_format = log_format
        self.timezone = timezone
        self.stopping = False  # set by a signal handler to end a --follow run cleanly
        self._flush_pending: Callable[[], None] = lambda: None
        self.database = database
        self.catalog = catalog
        self.site = site
        self.pseudonymiser = pseudonymiser
        self.on_progress = on_progress
        self.writer = InventoryWriter(database, catalog, site, pseudonymiser,
                                      segment_of or Segments({}), lan_domains)

    def follow(self, argument: str) -> ScanResult:
        """Tail one log until `stopping` is set, starting over on the new file after rotation."""
        paths = expand([argument])
        if len(paths) != 1:
            raise AppradarError(f"--follow takes one log file; {argument} names {len(paths)}")
        path = paths[0][0]
        run_id = self._start_run([argument, "--follow"])
        result = ScanResult(run_id)
        try:
            while not self.stopping:
                result.files.append(self._scan_file(path, True, result.stats, run_id,
                                                    follow=True))
                if result.files[-1].status == "failed":
                    break
        finally:
            self._finish_run(result)
        return result

    def run(self, arguments: list[str]) -> ScanResult:
        paths = expand(arguments)
        run_id = self._start_run(arguments)
        result = ScanResult(run_id)
        try:
            for path, explicit in paths:
                result.files.append(self._scan_file(path, explicit, result.stats, run_id))
        except KeyboardInterrupt:
            result.interrupted = True
        finally:
            self._finish_run(result)
        return result

    def _start_run(self, arguments: list[str]) -> int:
        with self.database.conn:
            cursor = self.database.conn.execute(
                "INSERT INTO runs (command, site, started, status, keep_client_addresses) "
                "VALUES (?, ?, ?, 'running', ?)",
                ("scan " + " ".join(arguments), self.site, now_iso(),
                 int(self.pseudonymiser.keep_addresses)),
            )
        return int(cursor.lastrowid or 0)

    def _finish_run(self, result: ScanResult) -> None:
        stats = result.stats
        status = "interrupted" if result.interrupted else "complete"
        with self.database.conn:
            self.database.conn.execute(
                "UPDATE runs SET finished = ?, status = ?, frames = ?, names = ?, malformed = ?, "
                "invalid_names = ?, skipped_files = ?, notes = ? WHERE id = ?",
                (now_iso(), status, stats.packets, stats.names, stats.malformed,
                 stats.invalid_names, sum(f.status in ("skipped", "failed") for f in result.files),
                 json.dumps(stats.notes), result.run_id),
            )

    def _scan_file(self, path: Path, explicit: bool, totals: ScanStats, run_id: int,
                   follow: bool = False) -> FileResult:
        """One file: a capture by its magic bytes, otherwise a log in a known format."""
        try:
            try:
                with open_maybe_gzip(path) as stream:
                    head = stream.read(8)
            except (EOFError, zlib.error, gzip.BadGzipFile):
                head = b""  # damaged near its start: a log is read up to the damage
            sniffed_capture = self.log_format in (None, "auto") and is_capture(head)
            if sniffed_capture or self.log_format == "pcap":
                return self._scan_capture(path, totals, run_id)
            return self._scan_log(path, totals, run_id, follow)
        except (InputError, OSError, EOFError) as error:
            message = str(error) if isinstance(error, InputError) else f"{path}: {error}"
            if isinstance(error, UnknownFormat) and not explicit:
                message = error.short  # FTL.log beside pihole.log: expected, said briefly
            return FileResult(str(path), "failed" if explicit else "skipped", message=message)

    def _scan_capture(self, path: Path, totals: ScanStats, run_id: int) -> FileResult:
        mark, size, inode = fingerprint(path)
        reader = CaptureReader(path)
        previous = self.database.conn.execute(
            "SELECT id, frames_done, status FROM imports WHERE fingerprint = ? AND site = ? "
            "ORDER BY id DESC LIMIT 1", (mark, self.site),
        ).fetchone()
        if previous is not None and previous[2] == "complete":
            reader.stream.close()
            return FileResult(str(path), "already imported", frames=previous[1], kind="pcap")
        if previous is None:
            import_id, done = self._new_import(mark, path, size, inode, run_id, "pcap", 0), 0
        else:
            import_id, done = previous[0], previous[1]
        dissector = Dissector()

        def frames() -> Iterator[tuple[int, list[Observation]]]:
            for number, moment, linktype, frame in reader:
                dissector.frame(number, moment, linktype, frame)
                if dissector.observations:
                    yield number, dissector.drain()
            for line in reader.problems:
                dissector.stats.malformed += 1
                dissector.stats.notes.append(line)

        try:
            self._pump(frames(), path, import_id, done, run_id, lambda: reader.frames)
        finally:
            totals.add(dissector.stats, str(path))
        return FileResult(str(path), "resumed" if done else "imported", frames=reader.frames,
                          kind="pcap")

    def _scan_log(self, path: Path, totals: ScanStats, run_id: int,
                  follow: bool = False) -> FileResult:
        """A log is read again from the start, but only lines past the last import count.

        A log grows and rotates: it is known by a hash of its first bytes (after
        decompression), so `dns.log` that became `dns.log.1.gz` is recognised as the same
        content and a growing file continues where the last scan stopped.
        """
        reader = read_log(path, None if self.log_format == "auto" else self.log_format,
                          self.timezone)
        if follow and reader.log_format.reads_file:
            raise InputError(f"{path}: --follow tails a log, and this is a {reader.format} "
                             "database: scan it from a timer instead (only new rows are read)")
        compressed = is_compressed(path)
        if follow and compressed:
            raise InputError(f"{path}: --follow tails a growing log, and a compressed one does "
                             "not grow: scan it without --follow")
        import_id, done, offset, whole = self._log_import(path, reader, run_id, compressed)
        kind = reader.format + (" (sniffed)" if reader.sniffed else "")
        if whole:  # a compressed rotation read to its end: it will not grow
            return FileResult(str(path), "already imported", frames=done, kind=kind)
        written = path.stat()
        reader.hold_unfinished = (not follow and time.time() - written.st_mtime < STILL_WRITTEN
                                  and not compressed)  # a compressed log is finished
        seekable = offset and offset <= written.st_size
        if done and (reader.log_format.reads_file or seekable):
            reader.start = (offset, done)  # read on from there, not again
        if follow:
            reader.follow = Follow(lambda: self.stopping, lambda: self._flush_pending())
        stats = ScanStats()
        found = 0

        def observations() -> Iterator[tuple[int, list[Observation]]]:
            """Observations in groups (one when following), each with its last line."""
            nonlocal found
            size = 1 if follow else OBSERVATION_GROUP
            group: list[Observation] = []
            number = 0
            for number, item in reader:
                found += 1
                if number > done:  # lines an earlier run stored are read, not stored again
                    group.append(item)
                    if len(group) >= size:
                        yield number, group
                        group = []
            if group:
                yield number, group

        def counted() -> Iterator[tuple[int, Lookups]]:
            """The same, counted per day in C (`LogReader.counted`): a few large groups."""
            nonlocal found
            for number, lookups in reader.counted(done):
                found += lookups.lookups
                yield number, lookups

        units, add = (counted(), self.writer.add_lookups) if reader.can_count else (
            observations(), self.writer.add)
        try:
            self._pump(units, path, import_id, done, run_id, lambda: reader.lines,
                       reader.offset_after, lambda: reader.position, add=add)
        finally:
            stats.records = reader.records
            stats.malformed = reader.malformed
            stats.invalid_names = reader.invalid_names
            stats.names = found
            stats.notes = list(reader.problems)  # already `file:line: reason`
            if reader.damage:
                stats.notes.insert(0, f"{path}: compressed data damaged after line "
                                      f"{reader.lines:,} ({reader.damage}); the lines before "
                                      "it were read, the rest cannot be")
            if (reader.hold_unfinished and not reader.log_format.reads_file
                    and reader.position < written.st_size):
                stats.notes.insert(0, f"{path}: its last line is still being written (the log "
                                      f"changed less than {STILL_WRITTEN:.0f} s ago); the next "
                                      "scan reads it")
            if reader.warning:
                stats.notes.insert(0, reader.warning.removeprefix(f"{path}: "))
            elif reader.records and not found and not done:  # known before: the format is right
                stats.notes.insert(0, f"no names in {reader.records} records: none of them "
                                      "records a lookup or a visit; if this is not a "
                                      f"{reader.format} log, choose its format with --format")
            totals.add(stats, str(path))
        status = "already imported" if done and reader.lines <= done else (
            "resumed" if done else "imported")
        return FileResult(str(path), status, frames=reader.lines, kind=kind)

    def _log_import(self, path: Path, reader: LogReader, run_id: int, compressed: bool
                    ) -> tuple[int, int, int, bool]:
        """The import this log continues (or a new one): its id, the lines and byte offset
        stored, and whether it is a compressed file already read to its end, unchanged."""
        format_name, identity = reader.format, reader.log_format.identity
        if identity is not None:
            head = identity(path)
        else:
            with open_text(path) as stream:
                head = stream.read(LOG_HEAD).encode("utf-8", "replace")
        status = path.stat()
        for import_id, stored, head_length, done, old_path, old_inode, offset, size, state in \
                self._earlier_imports(path, head, format_name, status.st_ino):
            # The same file grown, or renamed by rotation (dns.log → dns.log.1, .2.gz), or a
            # copy (a full head, or the whole of a short file, is identical). A different file
            # that only shares a fixed header with a short earlier one is not matched.
            same_file = old_inode == status.st_ino or old_path == str(path) or \
                path.name.startswith(Path(old_path).name + ".")
            same_content = head_length >= LOG_HEAD or len(head) == head_length
            if (same_file or same_content) and head_length and len(head) >= head_length and \
                    hashlib.sha256(head[:head_length]).hexdigest() == stored:
                if len(head) > head_length:  # the head has grown: remember more of it
                    with self.database.conn:
                        self.database.conn.execute(
                            "UPDATE imports SET fingerprint = ?, head_length = ? WHERE id = ?",
                            (hashlib.sha256(head).hexdigest(), len(head), import_id))
                whole = compressed and state == "complete" and (size, old_inode) == (
                    status.st_size, status.st_ino)
                return import_id, done, offset or 0, whole
        mark = hashlib.sha256(head).hexdigest()
        return self._new_import(mark, path, status.st_size, status.st_ino, run_id, format_name,
                                len(head)), 0, 0, False

    def _earlier_imports(self, path: Path, head: bytes, format_name: str,
                         inode: int) -> list[tuple[Any, ...]]:
        """Imports this log may continue, newest first, found by index rather than by hashing
        every import of a year of hourly logs: one with the same head, or with a shorter head
        stored for this file or for one it was renamed from (dns.log → dns.log.1.gz)."""
        earlier_names = [path.name[:at] for at, char in enumerate(path.name) if char == "."]
        renamed = "".join(" OR path = ? OR path LIKE ? ESCAPE '\\'" for _ in earlier_names)
        columns = ("id, fingerprint, head_length, frames_done, path, inode, byte_offset, size, "
                   "status")
        return self.database.conn.execute(
            f"SELECT {columns} FROM imports WHERE fingerprint = ? AND site = ? AND kind = ? "
            f"UNION SELECT {columns} FROM imports WHERE site = ? AND kind = ? AND head_length < ? "
            f"AND (inode = ? OR path = ?{renamed}) ORDER BY id DESC",
            (hashlib.sha256(head).hexdigest(), self.site, format_name, self.site, format_name,
             len(head), inode, str(path),
             *[value for name in earlier_names
               for value in (name, "%/" + _like_escaped(name))])).fetchall()

    def _new_import(self, mark: str, path: Path, size: int, inode: int, run_id: int,
                    kind: str, head_length: int) -> int:
        with self.database.conn:
            cursor = self.database.conn.execute(
                "INSERT INTO imports (fingerprint, path, size, inode, site, frames_done, status, "
                "run_id, started, kind, head_length) VALUES (?, ?, ?, ?, ?, 0, 'partial', ?, ?, "
                "?, ?)",
                (mark, str(path), size, inode, self.site, run_id, now_iso(), kind, head_length),
            )
        return int(cursor.lastrowid or 0)

    def _pump(self, units: Iterator[tuple[int, Any]], path: Path,
              import_id: int, done: int, run_id: int, total: Callable[[], int],
              offset_after: Callable[[int], int | None] = lambda line: None,
              end_offset: Callable[[], int] = lambda: 0,
              add: Callable[[Any], None] | None = None) -> None:
        """Write observations in bounded transactions, each with the import's progress.

        Units up to `done` (frames or lines an earlier run already stored) are read again,
        which rebuilds reassembly state, but not stored again.
        """
        writer = self.writer
        add = add or writer.add  # Observations, or Lookups of a log counted in C
        last = done

        def progress(final: bool = False) -> None:
            # For a plain log also where the stored lines end, so the next scan seeks there;
            # 0 (unknown) means it reads from the start and skips what was stored.
            offset = end_offset() if final else (offset_after(last) or 0)
            self.database.conn.execute(
                "UPDATE imports SET frames_done = ?, status = ?, run_id = ?, path = ?, "
                "finished = ?, byte_offset = ? WHERE id = ?",
                (max(total() if final else last, done), "complete" if final else "partial",
                 run_id, str(path), now_iso() if final else None, offset, import_id),
            )
            if final:  # the file as read to its end: one that does not change is not read again
                status = path.stat()
                self.database.conn.execute("UPDATE imports SET size = ?, inode = ? WHERE id = ?",
                                           (status.st_size, status.st_ino, import_id))

        deadline = time.monotonic() + FLUSH_SECONDS

        def flush_pending() -> None:  # a followed log waits: store what came so far
            if writer.batch.observations:
                writer.flush(progress)

        self._flush_pending = flush_pending
        try:
            for number, found in units:
                if number <= done:
                    continue
                last = number
                add(found)
                if (writer.batch.observations >= FLUSH_OBSERVATIONS
                        or time.monotonic() > deadline):
                    writer.flush(progress)
                    deadline = time.monotonic() + FLUSH_SECONDS
                    if self.on_progress:
                        self.on_progress(str(path), number)
            writer.flush(lambda: progress(final=True))
        except BaseException:
            writer.batch = type(writer.batch)()  # the unflushed part is read again next time
            raise


def check_format(log_format: str | None) -> str | None:
    """The registry's name for a format the user named (`pihole` → `dnsmasq`)."""
    log_format = ALIASES.get(log_format or "", log_format)
    if log_format not in (None, "auto", "pcap") and log_format not in REGISTRY:
        raise AppradarError(f"unknown format '{log_format}'; supported: auto, pcap, "
                            f"{supported()}")
    return log_format


@contextmanager
def standard_input_spooled(arguments: list[str], directory: Path) -> Iterator[list[str]]:
    """`-` becomes a private temporary copy of standard input, so it is sniffed, fingerprinted
    and resumable like any file; the copy is removed afterwards."""
    if "-" not in arguments:
        yield arguments
        return
    descriptor, name = tempfile.mkstemp(prefix=".appradar-stdin-", dir=directory or ".")
    try:
        with os.fdopen(descriptor, "wb") as spool:
            shutil.copyfileobj(sys.stdin.buffer, spool, 1 << 20)
        yield [name if argument == "-" else argument for argument in arguments]
    finally:
        os.unlink(name)
