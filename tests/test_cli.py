"""Every command through CliRunner: outputs, shapes and exact error messages."""

from __future__ import annotations

import csv
import io
import json
import struct
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import PCAP
from tests.packets import dns_query, udp_dns, write_pcap, write_raw_pcap

ROOT = Path(__file__).parent.parent
EXAMPLE = ROOT / "examples" / "school-day.pcap"
REGISTER = ROOT / "examples" / "register.csv"


def test_demo_lists_unregistered_apps(app) -> None:
    app("scan", str(EXAMPLE))
    app("register", "import", str(REGISTER))
    unregistered = {item["app"] for item in app.json("apps", "--unregistered")}
    assert {"tiktok", "youtube", "chatgpt", "quizlet"} <= unregistered
    assert not {"magister", "somtoday", "microsoft-365", "kahoot"} & unregistered
    everything = {item["app"]: item for item in app.json("apps")}
    assert everything["magister"]["registered"] is True
    assert everything["magister"]["status"] == "registered"


def test_apps_json_shape(app) -> None:
    app("scan", str(EXAMPLE))
    record = next(item for item in app.json("apps") if item["app"] == "magister")
    assert {"app", "name", "vendor", "category", "registered", "status", "devices", "hits",
            "first_seen", "last_seen", "domains"} <= set(record)
    assert record["name"] == "Magister" and record["registered"] is False
    assert record["status"] == "unreviewed"
    assert all(domain.endswith(("magister.net", "magister.nl")) for domain in record["domains"])
    assert record["devices"] == "<5" or record["devices"] >= 5
    assert record["hits"] > 0


def test_infrastructure_only_with_all(app) -> None:
    app("scan", str(PCAP / "ndpi__alexa-app.pcapng"))
    kinds = {item["kind"] for item in app.json("apps")}
    assert "infrastructure" not in kinds
    assert "infrastructure" in {item["kind"] for item in app.json("apps", "--all")}


def test_domains_json_shape_and_unknown(app, tmp_path: Path) -> None:
    capture = write_pcap(tmp_path / "q.pcap", [udp_dns(dns_query("school.magister.net")),
                                               udp_dns(dns_query("tail.unknown-example.org"))])
    app("scan", str(capture))
    records = app.json("domains")
    assert [(item["domain"], item["app"], item["seen_as"], item["hits"], item["devices"])
            for item in records] == [("school.magister.net", "magister", ["dns"], 1, "<5"),
                                     ("tail.unknown-example.org", None, ["dns"], 1, "<5")]
    assert set(records[0]) >= {"domain", "app", "seen_as", "hits", "devices", "first_seen",
                               "last_seen"}
    assert [item["domain"] for item in app.json("domains", "--unknown", "--names")] == [
        "tail.unknown-example.org"]
    grouped = app.json("domains", "--unknown")
    assert [(item["registrable"], item["names"], item["examples"]) for item in grouped] == [
        ("unknown-example.org", 1, ["tail.unknown-example.org"])]


def test_cname_alias_is_attributed_to_the_app_it_points_at(app, tmp_path: Path) -> None:
    from tests.packets import dns_response

    response = dns_response("elo.ons-lyceum.nl", ["ons-lyceum.itslearning.com"])
    app("scan", str(write_pcap(tmp_path / "c.pcap", [udp_dns(response, response=True)])))
    apps_by_domain = {item["domain"]: item for item in app.json("domains")}
    assert apps_by_domain["elo.ons-lyceum.nl"]["app"] == "itslearning"
    assert apps_by_domain["elo.ons-lyceum.nl"]["seen_as"] == ["answer"]


def test_scan_reports_missing_and_foreign_files(app, tmp_path: Path) -> None:
    result = app("scan", str(tmp_path / "nope.pcap"), expect=1)
    assert result.stderr == f"Error: {tmp_path}/nope.pcap: no such file or directory\n"
    notes = tmp_path / "notes.txt"
    notes.write_text("not a capture")
    good = write_raw_pcap(tmp_path / "good.pcap", [bytes(udp_dns(dns_query("a.example.com")))], 1)
    result = app("scan", str(notes), str(good), expect=1)
    assert f"Error: {notes} is in no log format appradar knows; name the format with --format " \
           "(supported: pihole-ftl-db, " in result.stderr
    assert "Scanned 2 file(s): 1 packets, 0 log records, 1 names" in result.stderr
    assert [item["domain"] for item in app.json("domains")] == ["a.example.com"]


