#!/usr/bin/env python3
"""Time log import against a bare loop that only reads the same lines.

    python bench/bench_logs.py [--lines 1000000] [--seed 1] [--repeat 3]

Writes a Pi-hole query log as Pi-hole 5 writes it through syslog and as Pi-hole 6 writes
it itself (ISO times), a Zeek dns.log (TSV) and a Suricata eve.json (55% flow records,
20% dns, 8% tls, 5% http, ...) of --lines lines each to
bench/out/ (kept; regenerated when the size or seed differ), in two shapes:

- school: 1,200 devices, each with its own working set of names drawn from a popularity
  curve (Zipf) over 6,000 names, asking them again and again through the day, plus 15%
  lookups from the whole curve: a device repeats itself, as real clients do;
- uniform: every lookup pairs one of 800 random devices with one of 4,000 names at random,
  so nearly every line is a new device-name pair: the worst case for the inventory.

Then it runs, each in its own child process so its peak RSS is its own:

- bare: `for line in open_text(path): pass` (UTF-8 decoding included, as the readers do);
- python: `for item in read_log(path): pass`, line by line in Python, sniffing included;
- read: what a scan reads: `LogReader.counted()`, the C Tally, where the format has one
  (dnsmasq, Zeek TSV), else the same as python;
- import: the whole import as `appradar scan` does it, into a new database (signatures
  loaded, pseudonyms, attribution, transactions, resume bookkeeping, retention), in a
  process that has already started and imported appradar;
- scan: the same as the command itself, start-up included, for what an administrator waits
  for.

The target: >= 300,000 lines/s, and >= 25% of the bare loop's rate, for a Pi-hole log and a
Zeek dns.log as a school's resolver writes them (the school shape). It is printed met or not,
for what a scan reads and for the whole import; where eve.json or the uniform worst case fall
short of it, they are listed beside it with their share. Each mode runs --repeat times, the
modes in turn, and the best run of each counts.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import itertools
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

HERE = Path(__file__).resolve().parent
OUT = HERE / "out"
TARGET_RATE = 300_000
TARGET_SHARE = 0.25
# The logs the target is set for (Pi-hole and Zeek dns.log), in the shape a school's
# resolver writes them; eve.json and the uniform worst case are measured beside them.
TARGET_LOGS = ("pihole", "pihole6", "zeek-dns")
TARGET_SHAPE = "school"

APPS = ["classroom.google.com", "teams.microsoft.com", "magister.net", "somtoday.nl",
        "wikiwijs.nl", "kahoot.it", "youtube.com", "netflix.com", "tiktokv.com",
        "instagram.com", "snapchat.com", "apple.com", "windowsupdate.com", "office.com",
        "googleapis.com", "gstatic.com", "akamaiedge.net", "cloudfront.net", "zoom.us",
        "duolingo.com", "basispoort.nl", "entree.kennisnet.nl", "mijnklas.nl", "gynzy.com"]
PREFIXES = ["", "www.", "api.", "cdn.", "login.", "static.", "edge-", "img."]


def names(rng: random.Random, count: int = 4000) -> list[str]:
    made = set()
    while len(made) < count:
        prefix = rng.choice(PREFIXES)
        if prefix == "edge-":
            prefix = f"edge-{rng.randrange(100)}."
        made.add(prefix + rng.choice(APPS) if rng.random() < 0.7
                 else f"{prefix}s{rng.randrange(10_000)}.{rng.choice(APPS)}")
    return sorted(made)


def clients(rng: random.Random, count: int = 800) -> list[str]:
    made: set[str] = set()
    while len(made) < count:
        made.add(f"10.{rng.randrange(1, 3)}.{rng.randrange(256)}.{rng.randrange(1, 255)}")
    return sorted(made)


Picker = Callable[[], tuple[str, str]]  # the next lookup: (name, client)


def uniform(rng: random.Random) -> Picker:
    """Any of 800 devices asks any of 4,000 names: no device repeats itself."""
    pool, hosts = names(rng), clients(rng)
    return lambda: (rng.choice(pool), rng.choice(hosts))


def school(rng: random.Random, devices: int = 1200, pool_size: int = 6000) -> Picker:
    """Devices with working sets from a Zipf curve: most lookups repeat the device's own."""
    pool, hosts = names(rng, pool_size), clients(rng, devices)
    rng.shuffle(pool)
    weights = list(itertools.accumulate(1 / rank ** 1.1 for rank in range(1, len(pool) + 1)))
    working = [sorted(set(rng.choices(pool, cum_weights=weights, k=rng.randrange(30, 150))))
               for _ in hosts]

    def pick() -> tuple[str, str]:
        device = rng.randrange(len(hosts))
        if rng.random() < 0.15:
            return rng.choices(pool, cum_weights=weights)[0], hosts[device]
        return rng.choice(working[device]), hosts[device]

    return pick


