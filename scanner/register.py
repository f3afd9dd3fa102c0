"""Import a school's processing register (verwerkingsregister) and match its rows to apps.

Schools keep the register in Excel and hand it over in whatever way their Excel does: the
.xlsx workbook itself, or an export as `;` with cp1252 (Dutch "CSV (gescheiden door
lijstscheidingsteken)"), `,` or `;` UTF-8 with a BOM ("CSV UTF-8"), tab-separated text; with
title rows above the header, Dutch or English headers. This module reads all of those into
plain rows and proposes links from rows to signature apps. It has no database and no CLI:
`scanner.cli` calls it and the inventory stores the result.

Workbooks are recognised by content (a ZIP archive with an `xl/` workbook part), not by name.
The sheet read is the one whose header row has an application column; when several have one,
a sheet named like the Kennisnet processors tab ("Verwerkers", "G. Verwerkers", "Tab G") wins,
then the first in workbook order; `sheet=` forces one. Cell values are what Excel last
calculated (formulas as their saved result; a formula never calculated by Excel reads as
empty), dates as ISO `YYYY-MM-DD`, whole numbers without ".0", booleans as "ja"/"nee". A cell
merged over several rows is repeated on each of them (a vendor merged over its products);
merged across columns it is one cell, as Excel shows it. Row numbers are the sheet's.

Shared by both formats:
  - Section rows such as "Grote verwerkers" / "Overige verwerkers" (one filled cell, at or left
    of the application column, naming verwerkers/processors/leveranciers or "overige") are not
    rows; they are listed in `RegisterFile.skipped`.
  - Tick columns: when no column holds the data categories, unrecognised columns whose cells
    are only ticks ("x", "✓", "ja", TRUE, …) or explicit no's ("nee", "-") and that have at
    least one tick are data categories, if there are at least `MIN_TICK_COLUMNS` of them (one
    stray "ja" column is not a category grid). A row's `fields["data_categories"]` is then
    the headers it ticks, in column order, joined with "; ".

What is fatal (raises `RegisterError`, nothing is imported):
  - the file cannot be read or is empty; a .csv is binary (NUL or control bytes, an old .xls)
    or neither UTF-8 nor cp1252 text; an .xlsx is damaged or not a workbook;
  - no header row with an application column within the first `HEADER_SEARCH_ROWS` rows (of
    any sheet, or of the forced sheet, which must exist);
  - a `column_map` entry names an unknown field or a column the header does not have;
  - the CSV itself cannot be parsed (for example a cell over the csv module's size limit).

What is not fatal (reported in `RegisterFile.problems`, row left out of `RegisterFile.rows`):
  - a row with content but neither an application nor a vendor. `strict=True` raises on the
    first such row instead. Blank rows are skipped without a problem: there is nothing to lose.
Messages start with the file, and for a workbook the sheet: "r.xlsx: sheet 'Verwerkers': row 7: …".
"""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import io
import itertools
import re
import unicodedata
import warnings
import zipfile
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rapidfuzz import fuzz

from scanner.errors import RegisterError
from scanner.signatures.model import App, Kind

