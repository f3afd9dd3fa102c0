"""The app record every stage shares: what a signature file says about one app."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

# EU member states plus Iceland, Liechtenstein and Norway (ISO 3166-1 alpha-2).
EEA_COUNTRIES = frozenset({
    "AT", "BE", "BG", "HR", "CY", "CZ", "DK", "EE", "FI", "FR", "DE", "GR", "HU", "IE", "IT",
    "LV", "LT", "LU", "MT", "NL", "PL", "PT", "RO", "SK", "SI", "ES", "SE", "IS", "LI", "NO",
})


def known_outside_eea(country: str) -> bool:
    """A known country (ISO code) outside the EEA; '' and 'unknown' are not."""
    return country not in ("", "unknown") and country not in EEA_COUNTRIES


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
    parent: str = ""  # ultimate parent company, when it is not the vendor itself
    parent_country: str = ""  # its country: where a transfer risk may come from
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
    def parent_outside_eea(self) -> bool:
        """A parent company outside the EEA: its home law may reach the data (e.g. CLOUD Act)."""
        return known_outside_eea(self.parent_country)

    @property
    def needs_register(self) -> bool:
        return self.kind is Kind.APP
