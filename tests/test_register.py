"""Register import and row-to-app matching, on small real-shaped exports in tests/data/register."""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
import zipfile
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from scanner.errors import RegisterError
from scanner.register import (
    DELIMITERS,
    RegisterRow,
    RowMatch,
    is_processor_sheet,
    match_rows,
    normalise_name,
    normalise_vendor,
    read_register,
)
from scanner.signatures.model import App, Kind

DATA = Path(__file__).parent / "data" / "register"


@pytest.fixture
def in_data(monkeypatch: pytest.MonkeyPatch) -> None:
    """Run in the sample directory, so messages name files as a user would type them."""
    monkeypatch.chdir(DATA)


@pytest.fixture
def in_tmp(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    monkeypatch.chdir(tmp_path)
    return tmp_path


# --- reading ---------------------------------------------------------------------------------


def test_dutch_semicolon_bom(in_data: None) -> None:
    register = read_register(Path("nl_puntkomma_bom.csv"))
    assert (register.delimiter, register.encoding, register.header_row) == (";", "utf-8-sig", 1)
    assert register.columns == {
        "Applicatie": "application",
        "Leverancier": "vendor",
        "Doel(en) van de verwerking": "purpose",
        "Grondslag": "legal_basis",
        "Categorieën persoonsgegevens": "data_categories",
        "Verwerkersovereenkomst": "dpa",
        "Datum verwerkersovereenkomst": "dpa_date",
        "Bewaartermijn": "retention",
        "Datalocatie": "data_location",
        "DPIA": "dpia",
        "Eigenaar": "owner",
        "Opmerkingen": "notes",
    }
    assert register.problems == []
    # The quoted notes of row 3 span three lines of the file; the blank row 4 is skipped.
    assert [(r.row, r.application, r.vendor) for r in register.rows] == [
        (2, "Magister", "Iddink B.V."),
        (3, "Microsoft 365 (Teams, OneDrive)", "Microsoft Ireland Operations Ltd"),
        (5, "", "Zoom Video Communications, Inc."),
        (6, "Kahoot!", "Kahoot! ASA"),
    ]
    magister = register.rows[0]
    assert magister.fields == {
        "application": "Magister",
        "vendor": "Iddink B.V.",
        "purpose": "Leerlingadministratie, cijfers en absentie",
        "legal_basis": "Wettelijke verplichting (WVO)",
        "data_categories": "NAW, BSN/PGN, cijfers",
        "dpa": "Ja",
        "dpa_date": "01-08-2023",
        "retention": "5 jaar na uitschrijving",
        "data_location": "Nederland",
        "dpia": "Uitgevoerd",
        "owner": "Teamleider onderbouw",
        "notes": "Model 4.0",
    }
    assert magister.raw["Doel(en) van de verwerking"] == magister.fields["purpose"]
    assert register.rows[1].fields["notes"] == (
        "Instellingen volgens SIVON-advies:\r\n- telemetrie op 'vereist'\r\n"
        "- geen Copilot voor leerlingen"
    )
    assert register.rows[1].fields["owner"] == "ICT-coördinator"


def test_english_comma(in_data: None) -> None:
    register = read_register(Path("en_comma.csv"))
    assert (register.delimiter, register.encoding, register.header_row) == (",", "utf-8", 1)
    assert "Internal ref" not in register.columns  # unknown column: kept in raw only
    google, zoom = register.rows
    assert (google.row, google.application, google.vendor) == (
        2,
        "Google Workspace for Education",
        "Google Ireland Ltd",
    )
    assert google.fields["purpose"] == "Classroom, Drive and Gmail for pupils"
    assert google.fields["legal_basis"] == "Public task"
    assert google.fields["dpa"] == "Yes"
    assert google.fields["notes"] == 'Central SIVON agreement, see the "Google" folder'
    assert google.raw["Internal ref"] == "GW-01"
    assert (zoom.row, zoom.application, zoom.fields["dpa_date"]) == (3, "Zoom", "")


def test_cp1252_fallback(in_data: None) -> None:
    register = read_register(Path("cp1252.csv"))
    assert (register.delimiter, register.encoding) == (";", "cp1252")
    assert register.columns["Categorieën persoonsgegevens"] == "data_categories"
    rekentuin, gynzy = register.rows
    assert (rekentuin.application, rekentuin.vendor) == ("Rekentuin", "Oefenweb B.V.")
    assert rekentuin.fields["retention"] == "Eén jaar na vertrek"
    assert rekentuin.fields["notes"] == "Kosten € 2,50 per leerling"
    assert gynzy.fields["notes"] == "Privacybijsluiter op café-site gelezen"


def test_title_rows_above_header(in_data: None) -> None:
    register = read_register(Path("titelrijen.csv"))
    assert register.header_row == 3
    assert register.columns == {
        "Naam applicatie": "application",
        "Naam verwerker": "vendor",
        "Doel": "purpose",
        "DPIA": "dpia",
    }
    assert [(r.row, r.application, r.vendor) for r in register.rows] == [
        (4, "Somtoday", "Topicus Onderwijs B.V."),
        (5, "Parro", "Topicus Onderwijs B.V."),
    ]


def test_tab_separated_with_vendor_only_row(in_data: None) -> None:
    register = read_register(Path("tab.tsv"))
    assert register.delimiter == "\t"
    assert [(r.row, r.application, r.vendor) for r in register.rows] == [
        (2, "Kahoot!", "Kahoot! ASA"),
        (3, "", "Microsoft"),
    ]
    assert register.rows[0].fields == {
        "application": "Kahoot!",
        "vendor": "Kahoot! ASA",
        "purpose": "Quizzes in class",
        "dpia": "Not required",
        "retention": "1 year",
    }


def test_empty_required_cell_is_a_problem_not_a_silent_drop(in_data: None) -> None:
    register = read_register(Path("leeg_verplicht.csv"))
    assert [r.row for r in register.rows] == [2, 3, 4, 5, 6, 8]
    assert register.problems == [
        "leeg_verplicht.csv: row 7: column 'Applicatie' is empty",
        "leeg_verplicht.csv: row 9: column 'Applicatie' is empty",
    ]


def test_empty_required_cell_strict(in_data: None) -> None:
    with pytest.raises(RegisterError) as error:
        read_register(Path("leeg_verplicht.csv"), strict=True)
    assert str(error.value) == "leeg_verplicht.csv: row 7: column 'Applicatie' is empty"


def test_empty_application_and_vendor_names_both_columns(in_tmp: Path) -> None:
    Path("r.csv").write_text("Applicatie;Leverancier;Doel\nMagister;Iddink;Cijfers\n;;Toetsen\n")
    assert read_register(Path("r.csv")).problems == [
        "r.csv: row 3: columns 'Applicatie' and 'Leverancier' are both empty"
    ]


def test_damaged_workbook_under_a_csv_name(in_data: None) -> None:
    # A ZIP with the parts of an .xlsx is judged by content: a workbook, here a broken one.
    with pytest.raises(RegisterError) as error:
        read_register(Path("werkmap_als_csv.csv"))
    assert str(error.value) == (
        "werkmap_als_csv.csv: a damaged Excel workbook (File contains no valid workbook part); "
        "open it in Excel and save it again as .xlsx, or export the register as 'CSV UTF-8'"
    )


@pytest.mark.parametrize(
    "data",
    [
        b"Applicatie;Leverancier\n\x00\x01\x02\x03binary\x00",  # NUL and control bytes
        b"Applicatie;Leverancier\nMagister\x81\x8d\x8f;x\n",  # neither UTF-8 nor cp1252
        b"\xef\xbb\xbfApplicatie\n\xff\xfe\n",  # a UTF-8 BOM, then invalid UTF-8
    ],
)
def test_binary_or_undecodable(in_tmp: Path, data: bytes) -> None:
    Path("r.csv").write_bytes(data)
    with pytest.raises(RegisterError) as error:
        read_register(Path("r.csv"))
    assert str(error.value) == (
        "r.csv: not a CSV text file (binary data or an unknown encoding); "
        "save the register from Excel as 'CSV UTF-8' and import that"
    )


def test_utf16_unicode_text_export(in_tmp: Path) -> None:
    Path("r.txt").write_bytes("Applicatie\tLeverancier\nWRTS\tNoordhoff\n".encode("utf-16"))
    register = read_register(Path("r.txt"))
    assert (register.encoding, register.delimiter) == ("utf-16", "\t")
    assert [(r.application, r.vendor) for r in register.rows] == [("WRTS", "Noordhoff")]


def test_no_application_column(in_tmp: Path) -> None:
    Path("r.csv").write_text("Naam;Leverancier;Doel\nMagister;Iddink;Cijfers\n")
    with pytest.raises(RegisterError) as error:
        read_register(Path("r.csv"))
    assert str(error.value) == (
        "r.csv: no column for the application name found (looked for: Applicatie, "
        "Application, Systeem, System, Software, Naam applicatie, …); use --map COLUMN=application"
    )


def test_column_map_forces_a_field(in_tmp: Path) -> None:
    Path("r.csv").write_text("Naam;Product;Leverancier\nMagister;LVS;Iddink\n")
    register = read_register(Path("r.csv"), column_map={"naam": "application"})
    assert register.columns == {"Naam": "application", "Leverancier": "vendor"}
    assert register.rows[0].application == "Magister"
    assert register.rows[0].raw == {"Naam": "Magister", "Product": "LVS", "Leverancier": "Iddink"}


def test_column_map_errors(in_tmp: Path) -> None:
    Path("r.csv").write_text("Naam;Leverancier\nMagister;Iddink\n")
    with pytest.raises(RegisterError) as error:
        read_register(Path("r.csv"), column_map={"Naam": "app"})
    assert str(error.value).startswith("r.csv: --map Naam=app: unknown field; use one of: ")
    with pytest.raises(RegisterError) as error:
        read_register(Path("r.csv"), column_map={"Leverancier": "vendor", "Nam": "application"})
    # 'Nam' is no header, so no header row with an application column can be found at all
    assert "no column for the application name found" in str(error.value)
    Path("r.csv").write_text("Applicatie;Leverancier\nMagister;Iddink\n")
    with pytest.raises(RegisterError) as error:
        read_register(Path("r.csv"), column_map={"Verwerker": "vendor"})
    assert str(error.value) == (
        "r.csv: --map Verwerker=vendor: the header (row 1) has no column 'Verwerker'"
    )


def test_headers_case_accent_and_slash_insensitive(in_tmp: Path) -> None:
    Path("r.csv").write_text(
        "APPLICATIE/SYSTEEM|Leverancier / verwerker|Categorieen persoonsgegevens|Notes\n"
        "Magister|Iddink|NAW|\n"
    )
    register = read_register(Path("r.csv"))
    assert register.delimiter == "|"
    assert list(register.columns.values()) == ["application", "vendor", "data_categories", "notes"]


def test_unnamed_extra_and_duplicate_columns_kept_in_raw(in_tmp: Path) -> None:
    Path("r.csv").write_text("Applicatie;Doel;;Doel\nZoom;Ouderavond;los;Vergaderen;extra\n")
    row = read_register(Path("r.csv")).rows[0]
    assert row.raw == {
        "Applicatie": "Zoom",
        "Doel": "Ouderavond",
        "(column C)": "los",
        "Doel (2)": "Vergaderen",
        "(column E)": "extra",
    }
    assert row.fields == {"application": "Zoom", "purpose": "Ouderavond"}  # first non-empty


@pytest.mark.parametrize(
    ("content", "message"),
    [(b"", "r.csv: the file is empty"), (b"\r\n \r\n", "r.csv: the file is empty")],
)
def test_empty_file(in_tmp: Path, content: bytes, message: str) -> None:
    Path("r.csv").write_bytes(content)
    with pytest.raises(RegisterError) as error:
        read_register(Path("r.csv"))
    assert str(error.value) == message


def test_missing_file(in_tmp: Path) -> None:
    with pytest.raises(RegisterError) as error:
        read_register(Path("weg.csv"))
    assert str(error.value) == "weg.csv: cannot read the file: No such file or directory"


# Control characters other than line breaks and tabs mean "binary" to the reader, by design.
TEXT_CHARS = st.characters(
    blacklist_categories=("Cs",),
    blacklist_characters=[chr(c) for c in range(0x20) if chr(c) not in "\t\n\r\x0b\x0c"],
)


@settings(
    max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    delimiter=st.sampled_from([",", ";", "\t", "|"]),
    values=st.lists(
        st.tuples(st.text(TEXT_CHARS).filter(str.strip), st.text(TEXT_CHARS)),
        min_size=1,
        max_size=5,
    ),
)
def test_roundtrip_any_delimiter(
    tmp_path: Path, delimiter: str, values: list[tuple[str, str]]
) -> None:
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=delimiter)
    writer.writerow(["Applicatie", "Leverancier"])
    writer.writerows(values)
    path = tmp_path / "r.csv"
    path.write_bytes(buffer.getvalue().encode("utf-8"))
    register = read_register(path)
    assert register.delimiter == delimiter
    # A row whose only cell reads like a section title ("Overige verwerkers") is skipped as a
    # heading, and said so; every other row comes back as written.
    headings = [f"{path}: row {number}: section heading {application.strip()!r} skipped"
                for number, (application, vendor) in enumerate(values, 2)
                if not vendor.strip() and _is_section_title(application)]
    assert register.skipped == headings
    assert [(r.application, r.vendor) for r in register.rows] == [
        (application.strip(), vendor.strip()) for application, vendor in values
        if vendor.strip() or not _is_section_title(application)
    ]


