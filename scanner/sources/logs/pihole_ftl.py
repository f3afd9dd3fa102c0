"""Pi-hole's long-term database `pihole-FTL.db` (SQLite): the `queries` table or view.

Every row is a query a client made (blocked or not): `timestamp` (POSIX seconds, integer in
FTL v5, real in v6), `domain`, `client` (an address). The row id stands in for the line
number, so a later import reads only the rows after the last one stored; the database is
recognised by when FTL created it (`identity`), not by its ever-changing first bytes. It is
opened read-only; a compressed copy is unpacked to a temporary file first, since SQLite
reads files.
"""

from __future__ import annotations

import shutil
import sqlite3
import tempfile
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

from scanner.errors import InputError
from scanner.extract import Observation
from scanner.sources.logs.base import LogFormat, LogReader, Parsed, open_binary
from scanner.sources.logs.timestamps import EARLIEST, LATEST

NAME = "pihole-ftl-db"
MAGIC = b"SQLite format 3\x00"
BATCH = 10_000


def sniff(head: bytes) -> bool:
    return head.startswith(MAGIC)


@contextmanager
def _database(path: Path) -> Iterator[sqlite3.Connection]:
    with open(path, "rb") as probe:
        plain = probe.read(len(MAGIC)) == MAGIC
    with tempfile.TemporaryDirectory() as scratch:
        if not plain:
            copy = Path(scratch) / "pihole-FTL.db"
            with open_binary(path) as source, open(copy, "wb") as target:
                shutil.copyfileobj(source, target)
            path = copy
        connection = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
        try:
            yield connection
        finally:
            connection.close()


def identity(path: Path) -> bytes:
    """The database's own record of when FTL created it: its header changes with every write,
    and old rows are deleted as they age, so neither can say it is the same database. One
    that FTL did not make is known by its first query."""
    with _database(path) as connection:
        for what, query in (
                ("created", "select value from ftl where id = 2"),  # DB_FIRSTCOUNTERTIMESTAMP
                ("first query",
                 "select id, timestamp, domain, client from queries order by id limit 1")):
            try:
                row = connection.execute(query).fetchone()
            except sqlite3.DatabaseError:
                continue
            if row is not None:
                return f"{NAME} {what} {row!r}".encode()
    return f"{NAME} without rows".encode()


def parse(lines: Iterable[str], path: Path, reader: LogReader) -> Parsed:
    """Rows after the last one an earlier scan stored (`reader.start`); returns the last row's
    id, which stands for the number of the last line."""
    name_of, clients, bad = reader.name_of, reader.clients, reader.bad
    last = reader.start[1] if reader.start else 0
    reader.read = 0
    with _database(path) as connection:
        try:
            known = {row[0] for row in connection.execute(
                "select name from sqlite_master where type in ('table', 'view')")}
        except sqlite3.DatabaseError as error:
            raise InputError(f"{path}: not a readable SQLite database ({error})") from None
        if "queries" not in known:
            raise InputError(f"{path}: an SQLite database without a 'queries' table; "
                             f"not a pihole-FTL.db")
        cursor = connection.execute(
            "select id, timestamp, domain, client from queries where id > ? order by id",
            (last,))
        while batch := cursor.fetchmany(BATCH):
            for row_id, timestamp, raw, address in batch:
                last = row_id
                reader.read += 1
                if not isinstance(raw, str):
                    bad(row_id, "no domain")
                    continue
                name = name_of(row_id, raw)
                if name is None:
                    continue
                if not (isinstance(timestamp, int | float) and EARLIEST <= timestamp < LATEST):
                    bad(row_id, f"unreadable timestamp {timestamp!r}")
                    continue
                client = clients[address] if isinstance(address, str) else b""
                yield row_id, Observation(float(timestamp), client, name, "dns")
    return last


FORMAT = LogFormat(NAME, "Pi-hole FTL long-term database (pihole-FTL.db)", sniff, parse,
                   reads_file=True, identity=identity)
