"""appradar practises what it preaches: pseudonyms, retention, small numbers, no addresses."""

from __future__ import annotations

import ipaddress
import sqlite3
from datetime import date, timedelta
from pathlib import Path

import dns.reversename
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scapy.layers.inet import IP, TCP, UDP
from scapy.layers.inet6 import IPv6
from scapy.packet import Raw

from scanner.config import Config
from scanner.inventory import open_database
from scanner.inventory.retention import DailyPurge, purge
from scanner.privacy import Pseudonymiser, key_path_for, load_or_create_key, rotate_key
from tests.conftest import App
from tests.packets import client_hello, dns_query, ether, write_pcap

ROOT = Path(__file__).parent.parent
EXAMPLE = ROOT / "examples" / "school-day.pcap"


def traffic(addresses: list[ipaddress.IPv4Address | ipaddress.IPv6Address]) -> list:
    packets = []
    for index, address in enumerate(addresses):
        network = IP(src=str(address), dst="192.0.2.53") if address.version == 4 else IPv6(
            src=str(address), dst="2001:db8::53")
        packets.append(ether() / network / UDP(sport=40000 + index, dport=53)
                       / Raw(dns_query(f"app{index % 3}.magister.net", index)))
        reverse = dns.reversename.from_address(str(address)).to_text(omit_final_dot=True)
        packets.append(ether() / network / UDP(sport=41000 + index, dport=53)
                       / Raw(dns_query(reverse, index)))  # a device looking itself up
        packets.append(ether() / network / TCP(sport=50000 + index, dport=443, flags="PA")
                       / Raw(client_hello("www.tiktok.com")))
        packets.append(ether() / network / TCP(sport=51000 + index, dport=80, flags="PA")
                       / Raw(b"GET / HTTP/1.1\r\nHost: quizlet.com\r\n\r\n"))
    return packets


