"""appradar: which apps a school's network really uses, and which are missing from its register."""

import sys

__version__ = "0.1.0"

# Libraries sqlite-utils imports, when installed, only to map their number types to column
# types. appradar never stores them, and numpy alone cost 0.1 s of every command's start.
_UNUSED_BY_SQLITE_UTILS = ("numpy", "pandas")


def _import_sqlite_utils_alone() -> None:
    """Import sqlite-utils with numpy and pandas hidden, before any module of appradar
    imports it; they stay importable for anyone else. A program that imported sqlite-utils
    or them before appradar keeps them as it has them."""
    hidden = [name for name in _UNUSED_BY_SQLITE_UTILS if name not in sys.modules]
    for name in hidden:
        sys.modules[name] = None  # type: ignore[assignment]  # import raises ImportError
    try:
        import sqlite_utils  # noqa: F401
    finally:
        for name in hidden:
            if sys.modules.get(name, False) is None:
                del sys.modules[name]


if "sqlite_utils" not in sys.modules:
    _import_sqlite_utils_alone()
