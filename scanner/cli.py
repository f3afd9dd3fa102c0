"""The `appradar` command line: parse options, call one library function, render the result.

A command imports what only it needs (scapy, jinja2, openpyxl, rapidfuzz) when it runs, so
the periodic scan a timer starts does not wait for the libraries of capture and reports.
"""

from __future__ import annotations

import functools
import json
import signal
import sqlite3
import sys
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, tzinfo
from pathlib import Path
from typing import Any, TypeVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import click
import sqlite_utils

from scanner import __version__
from scanner.config import Config, Segments, load_config
from scanner.errors import AppradarError
from scanner.inventory import open_database, queries
from scanner.inventory.reconcile import reconcile
from scanner.inventory.retention import DailyPurge, PurgeResult
from scanner.inventory.retention import purge as purge_inventory
from scanner.inventory.unknown import unknown_groups
from scanner.inventory.writer import reattribute
from scanner.privacy import Pseudonymiser, key_path_for, load_or_create_key, rotate_key
from scanner.reports import export
from scanner.reports.blocklist import STYLES, render_blocklist
from scanner.reports.render import render
from scanner.reports.statement import statement
from scanner.review import STATUSES, history, rejected_apps, reviews, set_status
from scanner.scan import Scanner, check_format, now_iso, standard_input_spooled
from scanner.signatures.catalog import Catalog
from scanner.signatures.loader import Problems, load_directory, shipped_directory
from scanner.signatures.update import MAX_BYTES, make_bundle, update_directory
from scanner.signatures.update import rollback as rollback_signatures
from scanner.signatures.update import update as update_signatures
from scanner.sources.logs import ALIASES, REGISTRY

F = TypeVar("F", bound=Callable[..., Any])
CONTEXT = {"help_option_names": ["-h", "--help"], "max_content_width": 100}


# -- shared options ------------------------------------------------------------------------

def db_option(command: F) -> F:
    return click.option(
        "--db", "db_path", type=click.Path(dir_okay=False, path_type=Path), envvar="APPRADAR_DB",
        default="inventory.db", show_default=True, help="Inventory database (env APPRADAR_DB).",
    )(command)


@dataclass(frozen=True)
class Settings:
    """The configuration file, with the command line's --signatures on top."""

    config: Config
    signatures: Path | None

    def catalog(self) -> Catalog:
        return Catalog.load(self.signatures, updates=update_directory())


def settings_options(command: F) -> F:
    """--config and --signatures, handed to the command as one `settings` argument."""

    @click.option("--config", "config_path", type=click.Path(dir_okay=False, path_type=Path),
                  help="Configuration file (default: APPRADAR_CONFIG, ./appradar.toml, "
                       "/etc/appradar/appradar.toml).")
    @click.option("--signatures", "local_signatures", envvar="APPRADAR_SIGNATURES",
                  type=click.Path(file_okay=False, path_type=Path),
                  help="The school's own signature directory, added to the shipped ones.")
    @functools.wraps(command)
    def wrapper(*args: Any, config_path: Path | None, local_signatures: Path | None,
                **kwargs: Any) -> Any:
        config = load_config(config_path)
        return command(*args, settings=Settings(config, local_signatures or config.signatures),
                       **kwargs)

    return wrapper  # type: ignore[return-value]


def output_options(command: F) -> F:
    return click.option(
        "--format", "output", type=click.Choice(["table", "json", "csv"]), default=None,
        help="Output format (default: table on a terminal, json otherwise).",
    )(command)


def site_option(command: F) -> F:
    return click.option("--site", default=None, help="Only this site (school).")(command)


def _inventory(db_path: Path, settings: Settings) -> tuple[sqlite_utils.Database, Catalog]:
    """The database and the signatures, with stored domains attributed by these signatures."""
    database, catalog = open_database(db_path), settings.catalog()
    reattribute(database, catalog)
    return database, catalog


def _output(output: str | None) -> str:
    if output:
        return output
    return "table" if sys.stdout.isatty() else "json"


def _echo(records: list[dict[str, Any]], columns: list[str], output: str | None) -> None:
    click.echo(render(records, columns, _output(output)))


# -- the group -----------------------------------------------------------------------------