def test_scan_directory_skips_foreign_files_and_globs_work(app, tmp_path: Path) -> None:
    folder = tmp_path / "captures"
    folder.mkdir()
    write_raw_pcap(folder / "one.pcap", [bytes(udp_dns(dns_query("one.example.com")))], 1)
    write_raw_pcap(folder / "two.pcap", [bytes(udp_dns(dns_query("two.example.com")))], 1)
    (folder / "README").write_text("captures of monday")
    result = app("scan", str(folder))
    assert f"Skipped: {folder}/README is in no log format appradar knows\n" in result.stderr
    assert "supported:" not in result.stderr  # a file met in a directory: said briefly
    assert {item["domain"] for item in app.json("domains")} == {"one.example.com",
                                                               "two.example.com"}
    other = type(app)(tmp_path / "other.db")
    other("scan", str(folder / "*.pcap"))
    assert len(other.json("domains")) == 2
    result = app("scan", str(tmp_path / "none-*.pcap"), expect=1)
    assert result.stderr == f"Error: {tmp_path}/none-*.pcap: no file matches\n"


def test_truncated_capture_keeps_its_names_and_says_where(app, tmp_path: Path) -> None:
    frames = [bytes(udp_dns(dns_query(f"h{i}.example.com", i))) for i in range(3)]
    path = write_raw_pcap(tmp_path / "cut.pcap", frames, 1)
    path.write_bytes(path.read_bytes()[:-5])
    result = app("scan", str(path))
    assert f"{path}: packet #3: packet data cut short (file truncated)" in result.stderr
    assert "1 malformed" in result.stderr
    assert len(app.json("domains")) == 2


def test_a_foreign_database_is_refused(tmp_path: Path) -> None:
    from tests.conftest import App

    other = tmp_path / "other.db"
    other.write_bytes(b"this is not sqlite at all, just text" * 100)
    result = App(other)("apps", expect=1)
    assert result.stderr.startswith(f"Error: {other} is not an appradar inventory")


EARLY_SCHEMA_2 = """
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT);
INSERT INTO meta VALUES ('schema_version', '2');
CREATE TABLE imports (
    id INTEGER PRIMARY KEY, fingerprint TEXT NOT NULL, path TEXT, size INTEGER,
    inode INTEGER, site TEXT NOT NULL, frames_done INTEGER DEFAULT 0, status TEXT,
    run_id INTEGER, started TEXT, finished TEXT,
    UNIQUE (fingerprint, site)
);
INSERT INTO imports (fingerprint, path, site, frames_done, status)
    VALUES ('abc', '/var/captures/monday.pcap', 'default', 2800, 'complete');
CREATE TABLE reviews (app TEXT PRIMARY KEY, status TEXT NOT NULL, note TEXT, updated TEXT);
INSERT INTO reviews VALUES ('tiktok', 'rejected', 'no agreement', '2026-01-05T10:00:00');
"""


def test_an_inventory_of_an_earlier_release_is_brought_up_to_date(tmp_path: Path) -> None:
    """Schema 2 gained columns after its first release; such an inventory opens, keeps its
    rows, and scans and reviews work on it."""
    import sqlite3

    from tests.conftest import App

    early = tmp_path / "early.db"
    with sqlite3.connect(early) as connection:
        connection.executescript(EARLY_SCHEMA_2)
    connection.close()
    app = App(early)
    app("scan", str(EXAMPLE))
    assert {item["app"] for item in app.json("apps")} >= {"youtube", "kahoot"}
    app("review", "kahoot", "--status", "approved", "--owner", "fg")
    with sqlite3.connect(early) as connection:
        assert connection.execute("SELECT path, frames_done FROM imports ORDER BY id").fetchall(
            )[0] == ("/var/captures/monday.pcap", 2800)
        reviews = dict(connection.execute("SELECT app, owner FROM reviews").fetchall())
        schema = connection.execute(
            "SELECT sql FROM sqlite_master WHERE name = 'imports'").fetchone()[0]
    connection.close()
    assert reviews == {"tiktok": None, "kahoot": "fg"}
    assert "UNIQUE (fingerprint, site)" not in schema