# Canonical field → accepted headers (Dutch and English), after reference/register.md §6.1.
# Headers are compared after `_header_key`, so case, accents, punctuation and text in
# parentheses do not matter. Deliberately absent: "VWO" (also a school type) and a bare "Naam"
# (often the name of the processing, not the app); `column_map` covers those registers.
FIELDS: dict[str, tuple[str, ...]] = {
    "application": (
        "Applicatie",
        "Application",
        "Systeem",
        "System",
        "Software",
        "Product",
        "Applicatie/systeem",
        "Naam applicatie",
        "Applicatienaam",
        "Toepassing",
        "Leermiddel",
        "Dienst",
        "App",
        "Service",
        "Application name",
    ),
    "vendor": (
        "Leverancier",
        "Verwerker",
        "Naam verwerker",
        "Aanbieder",
        "Partij",
        "Uitgever",
        "Vendor",
        "Supplier",
        "Processor",
        "Provider",
        "Publisher",
    ),
    "domains": ("Domeinen", "URL", "Website", "Webadres", "Domains", "Hostnames"),
    "processing": (
        "Verwerking",
        "Verwerkingsactiviteit",
        "Naam verwerking",
        "Proces",
        "Processing activity",
        "Processing",
        "Process",
    ),
    "purpose": (
        "Doel",
        "Doelen",
        "Doeleinden",
        "Verwerkingsdoel",
        "Verwerkingsdoeleinden",
        "Doel(en) van de verwerking",
        "Purpose",
        "Purposes",
    ),
    "legal_basis": ("Grondslag", "Rechtsgrond", "Legal basis", "Lawful basis"),
    "data_subjects": (
        "Betrokkenen",
        "Categorie betrokkenen",
        "Categorieën betrokkenen",
        "Data subjects",
        "Categories of data subjects",
    ),
    "data_categories": (
        "Persoonsgegevens",
        "Categorieën persoonsgegevens",
        "Categorie persoonsgegevens",
        "Gegevens",
        "Personal data",
        "Categories of personal data",
        "Data categories",
    ),
    "special_categories": ("Bijzondere persoonsgegevens", "Special category data"),
    "recipients": ("Ontvangers", "Verstrekt aan", "Recipients"),
    "vendor_role": ("Rol leverancier", "Rol", "Vendor role", "Role"),
    "dpa": (
        "Verwerkersovereenkomst",
        "VO afgesloten",
        "Bewerkersovereenkomst",
        "DPA",
        "Data processing agreement",
        "DPA status",
    ),
    "dpa_date": (
        "Datum verwerkersovereenkomst",
        "Datum VWO",
        "Getekend op",
        "DPA date",
        "Signed date",
    ),
    "dpa_expiry": ("Einddatum", "Vervaldatum", "Looptijd tot", "Expiry date", "End date"),
    "dpa_model": ("Model", "Versie model", "Modelovereenkomst", "DPA model"),
    "convenant": ("Privacyconvenant", "Convenant", "Covenant status"),
    "data_location": (
        "Datalocatie",
        "Opslaglocatie",
        "Land van opslag",
        "Data location",
        "Hosting location",
    ),
    "third_country_transfer": (
        "Doorgifte",
        "Doorgifte buiten EER",
        "Doorgifte buiten EU",
        "Derde land",
        "Third-country transfer",
    ),
    "transfer_safeguard": (
        "Waarborg",
        "Passende waarborgen",
        "Safeguards",
        "Transfer mechanism",
    ),
    "retention": ("Bewaartermijn", "Retention", "Retention period"),
    "security_measures": (
        "Beveiligingsmaatregelen",
        "TOM",
        "Technische en organisatorische maatregelen",
        "Security measures",
        "TOMs",
    ),
    "dpia": ("DPIA", "DPIA uitgevoerd", "DPIA status"),
    "owner": (
        "Eigenaar",
        "Proceseigenaar",
        "Contactpersoon",
        "Applicatiebeheerder",
        "Owner",
        "Contact",
    ),
    "controller": (
        "Verwerkingsverantwoordelijke",
        "Schoolbestuur",
        "Bevoegd gezag",
        "Controller",
    ),
    "dpo": ("FG", "Functionaris gegevensbescherming", "DPO"),
    "levels": ("Onderwijssoort", "Sector", "School/locatie", "Education level", "School"),
    "notes": ("Opmerkingen", "Opmerking", "Toelichting", "Notes", "Comments"),
}

DELIMITERS = (";", ",", "\t", "|")  # order breaks ties: `;` is what Dutch Excel writes
HEADER_SEARCH_ROWS = 50  # title rows above the header; Kennisnet sheets have a handful
MIN_TICK_COLUMNS = 2  # fewer tick columns than this are not a data-category grid
MAX_WORKBOOK_BYTES = 256 * 1024 * 1024  # unpacked; a register is kilobytes, a ZIP bomb is not
DEFAULT_THRESHOLD = 90.0
FUZZY_FLOOR = 70.0  # below this a fuzzy score is noise, not worth an FG's time
FUZZY_LIMIT = 3  # proposals per row
SUBSET_WEIGHT = 0.85  # "one name contains the other" is a hint, never enough to apply

_APPLICATION_HINT = "Applicatie, Application, Systeem, System, Software, Naam applicatie, …"


