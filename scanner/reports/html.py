"""The readable report: one self-contained HTML file for the FG, the board and the AP.

Everything is inline (CSS, no scripts, no fonts or images from elsewhere), so the file can be
mailed, archived and opened offline years later, and printed to PDF as it is. Texts are in
Dutch by default, the language of the register it is compared with. Device counts below the
configured threshold are masked before they reach the template.
"""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path
from typing import Any

import jinja2
import sqlite_utils

from scanner import __version__
from scanner.config import DEFAULT_SEGMENT, Config
from scanner.errors import AppradarError
from scanner.inventory import queries
from scanner.inventory.reconcile import REJECTED_IN_USE, Reconciliation, reconcile
from scanner.reports.export import mask_small_counts
from scanner.signatures.catalog import Catalog

LANGUAGES = ("nl", "en")
NOTHING = "\u2013"  # an en dash: an empty cell that is visibly empty

MONTHS = {
    "nl": ("januari", "februari", "maart", "april", "mei", "juni", "juli", "augustus",
           "september", "oktober", "november", "december"),
    "en": ("January", "February", "March", "April", "May", "June", "July", "August",
           "September", "October", "November", "December"),
}

TEXTS: dict[str, dict[str, str]] = {
    "nl": {
        "title": "Apps op het schoolnetwerk",
        "subtitle": "Inventarisatie en vergelijking met het verwerkingsregister",
        "site": "Locatie", "all_sites": "alle locaties", "period": "Periode",
        "generated": "Opgesteld", "register": "Register", "no_register": "geen geïmporteerd",
        "no_data": "nog geen gegevens",
        "summary": "Samenvatting",
        "n_apps": "apps in gebruik", "n_unregistered": "niet in het register",
        "n_rejected": "afgewezen, toch in gebruik", "n_not_seen": "in register, niet gezien",
        "n_missing": "verwerkersovereenkomst ontbreekt",
        "n_agreement_other": "{n} verouderd of onleesbaar",
        "unregistered": "In gebruik, niet in het register",
        "unregistered_intro": "Apps die op het netwerk zijn gezien en die geen rij in het "
                              "verwerkingsregister hebben. Neem ze op in het register of stop "
                              "het gebruik. Afgewezen apps die na de afwijzing nog zijn "
                              "gezien, staan hier ook, gemarkeerd.",
        "unregistered_no_register": "Er is nog geen verwerkingsregister geïmporteerd "
                                    "('appradar register import'); daarom staan alle apps "
                                    "hier.",
        "not_seen": "In het register, niet gezien",
        "not_seen_intro": "Rijen in het register waarvan de app de laatste {days} dagen (tot "
                          "{today}) niet op het netwerk is gezien. Wellicht niet meer in "
                          "gebruik: controleer of de rij nog nodig is.",
        "agreements": "Verwerkersovereenkomsten",
        "agreements_intro_age": "Rijen zonder verwerkersovereenkomst, met een onleesbare "
                                "datum, of met een overeenkomst ouder dan {age}.",
        "agreements_intro": "Rijen zonder verwerkersovereenkomst of met een onleesbare datum. "
                            "Er is geen maximale leeftijd van overeenkomsten gekozen.",
        "all_apps": "Alle apps in gebruik",
        "all_apps_intro": "Elke app die op het netwerk is gezien, met de leverancier, of die "
                          "in de EER gevestigd is, en het aantal apparaten.",
        "trackers": "Trackers en advertentiediensten",
        "trackers_intro": "Analyse- en advertentiediensten die apps en websites op de "
                          "achtergrond laden. Ze horen niet als eigen rij in het register, "
                          "maar wijzen op doorgifte van gegevens door de apps die ze laden.",
        "about": "Over dit rapport",
        "none": "Geen.",
        "no_register_rows": "Geen register geïmporteerd.",
        "part_of": "onderdeel van",
        "col_app": "App", "col_vendor": "Leverancier", "col_country": "Land", "col_eea": "EER",
        "col_category": "Categorie", "col_devices": "Apparaten", "col_segments": "Segmenten",
        "col_status": "Status", "col_registered": "Register", "col_first": "Eerst gezien",
        "col_last": "Laatst gezien", "col_row": "Rij", "col_application": "Applicatie",
        "col_linked": "Gekoppelde app", "col_reason": "Reden", "col_agreement":
        "Verwerkersovereenkomst", "col_date": "Datum", "col_problem": "Probleem",
        "yes": "ja", "no": "nee", "unknown": "onbekend",
        "flag_rejected": "afgewezen op {date}, daarna nog gezien",
        "reason_no_app": "geen app gekoppeld", "reason_never": "nooit gezien",
        "reason_not_seen": "{days} dagen niet gezien",
        "problem_missing": "ontbreekt", "problem_outdated": "verouderd",
        "problem_unreadable": "datum onleesbaar", "problem_no_date": "geen datum",
        "segment_other": "overig", "days": "{n} dagen", "years": "{n} jaar", "year": "1 jaar",
        "masked_note": "Aantallen onder {n} apparaten staan als \u201c<{n}"
        "\u201d: kleine aantallen kunnen naar personen wijzen.",
        "footer": "Gemaakt met appradar {version} op {date}.",
        "status_unreviewed": "niet beoordeeld", "status_in-review": "in beoordeling",
        "status_approved": "goedgekeurd", "status_rejected": "afgewezen",
        "status_not-personal-data": "geen persoonsgegevens", "status_registered": "in register",
    },
    "en": {
        "title": "Apps on the school network",
        "subtitle": "Inventory and comparison with the processing register",
        "site": "Site", "all_sites": "all sites", "period": "Period",
        "generated": "Prepared", "register": "Register", "no_register": "none imported",
        "no_data": "no data yet",
        "summary": "Summary",
        "n_apps": "apps in use", "n_unregistered": "not in the register",
        "n_rejected": "rejected, still in use", "n_not_seen": "registered, not seen",
        "n_missing": "processor agreement missing",
        "n_agreement_other": "{n} outdated or unreadable",
        "unregistered": "In use, not in the register",
        "unregistered_intro": "Apps seen on the network that have no row in the processing "
                              "register. Add them to the register or stop using them. Rejected "
                              "apps seen after the rejection are listed here too, marked.",
        "unregistered_no_register": "No processing register has been imported yet "
                                    "('appradar register import'), so every app is listed "
                                    "here.",
        "not_seen": "In the register, not seen",
        "not_seen_intro": "Register rows whose app was not seen on the network in the last "
                          "{days} days (up to {today}). Perhaps no longer used: check whether "
                          "the row is still needed.",
        "agreements": "Processor agreements",
        "agreements_intro_age": "Rows without a processor agreement, with an unreadable date, "
                                "or with an agreement older than {age}.",
        "agreements_intro": "Rows without a processor agreement or with an unreadable date. "
                            "No maximum age of agreements was chosen.",
        "all_apps": "All apps in use",
        "all_apps_intro": "Every app seen on the network, with its vendor, whether the vendor "
                          "is established in the EEA, and the number of devices.",
        "trackers": "Trackers and advertising services",
        "trackers_intro": "Analytics and advertising services that apps and websites load in "
                          "the background. They need no register row of their own, but show "
                          "that the apps loading them pass data on.",
        "about": "About this report",
        "none": "None.",
        "no_register_rows": "No register imported.",
        "part_of": "part of",
        "col_app": "App", "col_vendor": "Vendor", "col_country": "Country", "col_eea": "EEA",
        "col_category": "Category", "col_devices": "Devices", "col_segments": "Segments",
        "col_status": "Status", "col_registered": "Register", "col_first": "First seen",
        "col_last": "Last seen", "col_row": "Row", "col_application": "Application",
        "col_linked": "Linked app", "col_reason": "Reason", "col_agreement":
        "Processor agreement", "col_date": "Date", "col_problem": "Problem",
        "yes": "yes", "no": "no", "unknown": "unknown",
        "flag_rejected": "rejected on {date}, seen since",
        "reason_no_app": "no app linked", "reason_never": "never seen",
        "reason_not_seen": "not seen for {days} days",
        "problem_missing": "missing", "problem_outdated": "outdated",
        "problem_unreadable": "unreadable date", "problem_no_date": "no date",
        "segment_other": "other", "days": "{n} days", "years": "{n} years", "year": "1 year",
        "masked_note": "Counts below {n} devices are shown as \u201c<{n}"
        "\u201d: small numbers can point to persons.",
        "footer": "Made with appradar {version} on {date}.",
        "status_unreviewed": "not reviewed", "status_in-review": "in review",
        "status_approved": "approved", "status_rejected": "rejected",
        "status_not-personal-data": "no personal data", "status_registered": "registered",
    },
}