SCHEMA_2_DEVICE_DAYS = """
CREATE TABLE device_days_2 (
    day TEXT NOT NULL, site TEXT NOT NULL, segment TEXT NOT NULL, domain_id INTEGER NOT NULL,
    device_id INTEGER NOT NULL, stored TEXT NOT NULL,
    PRIMARY KEY (day, site, segment, domain_id, device_id)
) WITHOUT ROWID;
INSERT INTO device_days_2 SELECT x.day, x.site, x.segment, x.domain_id, j.value,
    CASE WHEN j.key = 0 THEN '2026-01-02' ELSE '2026-01-05' END
    FROM device_days x, json_each(x.devices) j;
DROP TABLE device_days;
ALTER TABLE device_days_2 RENAME TO device_days;
CREATE INDEX device_days_domain ON device_days (domain_id);
CREATE INDEX device_days_stored ON device_days (stored);
ALTER TABLE domains ADD COLUMN registrable TEXT;
UPDATE domains SET registrable = 'kept-registrable.example';
ALTER TABLE devices ADD COLUMN first_seen REAL;
ALTER TABLE devices ADD COLUMN last_seen REAL;
UPDATE devices SET first_seen = 1700000000.5, last_seen = 1700000100.25;
UPDATE meta SET value = '2' WHERE key = 'schema_version';
"""


def test_a_schema_2_inventory_keeps_its_devices_as_sets(app) -> None:
    """Schema 2 kept a row per device, day and name: opened now, each day and name becomes
    one row with the set of its devices, every count stays, and the earliest time a device of
    it was stored is when retention starts. A device's first and last time, which nothing
    read, are gone, and so is a name's registrable domain, now looked up when asked."""
    import sqlite3

    app("scan", str(EXAMPLE))
    before = app.json("apps"), app.json("domains")
    with sqlite3.connect(app.database) as connection:
        rows = connection.execute("SELECT count(*) FROM device_days").fetchone()[0]
        connection.executescript(SCHEMA_2_DEVICE_DAYS)
        pairs = connection.execute("SELECT count(*) FROM device_days").fetchone()[0]
    connection.close()
    assert pairs > rows > 0
    assert (app.json("apps"), app.json("domains")) == before
    with sqlite3.connect(app.database) as connection:
        assert connection.execute("SELECT value FROM meta WHERE key = 'schema_version'"
                                  ).fetchone() == ("3",)
        assert connection.execute(
            "SELECT count(*), sum(json_array_length(devices)), min(stored), max(stored) "
            "FROM device_days").fetchone() == (rows, pairs, "2026-01-02", "2026-01-02")
        assert connection.execute("PRAGMA freelist_count").fetchone() == (0,)  # vacuumed
        indexes = {row[0] for row in connection.execute(
            "SELECT name FROM sqlite_master WHERE tbl_name = 'device_days' AND type = 'index'")}
    connection.close()
    assert indexes == {"device_days_stored"}  # a domain's rows: the primary key's start
    with sqlite3.connect(app.database) as connection:
        columns = [row[1] for row in connection.execute("PRAGMA table_info(devices)")]
        registrable = [row[1] for row in connection.execute("PRAGMA table_info(domains)")
                       if row[1] == "registrable"]
        raw = b"".join(path.read_bytes() for path in app.database.parent.glob("inventory.db*"))
    connection.close()
    assert columns == ["id", "pseudonym"] and registrable == []
    assert b"kept-registrable.example" not in raw
    assert struct.pack("<d", 1700000100.25) not in raw and \
        struct.pack(">d", 1700000100.25) not in raw  # vacuumed, not only unlinked


def test_an_inventory_of_a_later_schema_is_refused(app) -> None:
    import sqlite3

    app("scan", str(EXAMPLE))
    with sqlite3.connect(app.database) as connection:
        connection.execute("UPDATE meta SET value = '4' WHERE key = 'schema_version'")
    connection.close()
    result = app("apps", expect=1)
    assert result.stderr == (
        f"Error: {app.database} was made by another version of appradar (schema 4, this one "
        "reads schema 3); scan into a new database\n")


