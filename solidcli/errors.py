"""The one exception type the CLI turns into a single stderr line and exit code 1."""


class SolidError(Exception):
    """A user-facing error: bad input, missing file, unknown name, no network."""

