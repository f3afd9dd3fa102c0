"""The configuration file: defaults, validation with file and key, segments, `config show`."""

from __future__ import annotations

import ipaddress
import json
from pathlib import Path

import pytest

from scanner.config import Config, ConfigError, Segments, load_config
from tests.packets import dns_query, ether, write_pcap


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "appradar.toml"
    path.write_text(text)
    return path


def test_defaults_without_a_file(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("APPRADAR_CONFIG", raising=False)
    assert load_config() == Config()


@pytest.mark.parametrize("text, message", [
    ("colour = 'red'", "colour: unknown setting; known: privacy, retention, segments, "
                       "signatures, site"),
    ("site = ''", "site: must be a non-empty string"),
    ("[segments]\npupils = '10.1.0.0/33'", "segments.pupils: '10.1.0.0/33' is not a CIDR range"),
    ("[retention]\ndevice_days = 0", "retention.device_days: must be a whole number of at "
                                     "least 1"),
    ("[retention]\ndevice_days = 60\naggregate_days = 30",
     "retention.aggregate_days: must not be shorter than device_days"),
    ("[privacy]\nsmall_count = 'five'", "privacy.small_count: must be a whole number of at "
                                        "least 1"),
])
def test_bad_settings_name_file_and_key(tmp_path: Path, text: str, message: str) -> None:
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as error:
        load_config(path)
    assert str(error.value) == f"{path}: {message}"


def test_broken_toml_and_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="does not exist"):
        load_config(tmp_path / "nope.toml")
    with pytest.raises(ConfigError, match=r"appradar.toml: Expected '=' after a key"):
        load_config(write(tmp_path, "site"))


def test_segments_take_the_most_specific_range() -> None:
    segments = Segments({
        "pupils": (ipaddress.ip_network("10.0.0.0/8"),),
        "staff": (ipaddress.ip_network("10.2.0.0/16"), ipaddress.ip_network("fd00:2::/32")),
    })
    assert segments(ipaddress.ip_address("10.1.2.3").packed) == "pupils"
    assert segments(ipaddress.ip_address("10.2.2.3").packed) == "staff"
    assert segments(ipaddress.ip_address("fd00:2::9").packed) == "staff"
    assert segments(ipaddress.ip_address("192.0.2.1").packed) == "other"
    assert segments(b"") == "other"


def test_scan_uses_site_and_segments_from_the_file(app, tmp_path: Path) -> None:
    from scapy.layers.inet import IP, UDP
    from scapy.packet import Raw

    config = write(tmp_path, 'site = "lyceum"\n[segments]\npupils = "10.1.0.0/16"\n'
                             'staff = "10.2.0.0/16"\n[privacy]\nsmall_count = 1\n')
    packets = [ether() / IP(src=f"10.{1 + i % 2}.0.{i}", dst="192.0.2.53") / UDP(
        sport=40000, dport=53) / Raw(dns_query("school.magister.net", i)) for i in range(1, 8)]
    app("scan", str(write_pcap(tmp_path / "s.pcap", packets)), "--config", str(config))
    record = next(item for item in app.json("apps", "--config", str(config))
                  if item["app"] == "magister")
    assert record["devices"] == 7
    assert record["segments"] == {"pupils": 3, "staff": 4}
    masked = next(item for item in app.json("apps") if item["app"] == "magister")
    assert masked["segments"] == {"pupils": "<5", "staff": "<5"} and masked["devices"] == 7
    assert [item["app"] for item in app.json("apps", "--site", "lyceum")] == ["magister"]
    assert app.json("apps", "--site", "elsewhere") == []


def test_config_show(app, tmp_path: Path) -> None:
    config = write(tmp_path, 'site = "lyceum"\nsignatures = "own"\n[segments]\n'
                             'guests = ["10.9.0.0/16", "fd00:9::/32"]\n')
    shown = json.loads(app("config", "show", "--config", str(config)).stdout)
    assert shown == {
        "file": str(config), "site": "lyceum", "signatures": str(tmp_path / "own"),
        "segments": {"guests": ["10.9.0.0/16", "fd00:9::/32"]},
        "retention": {"device_days": 30, "aggregate_days": 400},
        "privacy": {"small_count": 5},
    }
