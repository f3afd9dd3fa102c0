"""Read signature files, check them once, and build the Catalog the hot path matches against.

Validation happens here, at load, so matching never has to doubt its data: every problem is
reported with file and line, and a database with problems is not used.
"""

from __future__ import annotations

import json
import os
import re
import tomllib
from dataclasses import asdict, dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from scanner import __version__
from scanner.cache import cache_file, file_stamp, write_whole
from scanner.names import InvalidName, normalise
from scanner.signatures.model import EEA_COUNTRIES, App, Kind

_ID = re.compile(r"[a-z0-9][a-z0-9-]{0,62}\Z")
_COUNTRY = re.compile(r"[A-Z]{2}\Z")
LEVELS = {"po", "vo", "so", "mbo", "hbo", "wo"}
REQUIRED = ("id", "name", "kind")
KNOWN_KEYS = {
    "id", "name", "kind", "vendor", "vendor_country", "eea", "parent", "parent_country",
    "category", "education_levels", "aliases", "domains", "hosts", "description", "privacy",
    "sources",
}


@dataclass
class Problems:
    """Every problem found while loading, as `file:line: message` lines."""

    lines: list[str] = field(default_factory=list)

    def add(self, origin: str, line: int, message: str) -> None:
        self.lines.append(f"{origin}:{line}: {message}")


def shipped_directory() -> Path:
    """The signature files installed with appradar (works from a checkout and a wheel)."""
    return Path(str(resources.files("appradar_signatures")))


def signature_files(directory: Path) -> list[Path]:
    """Every `*.toml` file under `directory` (not through linked directories), in order.
    Walked with `os.scandir`, whose entries know their type: every command lists these
    files, and pathlib's walk stats each of them once more."""
    found: list[str] = []
    folders = [str(directory)]
    while folders:
        with os.scandir(folders.pop()) as entries:
            for entry in entries:
                if entry.is_dir(follow_symlinks=False):
                    folders.append(entry.path)
                elif entry.name.endswith(".toml") and entry.is_file():
                    found.append(entry.path)
    return [Path(path) for path in sorted(found, key=lambda path: path.split(os.sep))]


def load_directory(directory: Path, problems: Problems, cache: bool = False) -> list[App]:
    """Every app in a directory tree. With `cache`, a tree read before without problems is
    taken from the user's cache while no file in it has changed: parsing and checking the
    shipped signatures costs every command a seventh of a second."""
    files = signature_files(directory)
    cached = cache_file("signatures", str(directory.resolve()), ".json") if cache else None
    stamp = _stamp(files) if cached else ""
    if cached:
        apps = _read_cache(cached, stamp)
        if apps is not None:
            return apps
    before = len(problems.lines)
    apps = []
    for path in files:
        app = load_file(path, problems)
        if app is not None:
            apps.append(app)
    if cached and len(problems.lines) == before:
        _write_cache(cached, stamp, apps)
    return apps


_TUPLES = ("education_levels", "aliases", "domains", "hosts", "sources")


def _stamp(files: list[Path]) -> str:
    """What the cache must match: this appradar, its checks, and each file's size and time."""
    code = [Path(__file__), Path(__file__).with_name("model.py")]
    return file_stamp([__version__], code + files)


def _read_cache(cached: Path, stamp: str) -> list[App] | None:
    try:
        data = json.loads(cached.read_bytes())
        if data["stamp"] != stamp:
            return None
        apps = []
        for fields in data["apps"]:
            values: dict[str, Any] = {key: tuple(value) if key in _TUPLES else value
                                      for key, value in fields.items()}
            apps.append(App(**values | {"kind": Kind(fields["kind"])}))
        return apps
    except (OSError, ValueError, KeyError, TypeError):
        return None  # absent, stale, damaged or from another layout: read the files again


def _write_cache(cached: Path, stamp: str, apps: list[App]) -> None:
    try:
        text = json.dumps({"stamp": stamp, "apps": [asdict(app) for app in apps]})
    except (TypeError, ValueError):
        return  # a value JSON cannot hold: the files are read each time
    write_whole(cached, text)


def load_file(path: Path, problems: Problems) -> App | None:
    origin = str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        problems.add(origin, 1, f"cannot read: {error}")
        return None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        match = re.search(r"line (\d+)", str(error))
        problems.add(origin, int(match.group(1)) if match else 1, f"not valid TOML: {error}")
        return None
    before = len(problems.lines)
    app = _build(data, text, origin, problems)
    if app is not None and app.id != path.stem:
        problems.add(origin, _line_of(text, "id"), f"id '{app.id}' differs from the file name")
    return app if len(problems.lines) == before else None