def _fold(text: str) -> str:
    """Case- and accent-insensitive form: 'Categorieën' and 'categorieen' compare equal."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()


def _header_key(header: str) -> str:
    """Header as compared with the alias table: no parentheses, punctuation or extra spaces."""
    text = re.sub(r"\([^)]*\)", " ", _fold(header))
    return " ".join(re.sub(r"[\W_]+", " ", text).split())


_ALIASES: dict[str, str] = {
    _header_key(alias): name for name, aliases in FIELDS.items() for alias in aliases
}


@dataclass(frozen=True)
class RegisterRow:
    """One usable register row, with its number as the school sees it in Excel."""

    row: int
    application: str
    vendor: str
    fields: dict[str, str] = field(hash=False)  # canonical field → stripped value
    raw: dict[str, str] = field(hash=False)  # original header → cell exactly as read


@dataclass(frozen=True)
class RegisterFile:
    """What `read_register` found: the rows plus how the file was read, for messages and storage."""

    path: Path
    rows: list[RegisterRow]
    columns: dict[str, str]  # original header → canonical field (recognised columns only)
    delimiter: str  # "" for a workbook
    encoding: str  # "utf-8-sig", "utf-8", "cp1252", "utf-16", or "xlsx" for a workbook
    header_row: int
    problems: list[str]  # rows left out, one message each (see the module docstring)
    sheet: str | None = None  # the worksheet read, for a workbook
    skipped: list[str] = field(default_factory=list)  # section rows, one message each
    tick_columns: list[str] = field(default_factory=list)  # headers read as data categories


@dataclass(frozen=True)
class RowMatch:
    """A link from a register row to an app; `applied=False` means "please confirm"."""

    row: int
    app_id: str
    confidence: float  # 0 to 100
    method: str  # "id" | "name" | "alias" | "vendor+product" | "vendor" | "fuzzy"
    applied: bool


# --- reading ---------------------------------------------------------------------------------


@dataclass
class _Table:
    """One grid of cells, whatever the file format, with its header already found."""

    where: str  # message prefix: "r.csv" or "r.xlsx: sheet 'Verwerkers'"
    header_row: int
    header_end: int  # last row of the header (a header cell merged over rows ends lower)
    header: list[str]
    records: Iterable[tuple[int, list[str]]]  # (row number, cells) of the whole grid
    delimiter: str = ""
    encoding: str = "xlsx"
    sheet: str | None = None


def read_register(
    path: Path,
    column_map: Mapping[str, str] | None = None,
    *,
    strict: bool = False,
    sheet: str | None = None,
) -> RegisterFile:
    """Read a register from an .xlsx workbook or a CSV export; the module docstring says how.

    `column_map` forces original header → canonical field where the headers are not recognised
    (headers compared case- and accent-insensitively). `strict` makes row problems fatal.
    `sheet` names the worksheet to read (exact name, else case-insensitive); workbooks only.
    """
    forced = _check_column_map(path, column_map or {})
    data = _read_bytes(path)
    if _is_workbook(path, data):
        table = _workbook_table(path, data, forced, sheet)
    else:
        if sheet is not None:
            raise RegisterError(f"{path}: --sheet {sheet!r}: only an .xlsx workbook has sheets")
        table = _csv_table(path, data, forced)
    return _read_table(path, table, column_map or {}, forced, strict)


def _read_table(
    path: Path,
    table: _Table,
    column_map: Mapping[str, str],
    forced: Mapping[str, str],
    strict: bool,
) -> RegisterFile:
    """Rows, problems, sections and tick columns of a grid whose header is known."""
    where = table.where
    in_header = {_fold_cell(cell) for cell in table.header}
    for original, name in column_map.items():
        if _fold_cell(original) not in in_header:
            raise RegisterError(
                f"{where}: --map {original}={name}: "
                f"the header (row {table.header_row}) has no column {original!r}"
            )
    names = _column_names(table.header)
    columns: dict[str, str] = {}
    for name, cell in zip(names, table.header, strict=True):
        found = _field_for(cell, forced)
        # a forced field is taken only from the forced column, not also from a detected one
        if found and (found not in forced.values() or _fold_cell(cell) in forced):
            columns[name] = found
    application_index = next(i for i, n in enumerate(names) if columns.get(n) == "application")
    body: list[tuple[int, list[str]]] = []
    skipped: list[str] = []
    for number, cells in table.records:
        if number <= table.header_end or not any(c.strip() for c in cells):
            continue
        if (heading := _section_heading(cells, application_index)) is not None:
            skipped.append(f"{where}: row {number}: section heading {heading!r} skipped")
            continue
        body.append((number, cells))
    ticks = _tick_columns(body, names, columns)
    rows: list[RegisterRow] = []
    problems: list[str] = []
    for number, cells in body:
        row = _make_row(number, cells, names, columns, ticks)
        if row.application or row.vendor:
            rows.append(row)
            continue
        problem = f"{where}: row {number}: {_empty_message(columns)}"
        if strict:
            raise RegisterError(problem)
        problems.append(problem)
    return RegisterFile(
        path,
        rows,
        columns,
        table.delimiter,
        table.encoding,
        table.header_row,
        problems,
        sheet=table.sheet,
        skipped=skipped,
        tick_columns=[names[i] for i in ticks],
    )


def _read_bytes(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise RegisterError(f"{path}: cannot read the file: {exc.strerror or exc}") from None


# --- CSV -------------------------------------------------------------------------------------


def _csv_table(path: Path, data: bytes, forced: Mapping[str, str]) -> _Table:
    text, encoding = _decode(path, data)
    if not text.strip():
        raise RegisterError(f"{path}: the file is empty")
    delimiter, header_row, header = _find_header(path, text, forced)
    records = _records(path, text, delimiter)
    return _Table(str(path), header_row, header_row, header, records, delimiter, encoding)


# Control characters never appear in a text export; they mean a binary file under a .csv name.
_BINARY = re.compile(r"[\x00-\x08\x0e-\x1f]")


def _decode(path: Path, data: bytes) -> tuple[str, str]:
    """Text and the encoding used: BOM first, then strict UTF-8, then cp1252 (old Excel)."""
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        candidates = ["utf-16"]  # Excel's "Unicode text"
    elif data.startswith(codecs.BOM_UTF8):
        candidates = ["utf-8-sig"]
    else:
        candidates = ["utf-8", "cp1252"]
    for encoding in candidates:
        try:
            text = data.decode(encoding)
        except UnicodeDecodeError:
            continue
        if _BINARY.search(text):
            break
        return text, encoding
    raise RegisterError(
        f"{path}: not a CSV text file (binary data or an unknown encoding); "
        "save the register from Excel as 'CSV UTF-8' and import that"
    )


def _fold_cell(header: str) -> str:
    """How `column_map` keys are compared with headers: case, accents and spacing ignored."""
    return " ".join(_fold(header).split())


def _check_column_map(path: Path, column_map: Mapping[str, str]) -> dict[str, str]:
    forced: dict[str, str] = {}
    for header, name in column_map.items():
        if name not in FIELDS:
            raise RegisterError(
                f"{path}: --map {header}={name}: unknown field; use one of: {', '.join(FIELDS)}"
            )
        forced[_fold_cell(header)] = name
    return forced


def _field_for(header: str, forced: Mapping[str, str]) -> str | None:
    """Canonical field for a header cell, or None for a column we keep only in `raw`."""
    if (name := forced.get(_fold_cell(header))) is not None:
        return name
    if (name := _ALIASES.get(_header_key(header))) is not None:
        return name
    # "Leverancier / verwerker": every part names the same field.
    parts = {_ALIASES.get(_header_key(part)) for part in header.split("/")}
    if len(parts) == 1 and None not in parts:
        return parts.pop()
    return None


def _records(path: Path, text: str, delimiter: str) -> Iterator[tuple[int, list[str]]]:
    """Parsed records numbered as Excel numbers rows (a quoted multi-line cell is one row)."""
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    number = 0
    try:
        for number, cells in enumerate(reader, 1):
            yield number, cells
    except csv.Error as exc:
        raise RegisterError(f"{path}: row {number + 1}: {exc}") from None


def _header_score(
    head: Iterable[tuple[int, list[str]]], forced: Mapping[str, str]
) -> tuple[int, int, list[str]] | None:
    """(recognised columns, row number, cells) of the first row with an application column."""
    for number, cells in head:
        found = [_field_for(cell, forced) for cell in cells]
        if "application" in found:
            return sum(f is not None for f in found), number, cells
    return None


def _find_header(path: Path, text: str, forced: Mapping[str, str]) -> tuple[str, int, list[str]]:
    """Delimiter, row number and cells of the header: the first row with an application column.

    Every delimiter is tried on the first rows; the one whose header row recognises the most
    columns wins (ties: the earlier header row, then `DELIMITERS` order). csv.Sniffer guesses
    from character counts and is easily fooled by commas inside Dutch `;` cells, so it is not
    used.
    """
    best: tuple[int, int, int, str, int, list[str]] | None = None
    for preference, delimiter in enumerate(DELIMITERS):
        try:
            head = list(itertools.islice(_records(path, text, delimiter), HEADER_SEARCH_ROWS))
        except RegisterError:
            continue
        if (found := _header_score(head, forced)) is not None:
            recognised, number, cells = found
            score = (recognised, -number, -preference)
            if best is None or score > best[:3]:
                best = (*score, delimiter, number, cells)
    if best is None:
        raise RegisterError(
            f"{path}: no column for the application name found (looked for: "
            f"{_APPLICATION_HINT}); use --map COLUMN=application"
        )
    return best[3], best[4], best[5]


# --- XLSX ------------------------------------------------------------------------------------

_OLE = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # old .xls, and every password-protected workbook
_WORKBOOK_SUFFIXES = (".xlsx", ".xlsm")
_SAVE_AGAIN = "open it in Excel and save it again as .xlsx, or export the register as 'CSV UTF-8'"


def _is_workbook(path: Path, data: bytes) -> bool:
    """True for an .xlsx by content; raise for a file that is a workbook we cannot read.

    The name is only used to explain a failure: a damaged or renamed file is judged by its
    bytes, so a workbook saved as "register.csv" is read, and "register.xlsx" holding CSV
    text is an error rather than a silent guess.
    """
    if data.startswith(b"PK\x03\x04"):
        try:
            with zipfile.ZipFile(io.BytesIO(data)) as archive:
                infos = archive.infolist()
        except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, EOFError):
            raise RegisterError(
                f"{path}: a damaged Excel workbook (the ZIP structure is broken or cut off); "
                + _SAVE_AGAIN
            ) from None
        names = {info.filename for info in infos}
        if "[Content_Types].xml" not in names or not any(n.startswith("xl/") for n in names):
            raise RegisterError(
                f"{path}: a ZIP archive, but not an Excel .xlsx workbook (an .ods or .docx?); "
                "save the register from Excel as .xlsx or 'CSV UTF-8' and import that"
            )
        if sum(info.file_size for info in infos) > MAX_WORKBOOK_BYTES:
            raise RegisterError(
                f"{path}: the workbook unpacks to more than {MAX_WORKBOOK_BYTES >> 20} MiB; "
                "export the register sheet as 'CSV UTF-8' and import that"
            )
        return True
    if data.startswith(_OLE):
        raise RegisterError(
            f"{path}: an old Excel .xls workbook or a password-protected one; "
            "save it from Excel as .xlsx (without a password) or 'CSV UTF-8' and import that"
        )
    if data and path.suffix.lower() in _WORKBOOK_SUFFIXES:
        raise RegisterError(
            f"{path}: not an Excel workbook despite its {path.suffix} name (no ZIP structure); "
            + _SAVE_AGAIN
        )
    if not data and path.suffix.lower() in _WORKBOOK_SUFFIXES:
        raise RegisterError(f"{path}: the file is empty")
    return False


def _open_workbook(path: Path, data: bytes) -> Any:
    """The workbook with calculated values; any parser failure is a damaged-file error."""
    try:
        import openpyxl  # imported here, so CSV imports work without it
    except ImportError:
        raise RegisterError(
            f"{path}: reading an .xlsx workbook needs openpyxl (pip install 'openpyxl>=3.1'); "
            "or export the register as 'CSV UTF-8'"
        ) from None
    try:
        with warnings.catch_warnings():
            # "Data Validation extension is not supported", "no default style": harmless here
            warnings.simplefilter("ignore")
            return openpyxl.load_workbook(io.BytesIO(data), data_only=True, keep_links=False)
    except Exception as exc:  # a third-party parser on untrusted input: any failure means damaged
        detail = exc.args[0] if exc.args and isinstance(exc.args[0], str) else type(exc).__name__
        raise RegisterError(
            f"{path}: a damaged Excel workbook ({detail}); " + _SAVE_AGAIN
        ) from None


_PROCESSOR_SHEET_WORDS = {"verwerkers", "processors"}
_PROCESSOR_SHEET_KEYS = {"g", "tab g"}


def is_processor_sheet(title: str) -> bool:
    """True for names of the Kennisnet processors tab: 'Verwerkers', 'G. Verwerkers', 'Tab G'."""
    key = _header_key(title)  # "Verwerkers (leveranciers)" → "verwerkers"
    return key in _PROCESSOR_SHEET_KEYS or not _PROCESSOR_SHEET_WORDS.isdisjoint(key.split())


def _workbook_table(
    path: Path, data: bytes, forced: Mapping[str, str], sheet: str | None
) -> _Table:
    """The sheet to read (see the module docstring) with its header row."""
    worksheets = list(_open_workbook(path, data).worksheets)
    titles = ", ".join(repr(ws.title) for ws in worksheets)
    if sheet is not None:
        chosen = [ws for ws in worksheets if ws.title == sheet] or [
            ws for ws in worksheets if _fold_cell(ws.title) == _fold_cell(sheet)
        ]
        if not chosen:
            raise RegisterError(
                f"{path}: --sheet {sheet!r}: no such sheet; the workbook has {titles}"
            )
        worksheets = chosen[:1]
    found = []
    for order, ws in enumerate(worksheets):
        grid = _SheetGrid(ws)
        if (score := _header_score(grid.rows(HEADER_SEARCH_ROWS), forced)) is not None:
            found.append((not is_processor_sheet(ws.title), order, grid, score))
    if not found:
        where = f"{path}: sheet {worksheets[0].title!r}" if sheet is not None else str(path)
        scope = "" if sheet is not None else f" in any sheet ({titles})"
        raise RegisterError(
            f"{where}: no column for the application name found{scope} (looked for: "
            f"{_APPLICATION_HINT}); use --map COLUMN=application"
        )
    # a processors tab first, then workbook order
    *_, grid, (_, header_row, header) = min(found, key=lambda item: item[:2])
    return _Table(
        f"{path}: sheet {grid.title!r}",
        header_row,
        grid.merged_end(header_row),
        header,
        grid.rows(),
        sheet=grid.title,
    )


class _SheetGrid:
    """A worksheet as rows of text cells, numbered as in Excel, merged cells resolved."""

    def __init__(self, ws: Any) -> None:
        self.ws = ws
        self.title: str = ws.title
        self.merged = list(ws.merged_cells.ranges)
        # value of the top-left cell, repeated down a range merged over several rows
        self.fill: dict[tuple[int, int], Any] = {}
        for rng in self.merged:
            if rng.max_row > rng.min_row:
                value = ws.cell(rng.min_row, rng.min_col).value
                for row in range(rng.min_row + 1, rng.max_row + 1):
                    self.fill[row, rng.min_col] = value

    def rows(self, limit: int | None = None) -> Iterator[tuple[int, list[str]]]:
        last = self.ws.max_row if limit is None else min(self.ws.max_row, limit)
        width = self.ws.max_column
        for number, values in enumerate(
            self.ws.iter_rows(min_row=1, max_row=last, max_col=width, values_only=True), 1
        ):
            cells = list(values)
            for column in range(1, width + 1):
                if (number, column) in self.fill:
                    cells[column - 1] = self.fill[number, column]
            yield number, [_cell_text(value) for value in cells]

    def merged_end(self, header_row: int) -> int:
        """Last row of the header: a header cell merged down covers sub-header rows."""
        return max(
            (r.max_row for r in self.merged if r.min_row <= header_row <= r.max_row),
            default=header_row,
        )


# OOXML writes control characters (and a literal "_x" + 4 hex + "_") as _xHHHH_; openpyxl
# returns them as stored, so a cell with a line break typed on a Mac reads "a_x000D_b".
_OOXML_ESCAPE = re.compile(r"_x([0-9A-Fa-f]{4})_")


def _cell_text(value: Any) -> str:
    """A cell value as the text a CSV export of it would show, dates as ISO."""
    if value is None:
        return ""
    if isinstance(value, str):
        return _OOXML_ESCAPE.sub(lambda m: chr(int(m.group(1), 16)), value)
    if isinstance(value, bool):
        return "ja" if value else "nee"  # the register's own vocabulary; a tick too
    if isinstance(value, dt.datetime):
        if value.time() == dt.time():
            return value.date().isoformat()
        return value.isoformat(sep=" ", timespec="minutes" if not value.second else "seconds")
    if isinstance(value, dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))  # 2023.0 → "2023": Excel has no integer type
    return str(value)


# --- grid to rows ----------------------------------------------------------------------------


def _column_letter(index: int) -> str:
    """Excel's name for a 0-based column index (0 → A, 26 → AA), for header-less columns."""
    letters = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        letters = chr(ord("A") + rest) + letters
    return letters