SHAPES = {"school": school, "uniform": uniform}


def make_pihole(path: Path, lines: int, pick: Picker, rng: random.Random,
                version: int = 5) -> None:
    """A school day as Pi-hole logs it: each query followed by forwarded/reply/cached lines;
    Pi-hole 5 through syslog ('Nov 14 08:00:00 dnsmasq[577]: '), Pi-hole 6 in its own log
    ('2023-11-14 08:00:00.123 ')."""
    start = 1_700_000_000 - 8 * 3600
    seconds_per_line = 9 * 3600 / lines
    written = 0
    with open(path, "w") as handle:
        while written < lines:
            moment = start + written * seconds_per_line
            if version == 5:
                prefix = time.strftime("%b %e %H:%M:%S dnsmasq[577]: ", time.gmtime(moment))
            else:
                prefix = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(moment)) + \
                    f".{int(moment % 1 * 1000):03d} "
            name, client = pick()
            kind = "A" if rng.random() < 0.6 else "AAAA"
            block = [f"{prefix}query[{kind}] {name} from {client}\n"]
            outcome = rng.random()
            if outcome < 0.5:
                block.append(f"{prefix}cached {name} is 142.250.{rng.randrange(256)}"
                             f".{rng.randrange(256)}\n")
            elif outcome < 0.9:
                block.append(f"{prefix}forwarded {name} to 1.1.1.1\n")
                block.append(f"{prefix}reply {name} is <CNAME>\n")
                block.append(f"{prefix}reply edge.{name} is 23.{rng.randrange(256)}"
                             f".{rng.randrange(256)}.{rng.randrange(256)}\n")
            else:
                block.append(f"{prefix}gravity blocked {name} is 0.0.0.0\n")
            block = block[: lines - written]
            handle.writelines(block)
            written += len(block)


def make_pihole6(path: Path, lines: int, pick: Picker, rng: random.Random) -> None:
    make_pihole(path, lines, pick, rng, version=6)


ZEEK_FIELDS = [
    "ts", "uid", "id.orig_h", "id.orig_p", "id.resp_h", "id.resp_p", "proto", "trans_id", "rtt",
    "query", "qclass", "qclass_name", "qtype", "qtype_name", "rcode", "rcode_name", "AA", "TC",
    "RD", "RA", "Z", "answers", "TTLs", "rejected",
]
ZEEK_TYPES = [
    "time", "string", "addr", "port", "addr", "port", "enum", "count", "interval", "string",
    "count", "string", "count", "string", "count", "string", "bool", "bool", "bool", "bool",
    "count", "vector[string]", "vector[interval]", "bool",
]


def make_zeek(path: Path, lines: int, pick: Picker, rng: random.Random) -> None:
    """A Zeek dns.log with the standard header and one record per line."""
    start = 1_700_000_000.0
    with open(path, "w") as handle:
        handle.write("#separator \\x09\n#set_separator\t,\n#empty_field\t(empty)\n"
                     "#unset_field\t-\n#path\tdns\n#open\t2023-11-14-08-00-00\n")
        handle.write("#fields\t" + "\t".join(ZEEK_FIELDS) + "\n")
        handle.write("#types\t" + "\t".join(ZEEK_TYPES) + "\n")
        for number in range(lines - 9):
            name, client = pick()
            qtype, qname = (1, "A") if rng.random() < 0.6 else (28, "AAAA")
            answer = f"142.250.{rng.randrange(256)}.{rng.randrange(256)}"
            handle.write(
                f"{start + number * 0.0324:.6f}\tC{rng.getrandbits(64):x}\t{client}\t"
                f"{rng.randrange(1024, 65535)}\t10.0.0.53\t53\tudp\t{rng.randrange(65536)}\t"
                f"0.0{rng.randrange(10, 99)}\t{name}\t1\tC_INTERNET\t{qtype}\t{qname}\t0\t"
                f"NOERROR\tF\tF\tT\tT\t0\t{answer}\t300.000000\tF\n")
        handle.write("#close\t2023-11-14-17-00-00\n")


