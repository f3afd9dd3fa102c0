"""Import a school's processing register (verwerkingsregister) from CSV and match its rows to apps.

Schools keep the register in Excel and export it in whatever way their Excel does: `;` with
cp1252 (Dutch "CSV (gescheiden door lijstscheidingsteken)"), `,` or `;` UTF-8 with a BOM
("CSV UTF-8"), tab-separated text, title rows above the header, Dutch or English headers. This
module reads all of those into plain rows and proposes links from rows to signature apps. It
has no database and no CLI: `scanner.cli` calls it and the inventory stores the result.

What is fatal (raises `RegisterError`, nothing is imported):
  - the file cannot be read, is empty, is binary (an .xlsx or .xls saved under a .csv name,
    NUL or control bytes) or is neither UTF-8 nor cp1252 text;
  - no header row with an application column within the first `HEADER_SEARCH_ROWS` rows;
  - a `column_map` entry names an unknown field or a column the header does not have;
  - the CSV itself cannot be parsed (for example a cell over the csv module's size limit).

What is not fatal (reported in `RegisterFile.problems`, row left out of `RegisterFile.rows`):
  - a row with content but neither an application nor a vendor. `strict=True` raises on the
    first such row instead. Blank rows are skipped without a problem: there is nothing to lose.
"""

from __future__ import annotations

import codecs
import csv
import io
import itertools
import re
import unicodedata
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

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
    delimiter: str
    encoding: str  # "utf-8-sig", "utf-8", "cp1252" or "utf-16"
    header_row: int
    problems: list[str]  # rows left out, one message each (see the module docstring)


@dataclass(frozen=True)
class RowMatch:
    """A link from a register row to an app; `applied=False` means "please confirm"."""

    row: int
    app_id: str
    confidence: float  # 0 to 100
    method: str  # "id" | "name" | "alias" | "vendor+product" | "vendor" | "fuzzy"
    applied: bool


# --- reading ---------------------------------------------------------------------------------


def read_register(
    path: Path, column_map: Mapping[str, str] | None = None, *, strict: bool = False
) -> RegisterFile:
    """Read a register exported from Excel as CSV; see the module docstring for what is fatal.

    `column_map` forces original header → canonical field where the headers are not recognised
    (headers compared case- and accent-insensitively). `strict` makes row problems fatal.
    """
    forced = _check_column_map(path, column_map or {})
    text, encoding = _decode(path, _read_bytes(path))
    if not text.strip():
        raise RegisterError(f"{path}: the file is empty")
    delimiter, header_row, header = _find_header(path, text, forced)
    in_header = {_fold_cell(cell) for cell in header}
    for original, name in (column_map or {}).items():
        if _fold_cell(original) not in in_header:
            raise RegisterError(
                f"{path}: --map {original}={name}: "
                f"the header (row {header_row}) has no column {original!r}"
            )
    names = _column_names(header)
    columns: dict[str, str] = {}
    for name, cell in zip(names, header, strict=True):
        found = _field_for(cell, forced)
        # a forced field is taken only from the forced column, not also from a detected one
        if found and (found not in forced.values() or _fold_cell(cell) in forced):
            columns[name] = found
    rows: list[RegisterRow] = []
    problems: list[str] = []
    for number, cells in _records(path, text, delimiter):
        if number <= header_row or not any(c.strip() for c in cells):
            continue
        row = _make_row(number, cells, names, columns)
        if row.application or row.vendor:
            rows.append(row)
            continue
        problem = f"{path}: row {number}: {_empty_message(columns)}"
        if strict:
            raise RegisterError(problem)
        problems.append(problem)
    return RegisterFile(path, rows, columns, delimiter, encoding, header_row, problems)


def _read_bytes(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise RegisterError(f"{path}: cannot read the file: {exc.strerror or exc}") from None


# Control characters never appear in a text export; they mean a binary file under a .csv name.
_BINARY = re.compile(r"[\x00-\x08\x0e-\x1f]")


def _decode(path: Path, data: bytes) -> tuple[str, str]:
    """Text and the encoding used: BOM first, then strict UTF-8, then cp1252 (old Excel)."""
    if data.startswith(b"PK\x03\x04") or data.startswith(b"\xd0\xcf\x11\xe0"):
        raise RegisterError(
            f"{path}: not a CSV text file (it looks like an Excel workbook); "
            "save the register from Excel as 'CSV UTF-8' and import that"
        )
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
        for number, cells in head:
            found = [_field_for(cell, forced) for cell in cells]
            if "application" in found:
                score = (sum(f is not None for f in found), -number, -preference)
                if best is None or score > best[:3]:
                    best = (*score, delimiter, number, cells)
                break
    if best is None:
        raise RegisterError(
            f"{path}: no column for the application name found (looked for: "
            f"{_APPLICATION_HINT}); use --map COLUMN=application"
        )
    return best[3], best[4], best[5]


def _column_letter(index: int) -> str:
    """Excel's name for a 0-based column index (0 → A, 26 → AA), for header-less columns."""
    letters = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        letters = chr(ord("A") + rest) + letters
    return letters


def _column_names(header: Sequence[str]) -> list[str]:
    """Unique, stripped header names; an empty header becomes '(column F)'."""
    names: list[str] = []
    for index, cell in enumerate(header):
        name = cell.strip() or f"(column {_column_letter(index)})"
        base, n = name, 1
        while name in names:
            n += 1
            name = f"{base} ({n})"
        names.append(name)
    return names


def _make_row(
    number: int, cells: list[str], names: list[str], columns: Mapping[str, str]
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