def _column_names(header: Sequence[str]) -> list[str]:
    """Unique header names, spacing collapsed (wrapped headers); an empty one is '(column F)'."""
    names: list[str] = []
    for index, cell in enumerate(header):
        name = " ".join(cell.split()) or f"(column {_column_letter(index)})"
        base, n = name, 1
        while name in names:
            n += 1
            name = f"{base} ({n})"
        names.append(name)
    return names


_SECTION = re.compile(r"\b(verwerkers?|processors?|leveranciers?|suppliers?|vendors?|overige)\b")


def _section_heading(cells: Sequence[str], application_index: int) -> str | None:
    """The text of a section row ("Grote verwerkers"), or None for an ordinary row."""
    filled = [(i, cell.strip()) for i, cell in enumerate(cells) if cell.strip()]
    if len(filled) != 1 or filled[0][0] > application_index:
        return None
    text = filled[0][1]
    return text if _SECTION.search(_header_key(text)) else None


_TICKS = frozenset({"x", "✓", "✔", "☑", "ja", "j", "yes", "y"})
_NOT_TICKED = frozenset({"nee", "n", "no", "-"})


def _is_tick(cell: str) -> bool:
    return _fold(cell.strip()) in _TICKS


def _tick_columns(
    body: Sequence[tuple[int, list[str]]], names: Sequence[str], columns: Mapping[str, str]
) -> list[int]:
    """Indexes of data-category tick columns; the rule is in the module docstring."""
    if "data_categories" in columns.values():
        return []
    found = []
    for index, name in enumerate(names):
        if name in columns or name.startswith("(column "):
            continue
        values = [
            _fold(cells[index].strip())
            for _, cells in body
            if index < len(cells) and cells[index].strip()
        ]
        if any(v in _TICKS for v in values) and all(v in _TICKS | _NOT_TICKED for v in values):
            found.append(index)
    return found if len(found) >= MIN_TICK_COLUMNS else []