ABOUT: dict[str, list[str]] = {
    "nl": [
        "appradar luistert passief mee op het schoolnetwerk (of leest opnames en logbestanden) "
        "en bewaart alleen namen: DNS-vragen en -antwoorden, de servernaam (SNI) aan het begin "
        "van versleutelde verbindingen en de HTTP-Host. Een signaturendatabase van "
        "onderwijs-apps koppelt die namen aan apps en leveranciers. Inhoud, URL's, paden en "
        "wat leerlingen of medewerkers typen of lezen, ziet appradar niet.",
        "Apparaten worden geteld als sleutel-gehashte pseudoniemen (HMAC) van hun adres; de "
        "sleutel staat buiten de database. IP- en MAC-adressen worden niet bewaard en staan "
        "niet in dit rapport. Een apparaat is geen persoon: gedeelde apparaten tellen één "
        "keer, iemand met een laptop en een telefoon twee keer. Aantallen onder {small} "
        "apparaten worden niet exact getoond.",
        "Wat appradar niet ziet: apparaten die DNS via HTTPS of TLS (DoH/DoT) naar een externe "
        "resolver sturen, verbindingen met Encrypted Client Hello (ECH), verkeer via VPN's, "
        "en alles wat over mobiele data (4G/5G) of buiten het schoolnetwerk loopt. Een app "
        "die hier ontbreekt, kan dus toch gebruikt worden. Omgekeerd bewijst één keer gezien "
        "nog niet dat een app persoonsgegevens van leerlingen verwerkt: het rapport is een "
        "startpunt voor het gesprek, geen eindoordeel.",
        "Infrastructuur (CDN's, inlogdiensten, updates van besturingssystemen) staat niet in "
        "de lijsten van apps. Een rij in het register geldt als \u201cniet gezien\u201d als de "
        "gekoppelde app de laatste {days} dagen niet is gezien.",
    ],
    "en": [
        "appradar listens passively on the school network (or reads captures and logs) and "
        "keeps only names: DNS queries and answers, the server name (SNI) at the start of "
        "encrypted connections, and the HTTP Host. A signature database of education apps "
        "maps those names to apps and vendors. Content, URLs, paths and whatever pupils or "
        "staff type or read, appradar does not see.",
        "Devices are counted as keyed-hash pseudonyms (HMAC) of their address; the key is kept "
        "outside the database. IP and MAC addresses are not stored and are not in this "
        "report. A device is not a person: a shared device counts once, someone with a laptop "
        "and a phone twice. Counts below {small} devices are not shown exactly.",
        "What appradar does not see: devices that send DNS over HTTPS or TLS (DoH/DoT) to an "
        "outside resolver, connections using Encrypted Client Hello (ECH), traffic through "
        "VPNs, and anything over cellular data (4G/5G) or outside the school network. An app "
        "missing here may still be in use. Conversely, one sighting does not prove that an "
        "app processes pupils' personal data: the report starts the conversation, it is not "
        "the verdict.",
        "Infrastructure (CDNs, sign-in services, operating-system updates) is kept off the app "
        "lists. A register row counts as \u201cnot seen\u201d when its linked app was not seen "
        "in the last {days} days.",
    ],
}

