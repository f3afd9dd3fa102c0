"""The loaded signature database and the matcher: most specific rule first, label by label."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, replace
from pathlib import Path

from scanner.errors import SignatureError
from scanner.signatures.loader import (
    Problems,
    line_in_file,
    load_directory,
)
from scanner.signatures.model import App
from scanner.signatures.update import effective_shipped_directory

MAX_SHOWN = 20


@dataclass(frozen=True, slots=True)
class Match:
    app: str
    rule: str
    exact: bool

    def describe(self) -> str:
        return f"host {self.rule}" if self.exact else f"domain {self.rule}"


class Catalog:
    """Apps by id, and two dictionaries of rules: exact hosts and domain suffixes."""

    def __init__(self, apps: list[App], problems: Problems | None = None) -> None:
        problems = problems if problems is not None else Problems()
        self.apps: dict[str, App] = {}
        self._hosts: dict[str, str] = {}
        self._domains: dict[str, str] = {}
        for app in apps:
            previous = self.apps.get(app.id)
            if previous is not None:
                problems.add(app.origin, line_in_file(app.origin, app.id),
                             f"id '{app.id}' is also defined in {previous.origin}")
                continue
            self.apps[app.id] = app
            for rules, table in ((app.hosts, self._hosts), (app.domains, self._domains)):
                for rule in rules:
                    owner = table.get(rule)
                    if owner is not None and owner != app.id:
                        problems.add(app.origin, line_in_file(app.origin, rule),
                                     f"rule '{rule}' is also claimed by "
                                     f"'{owner}' ({self.apps[owner].origin})")
                    table[rule] = app.id
        self.problems = problems.lines
        # Identifies this set of rules: stored attributions are redone when it changes.
        self.fingerprint = hashlib.sha256(repr(sorted(
            [(rule, owner, "host") for rule, owner in self._hosts.items()]
            + [(rule, owner, "domain") for rule, owner in self._domains.items()]
        )).encode()).hexdigest()

    @classmethod
    def load(cls, local: Path | None = None, updates: Path | None = None) -> Catalog:
        """Shipped signatures (or the update installed in `updates`), then a school's own
        directory, which wins. Only local directories are read: no network access.

        A local file with a shipped id replaces that app; a rule a local file claims is taken
        away from the shipped app that had it, so a school can re-point a domain.
        """
        problems = Problems()
        shipped = {app.id: app for app in load_directory(
            effective_shipped_directory(updates), problems, cache=True)}
        own: list[App] = []
        if local is not None:
            if not local.is_dir():
                raise SignatureError(f"local signature directory {local} does not exist")
            own = load_directory(local, problems)
        if problems.lines:
            raise SignatureError(_summary(problems.lines))
        claimed = {rule for app in own for rule in (*app.domains, *app.hosts)}
        for app in own:
            shipped.pop(app.id, None)
        kept = [_without(app, claimed) for app in shipped.values()]
        catalog = cls(kept + own)
        if catalog.problems:
            raise SignatureError(_summary(catalog.problems))
        return catalog

    def match(self, name: str) -> Match | None:
        """The most specific rule covering `name`: an exact host, else the longest suffix."""
        app = self._hosts.get(name)
        if app is not None:
            return Match(app, name, True)
        suffix = name
        while True:
            app = self._domains.get(suffix)
            if app is not None:
                return Match(app, suffix, False)
            dot = suffix.find(".")
            if dot < 0:
                return None
            suffix = suffix[dot + 1 :]

    def app_id(self, name: str) -> str | None:
        found = self.match(name)
        return found.app if found else None


def _without(app: App, claimed: set[str]) -> App:
    if not claimed.intersection(app.domains) and not claimed.intersection(app.hosts):
        return app
    return replace(
        app,
        domains=tuple(rule for rule in app.domains if rule not in claimed),
        hosts=tuple(rule for rule in app.hosts if rule not in claimed),
    )


def _summary(lines: list[str]) -> str:
    shown = "\n  ".join(lines[:MAX_SHOWN])
    more = f"\n  … and {len(lines) - MAX_SHOWN} more" if len(lines) > MAX_SHOWN else ""
    return f"the signature database has {len(lines)} problem(s):\n  {shown}{more}"