def _make_row(
    number: int,
    cells: list[str],
    names: list[str],
    columns: Mapping[str, str],
    ticks: Sequence[int] = (),
) -> RegisterRow:
    raw = {name: (cells[i] if i < len(cells) else "") for i, name in enumerate(names)}
    for i in range(len(names), len(cells)):  # cells beyond the header: keep what has content
        if cells[i].strip():
            raw[f"(column {_column_letter(i)})"] = cells[i]
    fields: dict[str, str] = {}
    for name, canonical in columns.items():  # first non-empty column wins for a field
        value = raw[name].strip()
        if not fields.get(canonical):
            fields[canonical] = value
    if ticks:
        ticked = [names[i] for i in ticks if i < len(cells) and _is_tick(cells[i])]
        fields["data_categories"] = "; ".join(ticked)
    return RegisterRow(number, fields.get("application", ""), fields.get("vendor", ""), fields, raw)


def _empty_message(columns: Mapping[str, str]) -> str:
    application = next(h for h, f in columns.items() if f == "application")
    vendor = next((h for h, f in columns.items() if f == "vendor"), None)
    if vendor is None:
        return f"column {application!r} is empty"
    return f"columns {application!r} and {vendor!r} are both empty"


# --- matching --------------------------------------------------------------------------------

_LEGAL_FORMS = {"bv", "nv", "vof", "inc", "ltd", "llc", "plc", "gmbh", "ag", "sa", "asa", "ab"}
_NAME_NOISE = frozenset({"app", "apps", "corp", *_LEGAL_FORMS})
_REGIONS = {"nederland", "netherlands", "ireland", "europe", "emea", "international"}
_VENDOR_NOISE = _NAME_NOISE | _REGIONS | {"limited", "corporation", "co", "operations"}
_VENDOR_NOISE |= {"uitgeverij", "stichting", "holding", "group", "groep"}
_SPLIT = re.compile(r"[,/()+;|\n]")  # "Google Workspace (Classroom, Drive)", "Teams + Zoom"
_VERSION = re.compile(r"v?\d+")


