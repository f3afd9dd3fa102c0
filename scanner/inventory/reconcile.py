"""Reconcile what the network shows with what the processing register says, in three lists.

The FG (and the Autoriteit Persoonsgegevens when it asks) wants three answers: which apps are
in use but not in the register; which register rows may describe something no longer used
(a clean-up the register needs); and which rows lack a usable processor agreement.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

import sqlite_utils

from scanner.inventory import queries
from scanner.signatures.catalog import Catalog

REJECTED_IN_USE = "rejected but still in use"
NO_APP_LINKED = "no app linked"
NEVER_SEEN = "never seen"
NO_AGREEMENT = frozenset({"", "nee", "no", "n", "geen", "none", "-"})

_ISO_DATE = re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})(?:[ T][\d:.]+)?$")
_DUTCH_DATE = re.compile(r"^(\d{1,2})[-/.](\d{1,2})[-/.](\d{4})$")


@dataclass(frozen=True)
class Reconciliation:
    """The three lists, with the settings that produced them (a report must say which)."""

    unregistered: list[dict[str, Any]]
    not_seen: list[dict[str, Any]]
    agreement_problems: list[dict[str, Any]]
    today: date
    not_seen_days: int
    agreement_max_age_days: int | None
    register_imported: bool = True
    site: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "today": self.today.isoformat(), "site": self.site,
            "not_seen_days": self.not_seen_days,
            "agreement_max_age_days": self.agreement_max_age_days,
            "register_imported": self.register_imported,
            "unregistered": self.unregistered, "not_seen": self.not_seen,
            "agreement_problems": self.agreement_problems,
        }


def reconcile(database: sqlite_utils.Database, catalog: Catalog, not_seen_days: int = 90,
              agreement_max_age_days: int | None = None, today: date | None = None,
              site: str | None = None) -> Reconciliation:
    """The three lists for the current register; `today` fixes the reference day (tests,
    reports about an earlier period)."""
    if not_seen_days < 0:
        raise ValueError("not_seen_days must not be negative")
    today = today or date.today()
    seen = _last_seen(database, site)
    rejected = _rejections(database)
    apps = queries.apps(database, catalog, site=site)
    unregistered = []
    for record in apps:
        if record["kind"] != "app":
            continue
        rejected_at = rejected.get(record["app"])
        flag = None
        if rejected_at is not None and _seen_after(seen.get(record["app"]), rejected_at):
            flag = REJECTED_IN_USE
        if record["registered"] and flag is None:
            continue
        unregistered.append({
            **record, "flag": flag,
            "rejected": rejected_at.isoformat(timespec="seconds") if rejected_at else None,
        })
    unregistered.sort(key=lambda item: item["flag"] is None)  # stable: the worst first
    import_id = _current_import(database)
    rows = _register_rows(database, import_id) if import_id is not None else []
    return Reconciliation(
        unregistered=unregistered,
        not_seen=_not_seen(rows, seen, today, not_seen_days),
        agreement_problems=_agreement_problems(rows, today, agreement_max_age_days),
        today=today, not_seen_days=not_seen_days,
        agreement_max_age_days=agreement_max_age_days,
        register_imported=import_id is not None, site=site,
    )


@dataclass(frozen=True)
class _Seen:
    day: date  # last day seen (at the site, when one is asked for)
    moment: datetime  # last moment seen anywhere: domains keep no site


def _last_seen(database: sqlite_utils.Database, site: str | None) -> dict[str, _Seen]:
    """App → when it was last seen; per site by day, since only the daily tables know sites."""
    moments = {
        app: datetime.fromtimestamp(last).astimezone()
        for app, last in database.conn.execute(
            "SELECT app, max(last_seen) FROM domains WHERE app IS NOT NULL "
            "AND last_seen IS NOT NULL GROUP BY app")
    }
    if site is None:
        return {app: _Seen(moment.date(), moment) for app, moment in moments.items()}
    days: dict[str, str] = {}
    for app, day in database.conn.execute(
        "SELECT d.app, max(x.day) FROM daily x JOIN domains d ON d.id = x.domain_id "
        "WHERE d.app IS NOT NULL AND x.site = ? GROUP BY d.app "
        "UNION ALL SELECT app, max(day) FROM daily_apps WHERE site = ? GROUP BY app",
        (site, site),
    ):
        if day and (app not in days or day > days[app]):
            days[app] = day
    return {app: _Seen(date.fromisoformat(day), moments[app])
            for app, day in days.items() if app in moments}


def _rejections(database: sqlite_utils.Database) -> dict[str, datetime]:
    """App → since when it has been rejected, for apps whose current status is rejected.

    The clock starts at the first rejection after the last other status: saving the same
    decision again (say, to add a note) does not forgive use in between.
    """
    current = {app for (app,) in database.conn.execute(
        "SELECT app FROM reviews WHERE status = 'rejected'")}
    since: dict[str, str | None] = {}
    for app, status, moment in database.conn.execute(
        "SELECT app, status, time FROM review_history ORDER BY id"
    ):
        if app not in current:
            continue
        if status != "rejected":
            since[app] = None
        elif since.get(app) is None:
            since[app] = moment
    found = {}
    for app, moment in since.items():
        if moment is not None:
            parsed = datetime.fromisoformat(moment)
            found[app] = parsed if parsed.tzinfo else parsed.astimezone()
    return found


def _seen_after(seen: _Seen | None, moment: datetime) -> bool:
    return seen is not None and seen.moment > moment and seen.day >= moment.astimezone().date()


def _current_import(database: sqlite_utils.Database) -> int | None:
    row = database.conn.execute(
        "SELECT id FROM register_imports WHERE current = 1 ORDER BY id DESC LIMIT 1").fetchone()
    return None if row is None else int(row[0])


def _register_rows(database: sqlite_utils.Database, import_id: int) -> list[dict[str, Any]]:
    links: dict[int, list[str]] = {}
    proposals: dict[int, list[str]] = {}
    for row, app, applied in database.conn.execute(
        "SELECT row, app, applied FROM register_links WHERE import_id = ? "
        "ORDER BY row, confidence DESC, app", (import_id,)
    ):
        (links if applied else proposals).setdefault(row, []).append(app)
    return [
        {"row": row, "application": application or "", "vendor": vendor or "",
         "apps": links.get(row, []), "proposals": proposals.get(row, []),
         "fields": json.loads(fields or "{}")}
        for row, application, vendor, fields in database.conn.execute(
            "SELECT row, application, vendor, fields FROM register_rows WHERE import_id = ? "
            "ORDER BY row", (import_id,))
    ]


def _not_seen(rows: list[dict[str, Any]], seen: dict[str, _Seen], today: date,
              days: int) -> list[dict[str, Any]]:
    """Rows whose apps were last seen more than `days` days before `today`, or never."""
    result = []
    for row in rows:
        base = {key: row[key] for key in ("row", "application", "vendor", "apps", "proposals")}
        if not row["apps"]:
            result.append({**base, "last_seen": None, "days_ago": None,
                           "code": "no_app", "reason": NO_APP_LINKED})
            continue
        last = max((seen[app].day for app in row["apps"] if app in seen), default=None)
        if last is None:
            result.append({**base, "last_seen": None, "days_ago": None, "code": "never",
                           "reason": NEVER_SEEN})
        elif (today - last).days > days:
            ago = (today - last).days
            result.append({**base, "last_seen": last.isoformat(), "days_ago": ago,
                           "code": "not_seen", "reason": f"not seen for {ago} days"})
    return result


def _agreement_problems(rows: list[dict[str, Any]], today: date,
                        max_age_days: int | None) -> list[dict[str, Any]]:
    """Rows without a processor agreement, or whose agreement date is too old or unreadable.

    An agreement that exists but has no date is only a problem when an age is asked for:
    then nobody can tell whether it is recent enough.
    """
    result = []
    for row in rows:
        fields = row["fields"]
        agreement = str(fields.get("dpa") or "").strip()
        written = str(fields.get("dpa_date") or "").strip()
        if _is_missing(agreement):
            code, problem = "missing", "missing"
        elif written:
            signed = parse_date(written)
            if signed is None:
                code, problem = "unreadable", f"unreadable date '{written}'"
            elif max_age_days is not None and signed < today - timedelta(days=max_age_days):
                code, problem = "outdated", f"outdated ({signed.isoformat()})"
            else:
                continue
        elif max_age_days is not None:
            code, problem = "no_date", "no date"
        else:
            continue
        result.append({"row": row["row"], "application": row["application"],
                       "vendor": row["vendor"], "apps": row["apps"], "dpa": agreement,
                       "dpa_date": written, "code": code, "problem": problem})
    return result


def _is_missing(agreement: str) -> bool:
    """'Nee, alleen gebruiksvoorwaarden' is a no as much as 'nee' is: the first word decides."""
    first = re.split(r"[^\w]+", agreement.lower().strip(), maxsplit=1)[0] if agreement else ""
    return first in NO_AGREEMENT


def parse_date(text: str) -> date | None:
    """A register date as schools write it: YYYY-MM-DD, DD-MM-YYYY, D-M-YYYY, DD/MM/YYYY."""
    text = text.strip()
    found = _ISO_DATE.match(text)
    if found:
        year, month, day = (int(part) for part in found.groups())
    else:
        found = _DUTCH_DATE.match(text)
        if not found:
            return None
        day, month, year = (int(part) for part in found.groups())
    try:
        return date(year, month, day)
    except ValueError:
        return None