class AppradarGroup(click.Group):
    """Turns AppradarError into `Error: …` with exit 1, Ctrl-C into exit 130."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except AppradarError as error:
            if ctx.meta.get("traceback"):
                raise
            click.echo(f"Error: {error}", err=True)
            ctx.exit(error.exit_code)
        except sqlite3.DatabaseError as error:
            if ctx.meta.get("traceback"):
                raise
            click.echo(f"Error: the inventory database: {error}", err=True)
            ctx.exit(1)
        except KeyboardInterrupt:
            click.echo("Interrupted.", err=True)
            ctx.exit(130)


@click.group(cls=AppradarGroup, context_settings=CONTEXT)
@click.version_option(__version__, prog_name="appradar")
@click.option("--traceback", is_flag=True, help="Show the Python traceback of an error.")
@click.pass_context
def cli(ctx: click.Context, traceback: bool) -> None:
    """Which apps does the school network really use, and which are missing from the register?

    \b
    Example:
      appradar scan captures/ && appradar apps --unregistered
    """
    ctx.meta["traceback"] = traceback


def main() -> None:
    cli(prog_name="appradar")


# -- scan ----------------------------------------------------------------------------------

@cli.command(context_settings=CONTEXT)
@click.argument("paths", nargs=-1, required=True)
@click.option("--site", default=None, help="Site (school) of these data (default: from the "
              "configuration, else 'default').")
@click.option("--format", "log_format", default="auto", show_default=True, metavar="NAME",
              help="auto (captures by their magic bytes, logs sniffed), pcap, or a log format: "
                   + ", ".join(REGISTRY) + " (short names: " + ", ".join(ALIASES) + ").")
@click.option("--timezone", metavar="ZONE", help="Time zone of log times written without one "
              "(e.g. Europe/Amsterdam; default: the format's own, else this machine's).")
@click.option("--follow", is_flag=True, help="Keep reading one growing log (like tail -F) "
              "until stopped with Ctrl-C or SIGTERM; rotation is followed.")
@click.option("--keep-client-addresses", is_flag=True,
              help="Store raw client addresses instead of pseudonyms (recorded in the run).")
@db_option
@settings_options
def scan(paths: tuple[str, ...], site: str | None, log_format: str, timezone: str | None,
         follow: bool, keep_client_addresses: bool, db_path: Path, settings: Settings) -> None:
    """Import captures (pcap, pcapng) and logs (DNS servers, Pi-hole, Zeek, Suricata, proxies,
    firewalls): files, directories or globs, plain or gzip/bz2/xz.

    A capture already imported is skipped; a log continues after the lines already read; an
    interrupted scan continues where it stopped.

    \b
    Example:
      appradar scan /var/captures/*.pcap.gz --site lyceum
      appradar scan /var/log/pihole/pihole.log* --timezone Europe/Amsterdam
      appradar scan - < pihole.log         (standard input)
      appradar scan --follow /opt/zeek/logs/current/dns.log
    """
    catalog = settings.catalog()
    database = open_database(db_path)
    key = load_or_create_key(key_path_for(db_path))
    signal.signal(signal.SIGTERM, _raise_interrupt)
    config = settings.config
    scanner = Scanner(database, catalog, Pseudonymiser(key, keep_addresses=keep_client_addresses),
                      site or config.site, segment_of=Segments(config.segments),
                      log_format=check_format(log_format), timezone=_zone(timezone),
                      lan_domains=config.lan_domains)
    with standard_input_spooled(list(paths), db_path.parent) as arguments:
        if follow:
            if len(arguments) != 1:
                raise AppradarError("--follow takes exactly one log file")

            def stop(signum: int, frame: object) -> None:
                scanner.stopping = True

            signal.signal(signal.SIGINT, stop)
            signal.signal(signal.SIGTERM, stop)
            result = scanner.follow(arguments[0])
        else:
            if not arguments:
                raise AppradarError("nothing to scan: name at least one file or directory")
            result = scanner.run(arguments)
    stats = result.stats
    for item in result.files:
        if item.status in ("failed", "skipped"):
            click.echo(f"{'Error' if item.status == 'failed' else 'Skipped'}: {item.message}",
                       err=True)
        elif item.status == "already imported":
            click.echo(f"{item.path}: already imported, skipped", err=True)
        elif item.kind != "pcap":
            click.echo(f"{item.path}: {item.kind}", err=True)
    click.echo(
        f"Scanned {len(result.files)} file(s): {stats.packets:,} packets, {stats.records:,} log "
        f"records, {stats.names:,} names, {stats.malformed:,} malformed, "
        f"{stats.invalid_names:,} invalid names skipped, {stats.fragments:,} IP fragments.",
        err=True)
    for line in stats.notes[:10]:
        click.echo(f"  {line}", err=True)
    if result.interrupted:
        click.echo("Interrupted: the database holds everything up to the last batch; "
                   "run the same scan again to continue.", err=True)
        sys.exit(130)
    _report_purge(purge_inventory(database, config), config)
    if result.failed:
        sys.exit(1)


def _report_purge(result: PurgeResult, config: Config) -> None:
    if result.deleted_anything:
        click.echo(
            f"Retention: {result.folded_days} day(s) of per-device data older than "
            f"{config.device_days} days folded into daily counts ({result.device_rows_deleted:,} "
            f"rows, {result.devices_deleted:,} device pseudonyms deleted); "
            f"{result.aggregate_rows_deleted:,} daily rows older than {config.aggregate_days} "
            f"days and {result.domains_deleted:,} domains deleted."
            + (f" {result.names_kept_out:,} stored names of the school's own network deleted "
               "(now kept out)." if result.names_kept_out else ""), err=True)


def _zone(name: str | None) -> tzinfo | None:
    if name is None:
        return None
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise click.BadParameter(f"unknown time zone '{name}'", param_hint="--timezone") from None


def _raise_interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


@cli.command(context_settings=CONTEXT)
@click.option("-i", "--interface", "interfaces", multiple=True, required=True, metavar="IFACE",
              help="Interface to capture on; repeat for several.")
@click.option("--duration", type=click.FloatRange(min=0, min_open=True), default=None,
              metavar="S", help="Stop after S seconds (default: until Ctrl-C or SIGTERM).")
@click.option("--site", default=None, help="Site (school) of this capture (default: from the "
              "configuration, else 'default').")
@click.option("--promiscuous", is_flag=True,
              help="Also frames addressed to other hosts (a mirror port); needs CAP_NET_ADMIN.")
@click.option("--flush-seconds", type=click.FloatRange(min=0.1), default=2.0, show_default=True,
              metavar="S", help="Write to the inventory this often; a crash loses at most this.")
@click.option("--keep-client-addresses", is_flag=True,
              help="Store raw client addresses instead of pseudonyms (recorded in the run).")
@db_option
@settings_options
def capture(interfaces: tuple[str, ...], duration: float | None, site: str | None,
            promiscuous: bool, flush_seconds: float, keep_client_addresses: bool,
            db_path: Path, settings: Settings) -> None:
    """Capture live on network interfaces until stopped (Ctrl-C, SIGTERM) or for a duration.

    Keeps only names (DNS, TLS SNI, QUIC SNI, HTTP Host), written every few seconds. Needs
    CAP_NET_RAW: run as root, or as the systemd service in deploy/.

    \b
    Example:
      appradar capture -i eth1 --site lyceum --duration 3600
    """
    from scanner.sources.live import capture as run_capture  # scapy: only capture needs it
    from scanner.sources.live import check_interfaces

    check_interfaces(list(interfaces))  # before the database is created
    config = settings.config
    catalog = settings.catalog()
    database = open_database(db_path)
    key = load_or_create_key(key_path_for(db_path))
    command = "capture " + " ".join(f"-i {name}" for name in interfaces)
    if duration:
        command += f" --duration {duration:g}"
    daily_purge = DailyPurge(database, config)

    def after_flush(_result: object) -> None:  # retention on each new day, not only at the end
        purged = daily_purge()
        if purged is not None:
            _report_purge(purged, config)

    result = run_capture(
        database, catalog, list(interfaces),
        Pseudonymiser(key, keep_addresses=keep_client_addresses), site or config.site,
        Segments(config.segments), duration=duration, promiscuous=promiscuous,
        flush_seconds=flush_seconds, command=command, on_flush=after_flush,
        lan_domains=config.lan_domains)
    click.echo(result.summary(), err=True)
    for line in result.stats.notes[:10]:
        click.echo(f"  {line}", err=True)
    _report_purge(purge_inventory(database, config), config)
    if result.exit_code:
        sys.exit(result.exit_code)


# -- apps and domains ----------------------------------------------------------------------

APP_COLUMNS = ["app", "name", "vendor", "vendor_country", "eea", "parent", "parent_country",
               "category", "kind", "registered", "status", "devices", "hits", "first_seen",
               "last_seen", "domains"]
APP_TABLE = ["app", "name", "vendor_country", "category", "status", "devices", "hits", "last_seen"]


@cli.command(context_settings=CONTEXT)
@click.option("--unregistered", is_flag=True, help="Only apps the register does not cover.")
@click.option("--since", metavar="DATE", help="Only use on or after DATE (YYYY-MM-DD).")
@click.option("--all", "include_all", is_flag=True, help="Include infrastructure (CDNs, sign-in).")
@click.option("--by-site", is_flag=True, help="One row per app per site (school), for boards.")
@site_option
@output_options
@db_option
@settings_options
def apps(unregistered: bool, since: str | None, include_all: bool, by_site: bool,
         site: str | None, output: str | None, db_path: Path, settings: Settings) -> None:
    """Apps seen on the network, with register and review status.

    \b
    Example:
      appradar apps --unregistered --format csv > unregistered.csv
    """
    database, catalog = _inventory(db_path, settings)
    records = _per_site(database, by_site, site, lambda one: queries.apps(
        database, catalog, unregistered=unregistered, include_infrastructure=include_all,
        since=since, site=one))
    records = export.mask_small_counts(records, settings.config.small_count)
    if _output(output) == "table":
        for record in records:
            record["last_seen"] = (record["last_seen"] or "")[:16].replace("T", " ")
        _echo(records, ["site", *APP_TABLE] if by_site else APP_TABLE, output)
    else:
        _echo(records, ["site", *APP_COLUMNS] if by_site else APP_COLUMNS, output)


def _per_site(database: sqlite_utils.Database, by_site: bool, site: str | None,
              listing: Callable[[str | None], list[dict[str, Any]]]) -> list[dict[str, Any]]:
    """The listing for one site (or all together), or one listing per site, tagged."""
    if not by_site:
        return listing(site)
    return [{"site": one, **record} for one in ([site] if site else queries.sites(database))
            for record in listing(one)]


UNKNOWN_COLUMNS = ["registrable", "names", "examples", "devices", "days", "hits", "first_seen",
                   "last_seen"]


@cli.command(context_settings=CONTEXT)
@click.option("--unknown", is_flag=True, help="Only names no signature attributes to an app, "
              "grouped by registrable domain, most devices and days first.")
@click.option("--names", "by_name", is_flag=True,
              help="With --unknown: one row per name instead of per registrable domain.")
@click.option("--since", metavar="DATE", help="With --unknown: only use on or after DATE "
              "(YYYY-MM-DD).")
@click.option("--limit", type=click.IntRange(min=1), help="With --unknown: the first N groups.")
@click.option("--blind-spots", is_flag=True, help="How much traffic appradar cannot see into: "
              "encrypted DNS resolvers and Encrypted Client Hello.")
@site_option
@output_options
@db_option
@settings_options
def domains(unknown: bool, by_name: bool, since: str | None, limit: int | None,
            blind_spots: bool, site: str | None, output: str | None, db_path: Path,
            settings: Settings) -> None:
    """Observed domain names, with the app each maps to and how it was seen.

    With --unknown, the names no signature covers are grouped by registrable domain
    (Public Suffix List) and ranked by devices, days and hits: the top of the list is what to
    look at, and 'appradar signatures suggest DOMAIN' drafts a signature for it.

    \b
    Example:
      appradar domains --unknown --limit 20
      appradar domains --unknown --names --format json
      appradar domains --blind-spots
    """
    database, catalog = _inventory(db_path, settings)
    if blind_spots:
        measured = queries.blind_spots(database, catalog, site=site)
        _echo(export.mask_small_counts(measured, settings.config.small_count),
              ["blind_spot", "what", "names", "hits", "devices"], output)
        return
    if unknown and not by_name:
        groups = unknown_groups(database, site=site, since=since, limit=limit)
        _echo(export.mask_small_counts(groups, settings.config.small_count), UNKNOWN_COLUMNS,
              output)
        return
    records = export.mask_small_counts(
        queries.domains(database, unknown=unknown, site=site), settings.config.small_count)
    _echo(records, ["domain", "app", "seen_as", "hits", "devices", "first_seen", "last_seen"],
          output)


# -- register ------------------------------------------------------------------------------

@cli.group(context_settings=CONTEXT)
def register() -> None:
    """The school's processing register (verwerkingsregister)."""


@register.command("import", context_settings=CONTEXT)
@click.argument("file", type=click.Path(path_type=Path))
@click.option("--map", "mapping", multiple=True, metavar="COLUMN=FIELD",
              help="Force a column's meaning, e.g. --map 'Naam=application'.")
@click.option("--threshold", default=90.0, show_default=True,
              help="Confidence from which a match is applied rather than proposed.")
@click.option("--sheet", help="Workbook sheet to read (default: the processors tab, else the "
              "first sheet with an application column).")
@db_option
@settings_options
def register_import(file: Path, mapping: tuple[str, ...], threshold: float, sheet: str | None,
                    db_path: Path, settings: Settings) -> None:
    """Import a register: Excel (.xlsx, e.g. the Kennisnet template) or CSV (, ; tab or |;
    UTF-8 with or without BOM, cp1252). Replaces the current register; earlier imports stay.

    \b
    Example:
      appradar register import verwerkingsregister.csv
    """
    column_map = {}
    for item in mapping:
        column, sep, field = item.partition("=")
        if not sep:
            raise click.BadParameter(f"'{item}' is not COLUMN=FIELD", param_hint="--map")
        column_map[column.strip()] = field.strip()
    catalog = settings.catalog()
    from scanner.inventory.register_store import save_register  # openpyxl, rapidfuzz
    from scanner.register import match_rows, read_register

    register_file = read_register(file, column_map or None, sheet=sheet)
    matches = match_rows(register_file.rows, list(catalog.apps.values()), threshold=threshold)
    save_register(open_database(db_path), register_file, matches)
    linked = {match.row for match in matches if match.applied}
    proposed = {match.row for match in matches if not match.applied} - linked
    source = (f"sheet {register_file.sheet!r}" if register_file.sheet
              else f"delimiter {register_file.delimiter!r}, {register_file.encoding}")
    click.echo(f"Imported {len(register_file.rows)} rows from {file} ({source}): "
               f"{len(linked)} linked to apps, {len(proposed)} with proposals only, "
               f"{len(register_file.rows) - len(linked) - len(proposed)} unmatched.")
    for line in (*register_file.skipped, *register_file.problems):
        click.echo(f"  {line}", err=True)


@register.command("show", context_settings=CONTEXT)
@output_options
@db_option
def register_show(output: str | None, db_path: Path) -> None:
    """Register rows with the apps they are linked to, confidence and proposals.

    \b
    Example:
      appradar register show
    """
    from scanner.inventory.register_store import register_rows

    records = register_rows(open_database(db_path))
    _echo(records, ["row", "application", "vendor", "apps", "confidence", "method", "proposals"],
          output)


@register.command("matches", context_settings=CONTEXT)
@output_options
@db_option
def register_matches(output: str | None, db_path: Path) -> None:
    """Proposed links below the threshold, for the FG to decide with link or unlink.

    \b
    Example:
      appradar register matches
    """
    from scanner.inventory.register_store import register_rows

    records = [{"row": row["row"], "application": row["application"], "vendor": row["vendor"],
                "app": link["app"], "confidence": link["confidence"], "method": link["method"]}
               for row in register_rows(open_database(db_path))
               for link in row["links"] if not link["applied"]]
    _echo(records, ["row", "application", "vendor", "app", "confidence", "method"], output)


@register.command("check", context_settings=CONTEXT)
@click.option("--not-seen-days", type=click.IntRange(min=1), default=90, show_default=True,
              help="Register rows whose app was not seen for more than this many days.")
@click.option("--agreement-max-age", type=click.IntRange(min=1), metavar="DAYS",
              help="Processor agreements older than this count as outdated.")
@click.option("--list", "which", type=click.Choice(["unregistered", "not-seen", "agreements"]),
              help="Only this list (default: all three, as JSON, or as tables).")
@site_option
@output_options
@db_option
@settings_options
def register_check(not_seen_days: int, agreement_max_age: int | None, which: str | None,
                   site: str | None, output: str | None, db_path: Path,
                   settings: Settings) -> None:
    """Reconcile the register with what is in use: three lists for the FG.

    In use but not registered; registered but not seen for N days; registered with the
    processor agreement missing or older than the chosen age.

    \b
    Example:
      appradar register check --agreement-max-age 1095
    """
    result = reconcile(*_inventory(db_path, settings), not_seen_days, agreement_max_age,
                       site=site)
    threshold = settings.config.small_count
    lists = {
        "unregistered": (export.mask_small_counts(result.unregistered, threshold),
                         ["app", "name", "vendor", "status", "devices", "last_seen", "flag"]),
        "not-seen": (result.not_seen, ["row", "application", "vendor", "apps", "reason"]),
        "agreements": (result.agreement_problems,
                       ["row", "application", "vendor", "dpa", "dpa_date", "problem"]),
    }
    if which is not None:
        _echo(*lists[which], output)
    elif _output(output) == "json":
        click.echo(json.dumps({name: records for name, (records, _) in lists.items()},
                              indent=2, ensure_ascii=False))
    else:
        for name, (records, columns) in lists.items():
            click.echo(f"\n{name}:")
            _echo(records, columns, output)


@register.command("link", context_settings=CONTEXT)
@click.argument("row", type=int)
@click.argument("app")
@db_option
@settings_options
def register_link(row: int, app: str, db_path: Path, settings: Settings) -> None:
    """Link register ROW to APP (a manual decision, kept across re-imports).

    \b
    Example:
      appradar register link 7 google-classroom
    """
    from scanner.inventory.register_store import set_link

    set_link(open_database(db_path), settings.catalog(), row, app, linked=True)
    click.echo(f"Row {row} now covers {app}.")


@register.command("unlink", context_settings=CONTEXT)
@click.argument("row", type=int)
@click.argument("app")
@db_option
@settings_options
def register_unlink(row: int, app: str, db_path: Path, settings: Settings) -> None:
    """Undo a link (automatic or manual) between register ROW and APP.

    \b
    Example:
      appradar register unlink 7 google-classroom
    """
    from scanner.inventory.register_store import set_link

    set_link(open_database(db_path), settings.catalog(), row, app, linked=False)
    click.echo(f"Row {row} no longer covers {app}.")


# -- review --------------------------------------------------------------------------------

class ReviewGroup(click.Group):
    """`review APP --status S` is short for `review set APP --status S` (DESIGN's name)."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        if args and args[0] not in self.commands and not args[0].startswith("-"):
            args = ["set", *args]
        return super().parse_args(ctx, args)


@cli.group(cls=ReviewGroup, context_settings=CONTEXT)
def review() -> None:
    """The FG's review of apps: status, notes and their history.

    \b
    Example:
      appradar review tiktok --status rejected --note "Geen verwerkersovereenkomst"
    """


@review.command("set", context_settings=CONTEXT)
@click.argument("app")
@click.option("--status", type=click.Choice(STATUSES), required=True, help="The decision.")
@click.option("--note", help="Why; kept in the history.")
@click.option("--author", help="Who decides (default: APPRADAR_AUTHOR or the login name).")
@click.option("--owner", help="Who follows the app up (kept until changed).")
@click.option("--review-by", metavar="DATE", help="When to look at the app again (YYYY-MM-DD).")
@db_option
@settings_options
def review_set(app: str, status: str, note: str | None, author: str | None, owner: str | None,
               review_by: str | None, db_path: Path, settings: Settings) -> None:
    """Set the review status of APP.

    \b
    Example:
      appradar review set tiktok --status rejected --note "Geen verwerkersovereenkomst"
    """
    set_status(open_database(db_path), settings.catalog(), app, status, note, author, owner,
               review_by)
    click.echo(f"{app}: {status}.")


@review.command("list", context_settings=CONTEXT)
@click.option("--due", is_flag=True, help="Only apps whose review date has come.")
@output_options
@db_option
@settings_options
def review_list(due: bool, output: str | None, db_path: Path, settings: Settings) -> None:
    """Every app seen with its review status, register status and last note.

    \b
    Example:
      appradar review list --format csv
    """
    database, catalog = _inventory(db_path, settings)
    current = reviews(database)
    today = date.today().isoformat()
    records = queries.apps(database, catalog)
    for record in records:
        review = current.get(record["app"], {})
        record.update(note=review.get("note"), owner=review.get("owner"),
                      review_by=review.get("review_by"))
        record["due"] = bool(record["review_by"] and record["review_by"] <= today)
    if due:
        records = [record for record in records if record["due"]]
    _echo(records, ["app", "name", "registered", "status", "owner", "review_by", "due", "note"],
          output)


@review.command("history", context_settings=CONTEXT)
@click.argument("app")
@output_options
@db_option
def review_history(app: str, output: str | None, db_path: Path) -> None:
    """Every status change of APP, oldest first (append-only).

    \b
    Example:
      appradar review history tiktok
    """
    _echo(history(open_database(db_path), app), ["time", "author", "status", "note"], output)


# -- export --------------------------------------------------------------------------------

@cli.group(context_settings=CONTEXT, name="export")
def export_group() -> None:
    """Hand-overs: files for the register and the FG."""


@export_group.command("csv", context_settings=CONTEXT)
@click.argument("out", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--delimiter", default=";", show_default=True, help="Field separator.")
@click.option("--lang", type=click.Choice(["nl", "en"]), default="nl", show_default=True,
              help="Language of the column headers.")
@click.option("--by-site", is_flag=True, help="One row per app per site (school), for boards.")
@site_option
@db_option
@settings_options
def export_csv(out: Path, delimiter: str, lang: str, by_site: bool, site: str | None,
               db_path: Path, settings: Settings) -> None:
    """One row per unregistered app, register-shaped, for Excel (UTF-8 with BOM).

    \b
    Example:
      appradar export csv nieuw-in-register.csv
    """
    if len(delimiter) != 1:
        raise click.BadParameter("must be a single character", param_hint="--delimiter")
    database, catalog = _inventory(db_path, settings)
    records = _per_site(database, by_site, site, lambda one: queries.apps(
        database, catalog, unregistered=True, site=one))
    count = export.write_csv(out, records, settings.config.small_count, delimiter=delimiter,
                             language=lang, by_site=by_site)
    click.echo(f"Wrote {count} unregistered app(s) to {out}.")


# -- the readable report -------------------------------------------------------------------

@cli.command(context_settings=CONTEXT)
@click.argument("out", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--lang", type=click.Choice(["nl", "en"]), default="nl", show_default=True,
              help="Language of the report.")
@click.option("--not-seen-days", type=click.IntRange(min=1), default=90, show_default=True,
              help="List register rows whose app was not seen for more than this many days.")
@click.option("--agreement-max-age", type=click.IntRange(min=1), metavar="DAYS",
              help="List processor agreements older than this (e.g. 1095 for three years; "
                   "default: no limit).")
@click.option("--today", type=click.DateTime(formats=["%Y-%m-%d"]), metavar="DATE",
              help="Reference day (YYYY-MM-DD; default: today), for a report about the past.")
@site_option
@db_option
@settings_options
def report(out: Path, lang: str, not_seen_days: int, agreement_max_age: int | None,
           today: datetime | None, site: str | None, db_path: Path,
           settings: Settings) -> None:
    """Write the readable report: one self-contained HTML file, printable to PDF.

    \b
    Example:
      appradar report rapport.html --agreement-max-age 1095
    """
    from scanner.reports.html import write_report  # jinja2: only reports need it

    write_report(out, *_inventory(db_path, settings), settings.config, site=site,
                 today=today.date() if today else None, language=lang,
                 not_seen_days=not_seen_days, agreement_max_age_days=agreement_max_age)
    click.echo(f"Wrote the report to {out}.")


# -- privacy, retention and configuration -------------------------------------------------

@cli.command(context_settings=CONTEXT)
@db_option
@settings_options
def purge(db_path: Path, settings: Settings) -> None:
    """Apply retention now (scans apply it too): fold old per-device rows, drop old totals.

    \b
    Example:
      appradar purge --config /etc/appradar/appradar.toml
    """
    config = settings.config
    result = purge_inventory(open_database(db_path), config)
    _report_purge(result, config)
    if not result.deleted_anything:
        click.echo(f"Nothing older than the retention ({config.device_days} days per device, "
                   f"{config.aggregate_days} days for totals).", err=True)


@cli.group(context_settings=CONTEXT)
def privacy() -> None:
    """appradar's own privacy: pseudonym key and the register entry for appradar itself."""


@privacy.command("rotate-key", context_settings=CONTEXT)
@db_option
def privacy_rotate_key(db_path: Path) -> None:
    """Replace the pseudonym key: new pseudonyms cannot be linked to earlier ones.

    Devices seen before and after count as different devices from then on.

    \b
    Example:
      appradar privacy rotate-key
    """
    database = open_database(db_path)
    path = key_path_for(db_path)
    rotate_key(path)
    with database.conn:
        database.conn.execute(
            "INSERT INTO runs (command, started, finished, status) VALUES "
            "('privacy rotate-key', ?, ?, 'complete')", (now_iso(), now_iso()))
    click.echo(f"New pseudonym key in {path}; earlier pseudonyms can no longer be linked.")


@privacy.command("statement", context_settings=CONTEXT)
@click.option("--lang", type=click.Choice(["nl", "en"]), default="nl", show_default=True)
@settings_options
def privacy_statement(lang: str, settings: Settings) -> None:
    """Print appradar's own register entry and a notice for pupils and parents.

    \b
    Example:
      appradar privacy statement --lang en
    """
    click.echo(statement(settings.config, lang))


@cli.group("config", context_settings=CONTEXT)
def config_group() -> None:
    """The configuration file."""


@config_group.command("show", context_settings=CONTEXT)
@settings_options
def config_show(settings: Settings) -> None:
    """Print the configuration in force (file, or defaults), as JSON.

    \b
    Example:
      appradar config show --config /etc/appradar/appradar.toml
    """
    shown = settings.config.as_dict()
    shown["signatures"] = str(settings.signatures) if settings.signatures else None
    click.echo(json.dumps(shown, indent=2))


@export_group.command("blocklist", context_settings=CONTEXT)
@click.argument("out", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--style", type=click.Choice(STYLES), required=True,
              help="hosts file, dnsmasq/Pi-hole, BIND response-policy zone, or AdGuard.")
@db_option
@settings_options
def export_blocklist(out: Path, style: str, db_path: Path, settings: Settings) -> None:
    """A blocklist of every app the FG rejected, so the DNS filter enforces the decision.

    \b
    Example:
      appradar export blocklist /etc/dnsmasq.d/appradar.conf --style dnsmasq
    """
    catalog = settings.catalog()
    rejected = rejected_apps(open_database(db_path))
    rules = [(rule, app_id) for app_id in rejected if app_id in catalog.apps
             for rule in (*catalog.apps[app_id].domains, *catalog.apps[app_id].hosts)]
    try:
        text = render_blocklist(rules, style, generated=now_iso())
    except ValueError as error:
        raise AppradarError(str(error)) from None
    out.write_text(text, encoding="utf-8")
    click.echo(f"Wrote {len(rules)} rule(s) for {len(rejected)} rejected app(s) to {out}.")


# -- signatures ----------------------------------------------------------------------------

@cli.group(context_settings=CONTEXT)
def signatures() -> None:
    """The signature database: which domains belong to which app."""


@signatures.command("list", context_settings=CONTEXT)
@output_options
@settings_options
def signatures_list(output: str | None, settings: Settings) -> None:
    """Every app, infrastructure and tracker entry.

    \b
    Example:
      appradar signatures list --format csv
    """
    catalog = settings.catalog()
    records = [{"app": app.id, "name": app.name, "kind": app.kind.value, "vendor": app.vendor,
                "vendor_country": app.vendor_country, "category": app.category,
                "domains": list(app.domains) + list(app.hosts)}
               for app in sorted(catalog.apps.values(), key=lambda item: item.id)]
    _echo(records, ["app", "name", "kind", "vendor", "vendor_country", "category", "domains"],
          output)


@signatures.command("show", context_settings=CONTEXT)
@click.argument("app")
@settings_options
def signatures_show(app: str, settings: Settings) -> None:
    """All facts about one app.

    \b
    Example:
      appradar signatures show magister
    """
    catalog = settings.catalog()
    found = catalog.apps.get(app)
    if found is None:
        raise AppradarError(f"unknown app '{app}'; see 'appradar signatures list'")
    facts = {key: value for key, value in vars(found).items()}
    facts["kind"] = found.kind.value
    click.echo(json.dumps(facts, indent=2, ensure_ascii=False, default=list))


@signatures.command("test", context_settings=CONTEXT)
@click.argument("names", nargs=-1, required=True)
@output_options
@settings_options
def signatures_test(names: tuple[str, ...], output: str | None,
                    settings: Settings) -> None:
    """Which app (and which rule) each DOMAIN matches.

    \b
    Example:
      appradar signatures test school.magister.net classroom.google.com
    """
    from scanner.names import InvalidName, normalise

    catalog = settings.catalog()
    records = []
    for name in names:
        try:
            found = catalog.match(normalise(name))
        except InvalidName as reason:
            raise AppradarError(f"'{name}' is not a domain name: {reason}") from None
        records.append({"domain": name, "app": found.app if found else None,
                        "rule": found.describe() if found else None})
    _echo(records, ["domain", "app", "rule"], output)


def update_dir_option(command: F) -> F:
    return click.option(
        "--update-dir", type=click.Path(file_okay=False, path_type=Path), default=None,
        help="Where updates are installed (default: APPRADAR_UPDATE_DIR, else "
             "/var/lib/appradar/signatures).")(command)


@signatures.command("update", context_settings=CONTEXT)
@click.option("--from", "url", metavar="URL",
              help="The bundle: an https:// address, or a local file.")
@click.option("--sha256", metavar="HEX", help="The bundle's SHA-256 from a source you trust "
              "(default: the publisher's URL.sha256).")
@click.option("--max-size", "max_bytes", type=click.IntRange(min=1), default=MAX_BYTES,
              show_default=True, help="Refuse bundles larger than this many bytes.")
@click.option("--timeout", type=click.FloatRange(min=1), default=30.0, show_default=True,
              help="Seconds to wait for the server.")
@click.option("--allow-older", is_flag=True, help="Install a bundle older than the current one.")
@update_dir_option
def signatures_update(url: str | None, sha256: str | None, max_bytes: int, timeout: float,
                      allow_older: bool, update_dir: Path | None) -> None:
    """Install a newer signature bundle: hash checked, validated, swapped in atomically.

    This is the only command that reaches the network, and only to URL. The bundle must match
    the SHA-256 its publisher states and pass 'signatures validate' as a whole; otherwise
    nothing changes. The signatures it replaces are kept for 'appradar signatures rollback'.

    \b
    Example:
      appradar signatures update --from https://example.org/appradar/signatures.tar.gz
    """
    if url is None:
        raise AppradarError("name the bundle: --from URL (an https:// address or a local file)")
    result = update_signatures(url, update_directory(update_dir), expected_sha256=sha256,
                               max_bytes=max_bytes, timeout=timeout, allow_older=allow_older)
    if not result.changed:
        click.echo(f"Signatures {result.version} are already installed; nothing changed.")
        return
    click.echo(f"Installed signatures {result.version} (created {result.created}, "
               f"{result.apps} entries, SHA-256 {result.sha256}) in {result.directory}.")
    click.echo(f"Replaced: {result.previous_version or 'the shipped signatures'}; undo with "
               f"'appradar signatures rollback'.")


@signatures.command("rollback", context_settings=CONTEXT)
@update_dir_option
def signatures_rollback(update_dir: Path | None) -> None:
    """Go back to the signatures in use before the last update (run again to redo it).

    \b
    Example:
      appradar signatures rollback
    """
    result = rollback_signatures(update_directory(update_dir))
    click.echo(f"Now using {result.current_version or 'the shipped signatures'}; "
               f"'appradar signatures rollback' again returns to "
               f"{result.previous_version or 'the shipped signatures'}.")


@signatures.command("bundle", context_settings=CONTEXT)
@click.argument("out", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--from", "source", type=click.Path(file_okay=False, exists=True, path_type=Path),
              help="Signature tree to bundle (default: the shipped one).")
@click.option("--version", "bundle_version", metavar="VERSION",
              help="Bundle version (default: the UTC time, YYYY.MM.DD.HHMMSS).")
def signatures_bundle(out: Path, source: Path | None, bundle_version: str | None) -> None:
    """Write a signature bundle and its OUT.sha256, for publishing next to each other.

    \b
    Example:
      appradar signatures bundle dist/signatures.tar.gz --version 2026.12
    """
    digest = make_bundle(source or shipped_directory(), out, version=bundle_version)
    click.echo(f"{digest}  {out}")


@signatures.command("suggest", context_settings=CONTEXT)
@click.argument("registrable")
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path),
              help="Directory to write the draft to (default: the local signature directory).")
@db_option
@settings_options
def signatures_suggest(registrable: str, out_dir: Path | None, db_path: Path,
                       settings: Settings) -> None:
    """Draft a local signature for an unknown registrable domain from the names seen.

    The draft attributes the names at once; its facts are "unknown" until you fill them in.

    \b
    Example:
      appradar domains --unknown
      appradar signatures suggest leerwereld.nl
    """
    target = out_dir or settings.signatures
    if target is None:
        raise AppradarError("no local signature directory: pass --out DIR, or set "
                            "'signatures' in the configuration file")
    local = settings.signatures if settings.signatures and settings.signatures.is_dir() else None
    from scanner.signatures.suggest import suggest as suggest_signature

    path = suggest_signature(open_database(db_path), registrable, target,
                             catalog=Catalog.load(local, updates=update_directory()),
                             small_count=settings.config.small_count)
    click.echo(f"Wrote {path}; fill in the facts, then run "
               f"'appradar signatures validate {target}'.")


@signatures.command("validate", context_settings=CONTEXT)
@click.argument("directory", required=False, type=click.Path(file_okay=False, path_type=Path))
def signatures_validate(directory: Path | None) -> None:
    """Check signature files: syntax, fields, duplicate ids and rules claimed twice.

    Without DIR the shipped database is checked.

    \b
    Example:
      appradar signatures validate /etc/appradar/signatures
    """
    problems = Problems()
    apps_found = load_directory(directory or shipped_directory(), problems)
    catalog = Catalog(apps_found, problems)
    if problems.lines:
        for line in problems.lines:
            click.echo(line)
        raise AppradarError(f"{len(problems.lines)} problem(s) in {len(apps_found)} file(s)")
    click.echo(f"{len(catalog.apps)} signature file(s), no problems.")