EVE_MIX = ["flow"] * 55 + ["dns"] * 20 + ["tls"] * 8 + ["http"] * 5 + ["fileinfo"] * 5 + \
    ["ssh"] * 4 + ["alert"] * 2 + ["stats"]  # a busy sensor: mostly flow records


def make_eve(path: Path, lines: int, pick: Picker, rng: random.Random) -> None:
    """A Suricata eve.json: flows, dns, tls and http events and the rest, written compact."""
    start = 1_700_000_000.0
    with open(path, "w") as handle:
        for number in range(lines):
            kind = rng.choice(EVE_MIX)
            name, client = pick()
            moment = start + number * 0.03
            stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(moment))
            event: dict[str, object] = {
                "timestamp": f"{stamp}.{int(moment % 1 * 1e6):06d}+0000",
                "flow_id": rng.getrandbits(50), "in_iface": "eth1", "event_type": kind,
                "src_ip": client, "src_port": rng.randrange(1024, 65535),
                "dest_ip": f"142.250.{rng.randrange(256)}.{rng.randrange(256)}",
                "dest_port": 53 if kind == "dns" else 443,
                "proto": "UDP" if kind == "dns" else "TCP"}
            if kind == "dns":
                event["dns"] = {"type": "query", "id": rng.randrange(65536), "rrname": name,
                                "rrtype": "A", "tx_id": 0}
            elif kind == "tls":
                event["tls"] = {"sni": name, "version": "TLS 1.3", "ja3": {"hash": "a" * 32}}
            elif kind in ("http", "fileinfo"):
                event["http"] = {"hostname": name, "url": "/index.html", "http_method": "GET",
                                 "status": 200, "length": rng.randrange(100_000)}
            elif kind == "alert":
                event["alert"] = {"action": "allowed", "signature_id": 2013028, "severity": 3,
                                  "signature": "ET POLICY curl User-Agent Outbound"}
            else:
                event["app_proto"] = rng.choice(["tls", "dns", "http", "failed"])
                event[kind] = {"pkts_toserver": rng.randrange(100), "bytes_toserver":
                               rng.randrange(100_000), "start": event["timestamp"],
                               "state": "closed", "reason": "timeout", "alerted": False}
            handle.write(json.dumps(event, separators=(",", ":")) + "\n")


LOGS = [("pihole", make_pihole), ("pihole6", make_pihole6), ("zeek-dns", make_zeek),
        ("suricata-eve", make_eve)]


def child(mode: str, path: str) -> None:
    """One measurement, in this process: print seconds, lines and observations as JSON."""
    from scanner.cli import cli
    from scanner.sources.logs import open_text, read_log

    start = time.perf_counter()
    observations = 0
    if mode == "bare":
        lines = 0
        with open_text(Path(path)) as handle:
            for _line in handle:
                lines += 1
    elif mode == "import":  # the command's work, in this process, after start-up
        with tempfile.TemporaryDirectory() as directory, \
                contextlib.redirect_stderr(io.StringIO()) as summary:
            start = time.perf_counter()
            cli(["scan", path, "--db", str(Path(directory) / "inventory.db")],
                standalone_mode=False)
        lines = int(summary.getvalue().split(" log records")[0].rsplit(" ", 1)[-1]
                    .replace(",", ""))
    elif mode == "scan":  # the command itself, start-up included, as cron runs it
        with tempfile.TemporaryDirectory() as directory:
            done = subprocess.run(["appradar", "scan", path, "--db",
                                   str(Path(directory) / "inventory.db")],
                                  capture_output=True, text=True, check=True)
        summary = done.stdout + done.stderr  # the summary goes to stderr, data to stdout
        lines = int(summary.split(" log records")[0].rsplit(" ", 1)[-1].replace(",", ""))
    else:
        reader = read_log(Path(path))
        if mode == "read" and reader.can_count:  # what a scan reads: counted in C
            for _number, lookups in reader.counted():
                observations += lookups.lookups
        else:  # "python", or a format without a C counter: line by line
            for _item in reader:
                observations += 1
        lines = reader.lines
    seconds = time.perf_counter() - start
    print(json.dumps({"seconds": seconds, "lines": lines, "observations": observations}))


