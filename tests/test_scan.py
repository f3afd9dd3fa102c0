"""A scan is transactional: re-runs never double count, interruptions resume, kills are safe."""

from __future__ import annotations

import ipaddress
import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from scanner import scan as scan_module
from scanner.extract import Dissector
from scanner.inventory import open_database
from scanner.privacy import Pseudonymiser, key_path_for, load_or_create_key
from scanner.scan import Scanner
from scanner.signatures.catalog import Catalog
from scanner.sources.pcap import CaptureReader

ROOT = Path(__file__).parent.parent
EXAMPLE = ROOT / "examples" / "school-day.pcap"


def snapshot(database: Path) -> dict[str, list[tuple]]:
    connection = sqlite3.connect(database)
    tables = {
        "domains": "SELECT domain, app, seen, hits, first_seen, last_seen FROM domains",
        "daily": "SELECT day, site, segment, d.domain, x.hits FROM daily x "
                 "JOIN domains d ON d.id = x.domain_id",
        "device_days": "SELECT day, site, segment, d.domain, v.pseudonym FROM device_days x "
                       "JOIN domains d ON d.id = x.domain_id, json_each(x.devices) j "
                       "JOIN devices v ON v.id = j.value",
        "cnames": "SELECT alias, target FROM cnames",
    }
    result = {name: sorted(connection.execute(sql).fetchall()) for name, sql in tables.items()}
    connection.close()
    return result


def scanner_for(database: Path, segment_of: Callable[[bytes], str] | None = None) -> Scanner:
    key = load_or_create_key(key_path_for(database))
    return Scanner(open_database(database), Catalog.load(), Pseudonymiser(key),
                   segment_of=segment_of)


def test_scanning_the_same_file_twice_counts_once(app, tmp_path: Path) -> None:
    app("scan", str(EXAMPLE))
    once = snapshot(app.database)
    copy = tmp_path / "renamed.pcap"
    copy.write_bytes(EXAMPLE.read_bytes())
    result = app("scan", str(EXAMPLE), str(copy))
    assert result.stderr.count("already imported, skipped") == 2
    assert snapshot(app.database) == once
    assert once["domains"] and once["device_days"]


def scan_interrupted(path: Path, clean: Path, interrupted: Path) -> int:
    """Scan `path` into `interrupted` (with `clean`'s key) until three batches are stored;
    checks the import is left partial there and returns where it stopped."""
    (interrupted.parent / (interrupted.name + ".key")).write_bytes(
        (clean.parent / (clean.name + ".key")).read_bytes())
    calls = []

    def stop_after_three_batches(path: str, unit: int) -> None:
        calls.append(unit)
        if len(calls) == 3:
            raise KeyboardInterrupt

    scanner = scanner_for(interrupted)
    scanner.on_progress = stop_after_three_batches
    assert scanner.run([str(path)]).interrupted
    done = sqlite3.connect(interrupted).execute(
        "SELECT frames_done, status FROM imports").fetchone()
    assert done == (calls[2], "partial")
    assert snapshot(interrupted) != snapshot(clean)
    return calls[2]


