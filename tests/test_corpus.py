"""Names from real captures written by others must equal what tshark 4.0 extracts.

`data/pcap/truth.jsonl` holds tshark's names per capture (see data/pcap/SOURCES.tsv). Where
appradar deliberately differs, the difference is computed from tshark's own output and tested
here, so it cannot hide a miss:

- names tshark prints with escapes or U+FFFD (control bytes, invalid UTF-8 in labels) are not
  host names: appradar counts them as invalid and stores none of them;
- an HTTP Host keeps its name only: the port is dropped and an IP literal is no name; the
  same for a TLS or QUIC server name sent with a port (`server4:443`);
- mDNS and LLMNR names are device names on the local network (`art-teachers-ipad.local`), not
  apps: they are counted but never stored;
- reverse lookups (`2.97.252.173.in-addr.arpa`) are addresses written as names: never stored.

Where tshark misses a name appradar finds, BEYOND_TSHARK lists it and a test below proves it
with independent evidence.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from scanner.extract import Dissector
from scanner.inventory.writer import stays_out
from scanner.names import InvalidName, host_from_header, is_address_literal, normalise
from scanner.sources.pcap import CaptureReader
from tests.conftest import DATA, PCAP, truth

TRUTH = truth()

# Names appradar finds that tshark 4.0 does not, each proven by a test in this module.
BEYOND_TSHARK: dict[str, dict[str, set[str]]] = {
    # Teredo between a relay and a client uses any UDP port; tshark decodes only port 3544.
    "zeek__Teredo.pcap": {"http": {"ipv6.google.com"}},
    # A ClientHello re-sent as QUIC v1 after version negotiation; tshark reuses broken state.
    "tcpdump__quic_vn.pcap": {"quic": {"localhost"}},
}


def valid(names: list[str]) -> set[str]:
    """tshark's names that are host names, in appradar's normal form."""
    result = set()
    for name in names:
        if "\\" in name or "\ufffd" in name:
            continue
        try:
            result.add(normalise(name))
        except InvalidName:
            continue
    return result


def hosts(values: list[str]) -> set[str]:
    names = [host_from_header(value) for value in values]
    return valid([name for name in names if not is_address_literal(name)])


def local_only(path: Path) -> set[str]:
    """Names this capture carries only in mDNS/LLMNR."""
    dissector = Dissector()
    for frame in CaptureReader(path):
        dissector.frame(*frame)
    observations = dissector.drain()
    local = {item.name for item in observations if item.local}
    return local - {item.name for item in observations if not item.local}


def not_stored(path: Path, names: set[str]) -> set[str]:
    """What appradar deliberately leaves out: local-only names, LAN names (a single label,
    `.lan`, `.local` asked by DNS, ...) and reverse lookups."""
    return local_only(path) | {name for name in names if stays_out(name)}


@pytest.mark.parametrize("capture", sorted(TRUTH))
def test_names_equal_tshark(capture: str, app) -> None:
    expected_by_field = TRUTH[capture]
    path = PCAP / capture
    app("scan", str(path))
    seen: dict[str, set[str]] = {kind: set() for kind in ("dns", "answer", "cname", "sni", "http",
                                                          "quic", "ech")}
    for record in app.json("domains"):
        for kind in record["seen_as"]:
            seen[kind].add(record["domain"])
    expected = {
        "dns": valid(expected_by_field["dns_queries"]),
        "answer+cname": valid(expected_by_field["dns_answers"]),
        "cname": valid(expected_by_field["cnames"]),
        "sni": hosts(expected_by_field["sni"]),
        "http": hosts(expected_by_field["http_hosts"]),
        "quic": hosts(expected_by_field["quic_sni"]),
    }
    got = {
        "dns": seen["dns"], "answer+cname": seen["answer"] | seen["cname"],
        "cname": seen["cname"], "sni": seen["sni"], "http": seen["http"], "quic": seen["quic"],
    }
    assert seen["ech"] <= seen["sni"] | seen["quic"]  # ECH marks a ClientHello's outer name
    beyond = BEYOND_TSHARK.get(capture, {})
    excluded = not_stored(path, set().union(*expected.values(), *beyond.values()))
    for field, names in expected.items():
        assert got[field] == (names | beyond.get(field, set())) - excluded, field


def test_local_names_are_what_tshark_calls_mdns_and_llmnr() -> None:
    """The names left out as local are tshark's mDNS/LLMNR names (answers included)."""
    checked = 0
    for capture, record in TRUTH.items():
        excluded = local_only(PCAP / capture)
        if not excluded and not record["mdns_queries"] and not record["llmnr_queries"]:
            continue
        checked += 1
        everything = valid(record["dns_queries"] + record["dns_answers"]
                           + record["dns_other_section_names"])
        assert excluded <= everything, capture
        local_queries = valid(record["mdns_queries"] + record["llmnr_queries"])
        non_local = valid(record["dns_queries"]) - local_queries
        assert local_queries - non_local <= excluded, capture
    assert checked >= 7


def test_invalid_names_are_counted_not_stored(app) -> None:
    result = app("scan", str(PCAP / "ndpi__dns-invalid-chars.pcap"))
    assert "2 invalid names skipped" in result.stderr
    assert "packet #1: dns name 'www.allyourba\\x04\\x05\\x06arebelongto.cn' skipped: " \
           "characters not allowed in a host name" in result.stderr
    assert app.json("domains") == []


def test_tshark_omits_srv_owner_names_from_answers() -> None:
    """tshark files an SRV answer's owner under dns.srv.* instead of dns.resp.name.

    Frame 2 of wikipedia.pcap answers with one SRV record owned by
    gemini._sftp-ssh._tcp.local; the name is an answer name, yet tshark's dns_answers lacks it.
    appradar reads it as an answer (and, being mDNS, does not store it).
    """
    dissector = Dissector()
    for number, *rest in CaptureReader(PCAP / "zeek__wikipedia.pcap"):
        dissector.frame(number, *rest)
        if number == 2:
            break
    answers = {item.name for item in dissector.drain() if item.how == "answer"}
    assert "gemini._sftp-ssh._tcp.local" in answers
    assert "gemini._sftp-ssh._tcp.local" not in TRUTH["zeek__wikipedia.pcap"]["dns_answers"]


def test_tshark_misses_teredo_between_relay_and_client() -> None:
    """Zeek's http.log for the same capture has the requests inside the relay's Teredo tunnel.

    The datagrams run between a relay and the client on ports other than 3544, so tshark
    never decodes the IPv6 packets inside; Zeek (and appradar) recognise the tunnel by the
    IPv6 header filling the datagram, with a 2001:0::/32 Teredo address.
    """
    zeek_log = DATA / "logs" / "zeek-http-tsv" / "zeek_core.tunnels.teredo_http.log"
    zeek_hosts = {line.split("\t")[8] for line in zeek_log.read_text().splitlines()
                  if not line.startswith("#") and line.count("\t") > 8}
    tshark_hosts = hosts(TRUTH["zeek__Teredo.pcap"]["http_hosts"])
    assert zeek_hosts - tshark_hosts == BEYOND_TSHARK["zeek__Teredo.pcap"]["http"]
    dissector = Dissector()
    for frame in CaptureReader(PCAP / "zeek__Teredo.pcap"):
        dissector.frame(*frame)
    found = {item.name for item in dissector.drain() if item.how == "http"}
    assert zeek_hosts <= found
