"""Start-up checks: say clearly, once, which app setting is missing or malformed."""

from __future__ import annotations

import logging

from shared.settings import SettingsError, load_settings

logger = logging.getLogger("startup")


def report_settings_problems() -> list[str]:
    """Log each settings problem at start-up; requests then answer 500 naming them."""
    try:
        load_settings()
    except SettingsError as exc:
        for problem in exc.problems:
            logger.error("App setting problem: %s", problem)
        return exc.problems
    return []