def test_register_import_show_link_unlink(app) -> None:
    app("scan", str(EXAMPLE))
    result = app("register", "import", str(REGISTER))
    assert result.stdout.startswith(f"Imported 13 rows from {REGISTER} (delimiter ';', utf-8-sig)")
    rows = app.json("register", "show")
    magister = next(row for row in rows if row["application"] == "Magister 6")
    assert (magister["row"], magister["apps"], magister["method"]) == (2, ["magister"], "alias")
    assert app("register", "link", "2", "tiktok").stdout == "Row 2 now covers tiktok.\n"
    assert "tiktok" not in {item["app"] for item in app.json("apps", "--unregistered")}
    app("register", "unlink", "2", "tiktok")
    assert "tiktok" in {item["app"] for item in app.json("apps", "--unregistered")}
    # a manual decision survives a re-import of the register
    app("register", "link", "2", "tiktok")
    app("register", "import", str(REGISTER))
    assert "tiktok" not in {item["app"] for item in app.json("apps", "--unregistered")}


def test_register_errors(app, tmp_path: Path) -> None:
    result = app("register", "link", "2", "tiktok", expect=1)
    assert result.stderr == "Error: no register imported yet: run 'appradar register import " \
                            "FILE'\n"
    app("register", "import", str(REGISTER))
    result = app("register", "link", "99", "tiktok", expect=1)
    assert result.stderr == "Error: the current register has no row 99; see 'appradar " \
                            "register show'\n"
    result = app("register", "link", "2", "no-such-app", expect=1)
    assert result.stderr == "Error: unknown app 'no-such-app'; see 'appradar signatures list'\n"
    headerless = tmp_path / "r.csv"
    headerless.write_text("Naam;Wat\nMagister;LVS\n")
    result = app("register", "import", str(headerless), expect=1)
    assert result.stderr.startswith(f"Error: {headerless}: no column for the application name")
    result = app("register", "import", str(headerless), "--map", "Naam=application")
    assert result.stdout.startswith("Imported 1 rows")


def test_export_csv_is_excel_ready(app, tmp_path: Path) -> None:
    app("scan", str(EXAMPLE))
    app("register", "import", str(REGISTER))
    out = tmp_path / "export.csv"
    result = app("export", "csv", str(out))
    raw = out.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(raw.decode("utf-8-sig")), delimiter=";"))
    assert rows[0][:4] == ["Applicatie", "Leverancier", "Land leverancier", "Leverancier in EER"]
    unregistered = app.json("apps", "--unregistered")
    assert result.stdout == f"Wrote {len(unregistered)} unregistered app(s) to {out}.\n"
    assert len(rows) == len(unregistered) + 1
    by_id = {row[rows[0].index("appradar-id")]: dict(zip(rows[0], row, strict=True))
             for row in rows[1:]}
    tiktok = by_id["tiktok"]
    assert tiktok["Applicatie"] == "TikTok" and tiktok["Leverancier in EER"] == "unknown"
    snapchat = by_id["snapchat"]
    assert (snapchat["Land leverancier"], snapchat["Leverancier in EER"]) == ("US", "no")
    assert tiktok["Apparaten"] in {"<5"} | {str(n) for n in range(5, 1000)}
    assert tiktok["Doel"] == "" and tiktok["Grondslag"] == ""
    assert tiktok["Actieve dagen"] == "1"
    english = tmp_path / "export-en.csv"
    app("export", "csv", str(english), "--lang", "en", "--delimiter", ",")
    assert english.read_text(encoding="utf-8-sig").startswith("Application,Vendor,")


