"""Triage of unattributed names: grouped by registrable domain, the most used first.

A school's unknown list is long and mostly noise (CDN shards, tracking hosts, one-off lookups).
Grouping `a.cdn.example`, `b.cdn.example`, … under `cdn.example` (Public Suffix List, looked
up here, for the unknown names only: a scan never needs it) and ranking by how many devices
and days used it puts the few that may be unregistered apps at the top, ready for
`appradar signatures suggest`.
"""

from __future__ import annotations

from typing import Any

import sqlite_utils

from scanner.inventory.queries import day_site_filter, iso
from scanner.names import registrable

EXAMPLES = 3


def unknown_groups(database: sqlite_utils.Database, site: str | None = None,
                   since: str | None = None, limit: int | None = None) -> list[dict[str, Any]]:
    """Unattributed names per registrable domain, ranked by devices, days, then hits.

    `devices` is the number of distinct devices across all the group's names in the per-device
    rows still kept, or, where retention folded those, the highest daily count (a lower bound:
    devices cannot be added up across days or names). `days` counts the distinct days any of
    the names was seen. With `site` or `since` (YYYY-MM-DD) only those aggregates count, and
    `hits` comes from the daily rows; without, it is the sum of the names' stored hits.
    `first_seen`/`last_seen` are the names' own, as local ISO 8601.
    """
    where, parameters = day_site_filter(since, site)
    filtered = bool(where)
    names_sql = "SELECT id, domain, hits, first_seen, last_seen FROM domains WHERE app IS NULL"
    if filtered:
        names_sql += (f" AND id IN (SELECT domain_id FROM daily x WHERE 1 = 1 {where} "
                      f"UNION SELECT domain_id FROM device_days x WHERE 1 = 1 {where})")
        parameters_names = parameters * 2
    else:
        parameters_names = []
    execute = database.conn.execute
    names = [(domain_id, domain, registrable(domain), hits, first, last)
             for domain_id, domain, hits, first, last in execute(
                 names_sql + " ORDER BY hits DESC, domain", parameters_names)]
    # each name's group, for the queries below: in this connection's own temporary table
    execute("CREATE TEMP TABLE IF NOT EXISTS unknown_names "
            "(id INTEGER PRIMARY KEY, registrable TEXT NOT NULL)")
    execute("DELETE FROM temp.unknown_names")
    database.conn.executemany("INSERT INTO temp.unknown_names VALUES (?, ?)",
                              [(name[0], name[2]) for name in names])
    groups: dict[str, dict[str, Any]] = {}
    for _id, domain, registrable_domain, hits, first, last in names:
        group = groups.get(registrable_domain)
        if group is None:
            group = groups[registrable_domain] = {
                "registrable": registrable_domain, "names": 0, "examples": [], "devices": 0,
                "days": 0, "hits": 0, "first_seen": first, "last_seen": last,
            }
        group["names"] += 1
        if len(group["examples"]) < EXAMPLES:
            group["examples"].append(domain)
        group["hits"] += hits or 0
        if first is not None and (group["first_seen"] is None or first < group["first_seen"]):
            group["first_seen"] = first
        if last is not None and (group["last_seen"] is None or last > group["last_seen"]):
            group["last_seen"] = last
    if not groups:
        return []
    n = "JOIN temp.unknown_names n"
    if filtered:
        for group_name, hits in execute(
                f"SELECT n.registrable, sum(x.hits) FROM daily x {n} ON n.id = x.domain_id "
                f"WHERE 1 = 1 {where} GROUP BY n.registrable", parameters):
            groups[group_name]["hits"] = hits or 0
    for group_name, devices in execute(
            f"SELECT n.registrable, count(DISTINCT j.value) FROM device_days x {n} ON "
            f"n.id = x.domain_id, json_each(x.devices) j WHERE 1 = 1 {where} "
            f"GROUP BY n.registrable", parameters):
        groups[group_name]["devices"] = devices
    for group_name, peak in execute(
            f"SELECT n.registrable, max(x.devices) FROM daily x {n} ON n.id = x.domain_id "
            f"WHERE x.devices IS NOT NULL {where} GROUP BY n.registrable", parameters):
        group = groups[group_name]
        group["devices"] = max(group["devices"], peak or 0)
    for group_name, days in execute(
            f"SELECT n.registrable, count(DISTINCT seen.day) FROM "
            f"(SELECT day, domain_id FROM daily x WHERE 1 = 1 {where} UNION "
            f"SELECT day, domain_id FROM device_days x WHERE 1 = 1 {where}) seen "
            f"{n} ON n.id = seen.domain_id GROUP BY n.registrable", parameters * 2):
        groups[group_name]["days"] = days
    ranked = sorted(groups.values(), key=lambda group: (
        -group["devices"], -group["days"], -group["hits"], group["registrable"]))
    if limit is not None:
        ranked = ranked[:limit]
    for group in ranked:
        group["first_seen"] = iso(group["first_seen"])
        group["last_seen"] = iso(group["last_seen"])
    return ranked


def names_under(database: sqlite_utils.Database, domain: str,
                unknown_only: bool = True) -> list[dict[str, Any]]:
    """The names stored whose registrable domain is `domain`, with their hits and distinct
    devices, most hits first (what `signatures suggest` lists in a draft)."""
    condition = " AND d.app IS NULL" if unknown_only else ""
    rows = database.conn.execute(
        "SELECT d.domain, d.app, d.hits, "
        "max((SELECT count(DISTINCT j.value) FROM device_days x, json_each(x.devices) j "
        "     WHERE x.domain_id = d.id), "
        "    coalesce((SELECT max(devices) FROM daily WHERE domain_id = d.id), 0)) "
        "FROM domains d WHERE (d.domain = ? OR substr(d.domain, -length(?) - 1) = '.' || ?)"
        f"{condition} ORDER BY d.hits DESC, d.domain", (domain, domain, domain))
    return [{"domain": name, "app": app, "hits": hits or 0, "devices": devices}
            for name, app, hits, devices in rows if registrable(name) == domain]