def _words(text: str, noise: frozenset[str]) -> str:
    text = re.sub(r"(?<=\w)[.'\u2019](?=\w)", "", _fold(text))  # B.V. → bv, Kahoot's → kahoots
    return " ".join(w for w in re.sub(r"[\W_]+", " ", text).split() if w not in noise)


def normalise_name(text: str) -> str:
    """'Kahoot! app' → 'kahoot': case, accents, punctuation and legal-form words removed.

    Numbers stay ('Office 365' ≠ 'Office'); `match_rows` drops them from the row side only.
    """
    return _words(text, _NAME_NOISE)


def normalise_vendor(text: str) -> str:
    """'Google Ireland Ltd' → 'google': legal forms and region words removed."""
    return _words(text, _VENDOR_NOISE)


def _without_versions(key: str) -> str:
    return " ".join(w for w in key.split() if not _VERSION.fullmatch(w))


@dataclass(frozen=True)
class _Hit:
    app_id: str
    confidence: float
    method: str
    may_apply: bool = True


class _Index:
    """Lookup tables over the candidate apps, built once per `match_rows` call."""

    def __init__(self, apps: Sequence[App]) -> None:
        self.ids: dict[str, App] = {}
        self.names: dict[str, list[str]] = {}
        self.aliases: dict[str, list[str]] = {}
        self.vendors: dict[str, list[str]] = {}
        self.choices: list[tuple[str, str]] = []  # (key, app id) for fuzzy matching
        for app in apps:
            if app.kind is not Kind.APP or app.id in self.ids:
                continue
            self.ids[app.id] = app
            _add(self.names, normalise_name(app.name), app.id)
            for alias in app.aliases:
                _add(self.aliases, normalise_name(alias), app.id)
            vendor = normalise_vendor(app.vendor)
            if vendor and vendor != "unknown":
                _add(self.vendors, vendor, app.id)
            keys = dict.fromkeys(normalise_name(n) for n in (app.name, *app.aliases))
            self.choices += [(key, app.id) for key in keys if key]


