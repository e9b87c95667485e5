"""Start-up checks: say clearly, once, which app setting is missing or malformed."""

from __future__ import annotations

import logging

from shared.settings import (
    Settings,
    SettingsError,
    load_check_schedule_settings,
    load_health_route_settings,
    load_settings,
)

logger = logging.getLogger("startup")


def quiet_sdk_logging() -> None:
    """The Azure SDK logs every request's URL and headers at INFO, and the Azure Monitor
    exporter every send; keep only warnings."""
    logging.getLogger("azure.core.pipeline.policies.http_logging_policy").setLevel(logging.WARNING)
    logging.getLogger("azure.identity").setLevel(logging.WARNING)
    logging.getLogger("azure.monitor.opentelemetry").setLevel(logging.WARNING)


def report_settings_problems() -> list[str]:
    """Log each settings problem at start-up (requests then answer 500 naming them; a
    malformed timer schedule is replaced by its default), and the protected roles in
    force, so an operator sees what the guard refuses."""
    settings: Settings | None = None
    problems: list[str] = []
    try:
        settings = load_settings()
    except SettingsError as exc:
        problems += exc.problems
    for load in (load_health_route_settings, load_check_schedule_settings):
        try:
            load()
        except SettingsError as exc:
            problems += exc.problems
    # A caller-token problem breaks both routes: named once.
    problems = list(dict.fromkeys(problems))
    for problem in problems:
        logger.error("App setting problem: %s", problem)
    if settings is None:
        return problems
    if settings.protected_role_guard:
        logger.info(
            "Protected role template IDs in force: %s",
            ",".join(sorted(settings.protected_role_ids)),
        )
    else:
        logger.warning("PROTECTED_ROLE_GUARD is off: privileged accounts can be reset.")
    return problems