COUNTRIES: dict[str, dict[str, str]] = {
    "nl": {"NL": "Nederland", "BE": "België", "DE": "Duitsland", "FR": "Frankrijk",
           "IE": "Ierland", "SE": "Zweden", "NO": "Noorwegen", "DK": "Denemarken",
           "FI": "Finland", "AT": "Oostenrijk", "PL": "Polen", "ES": "Spanje", "IT": "Italië",
           "LU": "Luxemburg", "CZ": "Tsjechië", "EE": "Estland", "GB": "Verenigd Koninkrijk",
           "US": "Verenigde Staten", "CN": "China", "AU": "Australië", "CA": "Canada",
           "CH": "Zwitserland", "IL": "Israël", "JP": "Japan", "IN": "India",
           "SG": "Singapore", "RU": "Rusland"},
    "en": {"NL": "Netherlands", "BE": "Belgium", "DE": "Germany", "FR": "France",
           "IE": "Ireland", "SE": "Sweden", "NO": "Norway", "DK": "Denmark", "FI": "Finland",
           "AT": "Austria", "PL": "Poland", "ES": "Spain", "IT": "Italy", "LU": "Luxembourg",
           "CZ": "Czechia", "EE": "Estonia", "GB": "United Kingdom", "US": "United States",
           "CN": "China", "AU": "Australia", "CA": "Canada", "CH": "Switzerland",
           "IL": "Israel", "JP": "Japan", "IN": "India", "SG": "Singapore", "RU": "Russia"},
}

