"""Triage of unattributed names: grouped by registrable domain, the most used first.

A school's unknown list is long and mostly noise (CDN shards, tracking hosts, one-off lookups).
Grouping `a.cdn.example`, `b.cdn.example`, … under `cdn.example` (Public Suffix List, stored in
`domains.registrable` at write time) and ranking by how many devices and days used it puts the
few that may be unregistered apps at the top, ready for `appradar signatures suggest`.
"""

from __future__ import annotations

from typing import Any

import sqlite_utils

from scanner.inventory.queries import day_site_filter, iso

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
    names_sql = "SELECT id, domain, coalesce(registrable, domain) AS registrable, hits, " \
                "first_seen, last_seen FROM domains WHERE app IS NULL"
    if filtered:
        names_sql += (f" AND id IN (SELECT domain_id FROM daily x WHERE 1 = 1 {where} "
                      f"UNION SELECT domain_id FROM device_days x WHERE 1 = 1 {where})")
        parameters_names = parameters * 2
    else:
        parameters_names = []
    execute = database.conn.execute
    groups: dict[str, dict[str, Any]] = {}
    for _id, domain, registrable, hits, first, last in execute(
            names_sql + " ORDER BY hits DESC, domain", parameters_names):
        group = groups.get(registrable)
        if group is None:
            group = groups[registrable] = {
                "registrable": registrable, "names": 0, "examples": [], "devices": 0,
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
    unknown = f"WITH n AS ({names_sql}) "
    both = parameters_names + parameters
    if filtered:
        for registrable, hits in execute(
                unknown + f"SELECT n.registrable, sum(x.hits) FROM daily x JOIN n ON "
                f"n.id = x.domain_id WHERE 1 = 1 {where} GROUP BY n.registrable", both):
            groups[registrable]["hits"] = hits or 0
    for registrable, devices in execute(
            unknown + f"SELECT n.registrable, count(DISTINCT j.value) FROM device_days x "
            f"JOIN n ON n.id = x.domain_id, json_each(x.devices) j WHERE 1 = 1 {where} "
            f"GROUP BY n.registrable", both):
        groups[registrable]["devices"] = devices
    for registrable, peak in execute(
            unknown + f"SELECT n.registrable, max(x.devices) FROM daily x JOIN n ON "
            f"n.id = x.domain_id WHERE x.devices IS NOT NULL {where} GROUP BY n.registrable",
            both):
        group = groups[registrable]
        group["devices"] = max(group["devices"], peak or 0)
    for registrable, days in execute(
            unknown + f"SELECT n.registrable, count(DISTINCT seen.day) FROM "
            f"(SELECT day, domain_id FROM daily x WHERE 1 = 1 {where} UNION "
            f"SELECT day, domain_id FROM device_days x WHERE 1 = 1 {where}) seen "
            f"JOIN n ON n.id = seen.domain_id GROUP BY n.registrable",
            parameters_names + parameters * 2):
        groups[registrable]["days"] = days
    ranked = sorted(groups.values(), key=lambda group: (
        -group["devices"], -group["days"], -group["hits"], group["registrable"]))
    if limit is not None:
        ranked = ranked[:limit]
    for group in ranked:
        group["first_seen"] = iso(group["first_seen"])
        group["last_seen"] = iso(group["last_seen"])
    return ranked


def names_under(database: sqlite_utils.Database, registrable: str,
                unknown_only: bool = True) -> list[dict[str, Any]]:
    """The names stored under one registrable domain with their hits and distinct devices,
    most hits first (what `signatures suggest` lists in a draft)."""
    condition = " AND d.app IS NULL" if unknown_only else ""
    rows = database.conn.execute(
        "SELECT d.domain, d.app, d.hits, "
        "max((SELECT count(DISTINCT j.value) FROM device_days x, json_each(x.devices) j "
        "     WHERE x.domain_id = d.id), "
        "    coalesce((SELECT max(devices) FROM daily WHERE domain_id = d.id), 0)) "
        f"FROM domains d WHERE d.registrable = ?{condition} ORDER BY d.hits DESC, d.domain",
        (registrable,))
    return [{"domain": domain, "app": app, "hits": hits or 0, "devices": devices}
            for domain, app, hits, devices in rows]

