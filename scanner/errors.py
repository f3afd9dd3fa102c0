"""One family of errors; the CLI turns each into `Error: …` and an exit code."""


class AppradarError(Exception):
    """An error the user can fix; the message says what and where."""

    exit_code = 1


class InputError(AppradarError):
    """A capture or log file that cannot be read at all."""


class SignatureError(AppradarError):
    """A malformed or conflicting signature file."""


class RegisterError(AppradarError):
    """A processing register that cannot be imported."""


class InventoryError(AppradarError):
    """A database problem: wrong file, unknown app, bad query."""