CATEGORIES_NL = {
    "accessibility-and-special-needs": "toegankelijkheid en zorg",
    "ai-assistant": "AI-assistent", "analytics-and-tracking": "analyse en tracking",
    "assessment": "toetsing", "classroom-management": "klassenmanagement",
    "collaboration-suite": "samenwerken en kantoor", "communication": "communicatie",
    "consent-management": "toestemmingsbeheer", "games": "games",
    "identity-and-access": "inloggen en toegang", "infrastructure-cdn": "infrastructuur (CDN)",
    "learning-content": "leermateriaal", "learning-platform": "leerplatform (ELO)",
    "library-and-research": "naslag en onderzoek", "os-and-device-services": "apparaatdiensten",
    "programming-and-stem": "programmeren en bèta", "quiz-and-engagement": "quiz en interactie",
    "school-administration": "schooladministratie", "social-media": "sociale media",
    "student-information-system": "leerlingadministratie", "support-widget": "klantenservice",
    "video-conferencing": "videobellen", "video-streaming": "video en streaming",
    "vpn-and-proxy": "VPN en proxy",
}

CATEGORIES_EN = {
    "ai-assistant": "AI assistant", "infrastructure-cdn": "infrastructure (CDN)",
    "os-and-device-services": "OS and device services", "vpn-and-proxy": "VPN and proxy",
    "programming-and-stem": "programming and STEM",
}


def _environment() -> jinja2.Environment:
    """Autoescaping always on: app and register names come from files others write."""
    return jinja2.Environment(
        loader=jinja2.PackageLoader("scanner.reports", "templates"),
        autoescape=True, trim_blocks=True, lstrip_blocks=True,
        undefined=jinja2.StrictUndefined,
    )


def render_report(database: sqlite_utils.Database, catalog: Catalog, config: Config,
                  site: str | None = None, today: date | None = None, language: str = "nl",
                  not_seen_days: int = 90, agreement_max_age_days: int | None = None) -> str:
    """The whole report as one HTML document (a string, so the caller decides where it goes)."""
    if language not in LANGUAGES:
        raise ValueError(f"language must be one of {', '.join(LANGUAGES)}")
    today = today or date.today()
    result = reconcile(database, catalog, not_seen_days=not_seen_days,
                       agreement_max_age_days=agreement_max_age_days, today=today, site=site)
    in_use = queries.apps(database, catalog, site=site)
    small = config.small_count
    apps = mask_small_counts([item for item in in_use if item["kind"] == "app"], small)
    trackers = mask_small_counts([item for item in in_use if item["kind"] == "tracker"], small)
    texts = TEXTS[language]
    formats = _Formats(language, texts)
    names = {app_id: app.name for app_id, app in catalog.apps.items()}
    first, last = _period(database, site)
    context = {
        "lang": language, "t": texts, "f": formats, "version": __version__,
        "site": site or _sites_label(database, texts),
        "first": first, "last": last, "today": today, "small": small,
        "register": _register_label(database),
        "result": result, "apps": apps, "trackers": trackers, "names": names,
        "unregistered": mask_small_counts(result.unregistered, small),
        "summary": _summary(result, apps),
        "about": [paragraph.format(small=small, days=not_seen_days)
                  for paragraph in ABOUT[language]] + _blind_spot_lines(
                      queries.blind_spots(database, catalog, site=site), small, language),
        "rejected_in_use": REJECTED_IN_USE,
    }
    return _environment().get_template("report.html.j2").render(context)


def write_report(path: Path, database: sqlite_utils.Database, catalog: Catalog, config: Config,
                 **options: Any) -> None:
    """Write the report as UTF-8 (the template declares it), whatever the locale says."""
    text = render_report(database, catalog, config, **options)
    try:
        path.write_text(text, encoding="utf-8")
    except OSError as error:
        raise AppradarError(f"cannot write the report to {path}: {error.strerror}") from None


BLIND_SPOT_TEXT = {
    "nl": {"encrypted-dns": "{devices} apparaten gebruikten versleutelde DNS-resolvers (DoH, "
                            "DoT, DoQ): wat zij opzochten is niet te zien.",
           "encrypted-client-hello": "{devices} apparaten maakten verbindingen met Encrypted "
                                     "Client Hello (ECH): de app achter zo'n verbinding is niet "
                                     "te zien."},
    "en": {"encrypted-dns": "{devices} devices used encrypted DNS resolvers (DoH, DoT, DoQ): "
                            "what they looked up cannot be seen.",
           "encrypted-client-hello": "{devices} devices connected with Encrypted Client Hello "
                                     "(ECH): the app behind such a connection cannot be seen."},
}


def _blind_spot_lines(measured: list[dict[str, Any]], small: int, language: str) -> list[str]:
    """Blind spots that occurred, in words, with masked device counts."""
    lines = []
    for item in mask_small_counts(measured, small):
        if item["names"]:
            lines.append(BLIND_SPOT_TEXT[language][item["blind_spot"]].format(
                devices=item["devices"]))
    return lines


