"""Read-side questions the reports ask; every number comes from the aggregates.

A domain's app is read from `domains.app`, so apps always reflect the latest attribution.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlite_utils

from scanner.inventory.writer import seen_as
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
        SELECT d.domain, d.app, d.rule, d.via, d.registrable, d.seen, d.hits, d.first_seen,
               d.last_seen,
               (SELECT count(DISTINCT device_id) FROM device_days WHERE domain_id = d.id)
        FROM domains d WHERE {' AND '.join(where)} ORDER BY d.domain
    """
    result = []
    for (domain, app, rule, via, registrable, seen, hits, first, last,
         devices) in database.conn.execute(sql, parameters):
        result.append({
            "domain": domain, "app": app, "seen_as": seen_as(seen), "hits": hits,
            "devices": devices, "first_seen": iso(first), "last_seen": iso(last),
            "registrable": registrable, "rule": rule, "via": via,
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


def apps(database: sqlite_utils.Database, catalog: Catalog, unregistered: bool = False,
         include_infrastructure: bool = False, since: str | None = None,
         site: str | None = None) -> list[dict[str, Any]]:
    """Every app seen, with its facts, use and register/review status."""
    day_filter, parameters = _day_site_filter(since, site)
    usage = {
        app: (hits or 0, devices or 0)
        for app, hits, devices in database.conn.execute(
            f"""SELECT d.app,
                   (SELECT sum(x.hits) FROM daily x JOIN domains y ON y.id = x.domain_id
                    WHERE y.app = d.app {day_filter.replace('{t}', 'x')}),
                   (SELECT count(DISTINCT device_id) FROM device_days x
                    JOIN domains y ON y.id = x.domain_id
                    WHERE y.app = d.app {day_filter.replace('{t}', 'x')})
                FROM domains d WHERE d.app IS NOT NULL GROUP BY d.app""",
            parameters * 2,
        )
    }
    registered = registered_apps(database)
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
        hits, devices = usage.get(app_id, (0, 0))
        if (since or site) and not hits and not devices:
            continue
        is_registered = app_id in registered
        if unregistered and (is_registered or facts["kind"] != "app"):
            continue
        result.append({
            "app": app_id, "name": facts["name"], "vendor": facts["vendor"],
            "vendor_country": facts["vendor_country"], "eea": facts["eea"],
            "category": facts["category"], "kind": facts["kind"],
            "registered": is_registered, "register_rows": registered.get(app_id, []),
            "status": reviews.get(app_id, "registered" if is_registered else "unreviewed"),
            "devices": devices, "hits": hits, "first_seen": iso(first), "last_seen": iso(last),
            "domains": names.split(" "),
        })
    result.sort(key=lambda item: (-item["devices"], -item["hits"], item["app"]))
    return result


def _day_site_filter(since: str | None, site: str | None) -> tuple[str, list[Any]]:
    sql, parameters = "", []
    if since:
        sql += " AND {t}.day >= ?"
        parameters.append(since)
    if site:
        sql += " AND {t}.site = ?"
        parameters.append(site)
    return sql, parameters


def _facts(app_id: str, catalog: Catalog, stored: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """Facts from the signature database; the stored copy if the app has since gone."""
    app = catalog.apps.get(app_id)
    if app is not None:
        return {"name": app.name, "vendor": app.vendor, "vendor_country": app.vendor_country,
                "eea": app.eea, "category": app.category, "kind": app.kind.value}
    row = stored.get(app_id, {})
    eea = row.get("eea")
    return {"name": row.get("name") or app_id, "vendor": row.get("vendor") or "unknown",
            "vendor_country": row.get("vendor_country") or "unknown",
            "eea": None if eea is None else bool(eea), "category": row.get("category") or "unknown",
            "kind": row.get("kind") or "app"}
