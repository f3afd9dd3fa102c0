"""The FG's decisions per app: a current status and an append-only history of every change."""

from __future__ import annotations

import getpass
import os
from datetime import date
from typing import Any

import sqlite_utils

from scanner.errors import InventoryError
from scanner.scan import now_iso
from scanner.signatures.catalog import Catalog

STATUSES = ("unreviewed", "in-review", "approved", "rejected", "not-personal-data")

def default_author() -> str:
    return os.environ.get("APPRADAR_AUTHOR") or getpass.getuser()


def set_status(database: sqlite_utils.Database, catalog: Catalog, app: str, status: str,
               note: str | None = None, author: str | None = None, owner: str | None = None,
               review_by: str | None = None) -> None:
    """Record a decision; the previous status stays readable in the history.

    `owner` (who follows the app up) and `review_by` (a date, YYYY-MM-DD, to look again)
    are kept until changed.
    """
    if review_by is not None:
        try:
            date.fromisoformat(review_by)
        except ValueError:
            raise InventoryError(f"review date '{review_by}' is not a date (YYYY-MM-DD)") from None
    if status not in STATUSES:
        raise InventoryError(f"unknown status '{status}'; use one of: {', '.join(STATUSES)}")
    if app not in catalog.apps:
        raise InventoryError(f"unknown app '{app}'; see 'appradar signatures list'")
    connection = database.conn
    with connection:
        connection.execute("BEGIN")
        moment = now_iso()
        connection.execute(
            "INSERT INTO reviews (app, status, note, updated, owner, review_by) "
            "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (app) DO UPDATE SET status = excluded.status, "
            "note = coalesce(excluded.note, note), updated = excluded.updated, "
            "owner = coalesce(excluded.owner, owner), "
            "review_by = coalesce(excluded.review_by, review_by)",
            (app, status, note, moment, owner, review_by),
        )
        connection.execute(
            "INSERT INTO review_history (app, time, author, status, note) VALUES (?, ?, ?, ?, ?)",
            (app, moment, author or default_author(), status, note),
        )


def history(database: sqlite_utils.Database, app: str) -> list[dict[str, Any]]:
    return [
        {"app": app, "time": time, "author": author, "status": status, "note": note}
        for time, author, status, note in database.conn.execute(
            "SELECT time, author, status, note FROM review_history WHERE app = ? ORDER BY id",
            (app,),
        )
    ]


def reviews(database: sqlite_utils.Database) -> dict[str, dict[str, Any]]:
    """App → its current review: status, note, owner, review_by, updated."""
    return {app: {"status": status, "note": note, "owner": owner, "review_by": review_by,
                  "updated": updated}
            for app, status, note, owner, review_by, updated in database.conn.execute(
                "SELECT app, status, note, owner, review_by, updated FROM reviews")}


def rejected_apps(database: sqlite_utils.Database) -> list[str]:
    return [row[0] for row in database.conn.execute(
        "SELECT app FROM reviews WHERE status = 'rejected' ORDER BY app")]
