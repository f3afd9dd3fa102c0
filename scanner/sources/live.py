"""Live passive capture: names from network interfaces, into the inventory as they are seen.

One `AF_PACKET` raw socket per interface, with a kernel BPF filter (compiled from a tcpdump
expression by libpcap through scapy, or by `tcpdump -ddd`) so that only packets that can
carry a name ever reach Python. Frames go, as raw bytes, through the same `Dissector` and
`InventoryWriter` as `appradar scan`: no per-packet scapy dissection. The inventory is
written in one transaction every `flush_seconds` (and whenever a batch grows large), so a
report run meanwhile sees fresh data (WAL) and a crash loses at most that window.

SIGINT and SIGTERM stop the loop; the last batch is written and the run row closed. Opening
a packet socket needs CAP_NET_RAW; promiscuous mode and a receive buffer above
net.core.rmem_max need CAP_NET_ADMIN. deploy/ has a systemd unit that grants exactly these.
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import json
import os
import selectors
import shutil
import signal
import socket
import struct
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from types import FrameType

import sqlite_utils

from scanner.config import Segments
from scanner.errors import AppradarError, InputError
from scanner.extract import Dissector, ScanStats
from scanner.inventory.writer import InventoryWriter
from scanner.privacy import Pseudonymiser
from scanner.signatures.catalog import Catalog

# Linux constants (linux/if_ether.h, linux/if_packet.h, asm-generic/socket.h).
ETH_P_ALL = 0x0003
SOL_PACKET = 263
PACKET_ADD_MEMBERSHIP = 1
PACKET_MR_PROMISC = 1
PACKET_STATISTICS = 6
PACKET_OUTGOING = 4
SO_ATTACH_FILTER = 26
SO_RCVBUFFORCE = 33
BPF_MAXINSNS = 4096

FLUSH_SECONDS = 2.0  # the most a crash can lose, and how stale a concurrent report can be
FLUSH_OBSERVATIONS = 20_000  # ... or sooner, so a burst never builds a huge transaction
BUFFER_BYTES = 32 << 20  # kernel receive buffer per socket: rides out a slow flush
READ_BURST = 4096  # frames read from one socket before the others and the clock get a look
MAX_FRAME = 65536  # GRO can hand over merged frames well above the MTU

# ARPHRD_* of an interface → (linktype for the Dissector, libpcap DLT to compile the filter
# for, tcpdump's name of that DLT).
LINK_TYPES: dict[int, tuple[int, int, str]] = {
    1: (1, 1, "EN10MB"),  # Ethernet, veth, bridges, bonds, VLAN devices
    772: (1, 1, "EN10MB"),  # loopback: a zeroed Ethernet header in front
    65534: (101, 12, "RAW"),  # ARPHRD_NONE: tun, WireGuard (raw IP)
    512: (101, 12, "RAW"),  # ARPHRD_PPP: the packet socket hands over raw IP
}
LOOPBACK = 772

PRIVILEGE_MESSAGE = (
    "capturing needs CAP_NET_RAW (and CAP_NET_ADMIN for promiscuous mode and a large receive "
    "buffer): run as root or give the service these capabilities (see deploy/)"
)


# -- the kernel filter ------------------------------------------------------------------

_IP4_HEADER = "((ip[0] & 0x0f) << 2)"
_TCP4_HEADER = "((tcp[12] & 0xf0) >> 2)"
_TCP6_HEADER = "((ip6[52] & 0xf0) >> 2)"  # the TCP header right after the fixed IPv6 one

FILTER_CLAUSES: tuple[tuple[str, str], ...] = (
    # DNS over UDP and TCP, both directions: queries name what a device looks up, answers
    # carry the owner names and CNAME chains. libpcap's port test covers IPv4 and IPv6.
    ("dns", "port 53"),
    # TLS to 443, client to server only (the SNI is in the client's ClientHello; the server
    # side, which carries the bulk of the bytes, is never needed). Every segment with payload
    # is let through except those that start an application-data record (17 03 ..): that
    # keeps the continuation segments of a ClientHello split over segments, whose first
    # bytes are arbitrary, at the cost of passing the middle segments of large uploads. A
    # payload of fewer than 2 bytes passes before the 2-byte test is made: a load beyond the
    # end of the packet would make the kernel reject the packet outright.
    ("tls-ipv4",
     f"(ip and tcp dst port 443 and ip[2:2] > {_IP4_HEADER} + {_TCP4_HEADER}"
     f" and (ip[2:2] < {_IP4_HEADER} + {_TCP4_HEADER} + 2"
     f" or tcp[{_TCP4_HEADER}:2] != 0x1703))"),
    # The same for IPv6 (libpcap's tcp[] only indexes IPv4), for TCP right after the fixed
    # header: IPv6 extension headers in front of TCP are rare and not followed.
    ("tls-ipv6",
     f"(ip6 and ip6[6] = 6 and ip6[42:2] = 443 and ip6[4:2] > {_TCP6_HEADER}"
     f" and (ip6[4:2] < {_TCP6_HEADER} + 2 or ip6[40 + {_TCP6_HEADER}:2] != 0x1703))"),
    # HTTP requests to 80: client-to-server segments with payload (a request's headers can
    # be split over segments, so no test of the first bytes).
    ("http-ipv4", f"(ip and tcp dst port 80 and ip[2:2] > {_IP4_HEADER} + {_TCP4_HEADER})"),
    ("http-ipv6", f"(ip6 and ip6[6] = 6 and ip6[42:2] = 80 and ip6[4:2] > {_TCP6_HEADER})"),
    # QUIC Initial packets to 443/udp: long header (0x80) with packet type 00, the Initial
    # of QUIC v1 and the drafts, or type 01 with version 0x6b3343cf, the Initial of QUIC v2.
    # The fixed bit (0x40) is not tested: RFC 9287 lets peers grease it. Short-header packets
    # (all the data after the handshake) never pass.
    ("quic-ipv4",
     "(ip and udp dst port 443 and udp[4:2] > 12 and (udp[8] & 0xb0 = 0x80"
     " or (udp[8] & 0xb0 = 0x90 and udp[9:4] = 0x6b3343cf)))"),
    ("quic-ipv6",
     "(ip6 and ip6[6] = 17 and ip6[42:2] = 443 and ip6[44:2] > 12 and (ip6[48] & 0xb0 = 0x80"
     " or (ip6[48] & 0xb0 = 0x90 and ip6[49:4] = 0x6b3343cf)))"),
    # IP fragments after the first carry no ports, so the tests above never match them; a
    # large DNS answer (DNSSEC, long CNAME chains) arrives that way. The first fragment
    # matches by port; the Dissector reassembles. Fragments are rare on a school network.
    ("fragments", "(ip and ip[6:2] & 0x1fff != 0) or (ip6 and ip6[6] = 44)"),
)

CAPTURE_FILTER = " or ".join(f"({expression})" for _, expression in FILTER_CLAUSES)
"""The tcpdump expression of the kernel filter: any clause lets a packet through."""


def compile_filter(expression: str = CAPTURE_FILTER, dlt: int = 1, dlt_name: str = "EN10MB"
                   ) -> bytes:
    """Classic BPF bytecode (an array of `struct sock_filter`) for `expression`.

    libpcap compiles it (through scapy, on a dead handle: no privilege needed); without
    libpcap, `tcpdump -ddd` does. The bytes are what SO_ATTACH_FILTER takes.
    """
    from scapy.arch.common import compile_filter as scapy_compile
    from scapy.arch.common import free_filter
    from scapy.error import Scapy_Exception

    try:
        program = scapy_compile(expression, linktype=dlt)
    except ImportError:
        pass  # scapy found no libpcap: try tcpdump
    except Scapy_Exception as error:
        raise AppradarError(f"the capture filter does not compile: {error}") from None
    else:
        try:
            return ctypes.string_at(program.bf_insns, program.bf_len * 8)
        finally:
            free_filter(program)
    return _compile_with_tcpdump(expression, dlt_name)


def _compile_with_tcpdump(expression: str, dlt_name: str) -> bytes:
    tcpdump = shutil.which("tcpdump") or next(
        (path for path in ("/usr/sbin/tcpdump", "/usr/bin/tcpdump") if os.path.exists(path)),
        None)
    if tcpdump is None:
        raise AppradarError(
            "compiling the capture filter needs libpcap or tcpdump: "
            "apt-get install libpcap0.8 (or tcpdump)")
    done = subprocess.run([tcpdump, "-ddd", "-y", dlt_name, expression],
                          capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise AppradarError(f"the capture filter does not compile: {done.stderr.strip()}")
    lines = done.stdout.split("\n")
    count = int(lines[0])
    program = bytearray()
    for line in lines[1 : count + 1]:
        code, jump_true, jump_false, constant = (int(part) for part in line.split())
        program += struct.pack("=HBBI", code, jump_true, jump_false, constant)
    return bytes(program)


def attach_filter(sock: socket.socket, program: bytes) -> None:
    """Hand the bytecode to the kernel: packets it rejects are never queued on the socket."""
    count = len(program) // 8
    if not 0 < count <= BPF_MAXINSNS:
        raise AppradarError(f"the capture filter has {count} instructions; the kernel takes "
                            f"1 to {BPF_MAXINSNS}")
    buffer = ctypes.create_string_buffer(program, len(program))
    fprog = struct.pack("HL", count, ctypes.addressof(buffer))  # struct sock_fprog
    sock.setsockopt(socket.SOL_SOCKET, SO_ATTACH_FILTER, fprog)


# -- interfaces -------------------------------------------------------------------------

@dataclass
class InterfaceStats:
    """One interface's socket and what it counted."""

    name: str
    linktype: int = 1
    frames: int = 0  # frames read and handed to the Dissector
    kernel_packets: int = 0  # passed the filter (PACKET_STATISTICS tp_packets)
    kernel_drops: int = 0  # passed the filter but found the receive buffer full
    buffer_bytes: int = 0  # the receive buffer the kernel granted
    loopback: bool = False  # lo hands over every frame twice: leaving and arriving


