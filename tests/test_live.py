"""Live capture: the kernel filter, the errors, and real traffic between two namespaces.

The integration tests build two network namespaces joined by a veth pair, run dnsmasq as the
real resolver and a TLS and HTTP server in one, send real queries (dig, dnspython), TLS
handshakes with SNI and HTTP requests from the other, capture on the server's end of the veth
and read the inventory. They need root (CI runs as root) and the Debian packages that
.ci/install-debian installs; they are skipped, with the reason, only where namespaces cannot
be made.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import os
import secrets
import shutil
import signal
import sqlite3
import struct
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from scanner.errors import AppradarError, InputError
from scanner.inventory import open_database
from scanner.privacy import Pseudonymiser
from scanner.signatures.catalog import Catalog
from scanner.sources import live

ROOT = Path(__file__).resolve().parent.parent
SERVER4, CLIENT4 = "10.99.0.1", "10.99.0.2"
SERVER6, CLIENT6 = "fd99::1", "fd99::2"


# -- the kernel filter, checked with libpcap's own BPF interpreter ------------------------

def _libpcap() -> ctypes.CDLL:
    found = ctypes.util.find_library("pcap")
    if found is None:
        pytest.skip("libpcap is not installed (apt-get install libpcap0.8)")
    library = ctypes.CDLL(found)
    library.bpf_filter.restype = ctypes.c_uint
    library.bpf_filter.argtypes = [ctypes.c_char_p, ctypes.c_char_p, ctypes.c_uint,
                                   ctypes.c_uint]
    return library


def _frames() -> dict[str, tuple[bytes, bool]]:
    """Crafted frames, unpadded as on a veth, and whether the filter must let each through."""
    from scapy.layers.inet import IP, TCP, UDP
    from scapy.layers.inet6 import IPv6, IPv6ExtHdrFragment
    from scapy.layers.l2 import Ether
    from scapy.packet import Raw

    ether = Ether(src="02:00:00:00:00:01", dst="02:00:00:00:00:02")
    v4, v6 = ether / IP(src=CLIENT4, dst=SERVER4), ether / IPv6(src=CLIENT6, dst=SERVER6)
    v4_back, v6_back = ether / IP(src=SERVER4, dst=CLIENT4), ether / IPv6(src=SERVER6, dst=CLIENT6)
    hello = b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03"
    data = b"\x17\x03\x03\x00\x20" + bytes(32)
    options = [("MSS", 1460), ("NOP", None), ("WScale", 7), ("SAckOK", b"")]
    initial_v1 = b"\xc3\x00\x00\x00\x01\x08" + bytes(1194)
    initial_v2 = b"\xd3\x6b\x33\x43\xcf\x08" + bytes(1194)
    cases = {
        "dns query udp4": (v4 / UDP(sport=40000, dport=53) / Raw(bytes(17)), True),
        "dns answer udp6": (v6_back / UDP(sport=53, dport=40000) / Raw(bytes(40)), True),
        "dns tcp syn": (v4 / TCP(sport=40000, dport=53, flags="S"), True),
        "dns tcp answer": (v4_back / TCP(sport=53, dport=40000, flags="PA") / Raw(bytes(40)),
                           True),
        "tls4 clienthello": (v4 / TCP(sport=40000, dport=443, flags="PA") / Raw(hello), True),
        "tls4 clienthello, tcp options": (
            v4 / TCP(sport=40000, dport=443, flags="PA", options=options) / Raw(hello), True),
        "tls4 continuation segment": (
            v4 / TCP(sport=40000, dport=443, flags="A") / Raw(b"\x8a\x1d" + bytes(600)), True),
        "tls4 one-byte segment": (v4 / TCP(sport=40000, dport=443, flags="PA") / Raw(b"\x17"),
                                  True),
        "tls4 application data": (v4 / TCP(sport=40000, dport=443, flags="PA") / Raw(data),
                                  False),
        "tls4 application data, tcp options": (
            v4 / TCP(sport=40000, dport=443, flags="PA", options=options) / Raw(data), False),
        "tls4 bare ack": (v4 / TCP(sport=40000, dport=443, flags="A"), False),
        "tls4 server to client": (
            v4_back / TCP(sport=443, dport=40000, flags="PA") / Raw(hello), False),
        "tls6 clienthello": (v6 / TCP(sport=40000, dport=443, flags="PA") / Raw(hello), True),
        "tls6 continuation segment": (
            v6 / TCP(sport=40000, dport=443, flags="A") / Raw(b"\x00\x2b" + bytes(600)), True),
        "tls6 one-byte segment": (v6 / TCP(sport=40000, dport=443, flags="PA") / Raw(b"\x17"),
                                  True),
        "tls6 application data": (v6 / TCP(sport=40000, dport=443, flags="PA") / Raw(data),
                                  False),
        "tls6 bare ack": (v6 / TCP(sport=40000, dport=443, flags="A"), False),
        "tls6 server to client": (
            v6_back / TCP(sport=443, dport=40000, flags="PA") / Raw(data), False),
        "http4 request": (v4 / TCP(sport=40000, dport=80, flags="PA") / Raw(b"GET / HTTP/1.1\r\n"),
                          True),
        "http4 bare ack": (v4 / TCP(sport=40000, dport=80, flags="A"), False),
        "http4 response": (
            v4_back / TCP(sport=80, dport=40000, flags="PA") / Raw(b"HTTP/1.1 200 OK\r\n"), False),
        "http6 request": (v6 / TCP(sport=40000, dport=80, flags="PA") / Raw(b"GET / HTTP/1.1\r\n"),
                          True),
        "http6 bare ack": (v6 / TCP(sport=40000, dport=80, flags="A"), False),
        "quic4 v1 initial": (v4 / UDP(sport=40000, dport=443) / Raw(initial_v1), True),
        "quic4 v2 initial": (v4 / UDP(sport=40000, dport=443) / Raw(initial_v2), True),
        "quic4 v1 0-rtt": (v4 / UDP(sport=40000, dport=443) / Raw(b"\xd3\x00\x00\x00\x01"
                                                                  + bytes(1200)), False),
        "quic4 v1 handshake": (v4 / UDP(sport=40000, dport=443) / Raw(b"\xe3\x00\x00\x00\x01"
                                                                      + bytes(100)), False),
        "quic4 short header": (v4 / UDP(sport=40000, dport=443) / Raw(b"\x43" + bytes(1200)),
                               False),
        "quic4 server initial": (v4_back / UDP(sport=443, dport=40000) / Raw(initial_v1), False),
        "quic6 v1 initial": (v6 / UDP(sport=40000, dport=443) / Raw(initial_v1), True),
        "quic6 short header": (v6 / UDP(sport=40000, dport=443) / Raw(b"\x43" + bytes(1200)),
                               False),
        "ipv4 later fragment": (ether / IP(src=SERVER4, dst=CLIENT4, frag=185, proto=17)
                                / Raw(bytes(200)), True),
        "ipv6 fragment": (v6_back / IPv6ExtHdrFragment(offset=185, nh=17) / Raw(bytes(200)),
                          True),
        "ntp": (v4 / UDP(sport=123, dport=123) / Raw(b"\x23" + bytes(47)), False),
        "ssh": (v4 / TCP(sport=40000, dport=22, flags="PA") / Raw(b"SSH-2.0-OpenSSH\r\n"), False),
        "arp": (ether / Raw(b"\x08\x06" + bytes(28)), False),
    }
    return {name: (bytes(frame), expected) for name, (frame, expected) in cases.items()}


FRAMES = _frames()


@pytest.mark.parametrize("name", sorted(FRAMES))
def test_filter_lets_through_only_what_can_name(name: str) -> None:
    library = _libpcap()
    program = live.compile_filter()
    frame, expected = FRAMES[name]
    assert bool(library.bpf_filter(program, frame, len(frame), len(frame))) is expected


def test_filter_fits_the_kernel_and_compiles_for_raw_ip() -> None:
    assert 0 < len(live.compile_filter()) // 8 <= live.BPF_MAXINSNS
    assert 0 < len(live.compile_filter(live.CAPTURE_FILTER, 12, "RAW")) // 8 <= live.BPF_MAXINSNS


def test_tcpdump_compiles_the_same_program() -> None:
    """The fallback when scapy finds no libpcap: the same code, bar the snap length returned."""
    if shutil.which("tcpdump") is None:
        pytest.skip("tcpdump is not installed (apt-get install tcpdump)")
    ours = live.compile_filter()
    theirs = live._compile_with_tcpdump(live.CAPTURE_FILTER, "EN10MB")

    def normalised(program: bytes) -> list[tuple[int, ...]]:
        instructions = [struct.unpack_from("=HBBI", program, at) for at in range(0, len(program),
                                                                                  8)]
        return [(code, 1, 0, 0) if code == 0x06 and k else (code, jt, jf, k)
                for code, jt, jf, k in instructions]  # `ret #snaplen` differs

    assert normalised(ours) == normalised(theirs)


def test_bad_filter_expression_is_an_error() -> None:
    with pytest.raises(AppradarError, match="the capture filter does not compile"):
        live.compile_filter("port 53 and and")


# -- errors before any packet -------------------------------------------------------------

def _capture_args(tmp_path: Path) -> tuple:
    return (open_database(tmp_path / "inventory.db"), Catalog.load(None),
            Pseudonymiser(bytes(32)))


def test_missing_interface(tmp_path: Path) -> None:
    available = ", ".join(sorted(name for _, name in socket_names()))
    with pytest.raises(InputError) as caught:
        live.LiveCapture(*_capture_args(tmp_path), ["eth9"])
    assert str(caught.value) == f"interface eth9 does not exist; available: {available}"


def test_no_interface_and_any_are_refused(tmp_path: Path) -> None:
    with pytest.raises(AppradarError, match=r"name at least one interface to capture on \(-i"):
        live.LiveCapture(*_capture_args(tmp_path), [])
    with pytest.raises(InputError, match="capturing on 'any' is not supported"):
        live.LiveCapture(*_capture_args(tmp_path), ["any"])
    with pytest.raises(InputError, match="an interface is named twice"):
        live.LiveCapture(*_capture_args(tmp_path), ["lo", "lo"])


def socket_names() -> list[tuple[int, str]]:
    import socket

    return socket.if_nameindex()


PRIVILEGE_SCRIPT = textwrap.dedent("""
    import sys
    from pathlib import Path
    from scanner.errors import AppradarError
    from scanner.inventory import open_database
    from scanner.privacy import Pseudonymiser
    from scanner.signatures.catalog import Catalog
    from scanner.sources.live import capture
    try:
        capture(open_database(Path(":memory:")), Catalog.load(None), ["lo"],
                Pseudonymiser(bytes(32)), duration=0.1)
    except AppradarError as error:
        print(f"Error: {error}")
        sys.exit(1)
    print("captured")
