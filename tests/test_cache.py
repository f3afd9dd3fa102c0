"""The user's cache: parsed data is read back as it was made, and a missing, stale or damaged
copy only costs time."""

from __future__ import annotations

from pathlib import Path

import pytest
from publicsuffixlist import PublicSuffixList

from scanner.names import public_suffixes

NAMES = ["a.b.school.co.uk", "www.xn--mnchen-3ya.de", "www.münchen.de", "x.github.io",
         "deep.under.city.kawasaki.jp", "www.city.kawasaki.jp", "foo.bar.unknowntld",
         "co.uk", "a.blogspot.com", "elo.school.nl"]


def parsed_lists(cache: Path, monkeypatch: pytest.MonkeyPatch) -> list[PublicSuffixList]:
    """The list as a command reads it, three times: parsed, from the cache, and again."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(cache))
    return [public_suffixes.__wrapped__() for _ in range(3)]


def test_the_public_suffix_list_reads_back_from_the_cache_as_parsed(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    fresh = PublicSuffixList()
    lists = parsed_lists(tmp_path, monkeypatch)
    [kept] = (tmp_path / "appradar").glob("public-suffixes-*.txt")
    assert kept.read_text(encoding="utf-8").count("\n") > 10_000
    for psl in lists:
        assert [psl.privatesuffix(name) for name in NAMES] == \
            [fresh.privatesuffix(name) for name in NAMES]
        assert [psl.publicsuffix(name) for name in NAMES] == \
            [fresh.publicsuffix(name) for name in NAMES]


@pytest.mark.parametrize("damage", ["garbage\n", "", "\x00\xff not even text",
                                    "0123456789abcdef\nco.uk\n"])  # another version's
def test_a_damaged_or_stale_copy_is_parsed_again_and_replaced(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, damage: str) -> None:
    parsed_lists(tmp_path, monkeypatch)
    [kept] = (tmp_path / "appradar").glob("public-suffixes-*.txt")
    good = kept.read_bytes()
    kept.write_bytes(damage.encode("utf-8", "surrogateescape"))
    psl = public_suffixes.__wrapped__()
    assert psl.privatesuffix("a.b.school.co.uk") == "school.co.uk"
    assert psl.privatesuffix("x.github.io") == "x.github.io"
    assert kept.read_bytes() == good


def test_no_cache_where_there_is_no_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", "relative/cache")
    monkeypatch.chdir(tmp_path)
    assert public_suffixes.__wrapped__().privatesuffix("x.github.io") == "x.github.io"
    assert list(tmp_path.rglob("*")) == []