def _line_of(text: str, key: str, value: str | None = None) -> int:
    """The line a key (or a value inside a list) is written on, for messages."""
    for number, line in enumerate(text.splitlines(), 1):
        stripped = line.strip()
        if value is not None and f'"{value}"' in line:
            return number
        if value is None and (stripped.startswith(f"{key} ") or stripped.startswith(f"{key}=")):
            return number
    return 1


def line_in_file(origin: str, value: str) -> int:
    """The line of a quoted value in a signature file (1 if the file cannot be read)."""
    try:
        return _line_of(Path(origin).read_text(encoding="utf-8"), "", value)
    except OSError:
        return 1


def _build(data: dict[str, Any], text: str, origin: str, problems: Problems) -> App | None:
    def bad(key: str, message: str, value: str | None = None) -> None:
        problems.add(origin, _line_of(text, key, value), message)

    for key in REQUIRED:
        if not isinstance(data.get(key), str) or not data[key].strip():
            bad(key, f"'{key}' is missing or empty")
    for key in sorted(set(data) - KNOWN_KEYS):
        bad(key, f"unknown field '{key}'")
    if any(not isinstance(data.get(key), str) or not data[key].strip() for key in REQUIRED):
        return None
    if not _ID.match(data["id"]):
        bad("id", f"id '{data['id']}' must be lower-case letters, digits and '-'")
    try:
        kind = Kind(data["kind"])
    except ValueError:
        bad("kind", f"kind '{data['kind']}' is not one of: app, infrastructure, tracker")
        kind = Kind.APP
    country = data.get("vendor_country", "unknown")
    if country != "unknown" and not (isinstance(country, str) and _COUNTRY.match(country)):
        bad("vendor_country", f"vendor_country '{country}' is not an ISO code or 'unknown'")
    parent = data.get("parent", "")
    parent_country = data.get("parent_country", "")
    if not isinstance(parent, str):
        bad("parent", "parent must be a string")
        parent = ""
    if parent_country not in ("", "unknown") and not (
            isinstance(parent_country, str) and _COUNTRY.match(parent_country)):
        bad("parent_country", f"parent_country '{parent_country}' is not an ISO code or 'unknown'")
        parent_country = ""
    if parent_country and not parent:
        bad("parent_country", "parent_country without a parent")
    eea = data.get("eea", "unknown")
    if eea not in (True, False, "unknown"):
        bad("eea", "eea must be true, false or \"unknown\"")
    if country != "unknown" and eea != "unknown" and isinstance(country, str) \
            and (country in EEA_COUNTRIES) != (eea is True):
        bad("eea", f"eea = {str(eea).lower()} contradicts vendor_country '{country}'")
    levels = _strings(data, "education_levels", text, origin, problems)
    for level in levels:
        if level not in LEVELS:
            bad("education_levels", f"education level '{level}' is not one of "
                + ", ".join(sorted(LEVELS)), level)
    rules: dict[str, tuple[str, ...]] = {}
    written = 0
    for key in ("domains", "hosts"):
        normalised = []
        for rule in _strings(data, key, text, origin, problems):
            written += 1
            try:
                normalised.append(normalise(rule))
            except InvalidName as reason:
                bad(key, f"{key[:-1]} rule '{rule}' is not a valid name: {reason}", rule)
        rules[key] = tuple(normalised)
    if not written:
        bad("domains", "no domains or hosts: the app could never be matched")
    sources = _strings(data, "sources", text, origin, problems)
    for source in sources:
        address = urlsplit(source)
        if address.scheme not in ("http", "https") or not address.hostname \
                or address.hostname.endswith("."):
            bad("sources", f"source '{source}' is not a web address", source)
    privacy = data.get("privacy", {})
    if not isinstance(privacy, dict):
        bad("privacy", "privacy must be a table")
        privacy = {}
    return App(
        id=data["id"],
        name=data["name"].strip(),
        kind=kind,
        vendor=str(data.get("vendor", "unknown")),
        vendor_country=str(country),
        eea=None if eea == "unknown" else bool(eea),
        parent=parent.strip(),
        parent_country=str(parent_country or ("unknown" if parent.strip() else "")),
        category=str(data.get("category", "unknown")),
        education_levels=tuple(levels),
        aliases=tuple(_strings(data, "aliases", text, origin, problems)),
        domains=rules["domains"],
        hosts=rules["hosts"],
        description=str(data.get("description", "")),
        privacy=dict(privacy),
        sources=tuple(sources),
        origin=origin,
    )


def _strings(data: dict[str, Any], key: str, text: str, origin: str,
             problems: Problems) -> list[str]:
    value = data.get(key, [])
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        problems.add(origin, _line_of(text, key), f"'{key}' must be a list of strings")
        return []
    return value