""")


def test_lacking_privilege_names_the_capability() -> None:
    """As root, drop CAP_NET_RAW and CAP_NET_ADMIN from the bounding set (setpriv) first."""
    command = [sys.executable, "-c", PRIVILEGE_SCRIPT]
    if os.geteuid() == 0:
        if shutil.which("setpriv") is None:
            pytest.skip("setpriv is not installed (apt-get install util-linux)")
        command = ["setpriv", "--bounding-set=-net_raw,-net_admin", "--inh-caps=-all", *command]
    done = subprocess.run(command, capture_output=True, text=True, cwd=ROOT, check=False)
    if done.returncode == 0 and "captured" in done.stdout:
        pytest.skip("this process can capture without root (it holds CAP_NET_RAW)")
    assert done.stdout.strip() == f"Error: {live.PRIVILEGE_MESSAGE}", done.stderr
    assert done.returncode == 1


# -- two namespaces and a veth pair ---------------------------------------------------------

def _run(*command: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return subprocess.run(command, capture_output=True, text=True, check=check)


@dataclass
class Net:
    client: str  # namespace names
    server: str
    client_if: str  # veth ends
    server_if: str
    tmp: Path

    def exec(self, namespace: str, *command: str) -> list[str]:
        return ["ip", "netns", "exec", namespace, *command]


def _namespaces_or_skip() -> None:
    if os.geteuid() != 0:
        pytest.skip("network namespaces need root (CI runs as root)")
    for tool in ("ip", "dnsmasq", "dig", "openssl"):
        if shutil.which(tool) is None and not Path(f"/usr/sbin/{tool}").exists():
            pytest.fail(f"{tool} is missing: run .ci/install-debian")
    probe = f"ar-probe-{secrets.token_hex(3)}"
    made = _run("ip", "netns", "add", probe, check=False)
    if made.returncode != 0:
        pytest.skip(f"cannot create a network namespace here: {made.stderr.strip()}")
    _run("ip", "netns", "del", probe, check=False)


@pytest.fixture(scope="module")
def net(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Net]:
    """ar-client-X and ar-server-X joined by a veth, with dnsmasq, TLS and HTTP servers."""
    _namespaces_or_skip()
    tag = secrets.token_hex(3)
    tmp = tmp_path_factory.mktemp("live")
    net = Net(f"ar-client-{tag}", f"ar-server-{tag}", f"arc{tag}", f"ars{tag}", tmp)
    processes: list[subprocess.Popen[bytes]] = []
    try:
        for namespace in (net.client, net.server):
            _run("ip", "netns", "add", namespace)
            _run("ip", "-n", namespace, "link", "set", "lo", "up")
        _run("ip", "link", "add", net.client_if, "netns", net.client, "type", "veth",
             "peer", "name", net.server_if, "netns", net.server)
        for namespace, interface, v4, v6 in ((net.client, net.client_if, CLIENT4, CLIENT6),
                                             (net.server, net.server_if, SERVER4, SERVER6)):
            _run("ip", "-n", namespace, "addr", "add", f"{v4}/24", "dev", interface)
            _run("ip", "-n", namespace, "addr", "add", f"{v6}/64", "dev", interface, "nodad")
            _run("ip", "-n", namespace, "link", "set", interface, "up")
        processes.append(_start_dnsmasq(net))
        processes.append(_start_servers(net))
        _wait_for_services(net)
        yield net
    finally:
        for process in processes:
            process.terminate()
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(timeout=5)
            if process.poll() is None:
                process.kill()
                process.wait()
        for namespace in (net.client, net.server):
            _run("ip", "netns", "del", namespace, check=False)  # takes the veth pair along


def _start_dnsmasq(net: Net) -> subprocess.Popen[bytes]:
    command = net.exec(
        net.server, "dnsmasq", "--no-daemon", "--conf-file=/dev/null", "--no-resolv",
        "--no-hosts", "--bind-interfaces", "--listen-address=127.0.0.1",
        f"--listen-address={SERVER4}", f"--listen-address={SERVER6}", "--user=root",
        "--pid-file=", "--log-queries",
        f"--address=/magister.net/{SERVER4}", f"--address=/magister.net/{SERVER6}",
        f"--address=/kahoot.it/{SERVER4}", f"--address=/kahoot.it/{SERVER6}",
        f"--address=/classroom.google.com/{SERVER4}",
        f"--host-record=school.itslearning.com,{SERVER4},{SERVER6}",
        "--cname=elo.school.example,school.itslearning.com",
    )
    with open(net.tmp / "dnsmasq.log", "wb") as log:  # the child keeps its own descriptor
        return subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)


SERVERS = textwrap.dedent("""
    # A TLS server on 443 and an HTTP server on 80, IPv4 and IPv6, answering every client.
    import socket, ssl, sys, threading
    certificate, key = sys.argv[1], sys.argv[2]
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(certificate, key)

    def serve(family, address, port, tls):
        listener = socket.socket(family, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if family == socket.AF_INET6:
            listener.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
        listener.bind((address, port))
        listener.listen(64)
        while True:
            connection, _ = listener.accept()
            threading.Thread(target=answer, args=(connection, tls), daemon=True).start()

    def answer(connection, tls):
        try:
            connection.settimeout(5)
            if tls:
                connection = context.wrap_socket(connection, server_side=True)
            request = b""
            while b"\\r\\n\\r\\n" not in request:
                chunk = connection.recv(4096)
                if not chunk:
                    break
                request += chunk
            connection.sendall(b"HTTP/1.1 200 OK\\r\\nContent-Length: 2\\r\\n"
                               b"Connection: close\\r\\n\\r\\nok")
        except (OSError, ssl.SSLError):
            pass
        finally:
            connection.close()

    threads = [threading.Thread(target=serve, args=(family, address, port, port == 443))
               for family, address in ((socket.AF_INET, "10.99.0.1"),
                                       (socket.AF_INET6, "fd99::1"))
               for port in (443, 80)]
    for thread in threads:
        thread.start()
    print("serving", flush=True)
    for thread in threads:
        thread.join()
""")


def _start_servers(net: Net) -> subprocess.Popen[bytes]:
    certificate, key = net.tmp / "cert.pem", net.tmp / "key.pem"
    _run("openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
         "-nodes", "-days", "2", "-subj", "/CN=appradar test", "-keyout", str(key),
         "-out", str(certificate))
    script = net.tmp / "servers.py"
    script.write_text(SERVERS)
    with open(net.tmp / "servers.log", "wb") as log:  # the child keeps its own descriptor
        return subprocess.Popen(net.exec(net.server, sys.executable, str(script),
                                         str(certificate), str(key)),
                                stdout=log, stderr=subprocess.STDOUT)


def _wait_for_services(net: Net) -> None:
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        dns = _run(*net.exec(net.client, "dig", f"@{SERVER4}", "+short", "+time=1", "+tries=1",
                             "probe.magister.net"), check=False)
        tcp = _run(*net.exec(net.client, sys.executable, "-c",
                             f"import socket; socket.create_connection(('{SERVER4}', 443), 1)"
                             f".close(); socket.create_connection(('{SERVER6}', 80), 1).close()"),
                   check=False)
        if SERVER4 in dns.stdout and tcp.returncode == 0:
            return
        time.sleep(0.2)
    logs = "\n".join(path.read_text(errors="replace") for path in net.tmp.glob("*.log"))
    pytest.fail(f"dnsmasq and the test servers did not come up:\n{logs}")


def capture_command(database: Path, duration: float, *interfaces: str) -> list[str]:
    """`appradar capture` as an administrator runs it."""
    selected = [argument for name in interfaces for argument in ("-i", name)]
    return [sys.executable, "-m", "scanner", "capture", *selected, "--duration", str(duration),
            "--db", str(database), "--site", "lyceum", "--flush-seconds", "1"]


def _start_capture(net: Net, database: Path, duration: float, *interfaces: str
                   ) -> subprocess.Popen[str]:
    """The capture in the server namespace (packet sockets see only their namespace)."""
    process = subprocess.Popen(
        net.exec(net.server, *capture_command(database, duration, *interfaces)),
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:  # the run row appears once the sockets are open
        if process.poll() is not None:
            pytest.fail(f"the capture ended early: {process.communicate()}")
        with contextlib.suppress(sqlite3.Error), \
                contextlib.closing(sqlite3.connect(database)) as connection:
            if connection.execute("SELECT 1 FROM runs WHERE status = 'running'").fetchone():
                return process
        time.sleep(0.1)
    process.kill()
    pytest.fail(f"the capture did not start: {process.communicate()}")


CLIENT = textwrap.dedent("""
    # Real clients: dnspython over UDP and TCP, TLS with SNI (one ClientHello forced over
    # several small segments), HTTP with Host headers; IPv4 and IPv6.
    import http.client, socket, ssl
    import dns.message, dns.query
    for name, server, tcp in (("leerling.magister.net", "10.99.0.1", False),
                              ("docent.magister.net", "10.99.0.1", True),
                              ("play.kahoot.it", "fd99::1", False)):
        query = dns.message.make_query(name, "A")
        answer = (dns.query.tcp if tcp else dns.query.udp)(query, server, timeout=3)
        assert answer.answer, name

    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    for name, address, family, segment in (
            ("school.magister.net", "10.99.0.1", socket.AF_INET, 0),
            ("kahoot.it", "fd99::1", socket.AF_INET6, 0),
            ("split.itslearning.com", "10.99.0.1", socket.AF_INET, 88)):
        raw = socket.socket(family, socket.SOCK_STREAM)
        if segment:  # a tiny MSS splits the ClientHello over several TCP segments
            raw.setsockopt(socket.IPPROTO_TCP, socket.TCP_MAXSEG, segment)
        raw.settimeout(5)
        raw.connect((address, 443))
        with context.wrap_socket(raw, server_hostname=name) as tls:
            tls.sendall(b"GET / HTTP/1.1\\r\\nHost: " + name.encode() + b"\\r\\n\\r\\n")
            assert b"200 OK" in tls.recv(4096)

    for host, address in (("www.itslearning.com", "10.99.0.1"), ("magister.net", "fd99::1")):
        connection = http.client.HTTPConnection(address, 80, timeout=5)
        connection.request("GET", "/rooster?leerling=1234", headers={"Host": host})
        assert connection.getresponse().status == 200
        connection.close()

    # A real QUIC client (aioquic) sends its Initial packets to 443/udp; no server answers,
    # which is what a blocked or slow HTTP/3 attempt looks like on a school network too.
    import time
    from aioquic.quic.configuration import QuicConfiguration
    from aioquic.quic.connection import QuicConnection
    for name, address, family in (("quic.kahoot.it", "10.99.0.1", socket.AF_INET),
                                  ("h3.magister.net", "fd99::1", socket.AF_INET6)):
        quic = QuicConnection(configuration=QuicConfiguration(
            is_client=True, alpn_protocols=["h3"], server_name=name))
        quic.connect((address, 443), now=time.time())
        sender = socket.socket(family, socket.SOCK_DGRAM)
        for datagram, target in quic.datagrams_to_send(now=time.time()):
            sender.sendto(datagram, target)
        sender.close()
    print("client done")
""")


def _domains(database: Path) -> dict[str, dict]:
    from scanner.inventory import queries

    return {record["domain"]: record
            for record in queries.domains(open_database(database))}


def test_capture_on_a_veth_fills_the_inventory(net: Net) -> None:
    database = net.tmp / "veth.db"
    process = _start_capture(net, database, 60, net.server_if, "lo")
    try:
        for command in (
            ["dig", f"@{SERVER4}", "+time=2", "+tries=1", "school.magister.net", "A"],
            ["dig", f"@{SERVER4}", "+time=2", "+tries=1", "+tcp", "elo.school.example", "A"],
            ["dig", f"@{SERVER6}", "+time=2", "+tries=1", "play.kahoot.it", "AAAA"],
        ):
            done = _run(*net.exec(net.client, *command))
            assert "status: NOERROR" in done.stdout, done.stdout
        done = _run(*net.exec(net.client, sys.executable, "-c", CLIENT), check=False)
        assert done.returncode == 0 and "client done" in done.stdout, done.stderr
        # On the capture host itself, over lo: every frame is seen leaving and arriving.
        _run(*net.exec(net.server, "dig", "@127.0.0.1", "+time=2", "+tries=1",
                       "classroom.google.com"))
        # Fresh data while the capture runs: a batch is written every second (WAL).
        deadline = time.monotonic() + 10
        while "split.itslearning.com" not in _domains(database) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert process.poll() is None, process.communicate()
        seen_while_running = set(_domains(database))
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGINT)
        _, stderr = process.communicate(timeout=20)

    assert process.returncode == 130, stderr  # Ctrl-C: DESIGN's 'interrupted'
    assert "school.magister.net" in seen_while_running
    assert "packets seen" in stderr and "names extracted" in stderr
    assert "malformed packets" in stderr and "0 dropped by the kernel" in stderr

    domains = _domains(database)
    expected = {
        "school.magister.net": ("magister", {"dns", "answer", "sni"}),
        "leerling.magister.net": ("magister", {"dns", "answer"}),
        "docent.magister.net": ("magister", {"dns", "answer"}),
        "magister.net": ("magister", {"http"}),
        "play.kahoot.it": ("kahoot", {"dns", "answer"}),
        "kahoot.it": ("kahoot", {"sni"}),
        "elo.school.example": ("itslearning", {"dns", "answer"}),
        "school.itslearning.com": ("itslearning", {"cname", "answer"}),
        "split.itslearning.com": ("itslearning", {"sni"}),
        "www.itslearning.com": ("itslearning", {"http"}),
        "classroom.google.com": (None, {"dns", "answer"}),
        "quic.kahoot.it": ("kahoot", {"quic"}),
        "h3.magister.net": ("magister", {"quic"}),
    }
    for name, (app, seen) in expected.items():
        assert name in domains, (name, sorted(domains))
        if app is not None:
            assert domains[name]["app"] == app, domains[name]
        assert set(domains[name]["seen_as"]) >= seen, domains[name]
    assert "probe.magister.net" not in domains  # sent before the capture began
    assert domains["classroom.google.com"]["hits"] == 2  # query and answer, once each on lo

    with contextlib.closing(sqlite3.connect(database)) as connection:
        run = connection.execute(
            "SELECT command, site, status, frames, names, finished, notes FROM runs").fetchone()
        dump = "\n".join(connection.iterdump())
        devices = connection.execute("SELECT count(*) FROM devices").fetchone()[0]
    command, site, status, frames, names, finished, notes = run
    assert command.startswith(f"capture -i {net.server_if} -i lo") and site == "lyceum"
    assert status == "interrupted" and finished and frames > 0 and names > 0
    assert "passed the filter, 0 dropped" in notes and "stopped by SIGINT" in notes
    assert devices >= 2  # the client's IPv4 and IPv6 addresses, as pseudonyms
    for address in (CLIENT4, CLIENT6, "0a630002", "fd990000000000000000000000000002"):
        assert address not in dump.lower(), address


def test_sigterm_stops_cleanly_with_exit_0(net: Net) -> None:
    """systemd stops a service with SIGTERM: the normal end of a capture, not an error."""
    database = net.tmp / "sigterm.db"
    process = _start_capture(net, database, 60, net.server_if)
    _run(*net.exec(net.client, "dig", f"@{SERVER4}", "+time=2", "+tries=1", "term.kahoot.it"))
    process.send_signal(signal.SIGTERM)
    _, stderr = process.communicate(timeout=20)
    assert process.returncode == 0, stderr
    assert "term.kahoot.it" in _domains(database)  # the last batch was written on the way out
    with contextlib.closing(sqlite3.connect(database)) as connection:
        status, notes = connection.execute("SELECT status, notes FROM runs").fetchone()
    assert status == "interrupted" and "stopped by SIGTERM" in notes


def test_duration_ends_a_capture_as_complete(net: Net) -> None:
    database = net.tmp / "duration.db"
    process = _start_capture(net, database, 1.5, net.server_if)
    _, stderr = process.communicate(timeout=20)
    assert process.returncode == 0, stderr
    assert f"Captured on {net.server_if} for" in stderr
    with contextlib.closing(sqlite3.connect(database)) as connection:
        assert connection.execute("SELECT status FROM runs").fetchone()[0] == "complete"


def test_missing_interface_inside_a_namespace(net: Net) -> None:
    done = _run(*net.exec(net.server, *capture_command(net.tmp / "x.db", 1, "eth9")),
                check=False)
    assert done.returncode == 1
    available = ", ".join(sorted(["lo", net.server_if]))
    assert done.stderr.strip() == f"Error: interface eth9 does not exist; available: {available}"


def test_in_process_capture_stops_from_another_thread(tmp_path: Path) -> None:
    """The library API: promiscuous mode on, `stop()` from a thread ends the run cleanly."""
    import threading

    if os.geteuid() != 0:
        pytest.skip("capturing needs root or CAP_NET_RAW")
    database, catalog, pseudonymiser = _capture_args(tmp_path)
    capture = live.LiveCapture(database, catalog, pseudonymiser, ["lo"], promiscuous=True,
                               flush_seconds=0.2)
    timer = threading.Timer(0.5, capture.stop)
    timer.start()
    try:
        result = capture.run(duration=30)
    finally:
        timer.cancel()
    assert result.stopped_by == "stop" and result.exit_code == 0 and result.flushes >= 2
    assert result.interfaces[0].buffer_bytes >= live.BUFFER_BYTES  # SO_RCVBUFFORCE as root
    status, command = database.conn.execute("SELECT status, command FROM runs").fetchone()
    assert (status, command) == ("interrupted", "capture -i lo")
