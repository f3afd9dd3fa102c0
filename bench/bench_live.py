#!/usr/bin/env python3
"""Live capture throughput: replay a mixed DNS/TLS capture onto a veth at fixed rates.

    sudo python bench/bench_live.py [--packets 200000] [--rates 10000,20000,...] [--seconds 10]

Two network namespaces joined by a veth pair; `tcpreplay --pps=RATE` sends a synthetic school
day (bench/make_school_day.py: DNS over UDP and TCP, TLS with SNI, HTTP, bulk TLS data, ARP,
ping, NTP) into one end, and appradar's live capture (scanner.sources.live) reads the other.
Per rate it reports the rate tcpreplay reached, the packets that passed the kernel filter,
kernel drops (PACKET_STATISTICS) and the names missed (the inventory's `domains` against the
generator's names file). Then tcpdump captures the same replay with the same filter and the
same 32 MB buffer (`-w /dev/null`): its drop count is the reference for what the kernel and
this machine can take. The answer is the highest rate with zero drops and zero missed names
(DESIGN: at least 20,000 packets/s).

Needs root and `.ci/install-debian` (iproute2, tcpreplay, tcpdump).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import secrets
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import textwrap
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
OUT = HERE / "out"
GENERATOR = HERE / "make_school_day.py"
TARGET_PPS = 20_000

CAPTURE = textwrap.dedent("""
    import json, sys
    from pathlib import Path
    from scanner.inventory import open_database
    from scanner.privacy import Pseudonymiser, key_path_for, load_or_create_key
    from scanner.signatures.catalog import Catalog
    from scanner.sources.live import capture
    path = Path(sys.argv[1])
    database = open_database(path)
    result = capture(database, Catalog.load(None), [sys.argv[2]],
                     Pseudonymiser(load_or_create_key(key_path_for(path))))
    print(result.summary(), file=sys.stderr)
    stats = result.stats
    print(json.dumps({"frames": stats.packets, "names": stats.names,
                      "malformed": stats.malformed, "kernel_packets": result.kernel_packets,
                      "kernel_drops": result.kernel_drops, "seconds": result.seconds,
                      "buffer": result.interfaces[0].buffer_bytes}))
""")


@dataclass
class Replay:
    sent: int
    pps: float


@dataclass
class Row:
    rate: int
    replay: Replay
    frames: int
    kernel_packets: int
    drops: int
    names_found: int
    missed: list[str]
    tcpdump_received: int | None
    tcpdump_drops: int | None
    tcpdump_pps: float | None

    @property
    def clean(self) -> bool:
        return self.drops == 0 and not self.missed


def run(*command: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return subprocess.run(command, capture_output=True, text=True, check=check)


def ensure_capture(packets: int, seed: int) -> tuple[Path, set[str]]:
    """The generator's capture for these settings (cached in bench/out/) and its names."""
    pcap = OUT / f"live-{packets}-{seed}.pcap"
    names_file = Path(f"{pcap}.names.json")
    if not (pcap.exists() and names_file.exists()
            and names_file.stat().st_mtime >= GENERATOR.stat().st_mtime):
        OUT.mkdir(parents=True, exist_ok=True)
        subprocess.run([sys.executable, str(GENERATOR), str(pcap), "--packets", str(packets),
                        "--seed", str(seed)], check=True)
    meta = json.loads(names_file.read_text(encoding="utf-8"))
    return pcap, {str(name).rstrip(".").lower() for name in meta["names"]}


@contextlib.contextmanager
def veth_pair() -> Iterator[tuple[str, str, str, str]]:
    """(sender namespace, its veth end, receiver namespace, its end); removed afterwards."""
    tag = secrets.token_hex(3)
    sender, receiver = f"ar-bench-tx-{tag}", f"ar-bench-rx-{tag}"
    tx, rx = f"arbtx{tag}", f"arbrx{tag}"
    try:
        for namespace in (sender, receiver):
            run("ip", "netns", "add", namespace)
            # No IPv6 autoconfiguration chatter on the link: only the replay is measured.
            run("ip", "netns", "exec", namespace, "sysctl", "-qw",
                "net.ipv6.conf.all.disable_ipv6=1")
            run("ip", "netns", "exec", namespace, "sysctl", "-qw",
                "net.ipv6.conf.default.disable_ipv6=1")
        run("ip", "link", "add", tx, "netns", sender, "type", "veth", "peer", "name", rx,
            "netns", receiver)
        for namespace, interface in ((sender, tx), (receiver, rx)):
            run("ip", "-n", namespace, "link", "set", interface, "mtu", "9000", "up")
        yield sender, tx, receiver, rx
    finally:
        for namespace in (sender, receiver):
            run("ip", "netns", "del", namespace, check=False)


