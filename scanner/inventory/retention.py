"""Retention: per-device rows become daily counts after a while, and aggregates expire.

Ages count from the day appradar stored a row, so a capture of last year imported today is
kept per device for `device_days` from today: what appradar holds, it holds for a bounded time.
Runs after every scan, on `appradar purge`, and in a capture each time the date changes
(`DailyPurge`), so one that runs for months keeps to the same limits. Names an older version
stored and this one keeps out (LAN names: `writer.stays_out`) are deleted once. Deleted data is
overwritten (`secure_delete`), the write-ahead log truncated and the file vacuumed, so what
is purged is really gone.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta

import sqlite_utils

from scanner.config import Config
from scanner.inventory.writer import kept_out_rules, lan_suffixes, stays_out


@dataclass(frozen=True)
class PurgeResult:
    folded_days: int
    device_rows_deleted: int
    devices_deleted: int
    aggregate_rows_deleted: int
    domains_deleted: int
    names_kept_out: int = 0  # LAN names an older version stored, deleted with their rows

    @property
    def deleted_anything(self) -> bool:
        return bool(self.device_rows_deleted or self.devices_deleted
                    or self.aggregate_rows_deleted or self.domains_deleted
                    or self.names_kept_out)


def purge(database: sqlite_utils.Database, config: Config,
          today: date | None = None) -> PurgeResult:
    today = today or date.today()
    device_cutoff = (today - timedelta(days=config.device_days)).isoformat()
    aggregate_cutoff = (today - timedelta(days=config.aggregate_days)).isoformat()
    connection = database.conn
    connection.execute("PRAGMA secure_delete = ON")
    with connection:
        connection.execute("BEGIN")
        kept_out = _forget_names_kept_out(connection, config.lan_domains)
        folded_days = connection.execute(
            "SELECT count(DISTINCT day) FROM device_days WHERE stored < ?", (device_cutoff,)
        ).fetchone()[0]
        # Distinct devices per domain and per app, kept as plain numbers per day.
        connection.execute(
            "INSERT INTO daily (day, site, segment, domain_id, hits, devices, stored) "
            "SELECT day, site, segment, domain_id, 0, "
            "(SELECT count(DISTINCT value) FROM json_each(devices)), stored "
            "FROM device_days WHERE stored < ? "
            "ON CONFLICT (day, site, segment, domain_id) DO UPDATE SET "
            "devices = max(coalesce(devices, 0), excluded.devices)",
            (device_cutoff,),
        )
        connection.execute(
            "INSERT INTO daily_apps (day, site, segment, app, devices, stored) "
            "SELECT x.day, x.site, x.segment, d.app, count(DISTINCT j.value), min(x.stored) "
            "FROM device_days x JOIN domains d ON d.id = x.domain_id, json_each(x.devices) j "
            "WHERE x.stored < ? AND d.app IS NOT NULL GROUP BY x.day, x.site, x.segment, d.app "
            "ON CONFLICT (day, site, segment, app) DO UPDATE SET "
            "devices = max(devices, excluded.devices)",
            (device_cutoff,),
        )
        device_rows = connection.execute(  # a device's day with a name: what was kept
            "SELECT count(*) FROM (SELECT DISTINCT x.domain_id, x.day, x.site, x.segment, "
            "j.value FROM device_days x, json_each(x.devices) j WHERE x.stored < ?)",
            (device_cutoff,)).fetchone()[0]
        connection.execute("DELETE FROM device_days WHERE stored < ?", (device_cutoff,))
        devices = 0
        if device_rows:  # only rows deleted now can leave a device behind: no scan otherwise
            devices = connection.execute(
                "DELETE FROM devices WHERE id NOT IN "
                "(SELECT j.value FROM device_days, json_each(device_days.devices) j)"
            ).rowcount
        aggregates = connection.execute(
            "DELETE FROM daily WHERE stored < ?", (aggregate_cutoff,)).rowcount
        aggregates += connection.execute(
            "DELETE FROM daily_apps WHERE stored < ?", (aggregate_cutoff,)).rowcount
        domains = 0
        if aggregates:  # a domain no aggregate refers to any more goes with them
            domains = connection.execute(
                "DELETE FROM domains WHERE id NOT IN "
                "(SELECT domain_id FROM daily UNION SELECT domain_id FROM device_days)"
            ).rowcount
        if aggregates or kept_out:  # a CNAME link neither of whose names is stored goes too
            connection.execute(
                "DELETE FROM cnames WHERE alias NOT IN (SELECT domain FROM domains) "
                "AND target NOT IN (SELECT domain FROM domains)")
    result = PurgeResult(folded_days, device_rows, devices, aggregates, domains, kept_out)
    if result.deleted_anything:
        connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        connection.execute("VACUUM")
        connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    return result


def _forget_names_kept_out(connection: sqlite3.Connection, own_domains: tuple[str, ...]) -> int:
    """Delete stored names that the writer now keeps out (rules of a newer version, a domain
    just added to `privacy.lan_domains`), once for each set of rules."""
    rules = kept_out_rules(own_domains)
    done = connection.execute("SELECT value FROM meta WHERE key = 'kept_out'").fetchone()
    if done is not None and done[0] == rules:
        return 0
    suffixes = lan_suffixes(own_domains)
    ids = [(domain_id,) for domain_id, domain in connection.execute(
        "SELECT id, domain FROM domains") if stays_out(domain, suffixes)]
    for table in ("device_days", "daily"):
        connection.executemany(f"DELETE FROM {table} WHERE domain_id = ?", ids)
    connection.executemany("DELETE FROM domains WHERE id = ?", ids)
    connection.execute("INSERT INTO meta (key, value) VALUES ('kept_out', ?) "
                       "ON CONFLICT (key) DO UPDATE SET value = excluded.value", (rules,))
    return len(ids)


class DailyPurge:
    """Purge when the date has changed since the last purge: ages are counted in days, so a
    long-running capture needs no more than one a day (call it as often as convenient)."""

    def __init__(self, database: sqlite_utils.Database, config: Config,
                 today: Callable[[], date] = date.today) -> None:
        self.database, self.config, self.today = database, config, today
        self.last = today()

    def __call__(self) -> PurgeResult | None:
        today = self.today()
        if today == self.last:
            return None
        self.last = today
        return purge(self.database, self.config, today)