def _is_section_title(text: str) -> bool:
    from scanner.register import _SECTION, _header_key

    return bool(_SECTION.search(_header_key(text.strip())))


# --- workbooks (.xlsx) -----------------------------------------------------------------------

_OOXML_UNSAFE = re.compile(r"[\x00-\x08\x0b-\x1f\ufffe\uffff]")


def excel_text(text: str) -> str:
    """Text as Excel stores it in a cell: a literal "_xHHHH_" and control characters escaped."""
    text = re.sub(r"_(?=x[0-9A-Fa-f]{4}_)", "_x005F_", text)
    return _OOXML_UNSAFE.sub(lambda m: f"_x{ord(m.group()):04X}_", text)


class Formula(str):
    """A cell formula, such as Formula("=1+1"); any other text is written as text."""


def put(ws: Any, row: int, column: int, value: Any) -> None:
    """One cell as Excel would hold it; text starting with '=' stays text, not a formula."""
    if isinstance(value, Formula):
        ws.cell(row, column, str(value))
    elif isinstance(value, str):
        cell = ws.cell(row, column, excel_text(value))
        cell.data_type = "s"
    elif value is not None:
        ws.cell(row, column, value)


def write_sheet(ws: Any, rows: list[list[Any]], first_row: int = 1) -> None:
    for r, values in enumerate(rows, first_row):
        for c, value in enumerate(values, 1):
            put(ws, r, c, value)


