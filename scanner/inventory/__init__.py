"""The inventory database: schema, batched writes from scans, and the read-side queries."""

from scanner.inventory.schema import open_database

__all__ = ["open_database"]
