#!/usr/bin/env python3
"""Time periodic scans of a log directory that keeps its archives: what an hourly timer pays.

    python bench/bench_archives.py [--hours 1500] [--lines 60] [--appradar COMMAND]

Writes --hours hourly Zeek dns.log archives (gzip, each with its own `#open` time and
--lines lookups) and the live dns.log to a temporary directory, then times, each as the
`appradar scan` command into one inventory:

- first: the scan that imports them all;
- again: the next scan, when nothing has changed (every archive already read to its end);
- grown: a scan after the live log grew by --lines lines.

Beside it, a bare loop that only decompresses and reads every line of every file, which is
what a scan that recognised nothing would at least have to do. A year of hourly archives is
8,760 files per log; the point is that `again` stays small as the number of files grows.
--appradar runs another build for comparison ("python3 -m scanner" with PYTHONPATH set to
an older checkout).
"""

from __future__ import annotations

import argparse
import gzip
import subprocess
import sys
import tempfile
import time
from pathlib import Path

FIELDS = ["ts", "uid", "id.orig_h", "id.orig_p", "id.resp_h", "id.resp_p", "proto", "query"]


def dns_log(hour: int, lines: int) -> str:
    """An hour of a Zeek dns.log: the header with its own #open time, then lookups."""
    start = 1_700_000_000 + hour * 3600
    opened = time.strftime("%Y-%m-%d-%H-%M-%S", time.gmtime(start))
    return (f"#separator \\x09\n#path\tdns\n#open\t{opened}\n#fields\t" + "\t".join(FIELDS) + "\n"
            + "".join(f"{start + i}.5\tC{hour}x{i}\t10.0.{i % 4}.{i % 50 + 1}\t5353\t10.0.0.53\t53"
                      f"\tudp\thost{i % 40}.example.org\n" for i in range(lines)))


def scan(command: list[str], database: Path, pattern: str) -> float:
    start = time.perf_counter()
    subprocess.run([*command, "scan", pattern, "--db", str(database)], check=True,
                   capture_output=True, cwd=database.parent)  # not a checkout: `python -m`
    # puts the working directory before PYTHONPATH
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--hours", type=int, default=1500)
    parser.add_argument("--lines", type=int, default=60)
    parser.add_argument("--appradar", default="appradar", help="the command to time")
    arguments = parser.parse_args()
    with tempfile.TemporaryDirectory() as directory:
        logs = Path(directory) / "logs"
        (logs / "current").mkdir(parents=True)
        (logs / "archive").mkdir()
        for hour in range(arguments.hours):
            (logs / "archive" / f"dns.{hour:05d}.log.gz").write_bytes(
                gzip.compress(dns_log(hour, arguments.lines).encode()))
        live = logs / "current" / "dns.log"
        live.write_text(dns_log(arguments.hours, arguments.lines))
        pattern = str(logs / "*" / "dns.*")
        start = time.perf_counter()
        for path in sorted(logs.rglob("dns.*")):
            opener = gzip.open if path.suffix == ".gz" else open
            with opener(path, "rt") as handle:
                for _line in handle:
                    pass
        bare = time.perf_counter() - start
        database = Path(directory) / "inventory.db"
        command = arguments.appradar.split()
        first = scan(command, database, pattern)
        again = scan(command, database, pattern)
        with live.open("a") as handle:
            handle.write(dns_log(arguments.hours, arguments.lines).split("\n", 4)[4])
        grown = scan(command, database, pattern)
    files = arguments.hours + 1
    print(f"{files:,} files of {arguments.lines} lines (Zeek dns.log, hourly archives + live)")
    print(f"{'bare read of every line':<28} {bare:>8.2f} s")
    for label, seconds in (("first scan", first), ("next scan, nothing new", again),
                           ("next scan, live log grew", grown)):
        print(f"{label:<28} {seconds:>8.2f} s  {seconds / files * 1000:>6.2f} ms per file")


if __name__ == "__main__":
    sys.exit(main())
