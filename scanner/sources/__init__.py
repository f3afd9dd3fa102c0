"""Where observations come from: capture files now, live interfaces and logs alongside."""

from __future__ import annotations

import glob
from pathlib import Path

from scanner.errors import InputError


def expand(arguments: list[str]) -> list[tuple[Path, bool]]:
    """Files named by the arguments, as (path, named explicitly) in a stable order.

    Directories are walked recursively; a pattern with * ? [ is expanded as a glob. A file
    found inside a directory that turns out not to be a capture is skipped with a note; one
    named explicitly is an error.
    """
    found: list[tuple[Path, bool]] = []
    for argument in arguments:
        path = Path(argument)
        if path.is_dir():
            found.extend((item, False) for item in sorted(path.rglob("*")) if item.is_file())
        elif path.exists():
            found.append((path, True))
        elif any(mark in argument for mark in "*?["):
            matches = sorted(glob.glob(argument, recursive=True))
            if not matches:
                raise InputError(f"{argument}: no file matches")
            found.extend((Path(item), True) for item in matches if Path(item).is_file())
        else:
            raise InputError(f"{argument}: no such file or directory")
    return found
