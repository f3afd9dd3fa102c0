"""One family of errors; the CLI turns each into `Error: …` and an exit code."""


class AppradarError(Exception):
    """An error the user can fix; the message says what and where."""

    exit_code = 1


class InputError(AppradarError):
    """A capture or log file that cannot be read at all."""


class UnknownFormat(InputError):
    """A log in no format appradar reads; `short` says so without the list of formats, for a
    file met while walking a directory, where that is no surprise."""

    def __init__(self, message: str, short: str) -> None:
        super().__init__(message)
        self.short = short


class SignatureError(AppradarError):
    """A malformed or conflicting signature file."""


class RegisterError(AppradarError):
    """A processing register that cannot be imported."""


class InventoryError(AppradarError):
    """A database problem: wrong file, unknown app, bad query."""
