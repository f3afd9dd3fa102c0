"""Turn raw frames into names: DNS, TLS SNI and HTTP Host, through link layers and tunnels."""

from scanner.extract.packets import Dissector, Observation, ScanStats

__all__ = ["Dissector", "Observation", "ScanStats"]
