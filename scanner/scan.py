"""The scan pipeline: files → frames → names → pseudonymised, attributed aggregates.

Each file is an import with a fingerprint (size and a hash of its head). Progress is stored
with every batch, so an interrupted scan resumes where its last batch ended and a finished
file is never counted twice.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import sqlite_utils

from scanner.config import Segments
from scanner.errors import AppradarError, InputError
from scanner.extract import Dissector, ScanStats
from scanner.inventory.writer import InventoryWriter
from scanner.privacy import Pseudonymiser
from scanner.signatures.catalog import Catalog
from scanner.sources import expand
from scanner.sources.pcap import CaptureReader

FINGERPRINT_BYTES = 1 << 20
FLUSH_FRAMES = 100_000
FLUSH_OBSERVATIONS = 20_000
FLUSH_SECONDS = 5.0


@dataclass
class FileResult:
    path: str
    status: str  # imported | resumed | already imported | skipped | failed
    frames: int = 0
    message: str = ""


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


class Scanner:
    """One run over a list of paths, writing into the inventory."""

    def __init__(self, database: sqlite_utils.Database, catalog: Catalog,
                 pseudonymiser: Pseudonymiser, site: str = "default",
                 on_progress: Callable[[str, int], None] | None = None,
                 segment_of: Callable[[bytes], str] | None = None) -> None:
        self.database = database
        self.catalog = catalog
        self.site = site
        self.pseudonymiser = pseudonymiser
        self.on_progress = on_progress
        self.writer = InventoryWriter(database, catalog, site, pseudonymiser,
                                      segment_of or Segments({}))

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

    def _scan_file(self, path: Path, explicit: bool, totals: ScanStats, run_id: int) -> FileResult:
        try:
            mark, size, inode = fingerprint(path)
            reader = CaptureReader(path)
        except (InputError, OSError) as error:
            message = str(error) if isinstance(error, InputError) else f"{path}: {error}"
            return FileResult(str(path), "failed" if explicit else "skipped", message=message)
        previous = self.database.conn.execute(
            "SELECT id, frames_done, status FROM imports WHERE fingerprint = ? AND site = ?",
            (mark, self.site),
        ).fetchone()
        if previous is not None and previous[2] == "complete":
            reader.stream.close()
            return FileResult(str(path), "already imported", frames=previous[1])
        if previous is None:
            with self.database.conn:
                cursor = self.database.conn.execute(
                    "INSERT INTO imports (fingerprint, path, size, inode, site, frames_done, "
                    "status, run_id, started) VALUES (?, ?, ?, ?, ?, 0, 'partial', ?, ?)",
                    (mark, str(path), size, inode, self.site, run_id, now_iso()),
                )
            import_id, done = int(cursor.lastrowid or 0), 0
        else:
            import_id, done = previous[0], previous[1]
        dissector = Dissector()
        stats = dissector.stats
        last = 0

        def progress(final: bool = False) -> None:
            self.database.conn.execute(
                "UPDATE imports SET frames_done = ?, status = ?, run_id = ?, path = ?, "
                "finished = ? WHERE id = ?",
                (max(last, done), "complete" if final else "partial", run_id, str(path),
                 now_iso() if final else None, import_id),
            )

        deadline = time.monotonic() + FLUSH_SECONDS
        writer = self.writer
        try:
            for number, moment, linktype, frame in reader:
                dissector.frame(number, moment, linktype, frame)
                last = number
                if not dissector.observations:
                    continue
                found = dissector.drain()
                if number > done:
                    writer.add(found)
                if (writer.batch.observations >= FLUSH_OBSERVATIONS or number % FLUSH_FRAMES == 0
                        or time.monotonic() > deadline):
                    writer.flush(progress)
                    deadline = time.monotonic() + FLUSH_SECONDS
                    if self.on_progress:
                        self.on_progress(str(path), number)
            for line in reader.problems:
                stats.malformed += 1
                stats.notes.append(line)
            writer.flush(lambda: progress(final=True))
        except BaseException:
            writer.batch = type(writer.batch)()  # the unflushed part is re-read next time
            raise
        finally:
            totals.add(stats, str(path))
        status = "resumed" if done else "imported"
        return FileResult(str(path), status, frames=last)


def scan(database: sqlite_utils.Database, catalog: Catalog, paths: list[str],
         pseudonymiser: Pseudonymiser, site: str = "default",
         segment_of: Callable[[bytes], str] | None = None) -> ScanResult:
    if not paths:
        raise AppradarError("nothing to scan: name at least one file or directory")
    return Scanner(database, catalog, pseudonymiser, site, segment_of=segment_of).run(paths)
