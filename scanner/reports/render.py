"""Render a list of records as a table, JSON or CSV — the three shapes every list command has."""

from __future__ import annotations

import csv
import io
import json
import shutil
from collections.abc import Sequence
from typing import Any

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: Any) -> str:
    """Text a spreadsheet shows as text: a leading = + - @ would start a formula (CSV injection)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list | tuple):
        value = " ".join(str(item) for item in value)
    text = str(value)
    if text.startswith(FORMULA_STARTS):
        return "'" + text
    return text


def as_json(records: Sequence[dict[str, Any]]) -> str:
    return json.dumps(list(records), indent=2, ensure_ascii=False)


def as_csv(records: Sequence[dict[str, Any]], columns: Sequence[str], delimiter: str = ",",
           headers: Sequence[str] | None = None) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=delimiter, lineterminator="\r\n")
    writer.writerow(headers or columns)
    for record in records:
        writer.writerow([safe_cell(record.get(column)) for column in columns])
    return buffer.getvalue()


def as_table(records: Sequence[dict[str, Any]], columns: Sequence[str]) -> str:
    """A plain aligned table that fits the terminal; long cells are shortened with …."""
    if not records:
        return "(none)"
    width = shutil.get_terminal_size((120, 24)).columns
    cells = [[_short(safe_cell(record.get(column)), 40) for column in columns]
             for record in records]
    widths = [max(len(column), *(len(row[i]) for row in cells)) for i, column in enumerate(columns)]
    lines = ["  ".join(column.ljust(widths[i]) for i, column in enumerate(columns)).rstrip()]
    lines.append("  ".join("-" * w for w in widths))
    lines += ["  ".join(row[i].ljust(widths[i]) for i in range(len(columns))).rstrip()
              for row in cells]
    return "\n".join(line[:width] if len(line) > width else line for line in lines)


def _short(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def render(records: Sequence[dict[str, Any]], columns: Sequence[str], output: str) -> str:
    if output == "json":
        return as_json(records)
    if output == "csv":
        return as_csv(records, columns)
    return as_table(records, columns)