def write_xlsx(path: Path, sheets: dict[str, list[list[Any]]]) -> Any:
    workbook = openpyxl.Workbook()
    workbook.remove(workbook.active)
    for title, rows in sheets.items():
        write_sheet(workbook.create_sheet(title), rows)
    workbook.save(path)
    return workbook


def with_cached_values(path: Path, sheet_xml: str, values: dict[str, str]) -> None:
    """Add the results Excel saves next to formulas; openpyxl itself writes none."""
    with zipfile.ZipFile(path) as archive:
        parts = {name: archive.read(name) for name in archive.namelist()}
    xml = parts[sheet_xml].decode()
    for ref, value in values.items():
        xml, n = re.subn(
            rf'<c r="{ref}"([^>]*)><f>(.*?)</f><v\s*/>',
            rf'<c r="{ref}"\1 t="str"><f>\2</f><v>{value}</v>',
            xml,
        )
        assert n == 1, ref
    parts[sheet_xml] = xml.encode()
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in parts.items():
            archive.writestr(name, data)


TICK_HEADERS = ["NAW", "BSN/PGN", "Cijfers", "Foto/video"]
PROCESSOR_HEADER = [
    "Applicatie",
    "Verwerker",
    "Doel",
    *TICK_HEADERS,
    "Verwerkersovereenkomst",
    "Datum verwerkersovereenkomst",
    "Datalocatie",
    "DPIA",
    "Aantal licenties",
    "Laatst herzien",
    "Opmerkingen",
]


