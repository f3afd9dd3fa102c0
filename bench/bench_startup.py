#!/usr/bin/env python3
"""Time the commands an administrator and a timer run most, where start-up is the cost.

    python bench/bench_startup.py [--lines 2000] [--repeat 5] [--compare COMMAND]

An hourly scan of a Pi-hole log finds a few thousand new lines; the FG's `apps` and `report`
read a small inventory. Each of these is dominated by starting appradar: importing its
libraries, loading 883 signature files and the Public Suffix List. Times, best of --repeat
runs, each a new process:

- help: `appradar --help`, the floor (Python and appradar's imports);
- scan, new: a scan of --lines school-shaped Pi-hole lines into a new inventory;
- scan, nothing new: the same log again, as a timer finds it between two writes;
- apps, report: the FG's list and the HTML report of that inventory.

--compare runs another build beside it, alternating, and prints the ratio ("python3 -m
scanner" with PYTHONPATH set to an older checkout).
"""

from __future__ import annotations

import argparse
import random
import subprocess
import tempfile
import time
from pathlib import Path

from bench_logs import make_pihole, school


def timed(command: list[str], *arguments: str) -> float:
    """Seconds for one run, started outside any checkout (`python -m` puts the working
    directory before PYTHONPATH)."""
    start = time.perf_counter()
    subprocess.run([*command, *arguments], check=True, capture_output=True,
                   cwd=tempfile.gettempdir())
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--lines", type=int, default=2000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--appradar", default="appradar", help="the command to time")
    parser.add_argument("--compare", help="another build's command, timed beside it")
    arguments = parser.parse_args()
    builds = {"this": arguments.appradar.split()}
    if arguments.compare:
        builds["compared"] = arguments.compare.split()
    best: dict[tuple[str, str], float] = {}
    with tempfile.TemporaryDirectory() as directory:
        folder = Path(directory)
        log = folder / "pihole.log"
        rng = random.Random(1)
        make_pihole(log, arguments.lines, school(rng), rng)
        cases = {
            "help": lambda command, db: timed(command, "--help"),
            "scan, new": lambda command, db: (db.unlink(missing_ok=True),
                                             timed(command, "scan", str(log), "--db", str(db)))[1],
            "scan, nothing new": lambda command, db: timed(command, "scan", str(log), "--db",
                                                           str(db)),
            "apps": lambda command, db: timed(command, "apps", "--db", str(db)),
            "report": lambda command, db: timed(command, "report", str(folder / "report.html"),
                                                "--db", str(db)),
        }
        for case, run in cases.items():
            for _ in range(arguments.repeat):
                for build, command in builds.items():  # alternating: the same load for both
                    seconds = run(command, folder / f"{build}.db")
                    key = (case, build)
                    best[key] = min(best.get(key, seconds), seconds)
    print(f"{'command':<20} {'this':>8}" + (f" {'compared':>9} {'ratio':>6}"
                                           if arguments.compare else ""))
    for case in cases:
        line = f"{case:<20} {best[case, 'this']:>7.3f}s"
        if arguments.compare:
            line += (f" {best[case, 'compared']:>8.3f}s"
                     f" {best[case, 'this'] / best[case, 'compared']:>6.2f}")
        print(line)


if __name__ == "__main__":
    main()
