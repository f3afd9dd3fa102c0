"""The HTML report, rendered from a real scan and checked in a real headless Chromium."""

from __future__ import annotations

import re
import shutil
import subprocess
from collections.abc import Iterator
from datetime import date
from html.parser import HTMLParser
from pathlib import Path

import pytest
from scapy.layers.inet import IP
from scapy.layers.inet6 import IPv6
from scapy.utils import PcapReader

from scanner.cli import cli
from scanner.config import Config
from scanner.inventory import open_database
from scanner.reports.html import render_report
from scanner.signatures.catalog import Catalog
from tests.conftest import App

EXAMPLES = Path(__file__).parent.parent / "examples"
PCAP = EXAMPLES / "school-day.pcap"
EVIL = "<script>alert(1)</script>"
EVIL_VENDOR = "<img src=x onerror=alert(2)>"
TODAY = date(2024, 3, 20)
DASH = "\u2013"

SIGNATURE = f'''id = "weather-widget"
name = "{EVIL}"
kind = "app"
vendor = "{EVIL_VENDOR}"
vendor_country = "NL"
eea = true
category = "library-and-research"
domains = ["buienradar.nl"]
'''

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
needs_chromium = pytest.mark.skipif(
    CHROMIUM is None, reason="Chromium is not installed (Debian: apt-get install chromium)")


@pytest.fixture(scope="module")
def school(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[App, Path]]:
    """The example school day, the example register plus a hostile row, a hostile local
    signature, and TikTok rejected at 08:00 that morning (it is seen until 13:43)."""
    directory = tmp_path_factory.mktemp("school")
    signatures = directory / "signatures"
    signatures.mkdir()
    (signatures / "weather-widget.toml").write_text(SIGNATURE, encoding="utf-8")
    register = directory / "register.csv"
    register.write_text(
        (EXAMPLES / "register.csv").read_text(encoding="utf-8-sig")
        + f"{EVIL};{EVIL_VENDOR};Test;;;Nee;;;;\n", encoding="utf-8")
    app = App(directory / "inventory.db")
    app("scan", str(PCAP), "--signatures", str(signatures))
    app("register", "import", str(register))  # without them: the row stays unlinked
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr("scanner.review.now_iso", lambda: "2024-03-12T08:00:00+00:00")
        app("review", "tiktok", "--status", "rejected", "--note", "Geen verwerkersovereenkomst")
    yield app, signatures


