"""Signature updates against a real HTTP server on loopback: good, tampered, truncated,
oversized and hostile bundles, rollback, and no network access unless asked."""

from __future__ import annotations

import hashlib
import io
import json
import os
import socket
import tarfile
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from scanner.signatures.catalog import Catalog
from scanner.signatures.loader import shipped_directory
from scanner.signatures.update import (
    MANIFEST,
    UpdateError,
    effective_shipped_directory,
    make_bundle,
    rollback,
    update,
)

APP = """id = "{id}"
name = "{name}"
kind = "app"
domains = ["{domain}"]
"""


def tree(directory: Path, apps: dict[str, str]) -> Path:
    """A small signature tree: app id → domain."""
    for app_id, domain in apps.items():
        path = directory / "apps" / f"{app_id}.toml"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(APP.format(id=app_id, name=app_id.title(), domain=domain))
    return directory


def snapshot(directory: Path) -> dict[str, object]:
    """Every entry under `directory`: file contents and link targets, for 'nothing changed'."""
    found: dict[str, object] = {}
    for root, dirs, files in os.walk(directory):
        for name in dirs + files:
            path = Path(root) / name
            key = str(path.relative_to(directory))
            if path.is_symlink():
                found[key] = ("link", os.readlink(path))
            elif path.is_file():
                found[key] = path.read_bytes()
    return found