def available_interfaces() -> list[str]:
    return sorted(name for _, name in socket.if_nameindex())


def check_interfaces(names: list[str]) -> None:
    """Refuse an empty list, `any`, duplicates and interfaces that do not exist."""
    if not names:
        raise AppradarError("name at least one interface to capture on (-i IFACE)")
    available = available_interfaces()
    for name in names:
        if name == "any":
            raise InputError("capturing on 'any' is not supported: name each interface with "
                             f"-i (available: {', '.join(available)})")
        try:
            socket.if_nametoindex(name)
        except OSError:
            raise InputError(f"interface {name} does not exist; available: "
                             f"{', '.join(available)}") from None
    if len(set(names)) != len(names):
        raise InputError("an interface is named twice; its packets would be counted twice")


def open_socket(name: str, program_for: Callable[[int], bytes], promiscuous: bool,
                buffer_bytes: int) -> tuple[socket.socket, InterfaceStats]:
    """A non-blocking packet socket on `name` with the filter attached before any packet.

    The socket is made with protocol 0 (it receives nothing), bound once to learn the
    interface's hardware type, given its filter, and only then bound to ETH_P_ALL: no
    unfiltered packet is ever queued.
    """
    try:
        sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, 0)
    except PermissionError:
        raise AppradarError(PRIVILEGE_MESSAGE) from None
    try:
        sock.bind((name, 0))
        hardware = sock.getsockname()[3]
        link = LINK_TYPES.get(hardware)
        if link is None:
            raise InputError(f"interface {name} has hardware type {hardware}, which capture "
                             "does not read (Ethernet, loopback, tun/WireGuard and PPP do)")
        linktype = link[0]
        attach_filter(sock, program_for(hardware))
        try:
            sock.setsockopt(socket.SOL_SOCKET, SO_RCVBUFFORCE, buffer_bytes)
        except PermissionError:  # no CAP_NET_ADMIN: as much as net.core.rmem_max allows
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, buffer_bytes)
        if promiscuous:
            index = socket.if_nametoindex(name)
            request = struct.pack("iHH8s", index, PACKET_MR_PROMISC, 0, b"")
            try:
                sock.setsockopt(SOL_PACKET, PACKET_ADD_MEMBERSHIP, request)
            except PermissionError:
                raise AppradarError(
                    f"promiscuous mode on {name} needs CAP_NET_ADMIN: {PRIVILEGE_MESSAGE}"
                ) from None
        sock.bind((name, ETH_P_ALL))
        sock.setblocking(False)
        _read_kernel_counters(sock)  # start the counters from zero
        granted = sock.getsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF)
        return sock, InterfaceStats(name, linktype, buffer_bytes=granted,
                                    loopback=hardware == LOOPBACK)
    except OSError as error:
        sock.close()
        if error.errno == errno.ENODEV:
            raise InputError(f"interface {name} does not exist; available: "
                             f"{', '.join(available_interfaces())}") from None
        if error.errno in (errno.EPERM, errno.EACCES):
            raise AppradarError(PRIVILEGE_MESSAGE) from None
        raise AppradarError(f"cannot capture on {name}: {error.strerror or error}") from None
    except BaseException:
        sock.close()
        raise


