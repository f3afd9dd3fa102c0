"""Register import and row-to-app matching, on small real-shaped exports in tests/data/register."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from scanner.errors import RegisterError
from scanner.register import (
    RegisterRow,
    RowMatch,
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


def test_excel_workbook_is_not_csv(in_data: None) -> None:
    with pytest.raises(RegisterError) as error:
        read_register(Path("werkmap_als_csv.csv"))
    assert str(error.value) == (
        "werkmap_als_csv.csv: not a CSV text file (it looks like an Excel workbook); "
        "save the register from Excel as 'CSV UTF-8' and import that"
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
    assert [(r.application, r.vendor) for r in register.rows] == [
        (application.strip(), vendor.strip()) for application, vendor in values
    ]


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
