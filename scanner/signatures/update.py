"""Signature updates: fetch a published bundle, verify it, validate it, swap it in atomically.

A bundle is a `.tar.gz` (or zip) of the signature tree (`apps/`, `infrastructure/`,
`trackers/`) plus a `MANIFEST.json` with its version, creation time and the SHA-256 of every
file. The publisher states the bundle's own SHA-256 in a sidecar `<url>.sha256` (sha256sum
format), or the user passes it. Nothing reaches the network unless `update()` is called: loading
the catalog only looks at local directories.

Layout of the update directory (default /var/lib/appradar/signatures)::

    versions/<version>-<sha12>-<token>/   verified, validated trees (never changed after install)
    current  -> versions/…                 the tree Catalog.load uses instead of the shipped one
    previous -> versions/…                 what `rollback()` returns to (absent: the shipped tree)

Both links are replaced with `rename(2)`, so a reader sees the old tree or the new one, never a
mix; a failed update leaves both links as they were.
"""

from __future__ import annotations

import contextlib
import fcntl
import functools
import gzip
import hashlib
import io
import json
import os
import re
import secrets
import shutil
import stat
import tarfile
import tempfile
import zipfile
import zlib
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any
from urllib.parse import urlsplit, urlunsplit

from scanner.errors import SignatureError
from scanner.signatures.loader import Problems, load_directory, shipped_directory

DEFAULT_UPDATE_DIR = Path("/var/lib/appradar/signatures")
UPDATE_DIR_ENV = "APPRADAR_UPDATE_DIR"
MAX_BYTES = 20 * 1024 * 1024  # a bundle of ~1,000 small TOML files is well under 1 MB
MAX_UNPACKED = 100 * 1024 * 1024  # against compression bombs
MAX_FILE = 1024 * 1024  # one signature file
MAX_MEMBERS = 20_000
MAX_SIDECAR = 64 * 1024
MANIFEST = "MANIFEST.json"
KINDS = ("apps", "infrastructure", "trackers")
SHOWN_PROBLEMS = 5
CHUNK_BYTES = 64 * 1024  # read and hashed a piece at a time, never whole

_HEX = re.compile(r"[0-9a-f]{64}\Z")
_VERSION = re.compile(r"[A-Za-z0-9][A-Za-z0-9._+-]{0,63}\Z")


class UpdateError(SignatureError):
    """A bundle that cannot be fetched, verified or installed; nothing was changed."""


@dataclass(frozen=True)
class UpdateResult:
    version: str
    created: str
    sha256: str
    files: int
    apps: int
    directory: Path
    previous_version: str | None  # None: the shipped signatures
    changed: bool  # False when this very bundle was already current


@dataclass(frozen=True)
class RollbackResult:
    current_version: str | None  # None: the shipped signatures are in use again
    previous_version: str | None


# -- where updates live and how the catalog finds them ---------------------------------------

def update_directory(explicit: Path | None = None) -> Path:
    """--update-dir, else APPRADAR_UPDATE_DIR, else /var/lib/appradar/signatures."""
    if explicit is not None:
        return explicit
    from_environment = os.environ.get(UPDATE_DIR_ENV)
    return Path(from_environment) if from_environment else DEFAULT_UPDATE_DIR


def effective_shipped_directory(state_dir: Path | None) -> Path:
    """The installed update if there is one, else the signatures shipped with appradar.

    Resolved once, so a load that races an update reads one whole tree. A shipped tree that
    carries a newer MANIFEST.json (appradar upgraded after the last update) wins over a stale
    update. Only the local file system is looked at.
    """
    shipped = shipped_directory()
    if state_dir is None:
        return shipped
    current = state_dir / "current"
    try:
        if not (current / MANIFEST).is_file():
            return shipped
        resolved = current.resolve(strict=True)
    except OSError:
        return shipped
    installed = _manifest_created(resolved)
    bundled = _manifest_created(shipped)
    if installed is not None and bundled is not None and bundled > installed:
        return shipped
    return resolved


def installed_manifest(state_dir: Path) -> dict[str, Any] | None:
    """The manifest of the current update (for `signatures list` and friends), if any."""
    try:
        return _parse_manifest((state_dir / "current" / MANIFEST).read_bytes())
    except (OSError, UpdateError):
        return None


# -- publishing ------------------------------------------------------------------------------