def _add(table: dict[str, list[str]], key: str, app_id: str) -> None:
    if key and app_id not in table.setdefault(key, []):
        table[key].append(app_id)


def _hits(ids: Sequence[str], confidence: float, method: str) -> list[_Hit]:
    """One hit per app; a key shared by several apps is ambiguous, so only a proposal."""
    if len(ids) > 1:
        confidence = min(confidence, 80.0)
    return [_Hit(app_id, confidence, method) for app_id in ids]


def _exact(text: str, vendor: str, index: _Index) -> list[_Hit]:
    """Exact tiers, first that hits wins: id → name → alias → vendor plus product."""
    if (slug := text.strip()) in index.ids:  # exact, so 'Zoom' is a name and 'zoom' an id
        return [_Hit(slug, 100.0, "id")]
    key = normalise_name(text)
    if not key:
        return []
    bare = _without_versions(key)  # "Magister 6" → "magister", only on the row side
    for candidate, confidence in ((key, 100.0), (bare, 95.0)):
        for table, method in ((index.names, "name"), (index.aliases, "alias")):
            if candidate and (ids := table.get(candidate)):
                return _hits(ids, confidence, method)
    if vendor and (own := index.vendors.get(vendor)):
        # "Teams" by "Microsoft" → "microsoft teams"; "Iddink Magister" by "Iddink" → "magister"
        for candidate in (f"{vendor} {key}", key.removeprefix(f"{vendor} ")):
            found = [*index.names.get(candidate, []), *index.aliases.get(candidate, [])]
            if ids := [app_id for app_id in dict.fromkeys(found) if app_id in own]:
                return _hits(ids, 95.0, "vendor+product")
    return []


