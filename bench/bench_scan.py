#!/usr/bin/env python3
"""Time `appradar scan` against tshark (and nDPI, if installed) on one synthetic school day.

    python bench/bench_scan.py [--packets 1000000] [--seed 1] [--keep]

The capture comes from bench/make_school_day.py and is cached in bench/out/ (regenerated when
the packet count or seed differ, or the generator is newer). tshark extracting the same fields
is the yardstick a school's IT person would reach for, so the interesting number is the ratio.
Afterwards appradar's `domains` output is checked against the names file the generator wrote:
a fast scanner that misses names is no use for a processing register.

--keep leaves bench/out/bench.db in place for inspection; the capture is always kept.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
OUT = HERE / "out"
GENERATOR = HERE / "make_school_day.py"
TSHARK_FIELDS = ("dns.qry.name", "dns.resp.name", "dns.cname",
                 "tls.handshake.extensions_server_name", "http.host")


@dataclass(frozen=True)
class Run:
    """One timed child process."""

    tool: str
    seconds: float
    peak_rss_mb: float
    returncode: int
    stderr: str


def timed(tool: str, cmd: list[str], stdout: int | None = subprocess.DEVNULL) -> Run:
    """Run cmd once, timing wall clock and reading the peak RSS of exactly this child.

    `os.wait4` returns the rusage of the one child (plus any grandchildren it reaped), where
    getrusage(RUSAGE_CHILDREN) would mix in the generator and earlier tools.
    """
    with tempfile.TemporaryFile() as err:
        start = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=stdout, stderr=err)
        _, status, usage = os.wait4(proc.pid, 0)
        seconds = time.perf_counter() - start
        proc.returncode = os.waitstatus_to_exitcode(status)  # already reaped: tell Popen
        err.seek(0)
        stderr = err.read().decode("utf-8", "replace")
    return Run(tool, seconds, usage.ru_maxrss / 1024, proc.returncode, stderr)  # KiB on Linux


def ensure_capture(pcap: Path, packets: int, seed: int) -> tuple[int, set[str]]:
    """Reuse the cached capture if it was made with these settings, else regenerate it.

    Returns the packet count and the names the generator put in the capture.
    """
    names_file = Path(f"{pcap}.names.json")
    meta: dict[str, object] = {}
    if pcap.exists() and names_file.exists():
        meta = json.loads(names_file.read_text(encoding="utf-8"))
        fresh = names_file.stat().st_mtime >= GENERATOR.stat().st_mtime
        if fresh and meta.get("packets") == packets and meta.get("seed") == seed:
            print(f"reusing {pcap} ({pcap.stat().st_size / 1e6:.0f} MB)")
        else:
            meta = {}
    if not meta:
        OUT.mkdir(parents=True, exist_ok=True)
        subprocess.run([sys.executable, str(GENERATOR), str(pcap), "--packets", str(packets),
                        "--seed", str(seed)], check=True)
        meta = json.loads(names_file.read_text(encoding="utf-8"))
    names = meta["names"]
    assert isinstance(names, list)
    return int(str(meta["packets"])), {normalise(str(n)) for n in names}


def appradar_domains(appradar: str, db: Path) -> set[str] | None:
    """The set of `domain` values appradar reports, or None if it could not say."""
    done = subprocess.run([appradar, "domains", "--format", "json", "--db", str(db)],
                          capture_output=True, text=True, check=False)
    if done.returncode != 0:
        print(f"appradar domains failed ({done.returncode}): {done.stderr.strip()[-500:]}")
        return None
    data = json.loads(done.stdout)
    if isinstance(data, dict):  # tolerate {"domains": [...]} as well as a bare list
        data = data.get("domains", [])
    return {normalise(row["domain"]) for row in data}


def normalise(name: str) -> str:
    return name.strip().rstrip(".").lower()


def check_names(found: set[str], truth: set[str]) -> None:
    missed, invented = sorted(truth - found), sorted(found - truth)
    print(f"\nnames: {len(truth)} in the capture, {len(found)} reported by appradar; "
          f"missed {len(missed)}, invented {len(invented)}")
    for label, names in (("missed", missed), ("invented", invented)):
        if names:
            print(f"  {label} (first 10): {', '.join(names[:10])}")


def print_table(runs: list[Run], packets: int) -> None:
    appradar = next((r for r in runs if r.tool == "appradar" and r.returncode == 0), None)
    print(f"\n{packets:,} packets")
    print(f"{'tool':<12} {'seconds':>9} {'packets/s':>12} {'appradar/tool':>14} "
          f"{'peak RSS MB':>12}")
    for run in runs:
        if run.returncode != 0:
            print(f"{run.tool:<12} {'failed (exit ' + str(run.returncode) + ')':>36}")
            continue
        ratio = f"{appradar.seconds / run.seconds:.2f}" if appradar else "-"
        print(f"{run.tool:<12} {run.seconds:>9.2f} {packets / run.seconds:>12,.0f} "
              f"{ratio:>14} {run.peak_rss_mb:>12.0f}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--packets", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--keep", action="store_true", help="keep bench/out/bench.db")
    args = parser.parse_args(argv)

    pcap, db = OUT / "school-day.pcap", OUT / "bench.db"
    packets, truth = ensure_capture(pcap, args.packets, args.seed)
    runs: list[Run] = []
    failed = False

    appradar = shutil.which("appradar")
    if appradar is None:
        print("appradar not on PATH (pip install -e .): skipping it")
    else:
        for stale in OUT.glob("bench.db*"):  # the db and its -wal/-shm companions
            stale.unlink()
        runs.append(timed("appradar", [appradar, "scan", str(pcap), "--db", str(db)]))
        if runs[-1].returncode != 0:
            failed = True
            print(f"appradar scan failed:\n{runs[-1].stderr.strip()[-2000:]}")

    tshark = shutil.which("tshark")
    if tshark is None:
        print("tshark not on PATH: skipping it")
    else:
        fields = [arg for field in TSHARK_FIELDS for arg in ("-e", field)]
        runs.append(timed("tshark", [tshark, "-n", "-r", str(pcap), "-T", "fields", *fields]))

    ndpi = shutil.which("ndpiReader")
    if ndpi is None:
        print("ndpiReader not on PATH: skipping nDPI")
    else:
        runs.append(timed("ndpiReader", [ndpi, "-i", str(pcap), "-q"]))

    print_table(runs, packets)

    if appradar is not None and not failed:
        found = appradar_domains(appradar, db)
        if found is None:
            failed = True
        else:
            check_names(found, truth)
            failed = failed or found != truth
    if not args.keep:
        for stale in OUT.glob("bench.db*"):
            stale.unlink()
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