def make_bundle(source_dir: Path, out_path: Path, version: str | None = None,
                created: datetime | None = None) -> str:
    """Write a bundle of `source_dir` to `out_path` and `<out_path>.sha256`; return the SHA-256.

    The tree is validated first, so a broken database is never published. The archive is
    reproducible (sorted members, fixed times and owners): the same tree and `created` give
    the same bytes, so anyone can check a published hash.
    """
    problems = _check_tree(source_dir)
    if problems:
        raise SignatureError(_problem_summary("cannot bundle", problems, source_dir))
    files = _bundle_files(source_dir)
    if not files:
        raise SignatureError(f"no signature files under {source_dir}/{{{','.join(KINDS)}}}")
    moment = (created or datetime.now(UTC)).astimezone(UTC).replace(microsecond=0)
    version = version or moment.strftime("%Y.%m.%d.%H%M%S")
    if not _VERSION.match(version):
        raise SignatureError(f"version '{version}' may only use letters, digits and . _ + -")
    contents = {name: path.read_bytes() for name, path in files.items()}
    manifest = {
        "format": 1, "version": version, "created": moment.isoformat(),
        "files": {name: hashlib.sha256(data).hexdigest() for name, data in contents.items()},
    }
    contents[MANIFEST] = json.dumps(manifest, indent=2, sort_keys=True).encode() + b"\n"
    buffer = io.BytesIO()
    with gzip.GzipFile(filename="", mode="wb", fileobj=buffer, mtime=0) as compressed, \
            tarfile.open(fileobj=compressed, mode="w", format=tarfile.USTAR_FORMAT) as archive:
        for name in sorted(contents):
            info = tarfile.TarInfo(name)
            info.size = len(contents[name])
            info.mtime = int(moment.timestamp())
            info.mode = 0o644
            archive.addfile(info, io.BytesIO(contents[name]))
    data = buffer.getvalue()
    digest = hashlib.sha256(data).hexdigest()
    _write_atomically(out_path, data)
    _write_atomically(out_path.with_name(out_path.name + ".sha256"),
                      f"{digest}  {out_path.name}\n".encode())
    return digest


def _bundle_files(source_dir: Path) -> dict[str, Path]:
    files = {}
    for kind in KINDS:
        base = source_dir / kind
        if base.is_dir():
            for path in sorted(base.rglob("*.toml")):
                if path.is_file():
                    files[path.relative_to(source_dir).as_posix()] = path
    return files


# -- update and rollback ----------------------------------------------------------------------

def update(url: str, target_dir: Path, expected_sha256: str | None = None,
           max_bytes: int = MAX_BYTES, timeout: float = 30.0,
           allow_older: bool = False) -> UpdateResult:
    """Fetch the bundle at `url`, verify, validate and make it current; keep the old one.

    `url` is http(s) or a local file (for networks without internet access). Without
    `expected_sha256` the publisher's `<url>.sha256` is fetched. Any failure raises
    UpdateError and leaves the installed signatures exactly as they were.
    """
    if expected_sha256 is not None:
        expected_sha256 = _check_hex(expected_sha256, "--sha256")
    fetch = _fetcher(url, timeout)
    target_dir.mkdir(parents=True, exist_ok=True)
    with _locked(target_dir):
        versions = target_dir / "versions"
        versions.mkdir(exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=".staging-", dir=versions))
        try:
            if expected_sha256 is None:
                expected_sha256 = _sidecar_hash(fetch, url)
            download = staging / "bundle"
            with download.open("wb") as sink:
                actual = fetch(url, sink, max_bytes)
            if actual != expected_sha256:
                raise UpdateError(
                    f"{url}: SHA-256 mismatch: the publisher states {expected_sha256}, the "
                    f"download has {actual}; nothing was changed")
            tree = staging / "tree"
            tree.mkdir()
            manifest = _extract(download, tree)
            apps = _validate(tree)
            current = _link_target(target_dir / "current")
            if current is not None:
                installed = _read_bundle_info(target_dir / current)
                if installed.get("sha256") == actual:
                    return _result(manifest, actual, apps, target_dir / current,
                                   _version_of(target_dir, "previous"), changed=False)
                old_created = _manifest_created(target_dir / current)
                if (not allow_older and old_created is not None
                        and _created(manifest) < old_created):
                    raise UpdateError(
                        f"bundle {manifest['version']} (created {manifest['created']}) is older "
                        f"than the installed {_version_of(target_dir, 'current')} (created "
                        f"{old_created.isoformat()}); nothing was changed (use 'appradar "
                        f"signatures rollback' to go back, or pass --allow-older)")
            (tree / ".bundle.json").write_text(json.dumps(
                {"sha256": actual, "source": _without_credentials(url), "installed": _now()},
                indent=2) + "\n")
            name = f"{manifest['version']}-{actual[:12]}-{secrets.token_hex(3)}"
            tree.rename(versions / name)
            os.sync()  # the tree is on disk before any link points at it
            _set_link(target_dir / "previous", current)
            _set_link(target_dir / "current", f"versions/{name}")
            _prune(target_dir, staging)
            previous = _version_of(target_dir, "previous")
            return _result(manifest, actual, apps, versions / name, previous, changed=True)
        finally:
            shutil.rmtree(staging, ignore_errors=True)


