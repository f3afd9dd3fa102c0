"""The app record every stage shares: what a signature file says about one app."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum


class Kind(StrEnum):
    APP = "app"  # something a school must account for in its register
    INFRASTRUCTURE = "infrastructure"  # CDNs, sign-in, OS updates: never on the unregistered list
    TRACKER = "tracker"  # analytics and advertising, reported separately


@dataclass(frozen=True)
class App:
    id: str
    name: str
    kind: Kind = Kind.APP
    vendor: str = "unknown"
    vendor_country: str = "unknown"
    eea: bool | None = None  # None: unknown
    category: str = "unknown"
    education_levels: tuple[str, ...] = ()
    aliases: tuple[str, ...] = ()
    domains: tuple[str, ...] = ()  # suffix rules
    hosts: tuple[str, ...] = ()  # exact host rules
    description: str = ""
    privacy: dict[str, object] = field(default_factory=dict, compare=False, hash=False)
    sources: tuple[str, ...] = ()
    origin: str = ""  # file the record was loaded from, for messages

    @property
    def needs_register(self) -> bool:
        return self.kind is Kind.APP
