"""The last line of defence of an HTTP route: an exception nobody expected becomes the
`500 internal_error` problem, and the log gets what support needs to find the bug."""

from __future__ import annotations

import logging
import traceback

from shared.errors import InternalError

UNEXPECTED_DETAIL = "An unexpected error occurred. Quote the correlation ID to support."


def unexpected_error(error: BaseException, *, logger: logging.Logger, during: str) -> InternalError:
    """Log the error's type and stack frames, never its message (it may hold a value the
    code was handling: a password, a token), and return the error to answer with."""
    # One line, innermost frame first, as every log line is one line.
    frames = " < ".join(
        f"{frame.filename}:{frame.lineno} {frame.name}"
        for frame in reversed(traceback.extract_tb(error.__traceback__))
    )
    logger.error("unexpected %s during %s at %s", type(error).__name__, during, frames)
    return InternalError(UNEXPECTED_DETAIL)