def forms(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> set[str]:
    found = {str(address), address.exploded, address.reverse_pointer}
    if address.version == 4:
        found.add(".".join(reversed(str(address).split("."))))
    return {form for form in found if len(form) >= 7}


addresses = st.lists(st.one_of(st.ip_addresses(v=4), st.ip_addresses(v=6)), min_size=1,
                     max_size=12, unique=True)


@settings(max_examples=25, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(addresses)
def test_no_client_address_in_any_textual_form_is_stored_or_shown(tmp_path_factory,
                                                                  clients) -> None:
    folder = tmp_path_factory.mktemp("property")
    capture = write_pcap(folder / "t.pcap", traffic(clients))
    app = App(folder / "inventory.db")
    outputs = [app("scan", str(capture)).output]
    for command in (("apps", "--format", "json"), ("apps", "--format", "csv"),
                    ("domains", "--format", "json"), ("domains", "--format", "table"),
                    ("review", "list", "--format", "csv")):
        outputs.append(app(*command).output)
    app("export", "csv", str(folder / "export.csv"))
    outputs.append((folder / "export.csv").read_text(encoding="utf-8-sig"))
    app("report", str(folder / "report.html"))
    outputs.append((folder / "report.html").read_text(encoding="utf-8"))
    stored = b"".join(path.read_bytes() for path in folder.glob("inventory.db*")
                      if not path.name.endswith(".key"))
    assert b"magister" in stored  # the names are there, the addresses are not
    for client in clients:
        for form in forms(client):
            assert form.encode() not in stored, form
            assert not any(form in output for output in outputs), form


def test_pseudonyms_are_keyed_and_rotation_unlinks_them(tmp_path: Path) -> None:
    path = tmp_path / "k"
    key = load_or_create_key(path)
    assert path.stat().st_mode & 0o777 == 0o600
    address = ipaddress.ip_address("10.1.2.3").packed
    before = Pseudonymiser(key)(address)
    assert before == Pseudonymiser(load_or_create_key(path))(address)
    assert before != Pseudonymiser(b"x" * 32)(address)
    rotate_key(path)
    assert path.stat().st_mode & 0o777 == 0o600
    assert Pseudonymiser(load_or_create_key(path))(address) != before


def test_rotate_key_command_is_recorded(app) -> None:
    app("scan", str(EXAMPLE))
    old = key_path_for(app.database).read_bytes()
    result = app("privacy", "rotate-key")
    assert "earlier pseudonyms can no longer be linked" in result.stdout
    assert key_path_for(app.database).read_bytes() != old
    commands = [row[0] for row in sqlite3.connect(app.database).execute(
        "SELECT command FROM runs ORDER BY id")]
    assert commands[-1] == "privacy rotate-key"


def test_damaged_key_is_an_error_not_a_new_key(app) -> None:
    app("scan", str(EXAMPLE))
    key_path_for(app.database).write_bytes(b"short")
    result = app("scan", str(EXAMPLE), expect=1)
    assert "is damaged (5 bytes, expected 32); restore it from backup" in result.stderr


def test_a_long_capture_purges_when_the_date_changes(app) -> None:
    """A capture runs for months: after a flush on a new day it applies retention, and not
    again that day."""
    app("scan", str(EXAMPLE))
    database = open_database(app.database)
    today = [date.today()]
    daily = DailyPurge(database, Config(), today=lambda: today[0])
    assert daily() is None  # the day it started
    today[0] += timedelta(days=30)
    kept = daily()  # a new day: purged, but nothing is old enough yet
    assert kept is not None and not kept.deleted_anything
    assert daily() is None  # already purged on this date
    today[0] += timedelta(days=1)
    folded = daily()
    assert folded is not None and folded.device_rows_deleted > 0
    assert database.conn.execute("SELECT count(*) FROM device_days").fetchone() == (0,)
    assert daily() is None
    database.conn.close()


def test_retention_folds_device_rows_then_expires_totals(app) -> None:
    app("scan", str(EXAMPLE))
    database = open_database(app.database)
    before = {item["app"]: item for item in app.json("apps")}
    pseudonyms = [row[0] for row in database.conn.execute("SELECT pseudonym FROM devices")]
    device_days = database.conn.execute(  # a device's day with a name
        "SELECT count(*) FROM device_days x, json_each(x.devices)").fetchone()[0]
    config = Config()
    nothing = purge(database, config, today=date.today() + timedelta(days=30))
    assert not nothing.deleted_anything
    folded = purge(database, config, today=date.today() + timedelta(days=31))
    assert folded.folded_days == 1 and folded.device_rows_deleted == device_days > len(pseudonyms)
    assert database.conn.execute("SELECT count(*) FROM device_days").fetchone() == (0,)
    assert database.conn.execute("SELECT count(*) FROM devices").fetchone() == (0,)
    after = {item["app"]: item for item in app.json("apps")}
    assert after.keys() == before.keys()
    for app_id, item in before.items():  # the counts survive as daily numbers
        assert after[app_id]["devices"] == item["devices"], app_id
        assert after[app_id]["hits"] == item["hits"], app_id
    database.conn.close()
    raw = b"".join(path.read_bytes() for path in app.database.parent.glob("inventory.db*")
                   if not path.name.endswith(".key"))
    assert not any(pseudonym.encode() in raw for pseudonym in pseudonyms)
    database = open_database(app.database)
    expired = purge(database, config, today=date.today() + timedelta(days=401))
    assert expired.aggregate_rows_deleted > 0 and expired.domains_deleted > 0
    assert app.json("apps") == [] and app.json("domains") == []


def test_lan_names_an_older_version_stored_are_deleted_once(app) -> None:
    """An inventory from before LAN names were kept out holds device names such as
    `juliets-iphone.lan`: the next purge deletes them with their daily and per-device rows,
    once for each set of rules, and says so."""
    app("scan", str(EXAMPLE))
    database = open_database(app.database)
    connection = database.conn
    kept = connection.execute("SELECT count(*) FROM domains").fetchone()[0]
    with connection:  # what an older version wrote
        for domain in ("juliets-iphone.lan", "desktop-7f3k"):
            domain_id = connection.execute(
                "INSERT INTO domains (domain, seen, hits, first_seen, last_seen) "
                "VALUES (?, 1, 3, 1.0, 2.0)", (domain,)).lastrowid
            connection.execute("INSERT INTO daily (day, site, segment, domain_id, hits, stored) "
                               "SELECT day, site, segment, ?, 3, stored FROM daily LIMIT 1",
                               (domain_id,))
            connection.execute(
                "INSERT INTO device_days (day, site, segment, domain_id, devices, stored) "
                "SELECT day, site, segment, ?, devices, stored FROM device_days LIMIT 1",
                (domain_id,))
        connection.execute("INSERT INTO cnames (alias, target, first_seen, last_seen) "
                           "VALUES ('juliets-iphone.lan', 'desktop-7f3k', 1.0, 2.0)")
        connection.execute("DELETE FROM meta WHERE key = 'kept_out'")
    assert purge(database, Config()).names_kept_out == 2
    assert connection.execute("SELECT count(*) FROM domains").fetchone()[0] == kept
    assert connection.execute(
        "SELECT count(*) FROM daily WHERE domain_id NOT IN (SELECT id FROM domains) UNION ALL "
        "SELECT count(*) FROM device_days WHERE domain_id NOT IN (SELECT id FROM domains)"
    ).fetchall() == [(0,), (0,)]
    assert connection.execute("SELECT count(*) FROM cnames WHERE alias = 'juliets-iphone.lan'"
                              ).fetchone() == (0,)
    assert purge(database, Config()).names_kept_out == 0
    database.conn.close()
    raw = b"".join(path.read_bytes() for path in app.database.parent.glob("inventory.db*")
                   if not path.name.endswith(".key"))
    assert b"juliets-iphone" not in raw  # overwritten and vacuumed, not only unlinked


def test_purge_command_says_what_it_did(app) -> None:
    app("scan", str(EXAMPLE))
    result = app("purge")
    assert "Nothing older than the retention (30 days per device, 400 days for totals)." \
        in result.stderr


def test_privacy_statement_uses_the_configuration(app, tmp_path: Path) -> None:
    config = tmp_path / "appradar.toml"
    config.write_text('[segments]\npupils = "10.1.0.0/16"\nstaff = ["10.2.0.0/16"]\n'
                      '[retention]\ndevice_days = 14\n[privacy]\nsmall_count = 10\n')
    dutch = app("privacy", "statement", "--config", str(config)).stdout
    assert "Gegevens per apparaat 14 dagen nadat appradar ze opsloeg" in dutch
    assert "netwerksegment (pupils, staff)" in dutch
    assert "aantallen onder 10 apparaten niet exact" in dutch
    english = app("privacy", "statement", "--lang", "en", "--config", str(config)).stdout
    assert "Per-device data for 14 days after appradar stored it" in english
    assert "## For pupils and parents" in english