def kennisnet_workbook(path: Path) -> None:
    """Shaped like the Kennisnet register: overview, parties (Tab F), processors (Tab G)."""
    workbook = openpyxl.Workbook()
    overview = workbook.active
    overview.title = "Overzicht"
    write_sheet(
        overview,
        [
            ["Register van verwerkingsactiviteiten leerlinggegevens"],
            ["Grote verwerkers (uit tab G)"],
            ["Applicatie", "Leverancier"],
            ["Magister", "Iddink B.V."],
        ],
    )
    parties = workbook.create_sheet("F. Partijen")
    write_sheet(
        parties,
        [
            ["Partijen waarmee gegevens worden uitgewisseld"],
            ["Partij", "NAW", "BSN/PGN", "Cijfers"],
            ["DUO", "x", "x", "x"],
            ["Leerplicht (gemeente)", "x", "x", None],
        ],
    )
    ws = workbook.create_sheet("G. Verwerkers")
    write_sheet(
        ws,
        [
            ["Register van verwerkingsactiviteiten — Tab G: Verwerkers"],
            ["Stichting Voorbeeldscholen (bestuursnummer 12345)", *[None] * 12, "Laatst gewijzigd"],
            PROCESSOR_HEADER,
            ["Grote verwerkers"],
            [
                "Magister",
                "Iddink B.V.",
                "Leerlingadministratie",
                "x",
                "X",
                "x",
                None,
                True,
                dt.datetime(2023, 8, 1),
                "Nederland",
                "Uitgevoerd",
                1200,
                dt.datetime(2024, 3, 1, 14, 30),
                Formula('=A5&" ("&B5&")"'),
            ],
            [
                "Google Workspace for Education",
                "Google Ireland Ltd",
                "Samenwerken",
                "✓",
                None,
                "ja",
                "nee",
                True,
                dt.datetime(2021, 7, 15),
                "EU",
                "Centrale DPIA (SIVON)",
                850.0,
                None,
                Formula("=1+1"),
            ],
            [
                "Microsoft 365",
                "Microsoft Ireland Operations Ltd",
                "Samenwerken",
                "x",
                None,
                None,
                None,
                False,
                None,
                "EU",
                "Gepland",
                12.5,
                None,
                None,
            ],
            ["Teams", None, "Lessen op afstand", "x", None, None, "x"],
            [],
            ["Overige verwerkers"],
            ["Rekentuin", "Oefenweb B.V.", "Oefenen", "x", None, "x", None, True],
            [None, None, "Toetsen", "x"],
        ],
    )
    ws.merge_cells("A1:N1")
    ws.merge_cells("A4:N4")
    ws.merge_cells("A10:N10")
    ws.merge_cells("B7:B8")  # one vendor for two products, as schools lay it out
    ws["N2"] = dt.datetime(2024, 9, 2)
    workbook.save(path)
    with_cached_values(path, "xl/worksheets/sheet3.xml", {"N5": "Magister (Iddink B.V.)"})