def rollback(target_dir: Path) -> RollbackResult:
    """Swap `current` and `previous` (absent means the shipped tree); twice is a no-op."""
    if not target_dir.is_dir():
        raise UpdateError(f"nothing to roll back: no signature update installed in {target_dir}")
    with _locked(target_dir):
        current = _link_target(target_dir / "current")
        previous = _link_target(target_dir / "previous")
        if current is None and previous is None:
            raise UpdateError(
                f"nothing to roll back: no signature update installed in {target_dir}")
        _set_link(target_dir / "previous", current)
        _set_link(target_dir / "current", previous)
        return RollbackResult(_version_of(target_dir, "current"),
                              _version_of(target_dir, "previous"))


def _result(manifest: dict[str, Any], sha256: str, apps: int, directory: Path,
            previous: str | None, changed: bool) -> UpdateResult:
    return UpdateResult(manifest["version"], manifest["created"], sha256, len(manifest["files"]),
                        apps, directory, previous, changed)


# -- fetching ----------------------------------------------------------------------------------

Fetch = Callable[[str, IO[bytes], int], str]


def _fetcher(url: str, timeout: float) -> Fetch:
    """http(s) through requests; a plain path from the local disk; other schemes refused."""
    if url.startswith(("http://", "https://")):
        return lambda source, sink, limit: _fetch_http(source, sink, limit, timeout)
    if "://" in url:
        raise UpdateError(f"{url}: only http://, https:// or a local file can be used")
    return _fetch_file


def _fetch_http(url: str, sink: IO[bytes], max_bytes: int, timeout: float) -> str:
    """Stream `url` into `sink` with a hard byte cap; return the SHA-256 of what was read."""
    import requests  # only here: nothing else in appradar touches the network

    from scanner import __version__

    headers = {"User-Agent": f"appradar/{__version__}", "Accept-Encoding": "identity"}
    try:
        with requests.get(url, stream=True, timeout=timeout, headers=headers) as response:
            if response.status_code != 200:
                raise UpdateError(f"{url}: HTTP {response.status_code} {response.reason}")
            declared = response.headers.get("Content-Length", "")
            if declared.isdigit() and int(declared) > max_bytes:
                raise UpdateError(f"{url} is {int(declared):,} bytes, more than the limit of "
                                  f"{max_bytes:,}; nothing was changed")
            digest, size = _copy_capped(
                response.iter_content(CHUNK_BYTES), sink, max_bytes,
                f"{url} is more than the limit of {max_bytes:,} bytes; download stopped, "
                f"nothing was changed")
            if declared.isdigit() and size != int(declared):
                raise UpdateError(f"{url}: the download stopped after {size:,} of "
                                  f"{int(declared):,} bytes; nothing was changed")
            return digest
    except requests.RequestException as error:
        raise UpdateError(f"downloading {url} failed: {_reason(error, timeout)}; nothing was "
                          f"changed") from None


def _reason(error: Exception, timeout: float) -> str:
    """requests' messages nest three libraries deep; say what happened in a few words."""
    import requests

    text = str(error)
    if isinstance(error, requests.Timeout):
        return f"no answer within {timeout:g} s"
    if isinstance(error, requests.exceptions.ChunkedEncodingError) or "IncompleteRead" in text:
        return "the connection broke off before the end"
    if isinstance(error, requests.ConnectionError):
        cause = re.search(r"\[Errno -?\d+\] ([^'\")\]]+)", text)
        return f"cannot connect: {cause.group(1) if cause else text}"
    return text