def _read_kernel_counters(sock: socket.socket) -> tuple[int, int]:
    """(packets, drops) since the last call: reading PACKET_STATISTICS resets them."""
    packets, drops = struct.unpack("II", sock.getsockopt(SOL_PACKET, PACKET_STATISTICS, 8))
    return packets, drops


# -- the capture ------------------------------------------------------------------------

@dataclass
class CaptureResult:
    """What a capture saw; `stopped_by` is 'duration', 'SIGINT', 'SIGTERM' or 'stop'."""

    run_id: int
    interfaces: list[InterfaceStats]
    stats: ScanStats = field(default_factory=ScanStats)
    seconds: float = 0.0
    flushes: int = 0
    stopped_by: str = ""
    error: str = ""

    @property
    def kernel_drops(self) -> int:
        return sum(item.kernel_drops for item in self.interfaces)

    @property
    def kernel_packets(self) -> int:
        return sum(item.kernel_packets for item in self.interfaces)

    @property
    def interrupted(self) -> bool:
        return self.stopped_by in ("SIGINT", "SIGTERM", "stop")

    @property
    def exit_code(self) -> int:
        """130 after Ctrl-C (DESIGN's 'interrupted'); 0 after SIGTERM, a service's normal end."""
        return 130 if self.stopped_by == "SIGINT" else 0

    def summary(self) -> str:
        stats = self.stats
        names = ", ".join(item.name for item in self.interfaces)
        line = (f"Captured on {names} for {self.seconds:,.1f} s: {stats.packets:,} packets seen, "
                f"{stats.names:,} names extracted, {stats.malformed:,} malformed packets, "
                f"{self.kernel_drops:,} dropped by the kernel")
        if stats.invalid_names:
            line += f", {stats.invalid_names:,} invalid names skipped"
        line += "."
        if self.kernel_drops:
            line += (" Kernel drops mean the capture fell behind: give it CAP_NET_ADMIN (for "
                     "the large receive buffer) or a faster machine.")
        return line

    def notes(self) -> list[str]:
        kernel = "; ".join(
            f"{item.name}: {item.kernel_packets} passed the filter, {item.kernel_drops} dropped, "
            f"buffer {item.buffer_bytes >> 10} KiB" for item in self.interfaces)
        lines = [f"kernel: {kernel}"]
        if self.stopped_by:
            lines.append(f"stopped by {self.stopped_by}")
        if self.error:
            lines.append(f"error: {self.error}")
        return lines + self.stats.notes


