"""The configuration file: defaults, validation with file and key, segments, `config show`."""

from __future__ import annotations

import ipaddress
import json
from pathlib import Path

import pytest

from scanner.config import Config, ConfigError, Segments, load_config
from tests.conftest import App
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
    ("[privacy]\nlan_domains = 5", "privacy.lan_domains: must be a domain name or a list of "
                                   "them"),
    ("[privacy]\nlan_domains = ['ad school.nl']", "privacy.lan_domains: 'ad school.nl' is not a "
                                                  "domain name: characters not allowed in a "
                                                  "host name"),
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
        "privacy": {"small_count": 5, "lan_domains": []},
    }


def test_the_schools_own_domains_are_kept_out_and_forgotten(app, tmp_path: Path) -> None:
    """`privacy.lan_domains` names the school's own DNS domains (its Active Directory under its
    public name): the hosts in them are counted, never stored; one added later is deleted
    from what is stored at the next purge, once."""
    from scapy.layers.inet import IP, UDP
    from scapy.packet import Raw

    names = ["pc-17.ad.school.nl", "ad.school.nl", "www.school.nl", "school.magister.net"]
    packets = [ether() / IP(src="10.1.0.5", dst="192.0.2.53") / UDP(sport=40000, dport=53)
               / Raw(dns_query(name, number)) for number, name in enumerate(names, 1)]
    capture = write_pcap(tmp_path / "s.pcap", packets)
    config = write(tmp_path, '[privacy]\nlan_domains = ["AD.School.nl."]\n')
    assert load_config(config).lan_domains == ("ad.school.nl",)
    result = app("scan", str(capture), "--config", str(config))
    assert "4 names" in result.stderr
    assert sorted(item["domain"] for item in app.json("domains")) == [
        "school.magister.net", "www.school.nl"]
    later = App(tmp_path / "later.db")  # scanned before the setting, then purged with it
    later("scan", str(capture))
    assert len(later.json("domains")) == 4
    assert "2 stored names of the school's own network deleted" in later(
        "purge", "--config", str(config)).stderr
    assert sorted(item["domain"] for item in later.json("domains")) == [
        "school.magister.net", "www.school.nl"]
    assert "own network" not in later("purge", "--config", str(config)).stderr
