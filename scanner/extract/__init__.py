"""Turn raw frames into names: DNS, TLS SNI and HTTP Host, through link layers and tunnels."""

from scanner.extract.packets import (
    Counted,
    Dissector,
    Group,
    Lookups,
    Observation,
    ScanStats,
    collector_paused,
)

__all__ = ["Counted", "Dissector", "Group", "Lookups", "Observation", "ScanStats",
           "collector_paused"]
