"""The register-shaped CSV: one row per app that needs the FG's action, ready for Excel.

Fields appradar knows are filled; the columns only the school can fill stay empty, in the
order of a Dutch processing register, so rows can be pasted into it.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from scanner.reports.render import as_csv

SMALL_COUNT = 5  # device counts below this are shown as "<5": small numbers identify people

COLUMNS: list[tuple[str, str, str]] = [  # key, English header, Dutch header
    ("name", "Application", "Applicatie"),
    ("vendor", "Vendor", "Leverancier"),
    ("vendor_country", "Vendor country", "Land leverancier"),
    ("eea", "Vendor in EEA", "Leverancier in EER"),
    ("category", "Category", "Categorie"),
    ("app", "appradar id", "appradar-id"),
    ("domains", "Domains seen", "Domeinen gezien"),
    ("first_seen", "First seen", "Eerst gezien"),
    ("last_seen", "Last seen", "Laatst gezien"),
    ("devices", "Devices", "Apparaten"),
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


def device_count(count: int) -> str:
    return f"<{SMALL_COUNT}" if count < SMALL_COUNT else str(count)


def export_rows(apps: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    rows = []
    for app in apps:
        eea = app["eea"]
        rows.append({
            **app,
            "eea": "unknown" if eea is None else ("yes" if eea else "no"),
            "devices": device_count(app["devices"]),
            "action": "add to the register or stop using"
            if app["eea"] is not False
            else "add to the register; check the transfer outside the EEA",
        })
    return rows


def write_csv(path: Path, apps: Sequence[dict[str, Any]], delimiter: str = ";",
              language: str = "nl") -> int:
    """Write the export with a UTF-8 BOM (Excel reads the encoding from it); rows written."""
    keys = [key for key, _, _ in COLUMNS]
    headers = [dutch if language == "nl" else english for _, english, dutch in COLUMNS]
    rows = export_rows(apps)
    text = as_csv(rows, keys, delimiter=delimiter, headers=headers)
    path.write_text(text, encoding="utf-8-sig", newline="")
    return len(rows)
