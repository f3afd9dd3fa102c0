"""appradar's configuration file (TOML): site, segments, retention, thresholds, signatures.

Looked for in `--config PATH`, `APPRADAR_CONFIG`, `./appradar.toml`, then
`/etc/appradar/appradar.toml`; without one the defaults below hold. Every setting is checked
once at load, and a bad one is reported with the file and key.
"""

from __future__ import annotations

import ipaddress
import os
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from scanner.errors import AppradarError
from scanner.names import InvalidName, normalise

SEARCH_PATH = (Path("appradar.toml"), Path("/etc/appradar/appradar.toml"))
DEFAULT_SEGMENT = "other"

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


class ConfigError(AppradarError):
    """A configuration file that cannot be used as written."""


@dataclass(frozen=True)
class Config:
    path: Path | None = None
    site: str = "default"
    signatures: Path | None = None
    segments: dict[str, tuple[Network, ...]] = field(default_factory=dict)
    device_days: int = 30  # per-device rows are folded into daily counts after this
    aggregate_days: int = 400  # daily aggregates are deleted after this
    small_count: int = 5  # device counts below this are never shown exactly
    # The school's own domains (an Active Directory domain such as ad.school.nl): names at or
    # under them are its network's, counted but never stored, like `.lan` or `.local` ones.
    lan_domains: tuple[str, ...] = ()

    def as_dict(self) -> dict[str, Any]:
        return {
            "file": str(self.path) if self.path else None,
            "site": self.site,
            "signatures": str(self.signatures) if self.signatures else None,
            "segments": {name: [str(net) for net in nets] for name, nets in self.segments.items()},
            "retention": {"device_days": self.device_days, "aggregate_days": self.aggregate_days},
            "privacy": {"small_count": self.small_count, "lan_domains": list(self.lan_domains)},
        }


def find_config(explicit: Path | None) -> Path | None:
    if explicit is not None:
        if not explicit.is_file():
            raise ConfigError(f"configuration file {explicit} does not exist")
        return explicit
    from_environment = os.environ.get("APPRADAR_CONFIG")
    if from_environment:
        return find_config(Path(from_environment))
    return next((path for path in SEARCH_PATH if path.is_file()), None)


def load_config(explicit: Path | None = None) -> Config:
    path = find_config(explicit)
    if path is None:
        return Config()
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as error:
        raise ConfigError(f"{path}: {error}") from None
    return _parse(path, data)


def _parse(path: Path, data: dict[str, Any]) -> Config:
    def fail(key: str, message: str) -> ConfigError:
        return ConfigError(f"{path}: {key}: {message}")

    known = {"site", "signatures", "segments", "retention", "privacy"}
    for key in data:
        if key not in known:
            raise fail(key, f"unknown setting; known: {', '.join(sorted(known))}")
    site = data.get("site", "default")
    if not isinstance(site, str) or not site.strip():
        raise fail("site", "must be a non-empty string")
    signatures = data.get("signatures")
    if signatures is not None and not isinstance(signatures, str):
        raise fail("signatures", "must be a directory path")
    segments: dict[str, tuple[Network, ...]] = {}
    for name, ranges in data.get("segments", {}).items():
        if isinstance(ranges, str):
            ranges = [ranges]
        if not isinstance(ranges, list):
            raise fail(f"segments.{name}", "must be a CIDR range or a list of them")
        networks = []
        for text in ranges:
            try:
                networks.append(ipaddress.ip_network(str(text), strict=False))
            except ValueError:
                raise fail(f"segments.{name}", f"'{text}' is not a CIDR range") from None
        segments[name] = tuple(networks)
    retention = data.get("retention", {})
    privacy = data.get("privacy", {})
    numbers = {}
    for table, key, default in (("retention", "device_days", 30),
                                ("retention", "aggregate_days", 400),
                                ("privacy", "small_count", 5)):
        value = (retention if table == "retention" else privacy).get(key, default)
        if not isinstance(value, int) or isinstance(value, bool) or value < 1:
            raise fail(f"{table}.{key}", "must be a whole number of at least 1")
        numbers[key] = value
    if numbers["aggregate_days"] < numbers["device_days"]:
        raise fail("retention.aggregate_days", "must not be shorter than device_days")
    lan_domains = privacy.get("lan_domains", [])
    if isinstance(lan_domains, str):
        lan_domains = [lan_domains]
    if not isinstance(lan_domains, list):
        raise fail("privacy.lan_domains", "must be a domain name or a list of them")
    own = []
    for text in lan_domains:
        try:
            own.append(normalise(str(text)))
        except InvalidName as reason:
            raise fail("privacy.lan_domains", f"'{text}' is not a domain name: {reason}") from None
    return Config(
        path=path, site=site.strip(),
        signatures=(path.parent / signatures) if signatures else None,
        segments=segments, lan_domains=tuple(own), **numbers,
    )


class Segments:
    """Client address → segment name by the most specific matching range; 'other' if none."""

    def __init__(self, segments: dict[str, tuple[Network, ...]]) -> None:
        ranked = [(network, name) for name, networks in segments.items() for network in networks]
        ranked.sort(key=lambda item: -item[0].prefixlen)
        self._ranked = ranked
        self._cache: dict[bytes, str] = {}

    def __call__(self, address: bytes) -> str:
        found = self._cache.get(address)
        if found is None:
            found = DEFAULT_SEGMENT
            if address and self._ranked:
                parsed = ipaddress.ip_address(address)
                for network, name in self._ranked:
                    if parsed.version == network.version and parsed in network:
                        found = name
                        break
            if len(self._cache) < 1_000_000:
                self._cache[address] = found
        return found
