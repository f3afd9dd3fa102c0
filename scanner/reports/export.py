"""The register-shaped CSV: one row per app that needs the FG's action, ready for Excel.

Fields appradar knows are filled; the columns only the school can fill stay empty, in the
order of a Dutch processing register, so rows can be pasted into it.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from scanner.reports.render import as_csv
from scanner.signatures.model import known_outside_eea

SITE_COLUMN = ("site", "Site", "Locatie")
COLUMNS: list[tuple[str, str, str]] = [  # key, English header, Dutch header
    ("name", "Application", "Applicatie"),
    ("vendor", "Vendor", "Leverancier"),
    ("vendor_country", "Vendor country", "Land leverancier"),
    ("eea", "Vendor in EEA", "Leverancier in EER"),
    ("parent", "Parent company", "Moederbedrijf"),
    ("category", "Category", "Categorie"),
    ("app", "appradar id", "appradar-id"),
    ("domains", "Domains seen", "Domeinen gezien"),
    ("first_seen", "First seen", "Eerst gezien"),
    ("last_seen", "Last seen", "Laatst gezien"),
    ("active_days", "Active days", "Actieve dagen"),
    ("devices", "Devices", "Apparaten"),
    ("segments", "Used by (segment: devices)", "Gebruikt door (segment: apparaten)"),
    ("privacyconvenant", "Privacyconvenant", "Privacyconvenant"),
    ("central_dpia", "Central DPIA", "Centrale DPIA"),
    ("proposed", "Closest register row (confidence)", "Dichtstbijzijnde registerregel (zekerheid)"),
    ("status", "Review status", "Beoordelingsstatus"),
    ("action", "Suggested action", "Voorgestelde actie"),
    ("purpose", "Purpose", "Doel"),
    ("legal_basis", "Legal basis", "Grondslag"),
    ("data_categories", "Personal data categories", "Categorieën persoonsgegevens"),
    ("dpa", "Processor agreement", "Verwerkersovereenkomst"),
    ("dpa_date", "Processor agreement date", "Datum verwerkersovereenkomst"),
    ("retention", "Retention", "Bewaartermijn"),
    ("data_location", "Data location", "Datalocatie"),
    ("dpia", "DPIA", "DPIA"),
]


def device_count(count: int, threshold: int) -> int | str:
    """A device count as it may be shown: below the threshold only as '<threshold'.

    Small numbers single out people (the one pupil who uses an app); zero stays zero.
    """
    return f"<{threshold}" if 0 < count < threshold else count


def mask_small_counts(records: list[dict[str, Any]], threshold: int) -> list[dict[str, Any]]:
    """The records with `devices` and per-segment counts masked, for any list or export."""
    masked = []
    for record in records:
        record = dict(record)
        if "devices" in record:
            record["devices"] = device_count(record["devices"], threshold)
        if isinstance(record.get("segments"), dict):
            record["segments"] = {name: device_count(count, threshold)
                                  for name, count in record["segments"].items()}
        masked.append(record)
    return masked


def export_rows(apps: Sequence[dict[str, Any]], threshold: int) -> list[dict[str, Any]]:
    rows = []
    for app in mask_small_counts(list(apps), threshold):
        eea = app["eea"]
        privacy = app.get("privacy") or {}
        convenant = privacy.get("privacyconvenant", "unknown")
        proposed = app.get("proposed_row")
        rows.append({
            **app,
            "eea": "unknown" if eea is None else ("yes" if eea else "no"),
            "privacyconvenant": {True: "yes", False: "no"}.get(convenant, str(convenant)),
            "central_dpia": str(privacy.get("central_dpia", "unknown")),
            "proposed": f"{proposed['row']} ({proposed['confidence']:g})" if proposed else "",
            "segments": ", ".join(f"{name}: {count}" for name, count
                                  in sorted(app.get("segments", {}).items())),
            "parent": _parent(app),
            "action": _action(app),
        })
    return rows


def _parent(app: dict[str, Any]) -> str:
    parent = app.get("parent") or ""
    return f"{parent} ({app.get('parent_country') or 'unknown'})" if parent else ""


def _action(app: dict[str, Any]) -> str:
    """What the FG should do; a non-EEA vendor or parent means a transfer to check."""
    if app["eea"] is False:
        return "add to the register; check the transfer outside the EEA"
    if known_outside_eea(app.get("parent_country") or ""):
        return "add to the register; check access by the parent company outside the EEA"
    return "add to the register or stop using"


def write_csv(path: Path, apps: Sequence[dict[str, Any]], threshold: int, delimiter: str = ";",
              language: str = "nl", by_site: bool = False) -> int:
    """Write the export with a UTF-8 BOM (Excel reads the encoding from it); rows written.

    With `by_site` each row is one app at one school, and the first column names the school.
    """
    columns = [SITE_COLUMN, *COLUMNS] if by_site else COLUMNS
    keys = [key for key, _, _ in columns]
    headers = [dutch if language == "nl" else english for _, english, dutch in columns]
    rows = export_rows(apps, threshold)
    text = as_csv(rows, keys, delimiter=delimiter, headers=headers)
    path.write_text(text, encoding="utf-8-sig", newline="")
    return len(rows)
