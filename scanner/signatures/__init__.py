"""Signature database: load and validate the TOML files, match domain names to apps."""

from scanner.signatures.model import App, Kind

__all__ = ["App", "Kind"]