def test_kennisnet_workbook_reads_the_processors_tab(in_tmp: Path) -> None:
    kennisnet_workbook(Path("register.xlsx"))
    register = read_register(Path("register.xlsx"))
    assert (register.sheet, register.header_row, register.delimiter, register.encoding) == (
        "G. Verwerkers",
        3,
        "",
        "xlsx",
    )
    assert register.columns == {
        "Applicatie": "application",
        "Verwerker": "vendor",
        "Doel": "purpose",
        "Verwerkersovereenkomst": "dpa",
        "Datum verwerkersovereenkomst": "dpa_date",
        "Datalocatie": "data_location",
        "DPIA": "dpia",
        "Opmerkingen": "notes",
    }
    assert register.tick_columns == TICK_HEADERS
    # section rows are no app rows; row numbers are the sheet's own
    assert [(r.row, r.application, r.vendor) for r in register.rows] == [
        (5, "Magister", "Iddink B.V."),
        (6, "Google Workspace for Education", "Google Ireland Ltd"),
        (7, "Microsoft 365", "Microsoft Ireland Operations Ltd"),
        (8, "Teams", "Microsoft Ireland Operations Ltd"),  # vendor merged over B7:B8
        (11, "Rekentuin", "Oefenweb B.V."),
    ]
    assert register.skipped == [
        "register.xlsx: sheet 'G. Verwerkers': row 4: section heading 'Grote verwerkers' skipped",
        "register.xlsx: sheet 'G. Verwerkers': row 10: section heading 'Overige verwerkers' "
        "skipped",
    ]
    assert register.problems == [
        "register.xlsx: sheet 'G. Verwerkers': row 12: "
        "columns 'Applicatie' and 'Verwerker' are both empty"
    ]
    magister, google, microsoft, teams, rekentuin = register.rows
    assert magister.fields == {
        "application": "Magister",
        "vendor": "Iddink B.V.",
        "purpose": "Leerlingadministratie",
        "dpa": "ja",  # a boolean cell
        "dpa_date": "2023-08-01",  # a date cell, as ISO
        "data_location": "Nederland",
        "dpia": "Uitgevoerd",
        "notes": "Magister (Iddink B.V.)",  # a formula: the value Excel saved
        "data_categories": "NAW; BSN/PGN; Cijfers",
    }
    assert magister.raw["Aantal licenties"] == "1200"
    assert magister.raw["Laatst herzien"] == "2024-03-01 14:30"
    assert google.raw["Aantal licenties"] == "850"  # 850.0: Excel has no integers
    assert google.fields["data_categories"] == "NAW; Cijfers"  # "nee" is no tick
    assert google.fields["notes"] == ""  # a formula Excel never calculated has no value
    assert (microsoft.fields["dpa"], microsoft.raw["Aantal licenties"]) == ("nee", "12.5")
    assert teams.fields["data_categories"] == "NAW; Foto/video"
    assert rekentuin.fields["data_categories"] == "NAW; Cijfers"


def test_workbook_sheet_can_be_forced(in_tmp: Path) -> None:
    kennisnet_workbook(Path("register.xlsx"))
    for name in ("Overzicht", "overzicht"):
        register = read_register(Path("register.xlsx"), sheet=name)
        assert (register.sheet, register.header_row) == ("Overzicht", 3)
        assert [(r.row, r.application) for r in register.rows] == [(4, "Magister")]
    with pytest.raises(RegisterError) as error:
        read_register(Path("register.xlsx"), sheet="Tab H")
    assert str(error.value) == (
        "register.xlsx: --sheet 'Tab H': no such sheet; "
        "the workbook has 'Overzicht', 'F. Partijen', 'G. Verwerkers'"
    )
    with pytest.raises(RegisterError) as error:
        read_register(Path("register.xlsx"), sheet="F. Partijen")
    assert str(error.value).startswith(
        "register.xlsx: sheet 'F. Partijen': no column for the application name found "
        "(looked for: Applicatie, "
    )


@pytest.mark.parametrize(
    ("title", "preferred"),
    [
        ("Verwerkers", True),
        ("G. Verwerkers", True),
        ("Tab G", True),
        ("Verwerkers (leveranciers)", True),
        ("Processors", True),
        ("Verwerkersovereenkomsten", False),
        ("Overzicht", False),
    ],
)
def test_processor_sheet_names(title: str, preferred: bool) -> None:
    assert is_processor_sheet(title) is preferred


def test_workbook_without_a_processor_tab_reads_the_first_sheet_with_a_header(
    in_tmp: Path,
) -> None:
    write_xlsx(
        Path("r.xlsx"),
        {
            "Toelichting": [["Lees dit eerst"]],
            "Leerlingen": [["Applicatie", "Leverancier"], ["Somtoday", "Topicus"]],
            "Medewerkers": [["Applicatie", "Leverancier"], ["AFAS", "AFAS Software"]],
        },
    )
    register = read_register(Path("r.xlsx"))
    assert (register.sheet, [r.application for r in register.rows]) == ("Leerlingen", ["Somtoday"])


def test_workbook_row_problem_names_the_sheet(in_tmp: Path) -> None:
    write_xlsx(
        Path("register.xlsx"),
        {
            "Verwerkers": [
                ["Verwerkers"],
                [],
                ["Applicatie", "Doel", "DPIA"],
                ["Magister", "Administratie", "ja"],
                ["Parro", "Communicatie", "nee"],
                ["Somtoday", "Administratie", None],
                [None, "Toetsen", "ja"],
            ]
        },
    )
    register = read_register(Path("register.xlsx"))
    assert [r.row for r in register.rows] == [4, 5, 6]
    assert register.tick_columns == []  # a DPIA column of ja/nee is a field, not a tick
    message = "register.xlsx: sheet 'Verwerkers': row 7: column 'Applicatie' is empty"
    assert register.problems == [message]
    with pytest.raises(RegisterError) as error:
        read_register(Path("register.xlsx"), strict=True)
    assert str(error.value) == message


def test_workbook_under_a_csv_name_is_read_as_a_workbook(in_tmp: Path) -> None:
    write_xlsx(Path("register.csv"), {"Blad1": [["Applicatie"], ["Zoom"]]})
    register = read_register(Path("register.csv"))
    assert (register.sheet, register.rows[0].application) == ("Blad1", "Zoom")


