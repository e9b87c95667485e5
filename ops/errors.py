"""The one error the commands raise for the operator to act on."""

from __future__ import annotations

EXIT_FAILURE = 1


class OpsError(Exception):
    """A failure the operator can fix; its message is printed as it is.

    Messages name settings, secrets, files and codes, never a secret value, a token or
    an authorization code.
    """

    def __init__(self, message: str, *, exit_code: int = EXIT_FAILURE) -> None:
        super().__init__(message)
        self.exit_code = exit_code


class NoTerminal(OpsError):
    """A secret was to be asked for, but standard input is not a terminal."""