def export_own_app(app, tmp_path: Path, facts: str, *options: str) -> dict[str, str]:
    """Scan one lookup of an app of the school's own, export; the app's row by header."""
    own = tmp_path / "own"
    (own / "apps").mkdir(parents=True)
    (own / "apps" / "own.toml").write_text(
        f'id = "own"\nkind = "app"\n{facts}domains = ["own.example"]\n'
        'sources = ["https://example.org/"]\n')
    capture = write_pcap(tmp_path / "o.pcap", [udp_dns(dns_query("www.own.example"))])
    app("scan", str(capture), "--signatures", str(own))
    out = tmp_path / "export.csv"
    app("export", "csv", str(out), "--lang", "en", *options, "--signatures", str(own))
    return next(csv.DictReader(io.StringIO(out.read_text(encoding="utf-8-sig")), delimiter=";"))


def test_export_is_safe_against_formula_injection(app, tmp_path: Path) -> None:
    row = export_own_app(app, tmp_path,
                         'name = "=HYPERLINK(\\"http://x.example\\",\\"click\\")"\n'
                         'vendor = "+cmd|\' /C calc\'!A0"\n')
    assert row["Application"] == "'=HYPERLINK(\"http://x.example\",\"click\")"
    assert row["Vendor"] == "'+cmd|' /C calc'!A0"


def test_export_names_a_parent_outside_the_eea(app, tmp_path: Path) -> None:
    row = export_own_app(app, tmp_path,
                         'name = "Suite"\nvendor = "Suite Ireland Ltd"\nvendor_country = "IE"\n'
                         'eea = true\nparent = "Suite Inc."\nparent_country = "US"\n')
    assert (row["Vendor in EEA"], row["Parent company"]) == ("yes", "Suite Inc. (US)")
    assert row["Suggested action"] == (
        "add to the register; check access by the parent company outside the EEA")


def test_signatures_list_and_show(app) -> None:
    listed = app.json("signatures", "list")
    assert {"magister", "google-infra"} <= {item["app"] for item in listed}
    shown = json.loads(app("signatures", "show", "kahoot").stdout)
    assert (shown["vendor"], shown["vendor_country"], shown["eea"]) == ("Kahoot! ASA", "NO", True)
    assert "kahoot.it" in shown["domains"] and shown["sources"]
    result = app("signatures", "show", "nope", expect=1)
    assert result.stderr == "Error: unknown app 'nope'; see 'appradar signatures list'\n"


def test_every_command_has_help_with_an_example(app) -> None:
    from click.testing import CliRunner

    from scanner.cli import cli

    commands = [["scan"], ["apps"], ["domains"], ["register", "import"], ["register", "show"],
                ["register", "link"], ["register", "unlink"], ["export", "csv"],
                ["signatures", "list"], ["signatures", "show"], ["signatures", "test"],
                ["signatures", "validate"], ["review", "set"], ["review", "list"],
                ["review", "history"], ["export", "blocklist"], ["purge"],
                ["privacy", "rotate-key"], ["privacy", "statement"], ["config", "show"],
                ["report"], ["register", "check"], ["register", "matches"]]
    for command in commands:
        result = CliRunner().invoke(cli, [*command, "-h"])
        assert result.exit_code == 0, command
        assert "Example:" in result.output, command


def test_review_status_note_and_history(app) -> None:
    app("scan", str(EXAMPLE))
    result = app("review", "tiktok", "--status", "rejected", "--note",
                 "Geen verwerkersovereenkomst", "--author", "fg@school.nl")
    assert result.stdout == "tiktok: rejected.\n"
    app("review", "set", "tiktok", "--status", "in-review", "--author", "fg@school.nl")
    history = app.json("review", "history", "tiktok")
    assert [(item["status"], item["note"], item["author"]) for item in history] == [
        ("rejected", "Geen verwerkersovereenkomst", "fg@school.nl"),
        ("in-review", None, "fg@school.nl"),
    ]
    listed = {item["app"]: item for item in app.json("review", "list")}
    assert listed["tiktok"]["status"] == "in-review"
    assert listed["tiktok"]["note"] == "Geen verwerkersovereenkomst"
    assert {item["app"]: item["status"] for item in app.json("apps")}["tiktok"] == "in-review"
    # a re-scan keeps the decision
    app("scan", str(PCAP / "ndpi__dns.pcap"))
    assert {item["app"]: item["status"] for item in app.json("apps")}["tiktok"] == "in-review"