def replay(sender: str, interface: str, pcap: Path, rate: int, loops: int) -> Replay:
    """Send the capture `loops` times at `rate`: long enough that the kernel buffer cannot
    hide a capture that falls behind (32 MB holds only a few seconds of backlog)."""
    done = run("ip", "netns", "exec", sender, "tcpreplay", f"--intf1={interface}",
               f"--pps={rate}", f"--loop={loops}", "--preload-pcap", str(pcap), check=False)
    text = done.stdout + done.stderr
    sent = re.search(r"Actual: (\d+) packets", text)
    rated = re.search(r"Rated: [\d.]+ Bps, [\d.]+ Mbps, ([\d.]+) pps", text)
    if done.returncode != 0 or sent is None or rated is None:
        raise SystemExit(f"tcpreplay failed ({done.returncode}):\n{text}")
    return Replay(int(sent.group(1)), float(rated.group(1)))


def wait_running(database: Path, process: subprocess.Popen[str]) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"the capture ended early: {process.communicate()}")
        with contextlib.suppress(sqlite3.Error), \
                contextlib.closing(sqlite3.connect(database)) as connection:
            if connection.execute("SELECT 1 FROM runs WHERE status = 'running'").fetchone():
                return
        time.sleep(0.1)
    process.kill()
    raise SystemExit("the capture did not start")