def test_header_merged_over_two_rows(in_tmp: Path) -> None:
    workbook = write_xlsx(
        Path("r.xlsx"),
        {
            "Verwerkers": [
                ["Applicatie", "Verwerkersovereenkomst", None, "Leverancier"],
                [None, "Afgesloten", "Datum", None],
                ["Zoom", "ja", dt.datetime(2022, 3, 1), "Zoom Video Communications"],
            ]
        },
    )
    ws = workbook["Verwerkers"]
    ws.merge_cells("A1:A2")
    ws.merge_cells("B1:C1")
    ws.merge_cells("D1:D2")
    workbook.save("r.xlsx")
    register = read_register(Path("r.xlsx"))
    assert register.problems == []
    assert [(r.row, r.application, r.vendor) for r in register.rows] == [
        (3, "Zoom", "Zoom Video Communications")
    ]
    assert register.rows[0].raw["(column C)"] == "2022-03-01"


def test_column_map_and_errors_in_a_workbook(in_tmp: Path) -> None:
    write_xlsx(Path("r.xlsx"), {"Blad1": [["Naam", "Partij"], ["Magister", "Iddink"]]})
    register = read_register(Path("r.xlsx"), {"Naam": "application"})
    assert [(r.application, r.vendor) for r in register.rows] == [("Magister", "Iddink")]
    with pytest.raises(RegisterError) as error:
        read_register(Path("r.xlsx"))
    assert str(error.value) == (
        "r.xlsx: no column for the application name found in any sheet ('Blad1') "
        "(looked for: Applicatie, Application, Systeem, System, Software, Naam applicatie, …); "
        "use --map COLUMN=application"
    )
    with pytest.raises(RegisterError) as error:
        read_register(Path("r.xlsx"), {"Naam": "application", "Datum": "dpa_date"})
    assert str(error.value) == (
        "r.xlsx: sheet 'Blad1': --map Datum=dpa_date: the header (row 1) has no column 'Datum'"
    )


def test_sheet_option_on_csv(in_tmp: Path) -> None:
    Path("r.csv").write_text("Applicatie\nZoom\n")
    with pytest.raises(RegisterError) as error:
        read_register(Path("r.csv"), sheet="Verwerkers")
    assert str(error.value) == "r.csv: --sheet 'Verwerkers': only an .xlsx workbook has sheets"


def _workbook_bytes() -> bytes:
    buffer = io.BytesIO()
    workbook = openpyxl.Workbook()
    write_sheet(workbook.active, [["Applicatie"], *[[f"App {n}"] for n in range(200)]])
    workbook.save(buffer)
    return buffer.getvalue()


SAVE_AGAIN = "open it in Excel and save it again as .xlsx, or export the register as 'CSV UTF-8'"


@pytest.mark.parametrize(
    ("name", "data", "message"),
    [
        (
            "r.xlsx",
            _workbook_bytes()[:3000],
            "r.xlsx: a damaged Excel workbook (the ZIP structure is broken or cut off); "
            + SAVE_AGAIN,
        ),
        (
            "r.xlsx",
            b"Applicatie;Leverancier\nZoom;Zoom\n",
            "r.xlsx: not an Excel workbook despite its .xlsx name (no ZIP structure); "
            + SAVE_AGAIN,
        ),
        ("r.xlsx", b"", "r.xlsx: the file is empty"),
        (
            "r.xls",
            b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(500),
            "r.xls: an old Excel .xls workbook or a password-protected one; save it from "
            "Excel as .xlsx (without a password) or 'CSV UTF-8' and import that",
        ),
    ],
)
def test_damaged_or_unsupported_workbooks(
    in_tmp: Path, name: str, data: bytes, message: str
) -> None:
    Path(name).write_bytes(data)
    with pytest.raises(RegisterError) as error:
        read_register(Path(name))
    assert str(error.value) == message


def test_zip_that_is_no_workbook(in_tmp: Path) -> None:
    with zipfile.ZipFile("r.xlsx", "w") as archive:
        archive.writestr("mimetype", "application/vnd.oasis.opendocument.spreadsheet")
        archive.writestr("content.xml", "<office:document-content/>")
    with pytest.raises(RegisterError) as error:
        read_register(Path("r.xlsx"))
    assert str(error.value) == (
        "r.xlsx: a ZIP archive, but not an Excel .xlsx workbook (an .ods or .docx?); "
        "save the register from Excel as .xlsx or 'CSV UTF-8' and import that"
    )


def test_workbook_part_that_is_not_xml(in_tmp: Path) -> None:
    buffer = io.BytesIO(_workbook_bytes())
    with zipfile.ZipFile(buffer) as source, zipfile.ZipFile("r.xlsx", "w") as target:
        for name in source.namelist():
            data = b"<worksheet><sheetData><row" if "worksheets/" in name else source.read(name)
            target.writestr(name, data)
    with pytest.raises(RegisterError) as error:
        read_register(Path("r.xlsx"))
    assert str(error.value).startswith("r.xlsx: a damaged Excel workbook (")
    assert str(error.value).endswith(SAVE_AGAIN)