def _fuzzy(queries: Sequence[str], index: _Index) -> list[_Hit]:
    """Best fuzzy proposals for any of the query strings.

    The confidence is `token_sort_ratio`: it is high only for near-identical names (typos,
    word order), which are safe to apply. `token_set_ratio` and `WRatio` score 90 to 100 when
    one name merely contains the other ('Google' vs 'Google Workspace for Education',
    'Microsoft' vs 'Microsoft 365'), which would apply wrong links silently; containment is
    therefore counted at `SUBSET_WEIGHT`, which keeps it a proposal at the default threshold.
    """
    best: dict[str, float] = {}
    for query in queries:
        if len(query) < 3:
            continue
        for key, app_id in index.choices:
            score = max(
                fuzz.token_sort_ratio(query, key), SUBSET_WEIGHT * fuzz.token_set_ratio(query, key)
            )
            if score >= FUZZY_FLOOR and score > best.get(app_id, 0.0):
                best[app_id] = score
    ranked = sorted(best.items(), key=lambda item: (-item[1], item[0]))[:FUZZY_LIMIT]
    return [_Hit(app_id, round(score, 1), "fuzzy") for app_id, score in ranked]


def _vendor_hits(vendor: str, index: _Index, *, named: bool) -> list[_Hit]:
    """Vendor-only: applied only when the row names no application and the vendor has one app."""
    ids = index.vendors.get(vendor, [])
    if len(ids) == 1 and not named:
        return [_Hit(ids[0], 90.0, "vendor")]
    return [_Hit(app_id, 50.0, "vendor", may_apply=False) for app_id in ids]


def _match_row(row: RegisterRow, index: _Index) -> list[_Hit]:
    vendor = normalise_vendor(row.vendor)
    if not row.application:
        return _vendor_hits(vendor, index, named=False) if vendor else []
    hits = _exact(row.application, vendor, index)
    parts = [p for p in (p.strip() for p in _SPLIT.split(row.application)) if p]
    if not hits and len(parts) > 1:  # a suite: match each named part
        hits = [hit for part in parts for hit in _exact(part, vendor, index)]
    if not hits:
        keys = [normalise_name(text) for text in (row.application, *parts)]
        hits = _fuzzy(list(dict.fromkeys([*keys, *map(_without_versions, keys)])), index)
    if not hits and vendor:
        hits = _vendor_hits(vendor, index, named=True)
    return hits


def match_rows(
    rows: Sequence[RegisterRow], apps: Sequence[App], *, threshold: float = DEFAULT_THRESHOLD
) -> list[RowMatch]:
    """Link register rows to apps (kind APP only), best first per row.

    A link is applied when its confidence is at least `threshold`; the rest are proposals for
    the FG to confirm. A row may link to several apps (a suite) and an app to several rows.
    """
    if not 0 < threshold <= 100:
        raise ValueError(f"threshold must be in (0, 100], not {threshold}")
    index = _Index(apps)
    matches: list[RowMatch] = []
    for row in rows:
        best: dict[str, _Hit] = {}
        for hit in _match_row(row, index):
            if hit.app_id not in best or hit.confidence > best[hit.app_id].confidence:
                best[hit.app_id] = hit
        for hit in sorted(best.values(), key=lambda h: (-h.confidence, h.app_id)):
            applied = hit.may_apply and hit.confidence >= threshold
            matches.append(RowMatch(row.row, hit.app_id, hit.confidence, hit.method, applied))
    return matches
