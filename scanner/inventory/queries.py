"""Read-side questions the reports ask; every number comes from the aggregates.

A domain's app is read from `domains.app`, so apps always reflect the latest attribution.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlite_utils

from scanner.inventory.writer import seen_as
from scanner.names import registrable
from scanner.signatures.catalog import Catalog


def iso(moment: float | None) -> str | None:
    """A stored time as local ISO 8601 with offset, for people and spreadsheets."""
    if moment is None:
        return None
    return datetime.fromtimestamp(moment).astimezone().isoformat(timespec="seconds")


def domains(database: sqlite_utils.Database, unknown: bool = False,
            site: str | None = None) -> list[dict[str, Any]]:
    where = ["1 = 1"]
    parameters: list[Any] = []
    if unknown:
        where.append("d.app IS NULL")
    if site is not None:
        where.append("d.id IN (SELECT domain_id FROM daily WHERE site = ? UNION "
                     "SELECT domain_id FROM device_days WHERE site = ?)")
        parameters += [site, site]
    sql = f"""
        SELECT d.domain, d.app, d.rule, d.via, d.seen, d.hits, d.first_seen, d.last_seen,
               max((SELECT count(DISTINCT j.value) FROM device_days x, json_each(x.devices) j
                    WHERE x.domain_id = d.id),
                   coalesce((SELECT max(devices) FROM daily WHERE domain_id = d.id), 0))
        FROM domains d WHERE {' AND '.join(where)} ORDER BY d.domain
    """
    result = []
    for (domain, app, rule, via, seen, hits, first, last,
         devices) in database.conn.execute(sql, parameters):
        result.append({
            "domain": domain, "app": app, "seen_as": seen_as(seen), "hits": hits,
            "devices": devices, "first_seen": iso(first), "last_seen": iso(last),
            "registrable": registrable(domain), "rule": rule, "via": via,
        })
    return result


def registered_apps(database: sqlite_utils.Database) -> dict[str, list[int]]:
    """App id → register rows (of the current register) that it is linked to."""
    linked: dict[str, list[int]] = {}
    for app, row in database.conn.execute(
        "SELECT l.app, l.row FROM register_links l JOIN register_imports i ON i.id = l.import_id "
        "WHERE i.current = 1 AND l.applied = 1 ORDER BY l.row"
    ):
        linked.setdefault(app, []).append(row)
    return linked


def proposed_rows(database: sqlite_utils.Database) -> dict[str, dict[str, Any]]:
    """App → the best register row proposed for it but not applied (a likely match to check)."""
    best: dict[str, dict[str, Any]] = {}
    for app, row, confidence in database.conn.execute(
        "SELECT l.app, l.row, l.confidence FROM register_links l JOIN register_imports i "
        "ON i.id = l.import_id WHERE i.current = 1 AND l.applied = 0 "
        "ORDER BY l.confidence DESC, l.row"
    ):
        best.setdefault(app, {"row": row, "confidence": round(confidence, 1)})
    return best


def sites(database: sqlite_utils.Database) -> list[str]:
    """Every site with data, for boards with several schools."""
    return [row[0] for row in database.conn.execute(
        "SELECT site FROM daily UNION SELECT site FROM device_days ORDER BY 1")]


def apps(database: sqlite_utils.Database, catalog: Catalog, unregistered: bool = False,
         include_infrastructure: bool = False, since: str | None = None,
         site: str | None = None) -> list[dict[str, Any]]:
    """Every app seen, with its facts, use and register/review status.

    `devices` counts distinct devices in the per-device data still kept; for days whose
    per-device rows were folded by retention it is the peak of the daily counts.
    `segments` gives the same per network segment.
    """
    hits, devices, segments, days = _usage(database, since, site)
    registered = registered_apps(database)
    proposed = proposed_rows(database)
    reviews = dict(database.conn.execute("SELECT app, status FROM reviews").fetchall())
    stored = {row["id"]: row for row in database["apps"].rows}
    result = []
    for app_id, names, first, last in database.conn.execute(
        "SELECT app, group_concat(domain, ' '), min(first_seen), max(last_seen) FROM "
        "(SELECT app, domain, first_seen, last_seen FROM domains WHERE app IS NOT NULL "
        "ORDER BY domain) GROUP BY app ORDER BY app"
    ):
        facts = _facts(app_id, catalog, stored)
        if facts["kind"] == "infrastructure" and not include_infrastructure:
            continue
        if (since or site) and not hits.get(app_id) and not devices.get(app_id):
            continue
        is_registered = app_id in registered
        if unregistered and (is_registered or facts["kind"] != "app"):
            continue
        result.append({
            "app": app_id, "name": facts["name"], "vendor": facts["vendor"],
            "vendor_country": facts["vendor_country"], "eea": facts["eea"],
            "parent": facts["parent"], "parent_country": facts["parent_country"],
            "category": facts["category"], "kind": facts["kind"],
            "registered": is_registered, "register_rows": registered.get(app_id, []),
            "proposed_row": proposed.get(app_id), "privacy": facts["privacy"],
            "status": reviews.get(app_id, "registered" if is_registered else "unreviewed"),
            "devices": devices.get(app_id, 0), "segments": segments.get(app_id, {}),
            "hits": hits.get(app_id, 0), "active_days": days.get(app_id, 0),
            "first_seen": iso(first), "last_seen": iso(last),
            "domains": names.split(" "),
        })
    result.sort(key=lambda item: (-item["devices"], -item["hits"], item["app"]))
    return result


def _usage(database: sqlite_utils.Database, since: str | None, site: str | None
           ) -> tuple[dict[str, int], dict[str, int], dict[str, dict[str, int]], dict[str, int]]:
    """Hits, devices, devices per segment and active days for every app, in grouped queries."""
    where, parameters = day_site_filter(since, site)
    execute = database.conn.execute
    hits = dict(execute(
        f"SELECT d.app, sum(x.hits) FROM daily x JOIN domains d ON d.id = x.domain_id "
        f"WHERE d.app IS NOT NULL {where} GROUP BY d.app", parameters))
    days = dict(execute(
        f"SELECT app, count(DISTINCT day) FROM (SELECT d.app, x.day FROM daily x JOIN domains d "
        f"ON d.id = x.domain_id WHERE d.app IS NOT NULL {where} UNION SELECT d.app, x.day "
        f"FROM device_days x JOIN domains d ON d.id = x.domain_id WHERE d.app IS NOT NULL "
        f"{where}) GROUP BY app", parameters * 2))
    devices = dict(execute(
        f"SELECT d.app, count(DISTINCT j.value) FROM device_days x JOIN domains d "
        f"ON d.id = x.domain_id, json_each(x.devices) j WHERE d.app IS NOT NULL {where} "
        f"GROUP BY d.app",
        parameters))
    segments: dict[str, dict[str, int]] = {}
    for app, segment, count in execute(
        f"SELECT d.app, x.segment, count(DISTINCT j.value) FROM device_days x "
        f"JOIN domains d ON d.id = x.domain_id, json_each(x.devices) j "
        f"WHERE d.app IS NOT NULL {where} GROUP BY d.app, x.segment", parameters):
        segments.setdefault(app, {})[segment] = count
    folded = where.replace("x.", "")
    for app, peak in execute(
        f"SELECT app, max(total) FROM (SELECT app, day, sum(devices) AS total FROM daily_apps "
        f"WHERE 1 = 1 {folded} GROUP BY app, day) GROUP BY app", parameters):
        devices[app] = max(devices.get(app, 0), peak)
    for app, segment, peak in execute(
        f"SELECT app, segment, max(devices) FROM daily_apps WHERE 1 = 1 {folded} "
        f"GROUP BY app, segment", parameters):
        per_segment = segments.setdefault(app, {})
        per_segment[segment] = max(per_segment.get(segment, 0), peak)
    return hits, devices, segments, days


def day_site_filter(since: str | None, site: str | None) -> tuple[str, list[Any]]:
    """SQL to append (`AND x.day >= ? AND x.site = ?`) for a table aliased x, and its values."""
    sql, parameters = "", []
    if since:
        sql += " AND x.day >= ?"
        parameters.append(since)
    if site:
        sql += " AND x.site = ?"
        parameters.append(site)
    return sql, parameters


def _facts(app_id: str, catalog: Catalog, stored: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """Facts from the signature database; the stored copy if the app has since gone."""
    app = catalog.apps.get(app_id)
    if app is not None:
        return {"name": app.name, "vendor": app.vendor, "vendor_country": app.vendor_country,
                "eea": app.eea, "parent": app.parent, "parent_country": app.parent_country,
                "category": app.category, "kind": app.kind.value,
                "privacy": dict(app.privacy)}
    row = stored.get(app_id, {})
    eea = row.get("eea")
    return {"name": row.get("name") or app_id, "vendor": row.get("vendor") or "unknown",
            "vendor_country": row.get("vendor_country") or "unknown",
            "eea": None if eea is None else bool(eea), "parent": "", "parent_country": "",
            "category": row.get("category") or "unknown",
            "kind": row.get("kind") or "app", "privacy": {}}


BLIND_SPOT_CATEGORIES = {"encrypted-dns": "encrypted DNS resolvers (DoH, DoT, DoQ)",
                         "encrypted-client-hello": "Encrypted Client Hello (ECH)"}


def blind_spots(database: sqlite_utils.Database, catalog: Catalog,
                site: str | None = None) -> list[dict[str, Any]]:
    """What appradar cannot see into, measured: use of encrypted DNS resolvers and of ECH.

    A device that resolves names over DoH, or connects with Encrypted Client Hello, uses apps
    the inventory cannot name; these counts say how large that part is.
    """
    apps_by_category: dict[str, list[str]] = {}
    for app in catalog.apps.values():
        if app.category in BLIND_SPOT_CATEGORIES:
            apps_by_category.setdefault(app.category, []).append(app.id)
    where_site = " AND x.site = ?" if site else ""
    result = []
    for category, label in BLIND_SPOT_CATEGORIES.items():
        condition = "d.seen & 64" if category == "encrypted-client-hello" else "0"
        ids = apps_by_category.get(category, [])
        if ids:
            condition += f" OR d.app IN ({','.join('?' * len(ids))})"
        parameters: list[Any] = [*ids, *([site] if site else [])]
        names, hits = database.conn.execute(
            f"SELECT count(DISTINCT d.id), coalesce(sum(x.hits), 0) FROM domains d "
            f"LEFT JOIN daily x ON x.domain_id = d.id{where_site} WHERE {condition}",
            [*([site] if site else []), *ids]).fetchone()
        devices = database.conn.execute(
            f"SELECT count(DISTINCT j.value) FROM device_days x JOIN domains d "
            f"ON d.id = x.domain_id, json_each(x.devices) j WHERE ({condition}){where_site}",
            parameters).fetchone()[0]
        result.append({"blind_spot": category, "what": label, "names": names, "hits": hits,
                       "devices": devices})
    return result