def test_tick_columns_in_csv_and_when_they_are_not_categories(in_tmp: Path) -> None:
    Path("r.csv").write_text(
        "Applicatie;NAW;Foto;Actief;Notitie\nZoom;x;;ja;\nParro;✓;x;ja;x\nWRTS;-;nee;ja;x\n"
    )
    register = read_register(Path("r.csv"))
    # "Actief" is ticked too: the rule cannot tell; "Notitie" is a tick column as well
    assert register.tick_columns == ["NAW", "Foto", "Actief", "Notitie"]
    assert [r.fields["data_categories"] for r in register.rows] == [
        "NAW; Actief",
        "NAW; Foto; Actief; Notitie",
        "Actief; Notitie",
    ]
    # one tick column is no grid; an explicit categories column wins over ticks
    Path("r.csv").write_text("Applicatie;Actief\nZoom;ja\n")
    assert read_register(Path("r.csv")).rows[0].fields == {"application": "Zoom"}
    Path("r.csv").write_text("Applicatie;Persoonsgegevens;NAW;Foto\nZoom;Beeld;x;x\n")
    register = read_register(Path("r.csv"))
    assert (register.tick_columns, register.rows[0].fields["data_categories"]) == ([], "Beeld")


def test_section_rows_only_when_alone_and_named_like_one(in_tmp: Path) -> None:
    Path("r.csv").write_text(
        "Nr;Applicatie;Leverancier\n"
        "Grote verwerkers;;\n"  # left of the application column: a section
        ";Overige verwerkers;\n"  # in the application column: a section
        ";Verwerkersportaal;\n"  # a name, not a section word
        ";;Overige verwerkers\n"  # right of the application column: a vendor-only row
        "1;Magister;\n"
    )
    register = read_register(Path("r.csv"))
    assert [(r.row, r.application, r.vendor) for r in register.rows] == [
        (4, "Verwerkersportaal", ""),
        (5, "", "Overige verwerkers"),
        (6, "Magister", ""),
    ]
    assert register.skipped == [
        "r.csv: row 2: section heading 'Grote verwerkers' skipped",
        "r.csv: row 3: section heading 'Overige verwerkers' skipped",
    ]


# --- round trip: the contract for any register the project writes ---------------------------

# Any text a cell can hold and an export can carry. Lone surrogates cannot be encoded at all;
# other control characters mean "binary" to the CSV reader, by design.
CELL_TEXT = st.text(TEXT_CHARS, max_size=30) | st.sampled_from(
    ["=SUM(A1)", "a;b", "a,b", 'zeg "hoi"', "regel 1\nregel 2", "Académie", "_x000D_", "€ 2,50"]
)


