#!/usr/bin/env python3
"""Time `Catalog.match` over a million distinct host names against a bare `dict.get`.

    python bench/bench_match.py [--names 1000000] [--seed 1] [--repeat 3]

Names are generated, all distinct (so no cache could help, and `Catalog.match` has none):
30% are subdomains of the shipped signature rules (what a school mostly sees), 70% a random
long tail of 2-6 labels under common public suffixes. Three loops run over the same list:

- dict.get: one lookup per name in the rule table, the floor of any dictionary matcher;
- Catalog.match: the real matcher (an exact-host lookup, then suffixes from the longest);
- candidate: a copy of the matcher walking from the right through a table of rule suffixes,
  so a name stops at its first label that no rule ends with. Its answers are checked against
  Catalog.match on every name before it is timed.

The issue's target: >= 500,000 distinct names/s uncached.
"""

from __future__ import annotations

import argparse
import random
import string
import time
from collections.abc import Callable

from scanner.signatures.catalog import Catalog, Match

TARGET_RATE = 500_000
KNOWN_SHARE = 0.30
SUFFIXES = ["com", "nl", "net", "org", "io", "de", "be", "co.uk", "eu", "app", "info", "cloud",
            "com.au", "fr", "tv", "me", "co", "dev", "xyz", "ai"]
PREFIXES = ["www", "api", "cdn", "login", "static", "img", "edge", "eu", "prod", "m", "auth",
            "events", "telemetry", "assets", "s3", "media", "app", "ws"]
LETTERS = string.ascii_lowercase + string.digits


def label(rng: random.Random) -> str:
    if rng.random() < 0.5:
        return rng.choice(PREFIXES) + (str(rng.randrange(100)) if rng.random() < 0.4 else "")
    return "".join(rng.choices(LETTERS, k=rng.randrange(3, 14)))


def make_names(catalog: Catalog, count: int, seed: int) -> list[str]:
    """`count` distinct plausible names, KNOWN_SHARE of them under a signature rule."""
    rng = random.Random(seed)
    rules = sorted(rule for rule in catalog._domains if "." in rule)
    known_target = int(count * KNOWN_SHARE)
    made: set[str] = set()
    while len(made) < known_target:
        labels = [label(rng) for _ in range(rng.choice((1, 1, 1, 2, 2, 3)))]
        made.add(".".join([*labels, rng.choice(rules)]))
    while len(made) < count:
        registrable = "".join(rng.choices(LETTERS, k=rng.randrange(4, 16)))
        labels = [label(rng) for _ in range(rng.choice((0, 1, 1, 1, 2, 2, 3, 4)))]
        made.add(".".join([*labels, registrable, rng.choice(SUFFIXES)]))
    names = list(made)
    rng.shuffle(names)
    return names


class RightToLeft:
    """The candidate: one table of every rule and every label-suffix of a rule.

    A value of "" marks a suffix that only leads towards longer rules. Walking from the top
    label down, the last rule passed is the most specific; the walk ends at the first suffix
    no rule ends with, so a long-tail name costs two or three lookups whatever its length.
    """

    def __init__(self, catalog: Catalog) -> None:
        self._hosts = dict(catalog._hosts)
        table: dict[str, str] = {}
        for rule in catalog._domains:
            dot = rule.find(".")
            while dot >= 0:
                table.setdefault(rule[dot + 1 :], "")
                dot = rule.find(".", dot + 1)
        table.update(catalog._domains)
        self._table = table

    def match(self, name: str) -> Match | None:
        app = self._hosts.get(name)
        if app is not None:
            return Match(app, name, True)
        table = self._table
        found = None
        start = name.rfind(".")
        while True:
            suffix = name[start + 1 :]
            app = table.get(suffix)
            if app is None:
                break
            if app:
                found = suffix
            if start < 0:
                break
            start = name.rfind(".", 0, start)
        if found is None:
            return None
        return Match(table[found], found, False)


def timed(function: Callable[[str], object], names: list[str], repeat: int) -> float:
    """Best wall time of `repeat` passes (the others include more noise, not more work)."""
    best = float("inf")
    for _ in range(repeat):
        started = time.perf_counter()
        for name in names:
            function(name)
        best = min(best, time.perf_counter() - started)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--names", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--repeat", type=int, default=3)
    arguments = parser.parse_args()

    catalog = Catalog.load()
    started = time.perf_counter()
    names = make_names(catalog, arguments.names, arguments.seed)
    assert len(set(names)) == len(names)
    print(f"{len(names):,} distinct names generated in {time.perf_counter() - started:.1f} s "
          f"({KNOWN_SHARE:.0%} under {len(catalog._domains):,} domain rules, "
          f"{len(catalog._hosts)} host rules)")

    candidate = RightToLeft(catalog)
    matched = 0
    for name in names:
        expected = catalog.match(name)
        matched += expected is not None
        if candidate.match(name) != expected:
            raise SystemExit(f"candidate differs on {name}: {candidate.match(name)} "
                             f"!= {expected}")
    print(f"{matched:,} names matched ({matched / len(names):.1%}); the candidate agrees on "
          f"every name")

    baseline = timed(catalog._domains.get, names, arguments.repeat)
    current = timed(catalog.match, names, arguments.repeat)
    proposed = timed(candidate.match, names, arguments.repeat)
    rate = len(names) / current
    print(f"{'dict.get':<16}{len(names) / baseline:>14,.0f} names/s")
    print(f"{'Catalog.match':<16}{rate:>14,.0f} names/s   {current / baseline:.1f}x dict.get")
    print(f"{'candidate':<16}{len(names) / proposed:>14,.0f} names/s   "
          f"{proposed / baseline:.1f}x dict.get, {current / proposed:.2f}x Catalog.match")
    verdict = "meets" if rate >= TARGET_RATE else "misses"
    print(f"Catalog.match {verdict} the target of {TARGET_RATE:,} names/s "
          f"({rate / TARGET_RATE:.2f}x)")


if __name__ == "__main__":
    main()
