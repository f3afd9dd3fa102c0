"""Reconciliation of scans with the register: real pcaps scanned, a real register imported."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

import pytest
from scapy.layers.inet import IP, UDP
from scapy.packet import Raw

from scanner.inventory import open_database
from scanner.inventory.reconcile import (
    NEVER_SEEN,
    NO_APP_LINKED,
    REJECTED_IN_USE,
    Reconciliation,
    parse_date,
    reconcile,
)
from scanner.signatures.catalog import Catalog
from tests.conftest import App
from tests.packets import SERVER, dns_query, ether, write_pcap

TODAY = date(2024, 5, 20)

REGISTER = """\ufeffApplicatie;Leverancier;Doel;Verwerkersovereenkomst;Datum verwerkersovereenkomst
Magister 6;Iddink Group;Leerlingadministratie;Ja (model Privacyconvenant 4.0);01-08-2023
Kahoot;Kahoot! ASA;Quizzen;Nee, alleen gebruiksvoorwaarden;
Zermelo;Zermelo Software B.V.;Rooster;Ja;2019-03-01
Schoolfotograaf Lachend Vastgelegd;Lachend Vastgelegd;Schoolfoto's;Ja;begin 2022
YouTube;Google;Filmpjes in de les;;
Gynzy;Gynzy B.V.;Digibord;Ja;5-1-2024
"""


def queries_at(moment: datetime, names: list[tuple[str, str]]) -> list:
    """DNS queries (client, name) at one moment; the scan keeps names, days and pseudonyms."""
    packets = []
    for index, (client, name) in enumerate(names):
        packet = (ether() / IP(src=client, dst=SERVER) / UDP(sport=40000 + index, dport=53)
                  / Raw(dns_query(name, ident=index + 1)))
        packet.time = moment.timestamp() + index
        packets.append(packet)
    return packets


@pytest.fixture
def school(app: App, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> App:
    """Two scans (January at the annex, May at the main building), a register and reviews.

    Roblox is rejected on 10 May and not seen after; TikTok and YouTube are rejected on 10
    May and seen again on 15 May.
    """
    january = write_pcap(tmp_path / "january.pcap", queries_at(datetime(2024, 1, 10, 9), [
        ("10.1.0.5", "kahoot.it"), ("10.1.0.6", "kahoot.it"), ("10.1.0.5", "www.roblox.com"),
    ]))
    may = write_pcap(tmp_path / "may.pcap", queries_at(datetime(2024, 5, 15, 10), [
        ("10.1.0.5", "magister.net"), ("10.1.0.6", "magister.net"),
        ("10.1.0.7", "magister.net"), ("10.1.0.5", "www.tiktok.com"),
        ("10.1.0.6", "www.tiktok.com"), ("10.1.0.7", "www.youtube.com"),
        ("10.1.0.7", "www.google-analytics.com"), ("10.1.0.8", "update.microsoft.com"),
    ]))
    register = tmp_path / "register.csv"
    register.write_text(REGISTER, encoding="utf-8")
    app("scan", str(january), "--site", "annex")
    app("register", "import", str(register))
    monkeypatch.setattr("scanner.review.now_iso", lambda: "2024-05-10T08:00:00+00:00")
    for rejected in ("roblox", "tiktok", "youtube"):
        app("review", rejected, "--status", "rejected", "--note", "geen overeenkomst")
    app("scan", str(may), "--site", "main")
    return app


def run(app: App, **options: object) -> Reconciliation:
    return reconcile(open_database(app.database), Catalog.load(), today=TODAY,
                     **options)  # type: ignore[arg-type]


def test_register_links_as_expected(school: App) -> None:
    """The premise of the other tests: which rows the import linked to which apps."""
    rows = {row["row"]: row["apps"] for row in school.json("register", "show")}
    assert rows == {2: ["magister"], 3: ["kahoot"], 4: ["zermelo"], 5: [], 6: ["youtube"],
                    7: ["gynzy"]}


def test_unregistered(school: App) -> None:
    result = run(school)
    assert [(item["app"], item["status"], item["devices"], item["registered"], item["flag"])
            for item in result.unregistered] == [
        ("tiktok", "rejected", 2, False, REJECTED_IN_USE),
        ("youtube", "rejected", 1, True, REJECTED_IN_USE),
        ("roblox", "rejected", 1, False, None),
    ]
    tiktok = result.unregistered[0]
    assert tiktok["rejected"] == "2024-05-10T08:00:00+00:00"
    assert tiktok["segments"] == {"other": 2}
    assert tiktok["domains"] == ["www.tiktok.com"]


def test_unregistered_lists_trackers_and_infrastructure_never(school: App) -> None:
    apps = {item["app"] for item in run(school).unregistered}
    assert not apps & {"google-analytics", "windows-update", "magister", "kahoot"}


def test_not_seen(school: App) -> None:
    result = run(school)
    assert [(item["row"], item["application"], item["apps"], item["last_seen"],
             item["days_ago"], item["reason"]) for item in result.not_seen] == [
        (3, "Kahoot", ["kahoot"], "2024-01-10", 131, "not seen for 131 days"),
        (4, "Zermelo", ["zermelo"], None, None, NEVER_SEEN),
        (5, "Schoolfotograaf Lachend Vastgelegd", [], None, None, NO_APP_LINKED),
        (7, "Gynzy", ["gynzy"], None, None, NEVER_SEEN),
    ]


def test_not_seen_window_is_configurable(school: App) -> None:
    """Kahoot was seen 131 days ago: inside a 200-day window, outside a 130-day one."""
    assert 3 not in [item["row"] for item in run(school, not_seen_days=200).not_seen]
    assert 3 in [item["row"] for item in run(school, not_seen_days=130).not_seen]
    assert 3 not in [item["row"] for item in run(school, not_seen_days=131).not_seen]


def test_agreement_problems_without_an_age(school: App) -> None:
    result = run(school)
    assert [(item["row"], item["application"], item["code"], item["problem"])
            for item in result.agreement_problems] == [
        (3, "Kahoot", "missing", "missing"),
        (5, "Schoolfotograaf Lachend Vastgelegd", "unreadable", "unreadable date 'begin 2022'"),
        (6, "YouTube", "missing", "missing"),
    ]


def test_agreement_problems_with_an_age(school: App) -> None:
    """Three years: Zermelo (2019) is outdated; Magister (2023) and Gynzy (2024) are fine."""
    result = run(school, agreement_max_age_days=3 * 365)
    assert [(item["row"], item["code"], item["problem"], item["dpa"], item["dpa_date"])
            for item in result.agreement_problems] == [
        (3, "missing", "missing", "Nee, alleen gebruiksvoorwaarden", ""),
        (4, "outdated", "outdated (2019-03-01)", "Ja", "2019-03-01"),
        (5, "unreadable", "unreadable date 'begin 2022'", "Ja", "begin 2022"),
        (6, "missing", "missing", "", ""),
    ]
    shorter = run(school, agreement_max_age_days=200)
    assert [(item["row"], item["problem"]) for item in shorter.agreement_problems
            if item["code"] == "outdated"] == [(2, "outdated (2023-08-01)"),
                                              (4, "outdated (2019-03-01)")]


def test_per_site(school: App) -> None:
    """At the main building Kahoot and Roblox were never seen; at the annex only they were."""
    main = run(school, site="main")
    assert [item["app"] for item in main.unregistered] == ["tiktok", "youtube"]
    assert [(item["row"], item["reason"]) for item in main.not_seen] == [
        (3, NEVER_SEEN), (4, NEVER_SEEN), (5, NO_APP_LINKED), (7, NEVER_SEEN)]
    annex = run(school, site="annex")
    assert [(item["app"], item["flag"]) for item in annex.unregistered] == [("roblox", None)]
    assert [(item["row"], item["reason"]) for item in annex.not_seen] == [
        (2, NEVER_SEEN), (3, "not seen for 131 days"), (4, NEVER_SEEN), (5, NO_APP_LINKED),
        (6, NEVER_SEEN), (7, NEVER_SEEN)]


def test_without_a_register(app: App, tmp_path: Path) -> None:
    pcap = write_pcap(tmp_path / "one.pcap", queries_at(datetime(2024, 5, 15, 10), [
        ("10.1.0.5", "www.tiktok.com"), ("10.1.0.5", "magister.net")]))
    app("scan", str(pcap))
    result = run(app)
    assert not result.register_imported
    assert [item["app"] for item in result.unregistered] == ["magister", "tiktok"]
    assert result.not_seen == [] and result.agreement_problems == []


def test_rejecting_again_keeps_the_first_rejection(school: App,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    """Saving the same decision with a new note does not forgive the use in between."""
    monkeypatch.setattr("scanner.review.now_iso", lambda: "2024-05-18T08:00:00+00:00")
    school("review", "tiktok", "--status", "rejected", "--note", "nog steeds niet")
    tiktok = run(school).unregistered[0]
    assert (tiktok["app"], tiktok["flag"], tiktok["rejected"]) == (
        "tiktok", REJECTED_IN_USE, "2024-05-10T08:00:00+00:00")


def test_a_new_rejection_after_approval_restarts_the_clock(
        school: App, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("scanner.review.now_iso", lambda: "2024-05-16T08:00:00+00:00")
    school("review", "tiktok", "--status", "approved")
    monkeypatch.setattr("scanner.review.now_iso", lambda: "2024-05-17T08:00:00+00:00")
    school("review", "tiktok", "--status", "rejected")
    tiktok = next(item for item in run(school).unregistered if item["app"] == "tiktok")
    assert (tiktok["flag"], tiktok["rejected"]) == (None, "2024-05-17T08:00:00+00:00")


def test_approving_again_clears_the_flag(school: App, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("scanner.review.now_iso", lambda: "2024-05-16T08:00:00+00:00")
    school("review", "tiktok", "--status", "approved")
    tiktok = next(item for item in run(school).unregistered if item["app"] == "tiktok")
    assert (tiktok["status"], tiktok["flag"], tiktok["rejected"]) == ("approved", None, None)


@pytest.mark.parametrize(("text", "expected"), [
    ("2023-08-01", date(2023, 8, 1)), ("01-08-2023", date(2023, 8, 1)),
    ("1-8-2023", date(2023, 8, 1)), ("01/08/2023", date(2023, 8, 1)),
    ("2023-08-01 00:00", date(2023, 8, 1)), (" 5-1-2024 ", date(2024, 1, 5)),
    ("31-02-2023", None), ("begin 2022", None), ("2023", None), ("", None),
])
def test_parse_date(text: str, expected: date | None) -> None:
    assert parse_date(text) == expected
