"""Client addresses become keyed pseudonyms before anything is stored.

The key lives in a file beside the database (owner-only), never inside it: whoever holds only
the database cannot test a guessed address against the pseudonyms.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import os
import secrets
from pathlib import Path

from scanner.errors import AppradarError

KEY_BYTES = 32
PSEUDONYM_HEX = 16  # 64 bits: collisions are negligible for a school's devices


def key_path_for(database: Path) -> Path:
    return database.with_name(database.name + ".key")


def load_or_create_key(path: Path) -> bytes:
    """Read the key, or create it (mode 0600) on first use."""
    try:
        key = path.read_bytes()
    except FileNotFoundError:
        key = secrets.token_bytes(KEY_BYTES)
        try:
            descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:  # another process created it first: use theirs
            return load_or_create_key(path)
        except OSError as error:
            raise AppradarError(f"cannot create the pseudonym key {path}: {error}") from None
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(key)
        return key
    except OSError as error:
        raise AppradarError(f"cannot read the pseudonym key {path}: {error}") from None
    if len(key) != KEY_BYTES:
        raise AppradarError(f"the pseudonym key {path} is damaged ({len(key)} bytes, "
                            f"expected {KEY_BYTES}); restore it from backup")
    return key


class Pseudonymiser:
    """Packed address → stable pseudonym, cached because a school has few devices."""

    def __init__(self, key: bytes, keep_addresses: bool = False) -> None:
        self._key = key
        self.keep_addresses = keep_addresses
        self._cache: dict[bytes, str] = {}

    def __call__(self, address: bytes) -> str:
        found = self._cache.get(address)
        if found is None:
            if self.keep_addresses:
                found = str(ipaddress.ip_address(address))
            else:
                found = hmac.new(self._key, address, hashlib.sha256).hexdigest()[:PSEUDONYM_HEX]
            if len(self._cache) < 1_000_000:
                self._cache[address] = found
        return found


def rotate_key(path: Path) -> None:
    """Replace the key: pseudonyms made from now on cannot be linked to earlier ones.

    The old key is overwritten before the new one takes its place, so it is not left in the
    file system's free blocks by an ordinary rename.
    """
    new_key = secrets.token_bytes(KEY_BYTES)
    temporary = path.with_name(path.name + ".new")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "wb") as handle:
        handle.write(new_key)
        handle.flush()
        os.fsync(handle.fileno())
    if path.exists():
        with open(path, "r+b") as handle:
            handle.write(b"\0" * max(KEY_BYTES, path.stat().st_size))
            handle.flush()
            os.fsync(handle.fileno())
    os.replace(temporary, path)