def _summary(result: Reconciliation, apps: list[dict[str, Any]]) -> dict[str, int]:
    missing = sum(1 for item in result.agreement_problems if item["code"] == "missing")
    return {
        "apps": len(apps),
        "unregistered": sum(1 for item in result.unregistered if not item["registered"]),
        "rejected": sum(1 for item in result.unregistered if item["flag"] == REJECTED_IN_USE),
        "not_seen": len(result.not_seen),
        "missing": missing,
        "agreement_other": len(result.agreement_problems) - missing,
    }


def _period(database: sqlite_utils.Database, site: str | None) -> tuple[date | None, date | None]:
    """First and last day anything was seen (at the site): what the report speaks about."""
    if site is None:
        first, last = database.conn.execute(
            "SELECT min(first_seen), max(last_seen) FROM domains").fetchone()
        if first is None:
            return None, None
        return (datetime.fromtimestamp(first).date(), datetime.fromtimestamp(last).date())
    first, last = database.conn.execute(
        "SELECT min(day), max(day) FROM (SELECT day FROM daily WHERE site = ? "
        "UNION ALL SELECT day FROM daily_apps WHERE site = ?)", (site, site)).fetchone()
    if first is None:
        return None, None
    return date.fromisoformat(first), date.fromisoformat(last)


def _sites_label(database: sqlite_utils.Database, texts: dict[str, str]) -> str:
    sites = [site for (site,) in database.conn.execute(
        "SELECT DISTINCT site FROM daily UNION SELECT DISTINCT site FROM daily_apps "
        "ORDER BY 1")]
    if len(sites) == 1:
        return str(sites[0])
    return texts["all_sites"] + (f" ({', '.join(sites)})" if sites else "")


def _register_label(database: sqlite_utils.Database) -> dict[str, Any] | None:
    """The current register's file name (not its path: that names the server) and date."""
    row = database.conn.execute(
        "SELECT path, imported, rows FROM register_imports WHERE current = 1 "
        "ORDER BY id DESC LIMIT 1").fetchone()
    if row is None:
        return None
    path, imported, rows = row
    return {"file": Path(path or "").name, "imported": _parse_moment(imported), "rows": rows}


def _parse_moment(text: str | None) -> datetime | None:
    if not text:
        return None
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return None
    return moment.astimezone() if moment.tzinfo else moment


class _Formats:
    """Dates, yes/no, countries, categories and statuses in the report's language."""

    def __init__(self, language: str, texts: dict[str, str]) -> None:
        self.language = language
        self.texts = texts

    def long_date(self, value: date | None) -> str:
        if value is None:
            return NOTHING
        return f"{value.day} {MONTHS[self.language][value.month - 1]} {value.year}"

    def short_date(self, value: str | date | None) -> str:
        if not value:
            return NOTHING
        day = value if isinstance(value, date) else date.fromisoformat(value[:10])
        return day.strftime("%d-%m-%Y") if self.language == "nl" else day.isoformat()

    def clock(self, value: str) -> str:
        """The time of day of an ISO time: a one-day capture still tells morning from noon."""
        return f"{datetime.fromisoformat(value):%H:%M}"

    def eea(self, value: bool | None) -> str:
        return self.texts["unknown" if value is None else ("yes" if value else "no")]

    def country(self, code: str | None) -> str:
        if not code or code == "unknown":
            return self.texts["unknown"]
        return COUNTRIES[self.language].get(code.upper(), code.upper())

    def category(self, slug: str | None) -> str:
        if not slug or slug == "unknown":
            return self.texts["unknown"]
        if self.language == "nl" and slug in CATEGORIES_NL:
            return CATEGORIES_NL[slug]
        if slug in CATEGORIES_EN:
            return CATEGORIES_EN[slug]
        return slug.replace("-", " ")

    def status(self, status: str) -> str:
        return self.texts.get(f"status_{status}", status)

    def segments(self, segments: dict[str, Any]) -> str:
        """Segments by their configured names; appradar's own default one in the language."""
        return ", ".join(
            f"{self.texts['segment_other'] if name == DEFAULT_SEGMENT else name}: {count}"
            for name, count in sorted(segments.items()))

    def age(self, days: int) -> str:
        """An agreement age as people choose it: whole years where the days make them."""
        if days and days % 365 == 0:
            years = days // 365
            return self.texts["year"] if years == 1 else self.texts["years"].format(n=years)
        return self.texts["days"].format(n=days)