def render(school: tuple[App, Path], **options: object) -> str:
    app, signatures = school
    return render_report(open_database(app.database), Catalog.load(signatures), Config(),
                         today=TODAY, **options)  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def report(school: tuple[App, Path], tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("report") / "rapport.html"
    path.write_text(render(school, agreement_max_age_days=3 * 365), encoding="utf-8")
    return path


# -- the file itself ---------------------------------------------------------------------------

def test_self_contained(report: Path) -> None:
    """No scripts, and nothing fetched from elsewhere: it must open offline, years later."""
    html = report.read_text(encoding="utf-8")
    assert "<script" not in html
    assert not re.search(r"<[a-z][^>]*\ssrc=", html)
    assert set(re.findall(r'href="(.)', html)) == {"#"}
    assert "@import" not in html and "url(" not in html
    assert "<style>" in html
    assert "default-src 'none'" in html


def test_hostile_names_are_escaped(report: Path) -> None:
    html = report.read_text(encoding="utf-8")
    assert EVIL not in html and EVIL_VENDOR not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "&lt;img src=x onerror=alert(2)&gt;" in html


def test_no_client_address_in_the_report(report: Path) -> None:
    """Pseudonymisation holds through to the report: no address of the capture appears."""
    html = report.read_text(encoding="utf-8")
    addresses = set()
    with PcapReader(str(PCAP)) as packets:
        for packet in packets:
            for layer in (IP, IPv6):
                if layer in packet:
                    addresses |= {packet[layer].src, packet[layer].dst}
    assert len(addresses) > 10
    found = [address for address in addresses
             if re.search(rf"(?<![\w.:]){re.escape(address)}(?![\w.:])", html)]
    assert found == []


def test_english(school: tuple[App, Path]) -> None:
    html = render(school, language="en")
    assert '<html lang="en">' in html
    assert "In use, not in the register" in html and "About this report" in html
    assert "In gebruik" not in html


def test_unknown_language(school: tuple[App, Path]) -> None:
    with pytest.raises(ValueError, match="language must be one of nl, en"):
        render(school, language="de")


def test_one_site(school: tuple[App, Path]) -> None:
    """The example was scanned as site 'default'; another site has nothing to report."""
    html = render(school, site="default")
    assert "<title>Apps op het schoolnetwerk \u2013 default</title>" in html
    assert "12 maart 2024" in html
    elsewhere = render(school, site="annex")
    assert "nog geen gegevens" in elsewhere and 'class="count">0</span>' in elsewhere


@pytest.mark.skipif("report" not in cli.commands,
                    reason="scanner/cli.py has no 'report' command yet")
def test_cli(school: tuple[App, Path], tmp_path: Path) -> None:
    app, signatures = school
    out = tmp_path / "rapport.html"
    result = app("report", str(out), "--today", "2024-03-20", "--lang", "en",
                 "--agreement-max-age", "1095", "--signatures", str(signatures))
    assert result.output == f"Wrote the report to {out}.\n"
    assert out.read_text(encoding="utf-8") == render(school, language="en",
                                                     agreement_max_age_days=1095)


def test_empty_inventory(tmp_path: Path) -> None:
    """A report before the first scan says so, rather than failing."""
    html = render_report(open_database(tmp_path / "empty.db"), Catalog.load(), Config(),
                         today=TODAY)
    assert "nog geen gegevens" in html and "geen geïmporteerd" in html


# -- in a real browser -------------------------------------------------------------------------

class Dom(HTMLParser):
    """Just enough of the DOM Chromium dumps: headings, table rows per section, scripts."""

    def __init__(self, text: str) -> None:
        super().__init__()
        self.headings: list[tuple[str, str]] = []
        self.rows: dict[str, list[list[str]]] = {}
        self.scripts = 0
        self.texts: list[str] = []
        self._section = ""
        self._heading: str | None = None
        self._row: list[str] | None = None
        self._cell: list[str] | None = None
        self.feed(text)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "script":
            self.scripts += 1
        elif tag == "section":
            self._section = dict(attrs).get("id") or ""
        elif tag in ("h1", "h2"):
            self._heading = ""
        elif tag == "tr":
            self._row = []
        elif tag == "td" and self._row is not None:
            self._cell = []

    def handle_endtag(self, tag: str) -> None:
        if tag in ("h1", "h2") and self._heading is not None:
            self.headings.append((tag, " ".join(self._heading.split())))
            self._heading = None
        elif tag == "td" and self._cell is not None and self._row is not None:
            self._row.append(" ".join("".join(self._cell).split()))
            self._cell = None
        elif tag == "tr" and self._row is not None:
            if self._row:
                self.rows.setdefault(self._section, []).append(self._row)
            self._row = None

    def handle_data(self, data: str) -> None:
        self.texts.append(data)
        if self._heading is not None:
            self._heading += data
        if self._cell is not None:
            self._cell.append(data + " ")

    @property
    def text(self) -> str:
        return " ".join(" ".join(self.texts).split())


def chromium(profile: Path, *arguments: str) -> subprocess.CompletedProcess[bytes]:
    assert CHROMIUM is not None
    return subprocess.run(
        [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
         "--no-first-run", "--disable-background-networking", "--disable-component-update",
         "--disable-sync", f"--user-data-dir={profile}", *arguments],
        capture_output=True, timeout=180, check=True)


@pytest.fixture(scope="module")
def dom(report: Path, tmp_path_factory: pytest.TempPathFactory) -> Dom:
    if CHROMIUM is None:
        pytest.skip("Chromium is not installed (Debian: apt-get install chromium)")
    profile = tmp_path_factory.mktemp("chromium")
    result = chromium(profile, "--dump-dom", report.as_uri())
    return Dom(result.stdout.decode("utf-8"))


@needs_chromium
def test_headings(dom: Dom) -> None:
    assert dom.headings == [
        ("h1", "Apps op het schoolnetwerk"),
        ("h2", "Samenvatting"),
        ("h2", "1In gebruik, niet in het register 50"),
        ("h2", "2In het register, niet gezien 2"),
        ("h2", "3Verwerkersovereenkomsten 6"),
        ("h2", "4Alle apps in gebruik 62"),
        ("h2", "5Trackers en advertentiediensten 4"),
        ("h2", "Over dit rapport"),
    ]


@needs_chromium
def test_summary(dom: Dom) -> None:
    summary = dom.rows.get("summary", [])
    assert summary == []  # cards, not a table
    assert "62 apps in gebruik 50 niet in het register 1 afgewezen, toch in gebruik 2 in " \
           "register, niet gezien 2 verwerkersovereenkomst ontbreekt 4 verouderd of " \
           "onleesbaar" in dom.text


@needs_chromium
def test_unregistered_rows(dom: Dom) -> None:
    rows = dom.rows["unregistered"]
    assert len(rows) == 50
    assert rows[0] == ["TikTok afgewezen op 12-03-2024, daarna nog gezien",
                       "TikTok (EEA: TikTok Ireland)", "onbekend", "onbekend",
                       "sociale media", "9", "afgewezen", "12-03-2024 13:43"]
    assert rows[1][:7] == ["YouTube",
                           "Google Ireland Limited onderdeel van Google LLC (Verenigde Staten)",
                           "Ierland", "ja",
                           "video en streaming", "10", "niet beoordeeld"]
    names = [row[0] for row in rows]
    assert EVIL in names  # the hostile name, as text
    assert not {"Magister", "Kahoot!", "Google Analytics / Tag Manager"} & set(names)


@needs_chromium
def test_small_counts_masked(dom: Dom) -> None:
    devices = {row[0]: row[5] for row in dom.rows["all-apps"]}
    assert devices["YouTube"] == "10"
    assert devices["Blooket"] == "<5"
    assert devices[EVIL] == "<5"
    counts = [value for value in devices.values() if value != "<5"]
    assert all(int(value) >= 5 for value in counts)
    segments = {row[0]: row[6] for row in dom.rows["all-apps"]}
    assert segments["Blooket"] == "overig: <5"


@needs_chromium
def test_register_lists(dom: Dom) -> None:
    assert dom.rows["not-seen"] == [
        ["6", "Zermelo", "Zermelo Software B.V.", "Zermelo", DASH, "nooit gezien"],
        ["15", EVIL, EVIL_VENDOR, DASH, DASH, "geen app gekoppeld"],
    ]
    assert [(row[0], row[1], row[5]) for row in dom.rows["agreements"]] == [
        ("7", "Basispoort", "verouderd"), ("10", "Kahoot", "ontbreekt"),
        ("11", "ParnasSys", "verouderd"), ("12", "Parro", "verouderd"),
        ("14", "WRTS", "geen datum"), ("15", EVIL, "ontbreekt"),
    ]


@needs_chromium
def test_no_script_element_created(dom: Dom) -> None:
    assert dom.scripts == 0
    assert EVIL in dom.text and EVIL_VENDOR in dom.text


@needs_chromium
def test_screenshot(report: Path, tmp_path: Path) -> None:
    shot = tmp_path / "report.png"
    chromium(tmp_path / "profile", f"--screenshot={shot}", "--window-size=1280,2000",
             "--hide-scrollbars", report.as_uri())
    data = shot.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    assert (int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")) == (1280,
                                                                                       2000)
    assert len(data) > 20_000


@needs_chromium
def test_print_to_pdf(report: Path, tmp_path: Path) -> None:
    """Printable as it is: A4 landscape from the print CSS, several pages."""
    pdf = tmp_path / "report.pdf"
    chromium(tmp_path / "profile", f"--print-to-pdf={pdf}", "--no-pdf-header-footer",
             report.as_uri())
    data = pdf.read_bytes()
    assert data.startswith(b"%PDF-")
    boxes = re.findall(rb"/MediaBox \[0 0 ([\d.]+) ([\d.]+)\]", data)
    assert boxes and all(round(float(w)) == 842 and round(float(h)) == 595 for w, h in boxes)
    assert len(re.findall(rb"/Type /Page\b", data)) >= 3
