"""Unknown-domain triage and signature drafts, against a real scan of a small capture."""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta
from pathlib import Path

import pytest
from scapy.layers.inet import IP, UDP
from scapy.packet import Raw

from scanner.config import Config
from scanner.errors import SignatureError
from scanner.inventory import open_database
from scanner.inventory.retention import purge
from scanner.inventory.unknown import unknown_groups
from scanner.signatures.catalog import Catalog
from scanner.signatures.suggest import slug, suggest
from tests.packets import SERVER, dns_query, ether, write_pcap

DAYS = [date(2024, 3, 4), date(2024, 3, 5), date(2024, 3, 6)]
C1, C2, C3, C4 = "10.1.0.1", "10.1.0.2", "10.1.0.3", "10.1.0.4"

# (day index, hour, client, name): three unknown registrable domains and one known app.
LYCEUM = [
    (0, 9, C1, "www.leerwereld-demo.nl"), (0, 9, C2, "www.leerwereld-demo.nl"),
    (0, 10, C3, "api.leerwereld-demo.nl"), (1, 9, C1, "api.leerwereld-demo.nl"),
    (1, 11, C1, "cdn.leerwereld-demo.nl"), (2, 9, C2, "www.leerwereld-demo.nl"),
    (0, 9, C1, "a.quizmaker.co.uk"), (0, 9, C2, "a.quizmaker.co.uk"),
    (0, 9, C3, "b.quizmaker.co.uk"), (0, 10, C4, "b.quizmaker.co.uk"),
    (0, 12, C1, "px.odd-metrics.com"), (1, 12, C1, "px.odd-metrics.com"),
    (2, 12, C1, "px.odd-metrics.com"), (2, 14, C1, "px.odd-metrics.com"),
    (0, 8, C1, "school.magister.net"), (1, 8, C2, "school.magister.net"),
    (2, 8, C3, "school.magister.net"), (2, 8, C4, "school.magister.net"),
]
BASIS = [(0, 13, C4, "px.odd-metrics.com")]


def capture(path: Path, queries: list[tuple[int, int, str, str]]) -> Path:
    """DNS queries as a client sends them, stamped at local times on the given days."""
    packets = []
    for number, (day, hour, client, name) in enumerate(queries, 1):
        packet = (ether() / IP(src=client, dst=SERVER) / UDP(sport=40000 + number, dport=53)
                  / Raw(dns_query(name, ident=number)))
        packet.time = datetime.combine(DAYS[day], datetime.min.time()).replace(
            hour=hour, minute=number % 60).timestamp()
        packets.append(packet)
    return write_pcap(path, packets)


def local(day: int, hour: int, minute: int) -> str:
    moment = datetime.combine(DAYS[day], datetime.min.time()).replace(hour=hour, minute=minute)
    return moment.astimezone().isoformat(timespec="seconds")


@pytest.fixture
def scanned(app, tmp_path: Path):  # type: ignore[no-untyped-def]
    """Two sites scanned through the CLI, as a school would."""
    app("scan", str(capture(tmp_path / "lyceum.pcap", LYCEUM)), "--site", "lyceum")
    app("scan", str(capture(tmp_path / "basis.pcap", BASIS)), "--site", "basis")
    return app


def test_unknown_names_are_grouped_by_registrable_domain(scanned) -> None:  # type: ignore[no-untyped-def]
    groups = unknown_groups(open_database(scanned.database))
    assert groups == [
        {"registrable": "quizmaker.co.uk", "names": 2,
         "examples": ["a.quizmaker.co.uk", "b.quizmaker.co.uk"], "devices": 4, "days": 1,
         "hits": 4, "first_seen": local(0, 9, 7), "last_seen": local(0, 10, 10)},
        {"registrable": "leerwereld-demo.nl", "names": 3,
         "examples": ["www.leerwereld-demo.nl", "api.leerwereld-demo.nl",
                      "cdn.leerwereld-demo.nl"],
         "devices": 3, "days": 3, "hits": 6, "first_seen": local(0, 9, 1),
         "last_seen": local(2, 9, 6)},
        {"registrable": "odd-metrics.com", "names": 1, "examples": ["px.odd-metrics.com"],
         "devices": 2, "days": 3, "hits": 5, "first_seen": local(0, 12, 11),
         "last_seen": local(2, 14, 14)},
    ]
    # The groups add up to what `appradar domains --unknown` lists name by name.
    names = scanned.json("domains", "--unknown", "--names")
    for group in groups:
        members = [row for row in names if row["registrable"] == group["registrable"]]
        assert len(members) == group["names"]
        assert sum(row["hits"] for row in members) == group["hits"]
    assert unknown_groups(open_database(scanned.database), limit=1)[0]["registrable"] == (
        "quizmaker.co.uk")


def test_site_and_since_count_only_those_aggregates(scanned) -> None:  # type: ignore[no-untyped-def]
    database = open_database(scanned.database)
    assert [(g["registrable"], g["names"], g["devices"], g["days"], g["hits"])
            for g in unknown_groups(database, since="2024-03-05")] == [
        ("leerwereld-demo.nl", 3, 2, 2, 3),
        ("odd-metrics.com", 1, 1, 2, 3),
    ]
    assert [(g["registrable"], g["devices"], g["days"], g["hits"])
            for g in unknown_groups(database, site="basis")] == [("odd-metrics.com", 1, 1, 1)]
    assert unknown_groups(database, site="elsewhere") == []