def test_review_errors_and_append_only_history(app) -> None:
    import sqlite3

    result = app("review", "set", "nope", "--status", "approved", expect=1)
    assert result.stderr == "Error: unknown app 'nope'; see 'appradar signatures list'\n"
    result = app("review", "set", "tiktok", "--status", "maybe", expect=2)
    assert "'maybe' is not one of" in result.stderr
    app("review", "set", "tiktok", "--status", "approved")
    connection = sqlite3.connect(app.database)
    for statement in ("UPDATE review_history SET status = 'rejected'",
                      "DELETE FROM review_history"):
        try:
            connection.execute(statement)
        except sqlite3.DatabaseError as error:
            assert "append-only" in str(error)
        else:
            raise AssertionError(statement)


def test_export_blocklist_for_rejected_apps(app, tmp_path: Path) -> None:
    app("scan", str(EXAMPLE))
    app("review", "tiktok", "--status", "rejected")
    app("review", "youtube", "--status", "approved")
    out = tmp_path / "block.txt"
    result = app("export", "blocklist", str(out), "--style", "adguard")
    assert result.stdout.startswith("Wrote ") and "for 1 rejected app(s)" in result.stdout
    rules = [line for line in out.read_text().splitlines() if line.startswith("||")]
    assert "||tiktok.com^" in rules
    assert not any("youtube" in rule for rule in rules)
    result = app("export", "blocklist", str(out), "--style", "bind", expect=2)
    assert "'bind' is not one of" in result.stderr


def test_register_import_from_a_kennisnet_like_workbook(app, tmp_path: Path) -> None:
    from openpyxl import Workbook

    book = Workbook()
    book.active.title = "Overzicht"
    sheet = book.create_sheet("G. Verwerkers")
    sheet.append(["Register van verwerkers"])
    sheet.append(["Stichting Voorbeeldschool", None, "bijgewerkt 2026-09-01"])
    sheet.append(["Applicatie", "Leverancier", "Verwerkersovereenkomst",
                  "Datum verwerkersovereenkomst"])
    sheet.append(["Grote verwerkers"])
    sheet.append(["Magister", "Iddink", "ja", "2025-08-01"])
    sheet.append(["Overige verwerkers"])
    sheet.append(["Kahoot!", "Kahoot! ASA", "nee", None])
    path = tmp_path / "register.xlsx"
    book.save(path)
    app("scan", str(EXAMPLE))
    result = app("register", "import", str(path))
    assert result.stdout.startswith(f"Imported 2 rows from {path} (sheet 'G. Verwerkers'): "
                                    "2 linked to apps")
    rows = app.json("register", "show")
    assert [(row["row"], row["application"], row["apps"]) for row in rows] == [
        (5, "Magister", ["magister"]), (7, "Kahoot!", ["kahoot"])]


def test_register_check_and_matches(app, tmp_path: Path) -> None:
    app("scan", str(EXAMPLE))
    register = tmp_path / "r.csv"
    register.write_text("Applicatie;Leverancier;Verwerkersovereenkomst;"
                        "Datum verwerkersovereenkomst\n"
                        "Magister 6;Iddink;ja;2020-01-01\nKahoot;Kahoot! ASA;nee;\n"
                        "Kahot;Kahoot;ja;2025-01-01\nZermelo;Zermelo;ja;01-09-2025\n")
    app("register", "import", str(register))
    checked = app.json("register", "check", "--agreement-max-age", "1095")
    unregistered = {item["app"] for item in checked["unregistered"]}
    assert "tiktok" in unregistered and "magister" not in unregistered
    assert {(item["application"], item["reason"]) for item in checked["not-seen"]} >= {
        ("Zermelo", "never seen")}
    assert {(item["application"], item["problem"]) for item in checked["agreements"]} == {
        ("Magister 6", "outdated (2020-01-01)"), ("Kahoot", "missing")}
    only = app.json("register", "check", "--list", "agreements")
    assert [item["application"] for item in only] == ["Kahoot"]
    matches = app.json("register", "matches")
    assert all(not row.get("applied") for row in matches)