def measure(mode: str, path: Path) -> tuple[dict, float]:
    """Run one child; its result and its own peak RSS in MB (via wait4)."""
    process = subprocess.Popen([sys.executable, __file__, "--child", mode, str(path)],
                               stdout=subprocess.PIPE)
    assert process.stdout is not None
    output = process.stdout.read()
    _, status, usage = os.wait4(process.pid, 0)
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode:
        raise SystemExit(f"{mode} on {path} failed ({process.returncode})")
    return json.loads(output), usage.ru_maxrss / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--lines", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--repeat", type=int, default=3, help="best of N runs")
    parser.add_argument("--child", nargs=2, metavar=("MODE", "PATH"), help=argparse.SUPPRESS)
    arguments = parser.parse_args()
    if arguments.child:
        child(*arguments.child)
        return
    OUT.mkdir(exist_ok=True)
    missed: dict[str, list[str]] = {"read": [], "import": []}  # target logs short of it
    beside: dict[str, list[str]] = {"read": [], "import": []}  # other logs short of it
    print(f"{'log':<21} {'bare lines/s':>13} {'python lines/s':>15} {'read lines/s':>13} "
          f"{'share':>6} {'import lines/s':>15} {'share':>6} {'scan lines/s':>13} "
          f"{'names':>8} {'peak RSS MB':>12}")
    modes = ("bare", "python", "read", "import", "scan")
    for shape, log, make in [(shape, log, make) for shape in SHAPES for log, make in LOGS]:
        label = f"{log} ({shape})"
        path = OUT / f"{log}-{shape}-{arguments.lines}-{arguments.seed}.log"
        if not path.exists():
            rng = random.Random(arguments.seed)
            make(path, arguments.lines, SHAPES[shape](rng), rng)
        runs: dict[str, list[tuple[dict, float]]] = {mode: [] for mode in modes}
        for _ in range(arguments.repeat):  # the modes in turn, so a busy moment hits them alike
            for mode in modes:
                runs[mode].append(measure(mode, path))
        best = {mode: min(found, key=lambda run: run[0]["seconds"])
                for mode, found in runs.items()}
        lines = best["read"][0]["lines"]
        rate = {mode: lines / run[0]["seconds"] for mode, run in best.items()}
        rate["bare"] = best["bare"][0]["lines"] / best["bare"][0]["seconds"]
        share = {mode: rate[mode] / rate["bare"] for mode in missed}
        targeted = log in TARGET_LOGS and shape == TARGET_SHAPE
        for mode in missed:
            if rate[mode] < TARGET_RATE or share[mode] < TARGET_SHARE:
                (missed if targeted else beside)[mode].append(f"{label} {share[mode]:.1%}")
        print(f"{label:<21} {rate['bare']:>13,.0f} {rate['python']:>15,.0f} "
              f"{rate['read']:>13,.0f} {share['read']:>6.1%} {rate['import']:>15,.0f} "
              f"{share['import']:>6.1%} {rate['scan']:>13,.0f} "
              f"{best['read'][0]['observations']:>8,} "
              f"{max(run[1] for run in best.values()):>12.1f}")
    logs = ", ".join(f"{log} ({TARGET_SHAPE})" for log in TARGET_LOGS)
    for mode, failed in missed.items():
        print(f"{mode}: the target, >= {TARGET_RATE:,} lines/s and >= {TARGET_SHARE:.0%} of the "
              f"bare loop for {logs}: "
              + (f"not met for {', '.join(failed)}" if failed else "met"))
        if beside[mode]:
            print(f"{mode}: short of it beside the target: {', '.join(beside[mode])}")

if __name__ == "__main__":
    main()
