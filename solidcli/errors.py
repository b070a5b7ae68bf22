"""The exceptions the CLI turns into a single stderr line: SolidError (exit 1) and the stop
signals (SIGINT: exit 130, SIGTERM: exit 143)."""


class SolidError(Exception):
    """A user-facing error: bad input, missing file, unknown name, no network."""


class Terminated(BaseException):  # a signal, as KeyboardInterrupt is
    """SIGTERM reached the process (`solid` turns it into this, as Python does SIGINT into
    KeyboardInterrupt), so that it unwinds, removes its staging folders and exits 143."""