def csv_bytes(rows: list[tuple[str, str]], delimiter: str, encoding: str) -> bytes | None:
    """The rows as a CSV export, or None when the encoding cannot hold them or is ambiguous."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=delimiter, lineterminator="\r\n")
    writer.writerows([("Applicatie", "Leverancier"), *rows])
    text = buffer.getvalue()
    try:
        data = text.encode(encoding)
    except UnicodeEncodeError:
        return None
    if encoding == "cp1252" and not text.isascii():
        try:
            data.decode("utf-8")
        except UnicodeDecodeError:
            return data
        return None  # cp1252 bytes that are also valid UTF-8 read as UTF-8: known ambiguity
    return data


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    rows=st.lists(
        st.tuples(CELL_TEXT.filter(str.strip), CELL_TEXT),
        min_size=1,
        max_size=5,
    )
)
def test_roundtrip_csv_and_xlsx(tmp_path: Path, rows: list[tuple[str, str]]) -> None:
    expected = [(application.strip(), vendor.strip()) for application, vendor in rows]
    assume(not any(_looks_like_section(a, v) for a, v in expected))
    variants: list[tuple[str, bytes]] = []
    for delimiter in DELIMITERS:
        for encoding in ("utf-8", "utf-8-sig", "cp1252"):
            if (data := csv_bytes(rows, delimiter, encoding)) is not None:
                variants.append((f"{encoding} {delimiter!r}", data))
    buffer = io.BytesIO()
    workbook = openpyxl.Workbook()
    write_sheet(workbook.active, [["Applicatie", "Leverancier"], *map(list, rows)])
    workbook.save(buffer)
    variants.append(("xlsx", buffer.getvalue()))
    for name, data in variants:
        path = tmp_path / "r.csv"
        path.write_bytes(data)
        register = read_register(path)
        assert register.problems == [], name
        assert [(r.application, r.vendor) for r in register.rows] == expected, name


def _looks_like_section(application: str, vendor: str) -> bool:
    """A lone "Overige verwerkers" is a section heading by design, not a row."""
    return not vendor and bool(
        re.search(
            r"verwerker|processor|leverancier|supplier|vendor|"
            r"overige",
            application,
            re.IGNORECASE,
        )
    )


# --- matching --------------------------------------------------------------------------------

APPS = [
    App("magister", "Magister", vendor="Iddink"),
    App(
        "microsoft-365",
        "Microsoft 365",
        vendor="Microsoft",
        aliases=("Office 365", "Microsoft Teams"),
    ),
    App(
        "google-workspace",
        "Google Workspace for Education",
        vendor="Google",
        aliases=("G Suite", "Google Workspace"),
    ),
    App("kahoot", "Kahoot!", vendor="Kahoot! ASA"),
    App("zoom", "Zoom", vendor="Zoom Video Communications"),
    # not a candidate: infrastructure never needs a register row
    App("google-sign-in", "Google Sign-in", kind=Kind.INFRASTRUCTURE, vendor="Google"),
]


def row(number: int, application: str, vendor: str = "") -> RegisterRow:
    fields = {"application": application, "vendor": vendor}
    return RegisterRow(number, application, vendor, fields, dict(fields))


def matches(*rows: RegisterRow, apps: list[App] = APPS, **kw: float) -> list[tuple]:
    return [
        (m.row, m.app_id, m.confidence, m.method, m.applied)
        for m in match_rows(list(rows), apps, **kw)
    ]


def test_match_dutch_sample(in_data: None) -> None:
    register = read_register(Path("nl_puntkomma_bom.csv"))
    assert match_rows(register.rows, APPS) == [
        RowMatch(2, "magister", 100.0, "name", True),
        RowMatch(3, "microsoft-365", 100.0, "name", True),
        RowMatch(5, "zoom", 90.0, "vendor", True),  # vendor-only row, vendor has one app
        RowMatch(6, "kahoot", 100.0, "name", True),
    ]


@pytest.mark.parametrize(
    ("application", "vendor", "expected"),
    [
        ("microsoft-365", "", [("microsoft-365", 100.0, "id", True)]),
        ("KAHOOT", "", [("kahoot", 100.0, "name", True)]),
        ("Kahoot! app", "", [("kahoot", 100.0, "name", True)]),
        ("Office 365", "", [("microsoft-365", 100.0, "alias", True)]),
        ("G-Suite", "", [("google-workspace", 100.0, "alias", True)]),
        ("Magister 6", "", [("magister", 95.0, "name", True)]),
        ("Teams", "Microsoft Corporation", [("microsoft-365", 95.0, "vendor+product", True)]),
        ("Iddink Magister", "Iddink Group B.V.", [("magister", 95.0, "vendor+product", True)]),
        ("Kahot", "", [("kahoot", 90.9, "fuzzy", True)]),  # a typo is near-identical
        ("Zoom Meetings", "", [("zoom", 85.0, "fuzzy", False)]),  # containment: only proposed
        ("Microsoft", "", [("microsoft-365", 85.0, "fuzzy", False)]),
        ("Somtoday", "Topicus Onderwijs B.V.", []),
        ("", "Google LLC", [("google-workspace", 90.0, "vendor", True)]),
        ("Bookings", "Microsoft", [("microsoft-365", 50.0, "vendor", False)]),
    ],
)
def test_match_one_row(application: str, vendor: str, expected: list[tuple]) -> None:
    assert matches(row(7, application, vendor)) == [(7, *e) for e in expected]


def test_suite_row_matches_each_named_part() -> None:
    classroom = App("google-classroom", "Google Classroom", vendor="Google")
    assert matches(row(4, "Microsoft Teams + Zoom")) == [
        (4, "microsoft-365", 100.0, "alias", True),
        (4, "zoom", 100.0, "name", True),
    ]
    assert matches(row(5, "Google Workspace (Classroom, Drive)", "Google")) == [
        (5, "google-workspace", 100.0, "alias", True),
    ]
    assert matches(
        row(5, "Google Workspace (Classroom, Drive)", "Google"), apps=[*APPS, classroom]
    ) == [
        (5, "google-workspace", 100.0, "alias", True),
        (5, "google-classroom", 95.0, "vendor+product", True),
    ]


def test_one_app_many_rows_and_vendor_with_several_apps() -> None:
    minecraft = App("minecraft-education", "Minecraft Education", vendor="Microsoft")
    assert matches(
        row(2, "Magister"),
        row(3, "magister"),
        row(4, "", "Microsoft B.V."),
        apps=[*APPS, minecraft],
    ) == [
        (2, "magister", 100.0, "name", True),
        (3, "magister", 100.0, "id", True),
        (4, "microsoft-365", 50.0, "vendor", False),
        (4, "minecraft-education", 50.0, "vendor", False),
    ]


def test_threshold_and_ambiguous_alias() -> None:
    assert matches(row(2, "Zoom Meetings"), threshold=80) == [(2, "zoom", 85.0, "fuzzy", True)]
    assert matches(row(2, "Kahot"), threshold=95) == [(2, "kahoot", 90.9, "fuzzy", False)]
    twin = App("teams-rooms", "Teams Rooms", vendor="Microsoft", aliases=("Microsoft Teams",))
    assert matches(row(2, "Microsoft Teams"), apps=[*APPS, twin]) == [
        (2, "microsoft-365", 80.0, "alias", False),
        (2, "teams-rooms", 80.0, "alias", False),
    ]
    with pytest.raises(ValueError):
        match_rows([], APPS, threshold=0)


def test_normalisation() -> None:
    assert normalise_name("Kahoot! App") == "kahoot"
    assert normalise_name("Office 365") == "office 365"
    assert normalise_name("Wiskunde Académie B.V.") == "wiskunde academie"
    assert normalise_vendor("Zoom Video Communications, Inc.") == "zoom video communications"
    assert normalise_vendor("Google Ireland Ltd") == "google"
    assert normalise_vendor("Uitgeverij Malmberg B.V.") == "malmberg"
    assert normalise_vendor("Kahoot! ASA") == normalise_vendor("Kahoot!") == "kahoot"


@given(st.text())
def test_normalise_is_idempotent(text: str) -> None:
    once = normalise_name(text)
    assert normalise_name(once) == once