def _fetch_file(path: str, sink: IO[bytes], max_bytes: int) -> str:
    try:
        with open(path, "rb") as source:
            digest, _ = _copy_capped(
                iter(lambda: source.read(CHUNK_BYTES), b""), sink, max_bytes,
                f"{path} is more than the limit of {max_bytes:,} bytes; nothing was changed")
    except OSError as error:
        raise UpdateError(f"cannot read {path}: {error.strerror or error}") from None
    return digest


def _copy_capped(chunks: Iterable[bytes], sink: IO[bytes], max_bytes: int,
                 too_big: str) -> tuple[str, int]:
    """Copy `chunks` into `sink`, stopping with `too_big` past `max_bytes`; (SHA-256, size)."""
    digest, size = hashlib.sha256(), 0
    for chunk in chunks:
        size += len(chunk)
        if size > max_bytes:
            raise UpdateError(too_big)
        digest.update(chunk)
        sink.write(chunk)
    return digest.hexdigest(), size


def _sidecar_hash(fetch: Fetch, url: str) -> str:
    """The hash the publisher states in `<url>.sha256` (one line, or a SHA256SUMS list)."""
    buffer = io.BytesIO()
    try:
        fetch(url + ".sha256", buffer, MAX_SIDECAR)
    except UpdateError as error:
        reason = str(error).removesuffix("; nothing was changed")
        raise UpdateError(f"cannot get the publisher's SHA-256 ({reason}); pass --sha256 HEX "
                          f"from a source you trust") from None
    bundle_name = url.rstrip("/").rsplit("/", 1)[-1]
    lines = [line.split(None, 1) for line in buffer.getvalue().decode("utf-8", "replace")
             .splitlines() if line.strip()]
    chosen = [fields for fields in lines if len(fields) == 2
              and fields[1].strip().lstrip("*") == bundle_name]
    if not chosen and len(lines) == 1:
        chosen = lines
    if len(chosen) != 1:
        raise UpdateError(f"{url}.sha256 states no SHA-256 for {bundle_name}")
    return _check_hex(chosen[0][0].lstrip("\\"), f"{url}.sha256")


def _check_hex(text: str, where: str) -> str:
    value = text.strip().lower()
    if not _HEX.match(value):
        raise UpdateError(f"{where}: '{text.strip()[:80]}' is not a SHA-256 (64 hex digits)")
    return value


# -- safe extraction ---------------------------------------------------------------------------

def _extract(archive: Path, tree: Path) -> dict[str, Any]:
    """Unpack only regular `.toml` files under the kind folders and MANIFEST.json, each checked
    against the manifest. Links, devices, absolute or `..` paths and duplicates are refused."""
    with archive.open("rb") as head:
        is_zip = head.read(4) == b"PK\x03\x04"
    written: dict[str, str] = {}
    budget = [MAX_UNPACKED]
    try:
        members = _zip_members(archive) if is_zip else _tar_members(archive)
        for count, (name, kind, opener) in enumerate(members, 1):
            if count > MAX_MEMBERS:
                raise UpdateError(f"bundle has more than {MAX_MEMBERS:,} members")
            path = _safe_name(name)
            if kind == "dir":
                continue
            if kind != "file":
                raise UpdateError(f"bundle member '{name}' is a {kind}, not a regular file")
            if path is None:
                raise UpdateError(f"bundle member '{name}' has an empty name")
            if path in written:
                raise UpdateError(f"bundle member '{path}' appears twice")
            if path != MANIFEST and not (path.split("/", 1)[0] in KINDS and "/" in path
                                         and path.endswith(".toml")):
                raise UpdateError(f"bundle member '{path}' is not a signature file "
                                  f"({'/, '.join(KINDS)}/ *.toml) or {MANIFEST}")
            written[path] = _copy_member(opener, tree / path, path, budget)
    except (tarfile.TarError, zipfile.BadZipFile, EOFError, zlib.error, gzip.BadGzipFile,
            OSError) as error:
        raise UpdateError(f"the bundle is damaged or not a .tar.gz/zip: {error}") from None
    if MANIFEST not in written:
        raise UpdateError(f"the bundle has no {MANIFEST}")
    manifest = _parse_manifest((tree / MANIFEST).read_bytes())
    listed: dict[str, str] = manifest["files"]
    for path, digest in sorted(written.items()):
        if path == MANIFEST:
            continue
        if path not in listed:
            raise UpdateError(f"bundle member '{path}' is not in the manifest")
        if listed[path] != digest:
            raise UpdateError(f"bundle member '{path}' does not match its SHA-256 in the "
                              f"manifest")
    missing = sorted(set(listed) - set(written))
    if missing:
        raise UpdateError(f"the manifest lists {len(missing)} file(s) the bundle lacks: "
                          + ", ".join(missing[:SHOWN_PROBLEMS]))
    if not listed:
        raise UpdateError("the bundle holds no signature files")
    return manifest