def test_folded_device_counts_are_used_after_retention(scanned) -> None:  # type: ignore[no-untyped-def]
    database = open_database(scanned.database)
    result = purge(database, Config(), today=date.today() + timedelta(days=40))
    assert result.device_rows_deleted == 18 and result.aggregate_rows_deleted == 0
    assert [(g["registrable"], g["devices"], g["days"], g["hits"])
            for g in unknown_groups(database)] == [
        ("leerwereld-demo.nl", 2, 3, 6),  # the busiest day's count: a lower bound
        ("quizmaker.co.uk", 2, 1, 4),
        ("odd-metrics.com", 1, 3, 5),
    ]


def test_empty_inventory_has_no_groups(tmp_path: Path) -> None:
    assert unknown_groups(open_database(tmp_path / "empty.db")) == []


# -- signatures suggest ------------------------------------------------------------------------

def test_suggest_drafts_a_valid_local_signature(scanned, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    local = tmp_path / "local"
    database = open_database(scanned.database)
    before = Catalog.load()
    assert before.app_id("api.leerwereld-demo.nl") is None
    path = suggest(database, "leerwereld-demo.nl", local, catalog=before, small_count=1,
                   today=date(2024, 3, 7))
    assert path == local / "apps" / "leerwereld-demo-nl.toml"
    assert path.read_text() == """\
# Draft for leerwereld-demo.nl: fill in what is known and keep "unknown" where it is not.
# Names seen under this domain:
#   www.leerwereld-demo.nl  (3 hits, 2 devices)
#   api.leerwereld-demo.nl  (2 hits, 2 devices)
#   cdn.leerwereld-demo.nl  (1 hits, 1 devices)
id = "leerwereld-demo-nl"
name = "leerwereld-demo.nl"
kind = "app"                 # app | infrastructure | tracker
vendor = "unknown"
vendor_country = "unknown"   # ISO 3166-1 alpha-2, or "unknown"
eea = "unknown"              # true | false | "unknown"
category = "unknown"
education_levels = []
domains = ["leerwereld-demo.nl"]
hosts = []
description = "Drafted by appradar signatures suggest on 2024-03-07 from 3 name(s) seen; \
check the facts"
sources = []                 # where the facts in this file come from

[privacy]
privacyconvenant = "unknown"
central_dpia = "unknown"
data_location = "unknown"
"""
    catalog = Catalog.load(local)
    for name in ("www.leerwereld-demo.nl", "api.leerwereld-demo.nl", "cdn.leerwereld-demo.nl"):
        assert catalog.app_id(name) == "leerwereld-demo-nl"
    assert catalog.app_id("notleerwereld-demo.nl") is None
    facts = catalog.apps["leerwereld-demo-nl"]
    assert (facts.vendor, facts.vendor_country, facts.eea) == ("unknown", "unknown", None)
    # and it shows up as an app to account for, through the CLI, once the names are re-read
    shown = json.loads(scanned("signatures", "show", "leerwereld-demo-nl", "--signatures",
                               str(local)).stdout)
    assert shown["domains"] == ["leerwereld-demo.nl"]


def test_suggest_masks_small_device_counts(scanned, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    path = suggest(open_database(scanned.database), "quizmaker.co.uk", tmp_path,
                   small_count=5)
    assert "#   a.quizmaker.co.uk  (2 hits, <5 devices)" in path.read_text()


def test_suggest_refuses_to_overwrite(scanned, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    database = open_database(scanned.database)
    path = suggest(database, "odd-metrics.com", tmp_path)
    path.write_text(path.read_text().replace('vendor = "unknown"', 'vendor = "Odd BV"'))
    with pytest.raises(SignatureError) as error:
        suggest(database, "odd-metrics.com", tmp_path)
    assert str(error.value) == f"{path} already exists; edit it, or remove it first"
    assert 'vendor = "Odd BV"' in path.read_text()


def test_suggest_refuses_an_id_the_catalog_has(scanned, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    database = open_database(scanned.database)
    suggest(database, "odd-metrics.com", tmp_path / "one")
    catalog = Catalog.load(tmp_path / "one")
    with pytest.raises(SignatureError, match="id 'odd-metrics-com' already exists"):
        suggest(database, "odd-metrics.com", tmp_path / "two", catalog=catalog)


def test_suggest_needs_unknown_names_under_the_domain(scanned, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    database = open_database(scanned.database)
    with pytest.raises(SignatureError) as error:
        suggest(database, "magister.net", tmp_path)
    assert str(error.value) == (
        "the inventory has no unattributed names under 'magister.net'; see 'appradar domains "
        "--unknown' for the registrable domains to choose from")
    with pytest.raises(SignatureError, match="is not a domain name"):
        suggest(database, "not a domain", tmp_path)
    assert not list(tmp_path.rglob("*.toml"))


@pytest.mark.parametrize(("domain", "expected"), [
    ("schoolplein.nl", "schoolplein-nl"), ("quizmaker.co.uk", "quizmaker-co-uk"),
    ("xn--mnchen-3ya.de", "xn-mnchen-3ya-de"), ("a" * 70 + ".com", "a" * 63),
])
def test_slug(domain: str, expected: str) -> None:
    assert slug(domain) == expected
