"""Draft a local signature file for an unknown registrable domain, from what the inventory saw.

The draft states only what appradar knows (the domain and the names seen under it); every fact
a person must look up is "unknown", so nothing guessed ends up looking like a fact. It is
written to the school's local signature directory, where it validates and attributes the
names right away; the FG then fills in vendor, country and sources.
"""

from __future__ import annotations

import contextlib
import re
from datetime import date
from pathlib import Path

import sqlite_utils

from scanner.errors import SignatureError
from scanner.inventory.unknown import names_under
from scanner.names import InvalidName, normalise
from scanner.reports.export import device_count
from scanner.signatures.catalog import Catalog
from scanner.signatures.loader import Problems, load_file

MAX_LISTED = 50
_SAFE_NAME = re.compile(r"[a-z0-9_.*-]+\Z")


def slug(domain: str) -> str:
    """'schoolplein.nl' → 'schoolplein-nl': a valid, readable signature id."""
    text = re.sub(r"[^a-z0-9]+", "-", domain.lower()).strip("-")
    return text[:63].rstrip("-") or "unknown"


def suggest(database: sqlite_utils.Database, registrable: str, out_dir: Path,
            catalog: Catalog | None = None, small_count: int = 5,
            today: date | None = None) -> Path:
    """Write `<out_dir>/apps/<slug>.toml` for `registrable`; return its path.

    Refuses a domain the inventory has no unattributed names under, an id the catalog already
    has, and an existing file. The written file is loaded back with the real loader, so a
    draft that would not validate is removed and reported instead of left behind.
    """
    try:
        domain = normalise(registrable)
    except InvalidName as reason:
        raise SignatureError(f"'{registrable}' is not a domain name: {reason}") from None
    names = names_under(database, domain)
    if not names:
        raise SignatureError(
            f"the inventory has no unattributed names under '{domain}'; see "
            f"'appradar domains --unknown' for the registrable domains to choose from")
    identifier = slug(domain)
    if catalog is not None and identifier in catalog.apps:
        raise SignatureError(f"a signature with id '{identifier}' already exists "
                             f"({catalog.apps[identifier].origin})")
    path = out_dir / "apps" / f"{identifier}.toml"
    text = draft(domain, names, small_count, today or date.today())
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        with path.open("x", encoding="utf-8") as out:
            out.write(text)
    except FileExistsError:
        raise SignatureError(f"{path} already exists; edit it, or remove it first") from None
    except OSError as error:
        raise SignatureError(f"cannot write {path}: {error.strerror}") from None
    problems = Problems()
    if load_file(path, problems) is None or problems.lines:
        with contextlib.suppress(OSError):
            path.unlink()
        raise SignatureError("the draft does not validate (a bug in appradar):\n  "
                             + "\n  ".join(problems.lines))
    return path


def draft(domain: str, names: list[dict[str, object]], small_count: int, today: date) -> str:
    """The TOML text: facts unknown, the domain as the one rule, the evidence as comments."""
    listed = []
    for record in names[:MAX_LISTED]:
        name = str(record["domain"])
        shown = name if _SAFE_NAME.match(name) else repr(name)
        devices = device_count(int(str(record["devices"])), small_count)
        listed.append(f"#   {shown}  ({record['hits']} hits, {devices} devices)")
    if len(names) > MAX_LISTED:
        listed.append(f"#   … and {len(names) - MAX_LISTED} more")
    description = (f"Drafted by appradar signatures suggest on {today.isoformat()} from "
                   f"{len(names)} name(s) seen; check the facts")
    return "\n".join([
        f"# Draft for {domain}: fill in what is known and keep \"unknown\" where it is not.",
        "# Names seen under this domain:",
        *listed,
        f'id = "{slug(domain)}"',
        f'name = "{domain}"',
        'kind = "app"                 # app | infrastructure | tracker',
        'vendor = "unknown"',
        'vendor_country = "unknown"   # ISO 3166-1 alpha-2, or "unknown"',
        'eea = "unknown"              # true | false | "unknown"',
        'category = "unknown"',
        "education_levels = []",
        f'domains = ["{domain}"]',
        "hosts = []",
        f'description = "{description}"',
        "sources = []                 # where the facts in this file come from",
        "",
        "[privacy]",
        'privacyconvenant = "unknown"',
        'central_dpia = "unknown"',
        'data_location = "unknown"',
        "",
    ])