def test_blind_spots_count_encrypted_dns_and_ech(app) -> None:
    app("scan", str(PCAP / "zeek__tls13-ech.pcap"), str(PCAP / "ndpi__doq_adguard.pcapng"),
        str(PCAP / "ndpi__dns.pcap"))
    by_domain = {item["domain"]: item for item in app.json("domains")}
    assert by_domain["cloudflare-ech.com"]["seen_as"] == ["sni", "ech"]
    assert by_domain["dns.adguard.com"]["app"] == "public-doh"
    measured = {item["blind_spot"]: item for item in app.json("domains", "--blind-spots")}
    assert (measured["encrypted-dns"]["names"], measured["encrypted-dns"]["devices"]) == (1, "<5")
    assert measured["encrypted-client-hello"]["names"] == 1


def test_review_owner_date_and_due(app) -> None:
    app("scan", str(EXAMPLE))
    app("review", "tiktok", "--status", "in-review", "--owner", "fg@school.nl",
        "--review-by", "2020-01-01")
    app("review", "youtube", "--status", "approved", "--review-by", "2999-01-01")
    due = app.json("review", "list", "--due")
    assert [(item["app"], item["owner"], item["review_by"]) for item in due] == [
        ("tiktok", "fg@school.nl", "2020-01-01")]
    app("review", "tiktok", "--status", "approved")  # owner and date are kept
    listed = {item["app"]: item for item in app.json("review", "list")}
    assert (listed["tiktok"]["owner"], listed["tiktok"]["status"]) == ("fg@school.nl", "approved")
    result = app("review", "tiktok", "--status", "approved", "--review-by", "soon", expect=1)
    assert result.stderr == "Error: review date 'soon' is not a date (YYYY-MM-DD)\n"


def test_boards_see_apps_and_exports_per_site(app, tmp_path: Path) -> None:
    from tests.packets import dns_query, udp_dns, write_pcap

    write_pcap(tmp_path / "a.pcap", [udp_dns(dns_query("www.tiktok.com"))])
    write_pcap(tmp_path / "b.pcap", [udp_dns(dns_query("quizlet.com", 2)),
                                     udp_dns(dns_query("www.tiktok.com", 3))])
    app("scan", str(tmp_path / "a.pcap"), "--site", "lyceum")
    app("scan", str(tmp_path / "b.pcap"), "--site", "basisschool")
    rows = {(item["site"], item["app"]) for item in app.json("apps", "--by-site")}
    assert rows == {("basisschool", "quizlet"), ("basisschool", "tiktok"),
                    ("lyceum", "tiktok")}
    out = tmp_path / "board.csv"
    app("export", "csv", str(out), "--by-site")
    lines = list(csv.reader(io.StringIO(out.read_text(encoding="utf-8-sig")), delimiter=";"))
    assert lines[0][:2] == ["Locatie", "Applicatie"]
    assert sorted((line[0], line[1]) for line in lines[1:]) == [
        ("basisschool", "Quizlet"), ("basisschool", "TikTok"), ("lyceum", "TikTok")]
    header = lines[0]
    for column in ("Privacyconvenant", "Centrale DPIA",
                   "Dichtstbijzijnde registerregel (zekerheid)"):
        assert column in header


def started(code: str) -> str:
    """What `code` prints in a new Python process, run outside the checkout."""
    return subprocess.run([sys.executable, "-c", code], check=True, capture_output=True,
                          text=True, cwd=ROOT.parent).stdout.strip()


def test_start_imports_no_library_a_command_may_not_need() -> None:
    """numpy and pandas (which sqlite-utils takes when installed), capture, register
    matching and the report cost every command's start, so none is imported by it."""
    left_out = ("numpy", "pandas", "scapy", "openpyxl", "rapidfuzz", "jinja2")
    imported = started(f"import sys, scanner.cli; print([m for m in {left_out!r} "
                       "if m in sys.modules])")
    assert imported == "[]"


def test_numpy_stays_importable_after_appradar() -> None:
    numpy = pytest.importorskip("numpy")
    assert started("import scanner.cli, numpy; print(numpy.__version__)") == numpy.__version__


def test_a_program_that_imported_numpy_first_keeps_it_in_sqlite_utils() -> None:
    pytest.importorskip("numpy")
    assert started("import numpy, scanner.cli, sqlite_utils.db; "
                   "print(sqlite_utils.db.np is numpy)") == "True"
