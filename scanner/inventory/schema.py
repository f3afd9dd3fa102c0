"""Open (or create) the SQLite inventory with its schema, in WAL mode, owner-only.

Aggregates are kept per domain, and a domain's app is looked up at read time: when a
signature update or a CNAME seen later re-attributes a domain, every count follows. The
devices of a daily row are one JSON array of device ids (`json_each` expands it in SQL): a
school day leaves a few thousand such rows instead of a row per device and name, which made
storing an import slower than reading it and the file many times larger.
"""

from __future__ import annotations

import os
import re
import sqlite3
from pathlib import Path

import sqlite_utils

from scanner.errors import InventoryError

SCHEMA_VERSION = 3
# Schema 2 kept a row per device in device_days, when each device was first and last seen,
# and each name's registrable domain; it is brought to schema 3 when opened.
UPGRADABLE = {"2"}

# Columns that schema 2 gained after its first release, and the constraint it lost: an
# inventory made then is brought up to date when opened, so no school has to start over.
LATER_COLUMNS = {
    "imports": [("kind", "TEXT"), ("head_length", "INTEGER"), ("byte_offset", "INTEGER DEFAULT 0")],
    "reviews": [("owner", "TEXT"), ("review_by", "TEXT")],
}
DROPPED_CONSTRAINTS = {"imports": "UNIQUE (fingerprint, site)"}
# Columns schema 3 no longer keeps: what nothing read (a device's first and last time), and
# what is worked out when asked (a name's registrable domain, for the triage of unknown
# names: most names belong to an app and never need it).
DROPPED_COLUMNS = {"devices": ("first_seen", "last_seen"), "domains": ("registrable",)}