Member = tuple[str, str, Callable[[], IO[bytes]]]


def _tar_members(archive: Path) -> Iterator[Member]:
    with tarfile.open(archive, mode="r:*") as bundle:
        for info in bundle:
            kind = ("file" if info.isreg() else "dir" if info.isdir() else "symlink"
                    if info.issym() else "hard link" if info.islnk() else "device"
                    if info.isdev() else "special file")
            yield info.name, kind, functools.partial(_tar_open, bundle, info)


def _zip_members(archive: Path) -> Iterator[Member]:
    with zipfile.ZipFile(archive) as bundle:
        for info in bundle.infolist():
            mode = info.external_attr >> 16
            if info.flag_bits & 1:
                kind = "encrypted file"
            elif stat.S_ISLNK(mode):
                kind = "symlink"
            elif info.is_dir():
                kind = "dir"
            elif mode and stat.S_IFMT(mode) and not stat.S_ISREG(mode):
                kind = "special file"
            else:
                kind = "file"
            yield info.filename, kind, functools.partial(bundle.open, info)


def _tar_open(bundle: tarfile.TarFile, info: tarfile.TarInfo) -> IO[bytes]:
    stream = bundle.extractfile(info)
    if stream is None:
        raise UpdateError("a bundle member cannot be read")
    return stream


def _safe_name(name: str) -> str | None:
    """The member's relative POSIX path; absolute paths and `..` are refused."""
    if name.startswith(("/", "\\")) or re.match(r"[A-Za-z]:", name) or "\\" in name:
        raise UpdateError(f"bundle member '{name}' has an absolute or non-POSIX path")
    parts = [part for part in name.split("/") if part not in ("", ".")]
    if ".." in parts:
        raise UpdateError(f"bundle member '{name}' points outside the bundle ('..')")
    if any(ord(character) < 32 for character in name):
        raise UpdateError(f"bundle member {name!r} has control characters in its name")
    return "/".join(parts) or None


def _copy_member(opener: Callable[[], IO[bytes]], destination: Path, path: str,
                 budget: list[int]) -> str:
    """Copy one member with size caps (its header may lie); return its SHA-256."""
    destination.parent.mkdir(parents=True, exist_ok=True)
    digest, size = hashlib.sha256(), 0
    with opener() as source, destination.open("xb") as sink:
        while chunk := source.read(64 * 1024):
            size += len(chunk)
            budget[0] -= len(chunk)
            if size > MAX_FILE:
                raise UpdateError(f"bundle member '{path}' is larger than {MAX_FILE:,} bytes")
            if budget[0] < 0:
                raise UpdateError(f"the bundle unpacks to more than {MAX_UNPACKED:,} bytes")
            digest.update(chunk)
            sink.write(chunk)
    destination.chmod(0o644)
    return digest.hexdigest()


def _parse_manifest(data: bytes) -> dict[str, Any]:
    try:
        manifest = json.loads(data)
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise UpdateError(f"{MANIFEST} is not valid JSON: {error}") from None
    if not isinstance(manifest, dict):
        raise UpdateError(f"{MANIFEST} must be a JSON object")
    if manifest.get("format", 1) != 1:
        raise UpdateError(f"{MANIFEST} has format {manifest.get('format')!r}; this appradar "
                          f"reads format 1 (upgrade appradar)")
    version = manifest.get("version")
    if not isinstance(version, str) or not _VERSION.match(version):
        raise UpdateError(f"{MANIFEST}: 'version' must be letters, digits and . _ + -")
    _created(manifest)
    files = manifest.get("files")
    if not isinstance(files, dict) or not all(
            isinstance(key, str) and isinstance(value, str) and _HEX.match(value)
            for key, value in files.items()):
        raise UpdateError(f"{MANIFEST}: 'files' must map each path to its SHA-256")
    return manifest


def _created(manifest: dict[str, Any]) -> datetime:
    try:
        moment = datetime.fromisoformat(str(manifest.get("created")))
    except ValueError:
        raise UpdateError(f"{MANIFEST}: 'created' must be an ISO 8601 time") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _manifest_created(tree: Path) -> datetime | None:
    try:
        return _created(_parse_manifest((tree / MANIFEST).read_bytes()))
    except (OSError, UpdateError):
        return None


