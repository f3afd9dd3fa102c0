#!/usr/bin/env python3
"""Time log import (`read_log`) against a bare loop that only reads the same lines.

    python bench/bench_logs.py [--lines 1000000] [--seed 1] [--repeat 3]

Writes a Pi-hole (dnsmasq) query log and a Zeek dns.log (TSV) of --lines lines each to
bench/out/ (kept; regenerated when the size or seed differ), then runs, each in its own
child process so its peak RSS is its own:

- bare: `for line in open_text(path): pass` (UTF-8 decoding included, as read_log does it);
- read_log: `for item in read_log(path): pass`, sniffing included;
- scan: the whole import as `appradar scan` does it, into a new database (pseudonyms,
  attribution, transactions, resume bookkeeping), for what an administrator waits for.

The issue's targets: >= 300,000 lines/s, and >= 25% of the bare loop's rate.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
OUT = HERE / "out"
TARGET_RATE = 300_000
TARGET_SHARE = 0.25

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
    return [f"10.{rng.randrange(1, 3)}.{rng.randrange(256)}.{rng.randrange(1, 255)}"
            for _ in range(count)]


def make_pihole(path: Path, lines: int, rng: random.Random) -> None:
    """A school day as Pi-hole logs it: each query followed by forwarded/reply/cached lines."""
    pool, hosts = names(rng), clients(rng)
    start = 1_700_000_000 - 8 * 3600
    seconds_per_line = 9 * 3600 / lines
    written = 0
    with open(path, "w") as handle:
        while written < lines:
            moment = time.gmtime(start + written * seconds_per_line)
            stamp = time.strftime("%b %e %H:%M:%S", moment)
            name, client = rng.choice(pool), rng.choice(hosts)
            kind = "A" if rng.random() < 0.6 else "AAAA"
            block = [f"{stamp} dnsmasq[577]: query[{kind}] {name} from {client}\n"]
            outcome = rng.random()
            if outcome < 0.5:
                block.append(f"{stamp} dnsmasq[577]: cached {name} is 142.250.{rng.randrange(256)}"
                             f".{rng.randrange(256)}\n")
            elif outcome < 0.9:
                block.append(f"{stamp} dnsmasq[577]: forwarded {name} to 1.1.1.1\n")
                block.append(f"{stamp} dnsmasq[577]: reply {name} is <CNAME>\n")
                block.append(f"{stamp} dnsmasq[577]: reply edge.{name} is 23.{rng.randrange(256)}"
                             f".{rng.randrange(256)}.{rng.randrange(256)}\n")
            else:
                block.append(f"{stamp} dnsmasq[577]: gravity blocked {name} is 0.0.0.0\n")
            block = block[: lines - written]
            handle.writelines(block)
            written += len(block)


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


def make_zeek(path: Path, lines: int, rng: random.Random) -> None:
    """A Zeek dns.log with the standard header and one record per line."""
    pool, hosts = names(rng), clients(rng)
    start = 1_700_000_000.0
    with open(path, "w") as handle:
        handle.write("#separator \\x09\n#set_separator\t,\n#empty_field\t(empty)\n"
                     "#unset_field\t-\n#path\tdns\n#open\t2023-11-14-08-00-00\n")
        handle.write("#fields\t" + "\t".join(ZEEK_FIELDS) + "\n")
        handle.write("#types\t" + "\t".join(ZEEK_TYPES) + "\n")
        for number in range(lines - 9):
            name, client = rng.choice(pool), rng.choice(hosts)
            qtype, qname = (1, "A") if rng.random() < 0.6 else (28, "AAAA")
            answer = f"142.250.{rng.randrange(256)}.{rng.randrange(256)}"
            handle.write(
                f"{start + number * 0.0324:.6f}\tC{rng.getrandbits(64):x}\t{client}\t"
                f"{rng.randrange(1024, 65535)}\t10.0.0.53\t53\tudp\t{rng.randrange(65536)}\t"
                f"0.0{rng.randrange(10, 99)}\t{name}\t1\tC_INTERNET\t{qtype}\t{qname}\t0\t"
                f"NOERROR\tF\tF\tT\tT\t0\t{answer}\t300.000000\tF\n")
        handle.write("#close\t2023-11-14-17-00-00\n")


def child(mode: str, path: str) -> None:
    """One measurement, in this process: print seconds, lines and observations as JSON."""
    from scanner.sources.logs import open_text, read_log

    start = time.perf_counter()
    observations = 0
    if mode == "bare":
        lines = 0
        with open_text(Path(path)) as handle:
            for _line in handle:
                lines += 1
    elif mode == "scan":  # the command itself, start-up included, as cron runs it
        with tempfile.TemporaryDirectory() as directory:
            done = subprocess.run(["appradar", "scan", path, "--db",
                                   str(Path(directory) / "inventory.db")],
                                  capture_output=True, text=True, check=True)
        summary = done.stdout + done.stderr  # the summary goes to stderr, data to stdout
        lines = int(summary.split(" log records")[0].rsplit(" ", 1)[-1].replace(",", ""))
    else:
        reader = read_log(Path(path))
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
    samples = {"pihole": (OUT / f"pihole-{arguments.lines}-{arguments.seed}.log", make_pihole),
               "zeek-dns": (OUT / f"zeek-dns-{arguments.lines}-{arguments.seed}.log", make_zeek)}
    failed = False
    print(f"{'log':<9} {'bare lines/s':>13} {'read_log lines/s':>17} {'ratio':>6} "
          f"{'scan lines/s':>13} {'names':>8} {'peak RSS MB':>12}")
    for label, (path, make) in samples.items():
        if not path.exists():
            make(path, arguments.lines, random.Random(arguments.seed))
        bare = min((measure("bare", path) for _ in range(arguments.repeat)),
                   key=lambda run: run[0]["seconds"])
        read = min((measure("read_log", path) for _ in range(arguments.repeat)),
                   key=lambda run: run[0]["seconds"])
        scan = min((measure("scan", path) for _ in range(arguments.repeat)),
                   key=lambda run: run[0]["seconds"])
        bare_rate = bare[0]["lines"] / bare[0]["seconds"]
        read_rate = read[0]["lines"] / read[0]["seconds"]
        scan_rate = read[0]["lines"] / scan[0]["seconds"]
        ratio = read_rate / bare_rate
        failed |= read_rate < TARGET_RATE or ratio < TARGET_SHARE
        print(f"{label:<9} {bare_rate:>13,.0f} {read_rate:>17,.0f} {ratio:>6.1%} "
              f"{scan_rate:>13,.0f} {read[0]['observations']:>8,} "
              f"{max(read[1], scan[1]):>12.1f}")
    print(f"targets: >= {TARGET_RATE:,} lines/s and >= {TARGET_SHARE:.0%} of the bare loop"
          f" -> {'not met' if failed else 'met'}")


if __name__ == "__main__":
    main()