TABLES = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT);
CREATE TABLE IF NOT EXISTS runs (
    id INTEGER PRIMARY KEY, command TEXT, site TEXT, started TEXT, finished TEXT,
    status TEXT, frames INTEGER DEFAULT 0, names INTEGER DEFAULT 0,
    malformed INTEGER DEFAULT 0, invalid_names INTEGER DEFAULT 0,
    skipped_files INTEGER DEFAULT 0, notes TEXT, keep_client_addresses INTEGER DEFAULT 0
);
CREATE TABLE IF NOT EXISTS imports (
    id INTEGER PRIMARY KEY, fingerprint TEXT NOT NULL, path TEXT, size INTEGER,
    inode INTEGER, site TEXT NOT NULL, frames_done INTEGER DEFAULT 0, status TEXT,
    run_id INTEGER, started TEXT, finished TEXT,
    kind TEXT,  -- 'pcap' or the log format
    head_length INTEGER,  -- for logs: how many leading bytes the fingerprint covers
    byte_offset INTEGER DEFAULT 0  -- for plain logs: where the stored lines end
);
CREATE INDEX IF NOT EXISTS imports_fingerprint ON imports (fingerprint, site);
CREATE INDEX IF NOT EXISTS imports_short_heads ON imports (site, kind, head_length);
CREATE TABLE IF NOT EXISTS domains (
    id INTEGER PRIMARY KEY, domain TEXT NOT NULL UNIQUE, app TEXT, rule TEXT, via TEXT,
    seen INTEGER DEFAULT 0, hits INTEGER DEFAULT 0, first_seen REAL, last_seen REAL
);
CREATE INDEX IF NOT EXISTS domains_app ON domains (app);
CREATE TABLE IF NOT EXISTS cnames (
    alias TEXT NOT NULL, target TEXT NOT NULL, first_seen REAL, last_seen REAL,
    PRIMARY KEY (alias, target)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS devices (
    id INTEGER PRIMARY KEY, pseudonym TEXT NOT NULL UNIQUE
);
CREATE TABLE IF NOT EXISTS daily (
    day TEXT NOT NULL, site TEXT NOT NULL, segment TEXT NOT NULL, domain_id INTEGER NOT NULL,
    hits INTEGER DEFAULT 0,
    devices INTEGER,  -- distinct devices, filled in when the per-device rows are folded
    stored TEXT NOT NULL,  -- when appradar first stored this row: retention counts from here
    PRIMARY KEY (day, site, segment, domain_id)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS daily_apps (
    day TEXT NOT NULL, site TEXT NOT NULL, segment TEXT NOT NULL, app TEXT NOT NULL,
    devices INTEGER NOT NULL, stored TEXT NOT NULL,
    PRIMARY KEY (day, site, segment, app)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS device_days (
    day TEXT NOT NULL, site TEXT NOT NULL, segment TEXT NOT NULL, domain_id INTEGER NOT NULL,
    devices TEXT NOT NULL,  -- the devices.id of every device that asked, a JSON array (one
                            -- twice if two scans wrote at once: counts are of distinct ids)
    stored TEXT NOT NULL,  -- when appradar first stored this row: retention counts from here
    PRIMARY KEY (domain_id, day, site, segment)  -- a domain's rows together, no index for it
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS device_days_stored ON device_days (stored);
CREATE INDEX IF NOT EXISTS daily_stored ON daily (stored);
CREATE TABLE IF NOT EXISTS apps (
    id TEXT PRIMARY KEY, name TEXT, kind TEXT, vendor TEXT, vendor_country TEXT, eea INTEGER,
    category TEXT, facts TEXT
);
CREATE TABLE IF NOT EXISTS register_imports (
    id INTEGER PRIMARY KEY, path TEXT, imported TEXT, rows INTEGER, delimiter TEXT,
    encoding TEXT, current INTEGER DEFAULT 1
);
CREATE TABLE IF NOT EXISTS register_rows (
    id INTEGER PRIMARY KEY, import_id INTEGER NOT NULL, row INTEGER NOT NULL,
    application TEXT, vendor TEXT, fields TEXT, raw TEXT
);
CREATE TABLE IF NOT EXISTS register_links (
    import_id INTEGER NOT NULL, row INTEGER NOT NULL, app TEXT NOT NULL,
    confidence REAL, method TEXT, applied INTEGER, decided TEXT,
    PRIMARY KEY (import_id, row, app)
);
CREATE TABLE IF NOT EXISTS reviews (
    app TEXT PRIMARY KEY, status TEXT NOT NULL, note TEXT, updated TEXT,
    owner TEXT, review_by TEXT  -- who follows the app up, and when to look again
);
CREATE TABLE IF NOT EXISTS review_history (
    id INTEGER PRIMARY KEY, app TEXT NOT NULL, time TEXT NOT NULL, author TEXT,
    status TEXT NOT NULL, note TEXT
);
CREATE TRIGGER IF NOT EXISTS review_history_append_only BEFORE UPDATE ON review_history
BEGIN SELECT RAISE(ABORT, 'review history is append-only'); END;
CREATE TRIGGER IF NOT EXISTS review_history_no_delete BEFORE DELETE ON review_history
BEGIN SELECT RAISE(ABORT, 'review history is append-only'); END;
"""


def _add_later_columns(database: sqlite_utils.Database) -> None:
    """Bring an early schema-2 inventory up to date (see LATER_COLUMNS), in one transaction."""
    with database.conn:
        for table, columns in LATER_COLUMNS.items():
            if not database[table].exists():
                continue
            have = {column.name for column in database[table].columns}
            for name, kind in columns:
                if name not in have:
                    database.execute(f"ALTER TABLE {table} ADD COLUMN {name} {kind}")
        for name, constraint in DROPPED_CONSTRAINTS.items():
            older = database.table(name)
            if older.exists() and constraint in (older.schema or ""):
                _rebuild(database, name, [column.name for column in older.columns])


def _created(table: str) -> str:
    """The statement in TABLES that creates `table`."""
    create = re.search(rf"CREATE TABLE IF NOT EXISTS {table} \(.*?\n\)(?: WITHOUT ROWID)?;",
                       TABLES, re.S)
    assert create is not None, table
    return create.group(0)


def _rebuild(database: sqlite_utils.Database, table: str, columns: list[str]) -> None:
    """Recreate `table` as TABLES defines it now and copy its rows over (SQLite cannot drop a
    constraint in place)."""
    names = ", ".join(columns)
    database.execute(f"ALTER TABLE {table} RENAME TO {table}_before")
    database.execute(_created(table))
    database.execute(f"INSERT INTO {table} ({names}) SELECT {names} FROM {table}_before")
    database.execute(f"DROP TABLE {table}_before")


def _upgrade_to_3(database: sqlite_utils.Database) -> None:
    """Bring schema 2 to 3, in one transaction: a row per device and daily row becomes one
    row with the set of its devices (keeping its earliest `stored`, so nothing is kept
    longer), and the columns in DROPPED_COLUMNS go."""
    device_days = database.table("device_days")
    per_device = device_days.exists() and "device_id" in device_days.columns_dict
    stale = {}  # table → the columns it keeps
    for name, dropped in DROPPED_COLUMNS.items():
        table = database.table(name)
        if table.exists() and set(dropped) & set(table.columns_dict):
            stale[name] = [column for column in table.columns_dict if column not in dropped]
    if not (per_device or stale):
        return
    with database.conn:
        database.execute("BEGIN")
        if per_device:
            database.execute(_created("device_days").replace("device_days", "device_sets", 1))
            database.execute(
                "INSERT INTO device_sets (day, site, segment, domain_id, devices, stored) "
                "SELECT day, site, segment, domain_id, json_group_array(device_id), min(stored) "
                "FROM device_days GROUP BY day, site, segment, domain_id")
            database.execute("DROP TABLE device_days")  # and its indexes; TABLES makes them
            database.execute("ALTER TABLE device_sets RENAME TO device_days")
        for name, kept in stale.items():
            _rebuild(database, name, kept)
    # rebuilt without the old rows, in the file and in the write-ahead log: what was dropped
    # is gone, and the per-device rows were most of the file
    for statement in ("PRAGMA wal_checkpoint(TRUNCATE)", "VACUUM",
                      "PRAGMA wal_checkpoint(TRUNCATE)"):
        database.execute(statement)


def open_database(path: Path) -> sqlite_utils.Database:
    """The inventory at `path`, created owner-only if new; a foreign file is refused."""
    if str(path) != ":memory:" and not path.exists():
        try:
            os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
        except FileExistsError:
            pass
        except OSError as error:
            raise InventoryError(f"cannot create the database {path}: {error}") from None
    try:
        connection = sqlite3.connect(str(path), timeout=30, isolation_level=None)
        connection.execute("PRAGMA journal_mode=WAL")
        connection.execute("PRAGMA synchronous=NORMAL")
        connection.execute("PRAGMA foreign_keys=ON")
        # sqlite-utils' plugins are for its own command line, not for an inventory
        database = sqlite_utils.Database(connection, execute_plugins=False)
        existing = set(database.table_names())
        if existing and "meta" not in existing:
            raise InventoryError(f"{path} is an SQLite database, but not an appradar inventory")
        if existing:
            found = connection.execute(
                "SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
            if found is None or found[0] not in UPGRADABLE | {str(SCHEMA_VERSION)}:
                version = found[0] if found else "unknown"
                raise InventoryError(
                    f"{path} was made by another version of appradar (schema {version}, this "
                    f"one reads schema {SCHEMA_VERSION}); scan into a new database")
        _add_later_columns(database)
        _upgrade_to_3(database)
        connection.executescript(TABLES)
        connection.execute(
            "INSERT INTO meta (key, value) VALUES ('schema_version', ?) "
            "ON CONFLICT (key) DO UPDATE SET value = excluded.value", (str(SCHEMA_VERSION),))
    except sqlite3.DatabaseError as error:
        raise InventoryError(f"{path} is not an appradar inventory ({error})") from None
    return database