def appradar_run(receiver: str, interface: str, sender: str, tx: str, pcap: Path, rate: int,
                 loops: int, workdir: Path) -> tuple[Replay, dict[str, float], set[str]]:
    database = workdir / f"live-{rate}.db"
    process = subprocess.Popen(
        ["ip", "netns", "exec", receiver, sys.executable, "-c", CAPTURE, str(database),
         interface], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    wait_running(database, process)
    sent = replay(sender, tx, pcap, rate, loops)
    time.sleep(1.0)  # let the capture catch up with what the kernel queued
    process.send_signal(signal.SIGTERM)
    stdout, stderr = process.communicate(timeout=120)
    if process.returncode != 0:
        raise SystemExit(f"the capture failed ({process.returncode}):\n{stderr}")
    counters = json.loads(stdout.strip().splitlines()[-1])
    with contextlib.closing(sqlite3.connect(database)) as connection:
        found = {row[0] for row in connection.execute("SELECT domain FROM domains")}
    return sent, counters, found


def tcpdump_run(receiver: str, interface: str, sender: str, tx: str, pcap: Path, rate: int,
                loops: int, expression: str) -> tuple[int, int, float]:
    """tcpdump with the same filter and buffer: (received by filter, dropped by kernel, pps)."""
    process = subprocess.Popen(
        ["ip", "netns", "exec", receiver, "tcpdump", "-i", interface, "-n", "-w", "/dev/null",
         "-B", "32768", expression], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 10
    stderr_start = ""
    while time.monotonic() < deadline:  # tcpdump says "listening on" when it is
        time.sleep(0.3)
        if process.poll() is not None:
            break
        if process.stderr is not None:
            os.set_blocking(process.stderr.fileno(), False)
            stderr_start += process.stderr.read() or ""
            if "listening on" in stderr_start:
                break
    sent = replay(sender, tx, pcap, rate, loops)
    time.sleep(1.0)
    process.send_signal(signal.SIGINT)
    _, rest = process.communicate(timeout=30)
    text = stderr_start + (rest or "")
    received = re.search(r"(\d+) packets? received by filter", text)
    dropped = re.search(r"(\d+) packets? dropped by kernel", text)
    if received is None or dropped is None:
        raise SystemExit(f"tcpdump failed:\n{text}")
    return int(received.group(1)), int(dropped.group(1)), sent.pps


def print_table(rows: list[Row], packets: int, names: int, seconds: float) -> None:
    print(f"\na capture of {packets:,} packets, replayed for at least {seconds:g} s per rate; "
          f"{names:,} distinct names in it")
    print(f"{'target pps':>10} {'reached':>9} {'sent':>10} {'passed filter':>13} {'read':>9} "
          f"{'drops':>7} {'names':>6} {'missed':>6} | {'tcpdump pps':>11} "
          f"{'received':>9} {'drops':>7}")
    for row in rows:
        reference = ("-", "-", "-") if row.tcpdump_received is None else (
            f"{row.tcpdump_pps:,.0f}", f"{row.tcpdump_received:,}", f"{row.tcpdump_drops:,}")
        print(f"{row.rate:>10,} {row.replay.pps:>9,.0f} {row.replay.sent:>10,} "
              f"{row.kernel_packets:>13,} "
              f"{row.frames:>9,} {row.drops:>7,} {row.names_found:>6,} {len(row.missed):>6} | "
              f"{reference[0]:>11} {reference[1]:>9} {reference[2]:>7}")
    clean = [row for row in rows if row.clean]
    best = max(clean, key=lambda row: row.replay.pps) if clean else None
    if best is None:
        print("\nno rate ran without kernel drops and missed names")
    else:
        verdict = "meets" if best.replay.pps >= TARGET_PPS else "misses"
        print(f"\nhighest rate with zero kernel drops and zero missed names: "
              f"{best.replay.pps:,.0f} packets/s (target {best.rate:,}); "
              f"{verdict} DESIGN's {TARGET_PPS:,} packets/s")
    for row in rows:
        if row.missed:
            print(f"  at {row.rate:,} pps missed (first 5): {', '.join(row.missed[:5])}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--packets", type=int, default=200_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--rates", default="10000,20000,40000,80000,160000,240000",
                        help="comma-separated packets/s for tcpreplay --pps")
    parser.add_argument("--seconds", type=float, default=10.0,
                        help="replay each rate at least this long (the capture is looped)")
    parser.add_argument("--no-tcpdump", action="store_true", help="skip the reference runs")
    parser.add_argument("--stop-after-drops", action="store_true",
                        help="do not try higher rates once one dropped or missed names")
    args = parser.parse_args(argv)
    if os.geteuid() != 0:
        parser.error("needs root: network namespaces, veth pairs and packet sockets")
    for tool in ("ip", "tcpreplay", "tcpdump"):
        if shutil.which(tool) is None:
            parser.error(f"{tool} is missing: run .ci/install-debian")
    rates = [int(rate) for rate in args.rates.split(",")]

    from scanner.sources.live import CAPTURE_FILTER

    pcap, truth = ensure_capture(args.packets, args.seed)
    rows: list[Row] = []
    with tempfile.TemporaryDirectory(prefix="appradar-live-") as scratch, veth_pair() as (
            sender, tx, receiver, rx):
        for rate in rates:
            loops = max(1, -(-int(rate * args.seconds) // args.packets))
            sent, counters, found = appradar_run(receiver, rx, sender, tx, pcap, rate, loops,
                                                 Path(scratch))
            reference: tuple[int | None, int | None, float | None] = (None, None, None)
            if not args.no_tcpdump:
                reference = tcpdump_run(receiver, rx, sender, tx, pcap, rate, loops,
                                        CAPTURE_FILTER)
            row = Row(rate, sent, int(counters["frames"]), int(counters["kernel_packets"]),
                      int(counters["kernel_drops"]), len(found & truth),
                      sorted(truth - found), *reference)
            rows.append(row)
            print(f"{rate:,} pps: reached {sent.pps:,.0f}, {row.kernel_packets:,} passed the "
                  f"filter, {row.drops:,} dropped, {len(row.missed)} names missed"
                  + ("" if reference[0] is None else
                     f"; tcpdump {reference[0]:,} received, {reference[1]:,} dropped"),
                  flush=True)
            if args.stop_after_drops and not row.clean:
                break
    print_table(rows, args.packets, len(truth), args.seconds)
    return 0 if any(row.clean and row.replay.pps >= TARGET_PPS for row in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