def hand_made(members: dict[str, bytes], extra: Callable[[tarfile.TarFile], None] | None = None,
              manifest: bool = True) -> bytes:
    """A .tar.gz written member by member, with a correct manifest unless told otherwise."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        contents = dict(members)
        if manifest:
            contents[MANIFEST] = json.dumps({
                "format": 1, "version": "9.9", "created": "2030-01-01T00:00:00+00:00",
                "files": {name: hashlib.sha256(data).hexdigest()
                          for name, data in members.items()},
            }).encode()
        for name, data in contents.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
        if extra:
            extra(archive)
    return buffer.getvalue()


# -- the server ------------------------------------------------------------------------------

class Server:
    """Serves `routes` (path → bytes, or a callable writing the response itself)."""

    def __init__(self) -> None:
        self.routes: dict[str, bytes | Callable[[BaseHTTPRequestHandler], None]] = {}
        self.requests: list[str] = []
        self.sent: dict[str, int] = {}
        routes, requests, sent = self.routes, self.requests, self.sent

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self) -> None:
                requests.append(self.path)
                route = routes.get(self.path)
                if route is None:
                    self.send_error(404)
                elif callable(route):
                    route(self)
                else:
                    self.send_response(200)
                    self.send_header("Content-Length", str(len(route)))
                    self.end_headers()
                    self.wfile.write(route)
                    sent[self.path] = len(route)

            def log_message(self, *arguments: object) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, args=(0.05,),
                                       daemon=True)
        self.thread.start()

    def publish(self, name: str, data: bytes, sha256: str | None = None) -> str:
        self.routes[f"/{name}"] = data
        digest = sha256 or hashlib.sha256(data).hexdigest()
        self.routes[f"/{name}.sha256"] = f"{digest}  {name}\n".encode()
        return f"{self.url}/{name}"

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def server() -> Iterator[Server]:
    running = Server()
    yield running
    running.close()


@pytest.fixture
def state(tmp_path: Path) -> Path:
    return tmp_path / "state"


def bundle(tmp_path: Path, apps: dict[str, str], version: str, day: int = 1) -> bytes:
    source = tree(tmp_path / f"source-{version}", apps)
    out = tmp_path / f"bundle-{version}.tar.gz"
    make_bundle(source, out, version=version, created=datetime(2030, 1, day, tzinfo=UTC))
    return out.read_bytes()


@pytest.fixture
def installed(tmp_path: Path, server: Server, state: Path) -> Path:
    """An update directory with version 1.0 (edu.example → alpha) already installed."""
    url = server.publish("v1.tar.gz", bundle(tmp_path, {"alpha": "edu.example"}, "1.0"))
    update(url, state)
    return state


# -- publishing ------------------------------------------------------------------------------

def test_make_bundle_is_reproducible_and_states_its_hash(tmp_path: Path) -> None:
    source = tree(tmp_path / "source", {"alpha": "edu.example", "beta": "beta.example"})
    moment = datetime(2030, 1, 1, tzinfo=UTC)
    first = make_bundle(source, tmp_path / "a.tar.gz", version="1.0", created=moment)
    second = make_bundle(source, tmp_path / "b.tar.gz", version="1.0", created=moment)
    assert first == second == hashlib.sha256((tmp_path / "a.tar.gz").read_bytes()).hexdigest()
    assert (tmp_path / "a.tar.gz.sha256").read_text() == f"{first}  a.tar.gz\n"
    with tarfile.open(tmp_path / "a.tar.gz") as archive:
        assert archive.getnames() == ["MANIFEST.json", "apps/alpha.toml", "apps/beta.toml"]
        manifest = json.load(archive.extractfile("MANIFEST.json"))  # type: ignore[arg-type]
    assert manifest["version"] == "1.0"
    assert manifest["created"] == "2030-01-01T00:00:00+00:00"
    assert manifest["files"]["apps/alpha.toml"] == hashlib.sha256(
        (source / "apps" / "alpha.toml").read_bytes()).hexdigest()


def test_make_bundle_refuses_an_invalid_tree(tmp_path: Path) -> None:
    source = tree(tmp_path / "source", {"alpha": "edu.example"})
    (source / "apps" / "broken.toml").write_text('id = "broken"\n')
    with pytest.raises(Exception, match="cannot bundle"):
        make_bundle(source, tmp_path / "out.tar.gz")
    assert not (tmp_path / "out.tar.gz").exists()


def test_the_shipped_database_bundles_and_installs(tmp_path: Path, state: Path) -> None:
    out = tmp_path / "shipped.tar.gz"
    digest = make_bundle(shipped_directory(), out, version="shipped")
    result = update(str(out), state, expected_sha256=digest)
    assert result.files == result.apps > 500
    shipped = Catalog.load()
    assert effective_shipped_directory(state) == result.directory.resolve()
    assert set(shipped.apps) == {app.id for app in _load(result.directory)}


def _load(directory: Path) -> list:
    from scanner.signatures.loader import Problems, load_directory
    return load_directory(directory, Problems())


# -- good updates and rollback -----------------------------------------------------------------

def test_good_bundle_with_sidecar_hash_is_installed(tmp_path: Path, server: Server,
                                                    state: Path) -> None:
    data = bundle(tmp_path, {"alpha": "edu.example", "beta": "beta.example"}, "1.0")
    result = update(server.publish("v1.tar.gz", data), state)
    assert server.requests == ["/v1.tar.gz.sha256", "/v1.tar.gz"]
    assert (result.version, result.files, result.apps, result.changed) == ("1.0", 2, 2, True)
    assert result.sha256 == hashlib.sha256(data).hexdigest()
    assert result.previous_version is None
    current = state / "current"
    assert current.is_symlink() and os.readlink(current).startswith("versions/1.0-")
    assert sorted(p.name for p in (current / "apps").iterdir()) == ["alpha.toml", "beta.toml"]
    assert effective_shipped_directory(state) == current.resolve()


def test_update_with_an_explicit_hash_skips_the_sidecar(tmp_path: Path, server: Server,
                                                        state: Path) -> None:
    data = bundle(tmp_path, {"alpha": "edu.example"}, "1.0")
    server.routes["/only.tar.gz"] = data
    result = update(f"{server.url}/only.tar.gz", state,
                    expected_sha256=hashlib.sha256(data).hexdigest().upper())
    assert server.requests == ["/only.tar.gz"]
    assert result.version == "1.0"


def test_missing_sidecar_asks_for_a_hash(tmp_path: Path, server: Server, state: Path) -> None:
    server.routes["/only.tar.gz"] = bundle(tmp_path, {"alpha": "edu.example"}, "1.0")
    with pytest.raises(UpdateError, match=r"HTTP 404 .*pass --sha256 HEX"):
        update(f"{server.url}/only.tar.gz", state)
    assert not (state / "current").exists()


def test_same_bundle_again_changes_nothing(tmp_path: Path, server: Server,
                                           installed: Path) -> None:
    before = snapshot(installed)
    result = update(f"{server.url}/v1.tar.gz", installed)
    assert result.changed is False
    assert snapshot(installed) == before


def test_rollback_restores_the_previous_tree_exactly(tmp_path: Path, server: Server,
                                                     installed: Path) -> None:
    first = snapshot(installed / "current")
    url = server.publish("v2.tar.gz", bundle(
        tmp_path, {"alpha": "alpha.example", "gamma": "gamma.example"}, "2.0", day=2))
    result = update(url, installed)
    assert (result.version, result.previous_version) == ("2.0", "1.0")
    second = snapshot(installed / "current")
    assert second != first
    assert snapshot(installed / "previous") == first

    back = rollback(installed)
    assert (back.current_version, back.previous_version) == ("1.0", "2.0")
    assert snapshot(installed / "current") == first
    assert rollback(installed).current_version == "2.0"  # and forward again
    assert snapshot(installed / "current") == second


def test_rollback_of_the_first_update_returns_to_the_shipped_tree(installed: Path) -> None:
    result = rollback(installed)
    assert (result.current_version, result.previous_version) == (None, "1.0")
    assert effective_shipped_directory(installed) == shipped_directory()
    with pytest.raises(UpdateError, match="nothing to roll back"):
        rollback(installed.parent / "elsewhere")


def test_older_bundle_is_refused_unless_allowed(tmp_path: Path, server: Server,
                                                installed: Path) -> None:
    older = _bundle_created(tmp_path, "0.9", datetime(2029, 12, 31, tzinfo=UTC))
    url = server.publish("old.tar.gz", older)
    before = snapshot(installed)
    with pytest.raises(UpdateError, match=r"bundle 0.9 .* is older than the installed 1.0"):
        update(url, installed)
    assert snapshot(installed) == before
    assert update(url, installed, allow_older=True).version == "0.9"


def _bundle_created(tmp_path: Path, version: str, created: datetime) -> bytes:
    source = tree(tmp_path / f"src-{version}", {"alpha": "old.example"})
    make_bundle(source, tmp_path / "old.tar.gz", version=version, created=created)
    return (tmp_path / "old.tar.gz").read_bytes()


def test_catalog_uses_the_installed_update(installed: Path) -> None:
    """What catalog.py does with effective_shipped_directory (the proposed change)."""
    from scanner.signatures.loader import Problems, load_directory
    directory = effective_shipped_directory(installed)
    catalog = Catalog(load_directory(directory, Problems()))
    assert catalog.app_id("www.edu.example") == "alpha"


# -- bad bundles: an error, and nothing changed ------------------------------------------------

def test_tampered_bundle_is_refused(tmp_path: Path, server: Server, installed: Path) -> None:
    good = bundle(tmp_path, {"alpha": "alpha.example"}, "2.0", day=2)
    stated = hashlib.sha256(good).hexdigest()
    tampered = good[:-40] + bytes(40)
    url = server.publish("v2.tar.gz", tampered, sha256=stated)
    before = snapshot(installed)
    with pytest.raises(UpdateError) as error:
        update(url, installed)
    assert str(error.value) == (
        f"{url}: SHA-256 mismatch: the publisher states {stated}, the download has "
        f"{hashlib.sha256(tampered).hexdigest()}; nothing was changed")
    assert snapshot(installed) == before


def test_truncated_download_is_refused(tmp_path: Path, server: Server, installed: Path) -> None:
    data = bundle(tmp_path, {"alpha": "alpha.example"}, "2.0", day=2)

    def truncated(handler: BaseHTTPRequestHandler) -> None:
        handler.send_response(200)
        handler.send_header("Content-Length", str(len(data)))
        handler.end_headers()
        handler.wfile.write(data[: len(data) // 2])
        handler.wfile.flush()
        handler.close_connection = True
        handler.connection.shutdown(socket.SHUT_RDWR)

    url = server.publish("v2.tar.gz", data)
    server.routes["/v2.tar.gz"] = truncated
    before = snapshot(installed)
    with pytest.raises(UpdateError, match=r"(broke off|stopped after).*nothing was changed"):
        update(url, installed)
    assert snapshot(installed) == before


def test_oversized_bundle_with_honest_length_is_refused_before_reading(
        tmp_path: Path, server: Server, installed: Path) -> None:
    url = server.publish("big.tar.gz", bytes(200_000))
    before = snapshot(installed)
    with pytest.raises(UpdateError) as error:
        update(url, installed, max_bytes=100_000)
    assert str(error.value) == (f"{url} is 200,000 bytes, more than the limit of 100,000; "
                                f"nothing was changed")
    assert snapshot(installed) == before


def test_endless_bundle_without_length_is_cut_off_at_the_cap(server: Server,
                                                             installed: Path) -> None:
    sent = [0]
    endless = 200 * 1024 * 1024

    def stream(handler: BaseHTTPRequestHandler) -> None:
        handler.protocol_version = "HTTP/1.0"
        handler.send_response(200)
        handler.end_headers()
        chunk = bytes(64 * 1024)
        try:
            while sent[0] < endless:
                handler.wfile.write(chunk)
                sent[0] += len(chunk)
        except OSError:
            pass

    server.routes["/endless.tar.gz"] = stream
    started = time.monotonic()
    with pytest.raises(UpdateError, match="more than the limit of 1,048,576 bytes"):
        update(f"{server.url}/endless.tar.gz", installed, expected_sha256="0" * 64,
               max_bytes=1024 * 1024)
    assert time.monotonic() - started < 10
    time.sleep(0.2)
    assert sent[0] < 50 * 1024 * 1024  # the server was cut off long before the end


def _refused(server: Server, state: Path, data: bytes, message: str) -> None:
    before = snapshot(state)
    with pytest.raises(UpdateError, match=message):
        update(server.publish("bad.tar.gz", data), state)
    assert snapshot(state) == before


def test_path_traversal_member_is_refused(installed: Path, server: Server,
                                          tmp_path: Path) -> None:
    data = hand_made({"apps/alpha.toml": APP.format(id="alpha", name="A", domain="a.example")
                      .encode(), "../../evil.toml": b"x"})
    _refused(server, installed, data, r"'../../evil.toml' points outside the bundle")
    assert not (tmp_path / "evil.toml").exists()
    assert not list(tmp_path.rglob("evil.toml"))


def test_absolute_member_is_refused(installed: Path, server: Server) -> None:
    _refused(server, installed, hand_made({"/etc/appradar.toml": b"x"}),
             r"'/etc/appradar.toml' has an absolute")


def test_symlink_member_is_refused(installed: Path, server: Server) -> None:
    def link(archive: tarfile.TarFile) -> None:
        info = tarfile.TarInfo("apps/passwd.toml")
        info.type = tarfile.SYMTYPE
        info.linkname = "/etc/passwd"
        archive.addfile(info)

    _refused(server, installed, hand_made({}, extra=link),
             r"'apps/passwd.toml' is a symlink, not a regular file")


def test_device_member_is_refused(installed: Path, server: Server) -> None:
    def device(archive: tarfile.TarFile) -> None:
        info = tarfile.TarInfo("apps/null.toml")
        info.type = tarfile.CHRTYPE
        archive.addfile(info)

    _refused(server, installed, hand_made({}, extra=device), r"is a device")


def test_other_files_are_refused(installed: Path, server: Server) -> None:
    _refused(server, installed, hand_made({"apps/run.sh": b"#!/bin/sh\n"}),
             r"'apps/run.sh' is not a signature file")


def test_file_not_in_manifest_is_refused(installed: Path, server: Server) -> None:
    members = {"apps/alpha.toml": APP.format(id="alpha", name="A", domain="a.example").encode()}
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        manifest = json.dumps({"version": "2", "created": "2031-01-01T00:00:00+00:00",
                               "files": {}}).encode()
        for name, data in (("MANIFEST.json", manifest), *members.items()):
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    _refused(server, installed, buffer.getvalue(), r"'apps/alpha.toml' is not in the manifest")


def test_file_differing_from_manifest_is_refused(installed: Path, server: Server) -> None:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        data = APP.format(id="alpha", name="A", domain="a.example").encode()
        manifest = json.dumps({"version": "2", "created": "2031-01-01T00:00:00+00:00",
                               "files": {"apps/alpha.toml": "0" * 64}}).encode()
        for name, content in (("MANIFEST.json", manifest), ("apps/alpha.toml", data)):
            info = tarfile.TarInfo(name)
            info.size = len(content)
            archive.addfile(info, io.BytesIO(content))
    _refused(server, installed, buffer.getvalue(),
             r"'apps/alpha.toml' does not match its SHA-256 in the manifest")


def test_invalid_toml_is_refused_with_its_problems(installed: Path, server: Server) -> None:
    data = hand_made({
        "apps/alpha.toml": APP.format(id="alpha", name="A", domain="a.example").encode(),
        "apps/broken.toml": b'id = "broken"\nname = \n',
        "apps/beta.toml": APP.format(id="beta", name="B", domain="a.example").encode(),
    })
    before = snapshot(installed)
    with pytest.raises(UpdateError) as error:
        update(server.publish("bad.tar.gz", data), installed)
    message = str(error.value)
    assert message.startswith("the bundle does not validate (2 problem(s)); nothing was changed")
    assert "apps/broken.toml:2: not valid TOML" in message
    assert "apps/beta.toml:4: rule 'a.example' is also claimed by 'alpha'" in message
    assert snapshot(installed) == before


def test_not_an_archive_is_refused(installed: Path, server: Server) -> None:
    _refused(server, installed, b"<html>captive portal</html>", r"damaged or not a \.tar\.gz")


def test_zip_bundle_is_accepted(tmp_path: Path, server: Server, state: Path) -> None:
    import zipfile
    data = APP.format(id="alpha", name="A", domain="a.example").encode()
    manifest = json.dumps({"version": "z1", "created": "2031-01-01T00:00:00Z",
                           "files": {"apps/alpha.toml": hashlib.sha256(data).hexdigest()}})
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("MANIFEST.json", manifest)
        archive.writestr("apps/alpha.toml", data)
    assert update(server.publish("b.zip", buffer.getvalue()), state).version == "z1"


def test_unreachable_server_is_reported_briefly(state: Path) -> None:
    with socket.socket() as unused:
        unused.bind(("127.0.0.1", 0))
        port = unused.getsockname()[1]
    with pytest.raises(UpdateError) as error:
        update(f"http://127.0.0.1:{port}/b.tar.gz", state)
    assert str(error.value) == (
        f"cannot get the publisher's SHA-256 (downloading http://127.0.0.1:{port}/b.tar.gz.sha256 "
        f"failed: cannot connect: Connection refused); pass --sha256 HEX from a source you trust")
    assert not (state / "current").exists()


def test_unsupported_scheme_is_refused(state: Path) -> None:
    with pytest.raises(UpdateError, match="only http://, https:// or a local file"):
        update("ftp://example.org/b.tar.gz", state)


# -- no network unless asked -------------------------------------------------------------------

def test_loading_signatures_never_touches_the_network(installed: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*arguments: object) -> None:
        raise AssertionError("network access while loading signatures")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket.socket, "connect_ex", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    assert Catalog.load().app_id("school.magister.net") == "magister"
    assert effective_shipped_directory(installed) == (installed / "current").resolve()
    rollback(installed)
    with pytest.raises(AssertionError, match="network access"):
        update("http://127.0.0.1:9/b.tar.gz", installed, expected_sha256="0" * 64)