class LiveCapture:
    """Capture on interfaces into the inventory; `run()` until a duration, a signal or `stop()`.

    Example (as root)::

        capture = LiveCapture(database, catalog, Pseudonymiser(key), ["eth0"])
        result = capture.run(duration=60)
        print(result.summary())
    """

    def __init__(self, database: sqlite_utils.Database, catalog: Catalog,
                 pseudonymiser: Pseudonymiser, interfaces: list[str], site: str = "default",
                 segment_of: Callable[[bytes], str] | None = None, promiscuous: bool = False,
                 flush_seconds: float = FLUSH_SECONDS, buffer_bytes: int = BUFFER_BYTES,
                 filter_expression: str = CAPTURE_FILTER, command: str | None = None,
                 lan_domains: tuple[str, ...] = ()) -> None:
        check_interfaces(interfaces)
        self.database = database
        self.site = site
        self.pseudonymiser = pseudonymiser
        self.interface_names = list(interfaces)
        self.promiscuous = promiscuous
        self.flush_seconds = flush_seconds
        self.buffer_bytes = buffer_bytes
        self.filter_expression = filter_expression
        self.command = command or "capture " + " ".join(f"-i {name}" for name in interfaces)
        self.writer = InventoryWriter(database, catalog, site, pseudonymiser,
                                      segment_of or Segments({}), lan_domains)
        # QUIC hook: the kernel filter already lets client Initial packets to 443/udp through
        # (the quic-ipv4/quic-ipv6 clauses). Their SNI is read by scanner/extract/quic.py once
        # the Dissector hands UDP/443 datagrams to it, exactly as for `scan`; nothing here
        # needs to change for that.
        self.dissector = Dissector()
        self._stop_reason = ""
        self._wake_read, self._wake_write = socket.socketpair()
        self._wake_read.setblocking(False)
        self._wake_write.setblocking(False)

    # -- control ---------------------------------------------------------------------

    def stop(self, reason: str = "stop") -> None:
        """Ask the loop to end (from another thread or a signal handler); it flushes first."""
        if not self._stop_reason:
            self._stop_reason = reason
        with contextlib.suppress(OSError):
            self._wake_write.send(b"x")

    @contextlib.contextmanager
    def _signals(self, handle: bool) -> Iterator[None]:
        """SIGINT and SIGTERM end the loop instead of raising in the middle of a write."""
        if not handle or threading.current_thread() is not threading.main_thread():
            yield
            return

        def handler(signum: int, frame: FrameType | None) -> None:
            self.stop(signal.Signals(signum).name)

        previous = {number: signal.signal(number, handler)
                    for number in (signal.SIGINT, signal.SIGTERM)}
        try:
            yield
        finally:
            for number, old in previous.items():
                signal.signal(number, old)

    # -- the loop --------------------------------------------------------------------

    def run(self, duration: float | None = None, handle_signals: bool = True,
            on_flush: Callable[[CaptureResult], None] | None = None) -> CaptureResult:
        """Capture until `duration` seconds have passed, a signal arrives or `stop()` is called.

        Interfaces and privileges are checked before the run row is written, so a refused
        capture leaves no trace in the inventory.
        """
        programs: dict[int, bytes] = {}

        def program_for(hardware: int) -> bytes:
            _, dlt, name = LINK_TYPES[hardware]
            if dlt not in programs:
                programs[dlt] = compile_filter(self.filter_expression, dlt, name)
            return programs[dlt]

        sockets: list[tuple[socket.socket, InterfaceStats]] = []
        try:
            for name in self.interface_names:
                sockets.append(open_socket(name, program_for, self.promiscuous,
                                           self.buffer_bytes))
            with self._signals(handle_signals):
                return self._loop(sockets, duration, on_flush)
        finally:
            for sock, _ in sockets:
                sock.close()
            self._wake_read.close()
            self._wake_write.close()

    def _loop(self, sockets: list[tuple[socket.socket, InterfaceStats]],
              duration: float | None,
              on_flush: Callable[[CaptureResult], None] | None) -> CaptureResult:
        result = CaptureResult(self._start_run(), [stats for _, stats in sockets],
                               self.dissector.stats)
        selector = selectors.DefaultSelector()
        for sock, stats in sockets:
            selector.register(sock, selectors.EVENT_READ, (sock, stats))
        selector.register(self._wake_read, selectors.EVENT_READ, None)
        started = time.monotonic()
        deadline = None if duration is None else started + duration
        next_flush = started + self.flush_seconds
        writer = self.writer
        status = "failed"
        try:
            while not self._stop_reason:
                now = time.monotonic()
                until = next_flush if deadline is None else min(next_flush, deadline)
                for key, _ in selector.select(max(0.0, until - now)):
                    if key.data is None:
                        with contextlib.suppress(OSError):
                            self._wake_read.recv(64)
                        continue
                    sock, stats = key.data
                    if not self._read(sock, stats):
                        selector.unregister(sock)
                        if len(selector.get_map()) == 1:
                            raise AppradarError("every capture interface went away")
                now = time.monotonic()
                if now >= next_flush or writer.batch.observations >= FLUSH_OBSERVATIONS:
                    self._flush(result, sockets, started)
                    next_flush = time.monotonic() + self.flush_seconds
                    if on_flush is not None:
                        on_flush(result)
                if deadline is not None and now >= deadline:
                    result.stopped_by = "duration"
                    break
            if self._stop_reason:
                result.stopped_by = self._stop_reason
            self._drain(sockets)
            status = "interrupted" if result.interrupted else "complete"
        except AppradarError as error:
            result.error = str(error)
            raise
        except BaseException as error:
            result.error = f"{type(error).__name__}: {error}"
            raise
        finally:
            selector.close()
            try:
                self._flush(result, sockets, started, status)
            except Exception:
                if status != "failed":
                    raise  # otherwise the error that ended the loop is the one to show
        return result

    def _drain(self, sockets: list[tuple[socket.socket, InterfaceStats]]) -> None:
        """Read what the kernel queued before the stop, so a clean stop loses no packet."""
        for sock, stats in sockets:
            before = -1
            for _ in range(256):  # bounded: traffic keeps arriving while we read
                if stats.frames == before:
                    break
                before = stats.frames
                self._read(sock, stats)

    def _read(self, sock: socket.socket, stats: InterfaceStats) -> bool:
        """Read what is queued (up to a burst); False when the interface has gone."""
        dissector = self.dissector
        frame = dissector.frame
        writer = self.writer
        linktype = stats.linktype
        number = dissector.stats.packets
        clock = time.time
        read = 0
        try:
            if stats.loopback:  # every frame is seen leaving and arriving: keep one
                receive = sock.recvfrom
                while read < READ_BURST:
                    data, address = receive(MAX_FRAME)
                    read += 1
                    if address[2] == PACKET_OUTGOING:
                        continue
                    number += 1
                    frame(number, clock(), linktype, data)
                    if dissector.observations:
                        writer.add(dissector.drain())
            else:
                receive_bytes = sock.recv
                while read < READ_BURST:
                    data = receive_bytes(MAX_FRAME)
                    read += 1
                    number += 1
                    frame(number, clock(), linktype, data)
                    if dissector.observations:
                        writer.add(dissector.drain())
        except BlockingIOError:
            pass
        except OSError as error:
            if error.errno in (errno.ENETDOWN, errno.ENODEV, errno.ENXIO):
                dissector.stats.note(stats.name, f"interface went away ({error.strerror})")
                return error.errno == errno.ENETDOWN  # down can come up again; gone cannot
            raise
        finally:
            stats.frames += read
        return True

    # -- the database ------------------------------------------------------------------

    def _start_run(self) -> int:
        with self.database.conn:
            cursor = self.database.conn.execute(
                "INSERT INTO runs (command, site, started, status, keep_client_addresses) "
                "VALUES (?, ?, ?, 'running', ?)",
                (self.command, self.site, _now_iso(), int(self.pseudonymiser.keep_addresses)),
            )
        return int(cursor.lastrowid or 0)

    def _flush(self, result: CaptureResult, sockets: list[tuple[socket.socket, InterfaceStats]],
               started: float, status: str = "running") -> None:
        """One transaction: the batch, and the run row's counters (closed when status is final)."""
        for sock, interface in sockets:
            with contextlib.suppress(OSError):
                packets, drops = _read_kernel_counters(sock)
                interface.kernel_packets += packets
                interface.kernel_drops += drops
        result.seconds = time.monotonic() - started
        result.flushes += 1
        stats = result.stats

        def progress() -> None:
            self.database.conn.execute(
                "UPDATE runs SET finished = ?, status = ?, frames = ?, names = ?, malformed = ?, "
                "invalid_names = ?, notes = ? WHERE id = ?",
                (None if status == "running" else _now_iso(), status, stats.packets,
                 stats.names, stats.malformed, stats.invalid_names, json.dumps(result.notes()),
                 result.run_id),
            )

        self.writer.flush(progress)


def _now_iso() -> str:
    from scanner.scan import now_iso  # one clock format for every run row

    return now_iso()


def capture(database: sqlite_utils.Database, catalog: Catalog, interfaces: list[str],
            pseudonymiser: Pseudonymiser, site: str = "default",
            segment_of: Callable[[bytes], str] | None = None, duration: float | None = None,
            promiscuous: bool = False, flush_seconds: float = FLUSH_SECONDS,
            buffer_bytes: int = BUFFER_BYTES, filter_expression: str = CAPTURE_FILTER,
            command: str | None = None,
            on_flush: Callable[[CaptureResult], None] | None = None,
            lan_domains: tuple[str, ...] = ()) -> CaptureResult:
    """Capture on `interfaces` into the inventory until `duration`, SIGINT or SIGTERM."""
    live = LiveCapture(database, catalog, pseudonymiser, interfaces, site, segment_of,
                       promiscuous, flush_seconds, buffer_bytes, filter_expression, command,
                       lan_domains)
    return live.run(duration, on_flush=on_flush)
