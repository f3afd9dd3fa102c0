"""The signature database: real hostnames map to the right app, lookalikes to nothing."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from scanner.errors import SignatureError
from scanner.names import is_subdomain
from scanner.signatures.catalog import Catalog
from scanner.signatures.loader import (
    Problems,
    load_directory,
    shipped_directory,
    signature_files,
)
from scanner.signatures.model import Kind
from tests.conftest import DATA

CATALOG = Catalog.load()
CASES = [line.split("\t") for line in
         (DATA / "signature_cases.tsv").read_text().splitlines()[1:] if line.strip()]
LOOKALIKES = [line.strip() for line in
              (DATA / "signature_lookalikes.txt").read_text().splitlines() if line.strip()]


def test_the_shipped_database_is_large_enough_and_valid() -> None:
    apps = [app for app in CATALOG.apps.values() if app.kind.value == "app"]
    assert len(apps) >= 60
    assert all(app.sources for app in CATALOG.apps.values())


@pytest.mark.parametrize("host, expected", CASES)
def test_hostname_maps_to_its_app(host: str, expected: str) -> None:
    assert CATALOG.app_id(host) == expected


@pytest.mark.parametrize("host", LOOKALIKES)
def test_lookalike_matches_nothing(host: str) -> None:
    assert CATALOG.match(host) is None


def test_most_specific_rule_wins() -> None:
    assert CATALOG.app_id("classroom.google.com") == "google-classroom"
    assert CATALOG.app_id("www.google.com") == "google-infra"
    assert CATALOG.match("classroom.google.com").rule == "classroom.google.com"


labels = st.from_regex(r"[a-z0-9]([a-z0-9-]{0,10}[a-z0-9])?", fullmatch=True)
names = st.lists(labels, min_size=1, max_size=5).map(".".join)


@given(names, names)
def test_suffix_match_is_label_wise(prefix: str, rule: str) -> None:
    catalog = _catalog_with(rule)
    glued = prefix + rule  # shares the characters, not the labels
    assert catalog.app_id(prefix + "." + rule) == "x"
    assert catalog.app_id(rule) == "x"
    assert (catalog.app_id(glued) == "x") == is_subdomain(glued, rule)


def _catalog_with(rule: str) -> Catalog:
    from scanner.signatures.model import App

    return Catalog([App(id="x", name="X", domains=(rule,))])


def write(directory: Path, name: str, text: str) -> Path:
    path = directory / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


GOOD = '''id = "{id}"
name = "Our own app"
kind = "app"
vendor = "School"
domains = {domains}
sources = ["https://example.org/"]
'''


def test_local_directory_adds_and_overrides(tmp_path: Path) -> None:
    write(tmp_path, "apps/rooster.toml", GOOD.format(id="rooster", domains='["rooster.school.nl"]'))
    write(tmp_path, "apps/kahoot.toml", GOOD.format(id="kahoot", domains='["kahoot.school.nl"]'))
    catalog = Catalog.load(tmp_path)
    assert catalog.app_id("x.rooster.school.nl") == "rooster"
    assert catalog.apps["kahoot"].name == "Our own app"
    assert catalog.app_id("kahoot.it") is None  # the shipped kahoot was replaced whole


def test_local_rule_is_taken_from_the_shipped_app(tmp_path: Path) -> None:
    write(tmp_path, "apps/own-magister.toml",
          GOOD.format(id="own-magister", domains='["magister.net"]'))
    catalog = Catalog.load(tmp_path)
    assert catalog.app_id("school.magister.net") == "own-magister"
    assert catalog.app_id("magister.nl") == "magister"


@pytest.mark.parametrize("variable, kept_in", [("XDG_CACHE_HOME", "cache/appradar"),
                                                ("CACHE_DIRECTORY", "cache")])
def test_a_tree_read_once_comes_from_the_cache_until_a_file_changes(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, variable: str, kept_in: str) -> None:
    """A user's cache, or a service's CacheDirectory= (systemd names it in the variable)."""
    monkeypatch.setenv(variable, str(tmp_path / "cache"))
    tree = tmp_path / "tree"
    for path in sorted((shipped_directory() / "apps").glob("*.toml"))[:5]:
        write(tree, f"apps/{path.name}", path.read_text())
    own = write(tree, "apps/rooster.toml", GOOD.format(id="rooster", domains='["rooster.nl"]'))
    from_files = load_directory(tree, Problems())
    assert load_directory(tree, Problems(), cache=True) == from_files
    [cached] = (tmp_path / kept_in).glob("*.json")
    from_cache = load_directory(tree, Problems(), cache=True)
    assert from_cache == from_files
    assert [app.privacy for app in from_cache] == [app.privacy for app in from_files]
    assert isinstance(from_cache[0].domains, tuple) and from_cache[0].kind is Kind.APP

    data = json.loads(cached.read_text())  # proof the cache is what is read
    data["apps"][-1]["name"] = "From the cache"
    cached.write_text(json.dumps(data))
    assert load_directory(tree, Problems(), cache=True)[-1].name == "From the cache"

    own.write_text(own.read_text().replace("Our own app", "Roosterapp"))
    assert load_directory(tree, Problems(), cache=True)[-1].name == "Roosterapp"
    cached.write_bytes(b"\x00 damaged")
    assert load_directory(tree, Problems(), cache=True) == load_directory(tree, Problems())


def test_a_tree_with_problems_is_not_cached(tmp_path: Path,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    write(tmp_path, "tree/apps/a.toml", GOOD.format(id="b", domains='["a.example"]'))
    for _ in range(2):
        problems = Problems()
        assert load_directory(tmp_path / "tree", problems, cache=True) == []
        assert problems.lines and "differs from the file name" in problems.lines[0]
    assert not (tmp_path / "cache").exists()


def test_validation_names_file_and_line(tmp_path: Path) -> None:
    write(tmp_path, "apps/a.toml", GOOD.format(id="a", domains='["shared.example"]'))
    write(tmp_path, "apps/b.toml", GOOD.format(id="b", domains='["shared.example"]'))
    write(tmp_path, "apps/c.toml", GOOD.format(id="wrong", domains='["c.example"]')
          + 'eea = "maybe"\n')
    write(tmp_path, "apps/d.toml", 'id = "d"\nname = \n')
    write(tmp_path, "apps/e.toml", GOOD.format(id="e", domains='["bad name.example"]'))
    problems = Problems()
    catalog = Catalog(load_directory(tmp_path, problems), problems)
    assert catalog.problems == [
        f"{tmp_path}/apps/c.toml:7: eea must be true, false or \"unknown\"",
        f"{tmp_path}/apps/c.toml:1: id 'wrong' differs from the file name",
        f"{tmp_path}/apps/d.toml:2: not valid TOML: Invalid value (at line 2, column 8)",
        f"{tmp_path}/apps/e.toml:5: domain rule 'bad name.example' is not a valid name: "
        "characters not allowed in a host name",
        f"{tmp_path}/apps/b.toml:5: rule 'shared.example' is also claimed by 'a' "
        f"({tmp_path}/apps/a.toml)",
    ]
    with pytest.raises(SignatureError, match="problem"):
        Catalog.load(tmp_path)


def test_validation_checks_facts_against_each_other(tmp_path: Path) -> None:
    write(tmp_path, "apps/a.toml", GOOD.format(id="a", domains='["a.example"]')
          + 'vendor_country = "US"\neea = true\n')
    write(tmp_path, "apps/b.toml", GOOD.format(id="b", domains='["b.example"]')
          + 'parent_country = "US"\n')
    write(tmp_path, "apps/c.toml", GOOD.format(id="c", domains='["c.example"]')
          + 'vendor_country = "IE"\neea = true\nparent = "Big Inc."\nparent_country = "US"\n')
    write(tmp_path, "apps/d.toml", GOOD.format(id="d", domains='["d.example"]').replace(
        '"https://example.org/"', '"https://example.org/", "example.org/terms", "https://x./"'))
    problems = Problems()
    apps = {app.id: app for app in load_directory(tmp_path, problems)}
    assert problems.lines == [
        f"{tmp_path}/apps/a.toml:8: eea = true contradicts vendor_country 'US'",
        f"{tmp_path}/apps/b.toml:7: parent_country without a parent",
        f"{tmp_path}/apps/d.toml:6: source 'example.org/terms' is not a web address",
        f"{tmp_path}/apps/d.toml:6: source 'https://x./' is not a web address",
    ]
    assert apps["c"].parent_outside_eea and set(apps) == {"c"}


def test_cli_test_and_validate(app, tmp_path: Path) -> None:
    result = app("signatures", "test", "school.magister.net", "notmagister.net",
                 "--format", "json")
    assert json.loads(result.stdout) == [
        {"domain": "school.magister.net", "app": "magister", "rule": "domain magister.net"},
        {"domain": "notmagister.net", "app": None, "rule": None},
    ]
    assert "no problems" in app("signatures", "validate").stdout
    write(tmp_path, "apps/x.toml", GOOD.format(id="y", domains='["x.example"]'))
    result = app("signatures", "validate", str(tmp_path), expect=1)
    assert result.stdout == f"{tmp_path}/apps/x.toml:1: id 'y' differs from the file name\n"
    assert result.stderr == "Error: 1 problem(s) in 0 file(s)\n"


def test_stored_domains_follow_changed_signatures(app, tmp_path: Path) -> None:
    from tests.packets import dns_query, udp_dns, write_pcap

    capture = write_pcap(tmp_path / "q.pcap", [udp_dns(dns_query("quiz.leerwereld.example")),
                                               udp_dns(dns_query("school.magister.net"))])
    app("scan", str(capture))
    assert {item["domain"]: item["app"] for item in app.json("domains")} == {
        "quiz.leerwereld.example": None, "school.magister.net": "magister"}
    own = tmp_path / "own"
    write(own, "apps/leerwereld.toml", GOOD.format(id="leerwereld",
                                                   domains='["leerwereld.example"]'))
    attributed = app.json("domains", "--signatures", str(own))
    assert {item["domain"]: item["app"] for item in attributed} == {
        "quiz.leerwereld.example": "leerwereld", "school.magister.net": "magister"}
    assert "leerwereld" in {item["app"] for item in app.json("apps", "--signatures", str(own))}
    assert {item["domain"]: item["app"] for item in app.json("domains")} == {
        "quiz.leerwereld.example": None, "school.magister.net": "magister"}


def test_signature_files_are_found_in_nested_folders_in_path_order(tmp_path: Path) -> None:
    """Every `.toml` file below the directory, in the order of their path's parts (a file
    of `a/` before one of `a-c/`), nothing else, and not through a linked folder."""
    for name in ["a/b.toml", "a-c/x.toml", "a.toml", "z/y/w.toml", "B.toml", "a/notes.txt"]:
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text("")
    (tmp_path / "linked").symlink_to(tmp_path / "z")
    assert [str(path.relative_to(tmp_path)) for path in signature_files(tmp_path)] == [
        "B.toml", "a/b.toml", "a-c/x.toml", "a.toml", "z/y/w.toml"]
