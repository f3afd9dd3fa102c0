"""The imported register in the inventory: snapshots, rows as imported, and row→app links."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import sqlite_utils

from scanner.errors import InventoryError
from scanner.register import RegisterFile, RowMatch
from scanner.scan import now_iso
from scanner.signatures.catalog import Catalog


def save_register(database: sqlite_utils.Database, register: RegisterFile,
                  matches: Sequence[RowMatch]) -> int:
    """Store a new snapshot and make it current; earlier snapshots stay as history.

    Manual links made on the previous snapshot are carried over to rows with the same
    application and vendor, so a re-import does not undo the FG's decisions.
    """
    connection = database.conn
    with connection:
        connection.execute("BEGIN")
        manual = _manual_links(database)
        connection.execute("UPDATE register_imports SET current = 0")
        cursor = connection.execute(
            "INSERT INTO register_imports (path, imported, rows, delimiter, encoding, current) "
            "VALUES (?, ?, ?, ?, ?, 1)",
            (str(register.path), now_iso(), len(register.rows), register.delimiter,
             register.encoding),
        )
        import_id = int(cursor.lastrowid or 0)
        connection.executemany(
            "INSERT INTO register_rows (import_id, row, application, vendor, fields, raw) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            [(import_id, row.row, row.application, row.vendor,
              json.dumps(row.fields, ensure_ascii=False), json.dumps(row.raw, ensure_ascii=False))
             for row in register.rows],
        )
        links: dict[tuple[int, str], tuple[float, str, int, str | None]] = {
            (match.row, match.app_id): (match.confidence, match.method, int(match.applied), None)
            for match in matches}
        for row in register.rows:
            for app_id, decision in manual.get((row.application, row.vendor), []):
                links[(row.row, app_id)] = (100.0, "manual", int(decision == "link"), decision)
        connection.executemany(
            "INSERT INTO register_links (import_id, row, app, confidence, method, applied, "
            "decided) VALUES (?, ?, ?, ?, ?, ?, ?)",
            [(import_id, row, app, *values) for (row, app), values in links.items()],
        )
    return import_id


def _manual_links(database: sqlite_utils.Database) -> dict[tuple[str, str], list[tuple[str, str]]]:
    found: dict[tuple[str, str], list[tuple[str, str]]] = {}
    for application, vendor, app, decided in database.conn.execute(
        "SELECT r.application, r.vendor, l.app, l.decided FROM register_links l "
        "JOIN register_imports i ON i.id = l.import_id AND i.current = 1 "
        "JOIN register_rows r ON r.import_id = l.import_id AND r.row = l.row "
        "WHERE l.decided IS NOT NULL"
    ):
        found.setdefault((application, vendor), []).append((app, decided))
    return found


def current_import(database: sqlite_utils.Database) -> int:
    row = database.conn.execute(
        "SELECT id FROM register_imports WHERE current = 1 ORDER BY id DESC LIMIT 1").fetchone()
    if row is None:
        raise InventoryError("no register imported yet: run 'appradar register import FILE'")
    return int(row[0])


def register_rows(database: sqlite_utils.Database) -> list[dict[str, Any]]:
    """Rows of the current register with their links (applied and proposed)."""
    import_id = current_import(database)
    links: dict[int, list[dict[str, Any]]] = {}
    for row, app, confidence, method, applied in database.conn.execute(
        "SELECT row, app, confidence, method, applied FROM register_links WHERE import_id = ? "
        "ORDER BY row, confidence DESC, app", (import_id,)
    ):
        links.setdefault(row, []).append({"app": app, "confidence": round(confidence, 1),
                                          "method": method, "applied": bool(applied)})
    result = []
    for row, application, vendor in database.conn.execute(
        "SELECT row, application, vendor FROM register_rows WHERE import_id = ? ORDER BY row",
        (import_id,)
    ):
        row_links = links.get(row, [])
        applied = [link for link in row_links if link["applied"]]
        proposed = [link for link in row_links if not link["applied"]]
        result.append({
            "row": row, "application": application, "vendor": vendor,
            "apps": [link["app"] for link in applied],
            "confidence": applied[0]["confidence"] if applied else None,
            "method": applied[0]["method"] if applied else None,
            "proposals": [f"{link['app']} ({link['confidence']:g})" for link in proposed],
            "links": row_links,
        })
    return result


def set_link(database: sqlite_utils.Database, catalog: Catalog, row: int, app: str,
             linked: bool) -> None:
    """The FG's decision: this row covers (or does not cover) this app."""
    import_id = current_import(database)
    exists = database.conn.execute(
        "SELECT 1 FROM register_rows WHERE import_id = ? AND row = ?", (import_id, row)
    ).fetchone()
    if exists is None:
        raise InventoryError(f"the current register has no row {row}; "
                             "see 'appradar register show'")
    if app not in catalog.apps:
        raise InventoryError(f"unknown app '{app}'; see 'appradar signatures list'")
    with database.conn:
        database.conn.execute(
            "INSERT INTO register_links (import_id, row, app, confidence, method, applied, "
            "decided) VALUES (?, ?, ?, 100, 'manual', ?, ?) ON CONFLICT (import_id, row, app) "
            "DO UPDATE SET confidence = 100, method = 'manual', applied = excluded.applied, "
            "decided = excluded.decided",
            (import_id, row, app, int(linked), "link" if linked else "unlink"),
        )
