"""The user's cache of parsed data that every command would otherwise parse again.

What is kept here can always be rebuilt from its source, so a cache that is missing, stale,
damaged or not writable only costs time. Files are written whole or not at all, so a command
started beside another never reads half of one.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path


def cache_file(kind: str, key: str, suffix: str) -> Path | None:
    """Where `kind` made from `key` (its source's path, or what it was made of) is kept:
    in systemd's CacheDirectory= for a service (its home is out of reach), else the user's
    cache; None without either."""
    root = os.environ.get("CACHE_DIRECTORY", "").split(":")[0]
    if not root:
        home = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"),
                                                                 ".cache")
        root = os.path.join(home, "appradar")
    if not os.path.isabs(root):
        return None  # no home directory to keep it in: parse
    name = hashlib.sha256(key.encode()).hexdigest()[:16]
    return Path(root) / f"{kind}-{name}{suffix}"


def file_stamp(facts: list[str], files: list[Path]) -> str:
    """What a cached copy must match: `facts` (versions), and each file's size and time."""
    lines = facts + [f"{path}:{(status := path.stat()).st_size}:{status.st_mtime_ns}"
                     for path in files]
    return hashlib.sha256("\n".join(lines).encode()).hexdigest()


def write_whole(path: Path, text: str) -> None:
    """Write `text` to `path` by renaming a finished file over it; a read-only home, a full
    disk: the source is parsed again next time."""
    try:
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile("w", encoding="utf-8", dir=path.parent, delete=False,
                                         suffix=".tmp") as handle:
            handle.write(text)
        os.replace(handle.name, path)  # whole or not at all, for a command started beside it
    except OSError:
        pass