def _validate(tree: Path) -> int:
    """The existing loader's checks; a bundle with any problem is not installed. Returns the
    number of entries."""
    problems = _check_tree(tree)
    if problems:
        raise UpdateError(_problem_summary("the bundle does not validate", problems, tree))
    return len(list(tree.rglob("*.toml")))


def _check_tree(tree: Path) -> list[str]:
    """What `signatures validate` reports: file syntax and fields, duplicate ids and rules."""
    from scanner.signatures.catalog import Catalog  # here: catalog.py imports this module

    problems = Problems()
    Catalog(load_directory(tree, problems), problems)
    return problems.lines


def _problem_summary(what: str, lines: list[str], tree: Path) -> str:
    shown = [line.replace(str(tree) + os.sep, "") for line in lines[:SHOWN_PROBLEMS]]
    more = f"\n  … and {len(lines) - SHOWN_PROBLEMS} more" if len(lines) > SHOWN_PROBLEMS else ""
    return (f"{what} ({len(lines)} problem(s)); nothing was changed:\n  "
            + "\n  ".join(shown) + more)


# -- the links ---------------------------------------------------------------------------------

@contextlib.contextmanager
def _locked(target_dir: Path) -> Iterator[None]:
    """One update or rollback at a time per directory."""
    try:
        handle = os.open(target_dir / ".lock", os.O_RDWR | os.O_CREAT, 0o644)
    except OSError as error:
        raise UpdateError(f"cannot write to {target_dir}: {error.strerror}; run as the user "
                          f"that owns it, or choose another directory") from None
    try:
        fcntl.flock(handle, fcntl.LOCK_EX)
        yield
    finally:
        os.close(handle)


def _link_target(link: Path) -> str | None:
    try:
        return os.readlink(link)
    except FileNotFoundError:
        return None
    except OSError as error:  # e.g. a real directory where the link should be
        raise UpdateError(f"{link} is not a symlink as appradar left it: {error.strerror}; "
                          f"move it away and update again") from None


def _set_link(link: Path, target: str | None) -> None:
    """Point `link` at `target` (relative) with one atomic rename; None removes the link."""
    if target is None:
        with contextlib.suppress(FileNotFoundError):
            link.unlink()
        return
    temporary = link.with_name(f".{link.name}-{secrets.token_hex(4)}")
    os.symlink(target, temporary)
    try:
        os.replace(temporary, link)
    except OSError:
        temporary.unlink()
        raise
    directory = os.open(link.parent, os.O_RDONLY)
    try:
        os.fsync(directory)  # the new link survives a power cut
    finally:
        os.close(directory)


def _without_credentials(url: str) -> str:
    """The address as recorded: any user:password@ left out."""
    parts = urlsplit(url)
    if parts.username is None and parts.password is None:
        return url
    host = parts.hostname or ""
    netloc = f"{host}:{parts.port}" if parts.port else host
    return urlunsplit(parts._replace(netloc=netloc))


def _version_of(target_dir: Path, link: str) -> str | None:
    target = _link_target(target_dir / link)
    if target is None:
        return None
    try:
        return str(_parse_manifest((target_dir / target / MANIFEST).read_bytes())["version"])
    except (OSError, UpdateError):
        return Path(target).name


def _read_bundle_info(tree: Path) -> dict[str, Any]:
    try:
        info = json.loads((tree / ".bundle.json").read_text())
    except (OSError, ValueError):
        return {}
    return info if isinstance(info, dict) else {}


def _prune(target_dir: Path, active: Path) -> None:
    """Remove versions neither link points at, and leftovers of interrupted updates (the lock
    is held, so no other update is using them)."""
    kept = {Path(target).name for target in (_link_target(target_dir / "current"),
                                              _link_target(target_dir / "previous")) if target}
    kept.add(active.name)
    for entry in (target_dir / "versions").iterdir():
        if entry.name not in kept:
            if entry.is_dir() and not entry.is_symlink():
                shutil.rmtree(entry, ignore_errors=True)
            else:
                entry.unlink(missing_ok=True)


def _write_atomically(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}-", dir=path.parent)
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(data)
        os.chmod(temporary, 0o644)
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)
        raise


def _now() -> str:
    return datetime.now(UTC).replace(microsecond=0).isoformat()