def test_interrupted_scan_resumes_without_double_counting(tmp_path: Path,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    clean = tmp_path / "clean.db"
    scanner_for(clean).run([str(EXAMPLE)])
    monkeypatch.setattr(scan_module, "FLUSH_OBSERVATIONS", 50)
    interrupted = tmp_path / "interrupted.db"
    scan_interrupted(EXAMPLE, clean, interrupted)
    second = scanner_for(interrupted).run([str(EXAMPLE)])
    assert [item.status for item in second.files] == ["resumed"]
    assert snapshot(interrupted) == snapshot(clean)


def test_killed_scan_leaves_a_consistent_database(tmp_path: Path) -> None:
    capture = tmp_path / "day.pcap"
    subprocess.run([sys.executable, str(ROOT / "bench" / "make_school_day.py"), str(capture),
                    "--packets", "700000", "--seed", "3"], check=True, capture_output=True)
    database = tmp_path / "killed.db"
    command = [sys.executable, "-m", "scanner", "scan", str(capture), "--db", str(database)]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    frames_done = 0
    while time.monotonic() < deadline and not frames_done and process.poll() is None:
        time.sleep(0.05)
        if database.exists():
            try:
                row = sqlite3.connect(database).execute(
                    "SELECT frames_done FROM imports").fetchone()
            except sqlite3.OperationalError:
                continue
            frames_done = row[0] if row else 0
    assert process.poll() is None, "the scan finished before it could be killed"
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    connection = sqlite3.connect(database)
    assert connection.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    assert connection.execute("SELECT status FROM imports").fetchone() == ("partial",)
    connection.close()
    subprocess.run(command, check=True, capture_output=True)
    clean = tmp_path / "clean.db"
    (tmp_path / "clean.db.key").write_bytes((tmp_path / "killed.db.key").read_bytes())
    subprocess.run([*command[:-1], str(clean)], check=True, capture_output=True)
    assert snapshot(database) == snapshot(clean)


def running(database: Path) -> bool:
    """Whether a scan into `database` has recorded its run and not yet finished it."""
    try:
        with sqlite3.connect(f"file:{database}?mode=ro", uri=True) as connection:
            row = connection.execute("SELECT finished FROM runs").fetchone()
        connection.close()
    except sqlite3.Error:
        return False
    return row is not None and row[0] is None


def test_sigterm_stops_cleanly_with_exit_130(tmp_path: Path) -> None:
    capture = tmp_path / "day.pcap"
    subprocess.run([sys.executable, str(ROOT / "bench" / "make_school_day.py"), str(capture),
                    "--packets", "200000", "--seed", "4"], check=True, capture_output=True)
    database = tmp_path / "term.db"
    process = subprocess.Popen(
        [sys.executable, "-m", "scanner", "scan", str(capture), "--db", str(database)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    started = time.monotonic() + 30
    while not running(database) and time.monotonic() < started:
        time.sleep(0.02)  # until the scan has begun: start-up alone may take a second or not
    process.send_signal(signal.SIGTERM)
    _, error = process.communicate(timeout=60)
    assert process.returncode == 130, error
    assert "run the same scan again to continue" in error
    status = sqlite3.connect(database).execute("SELECT status FROM runs").fetchone()
    assert status == ("interrupted",)


def client_addresses(path: Path) -> set[str]:
    dissector = Dissector()
    for frame in CaptureReader(path):
        dissector.frame(*frame)
    return {str(ipaddress.ip_address(item.client)) for item in dissector.drain()}


def textual_forms(address: str) -> set[str]:
    parsed = ipaddress.ip_address(address)
    forms = {str(parsed), parsed.exploded}
    if parsed.version == 4:
        forms.add(".".join(reversed(str(parsed).split("."))) + ".in-addr.arpa")
    return forms


def test_no_client_address_reaches_the_database_or_outputs(app, tmp_path: Path) -> None:
    addresses = client_addresses(EXAMPLE)
    assert len(addresses) > 20
    app("scan", str(EXAMPLE))
    app("register", "import", str(ROOT / "examples" / "register.csv"))
    outputs = [app("apps", "--format", "json").stdout, app("domains", "--format", "csv").stdout]
    app("export", "csv", str(tmp_path / "export.csv"))
    outputs.append((tmp_path / "export.csv").read_text(encoding="utf-8-sig"))
    stored = b"".join(path.read_bytes() for path in tmp_path.iterdir()
                      if path.name.startswith("inventory.db") and not path.name.endswith(".key"))
    for address in addresses:
        for form in textual_forms(address):
            assert form.encode() not in stored, form
            assert all(form not in output for output in outputs), form


def test_database_and_key_are_owner_only(app) -> None:
    app("scan", str(EXAMPLE))
    assert app.database.stat().st_mode & 0o777 == 0o600
    assert key_path_for(app.database).stat().st_mode & 0o777 == 0o600


def test_keep_client_addresses_is_explicit_and_recorded(app) -> None:
    app("scan", str(EXAMPLE), "--keep-client-addresses")
    connection = sqlite3.connect(app.database)
    assert connection.execute("SELECT keep_client_addresses FROM runs").fetchone() == (1,)
    pseudonyms = {row[0] for row in connection.execute("SELECT pseudonym FROM devices")}
    assert pseudonyms == client_addresses(EXAMPLE)
