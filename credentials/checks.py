"""The credentials health checks as the daily timer and the health route run them: the
facts gathered (with a probe's exchange first, when asked for), then judged
(credentials/health.py). No HTTP here: the timer must not depend on a route.

Key Vault is read past the cache, each secret's value dropped at once: the check must say
what the vault holds now, and only its dates are needed. A probe's exchange is made, and
its new refresh token stored, before the vault is read, so the refresh token's date is
the one the exchange produced.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from credentials.health import (
    Check,
    CredentialFacts,
    ProbeOutcome,
    Report,
    assess,
    assess_rotation,
    assess_stored,
    report_of,
    rotation_unknown,
    settings_report,
)
from credentials.key_vault import SecretNames
from credentials.outcome_table import OutcomesUnavailable, OutcomeTable
from credentials.partner_center_tokens import PartnerCenterTokens
from credentials.probe import CredentialProbe
from credentials.secret_cache import SecretCache
from shared.settings import HealthSettings, SettingsError, load_rotation_schedule

# Key Vault's reads and a probe's exchange both fit well inside it.
HEALTH_DEADLINE_SECONDS = 25.0


@dataclass(frozen=True)
class CredentialsHealthDependencies:
    secrets: SecretCache
    names: SecretNames
    # This instance's exchange history, and the one exchange a probe makes.
    tokens: PartnerCenterTokens
    probe: CredentialProbe
    thresholds: HealthSettings
    # Wall-clock time: Key Vault's dates and the exchange history are epoch seconds.
    clock: Callable[[], float]


Dependencies = Callable[[], CredentialsHealthDependencies]


def check_stored_credentials(dependencies: Dependencies) -> Report:
    """The daily timer's checks: what Key Vault holds, judged by the clock, with no
    exchange (the rotation reports the exchange checks, the one timer that makes one), in
    the current request scope (its deadline bounds Key Vault). A bad setting is the
    report's one critical check, naming it."""
    try:
        deps = dependencies()
    except SettingsError as exc:
        return settings_report(exc.problems)
    facts = gather(deps, None)
    return report_of(assess_stored(facts, deps.thresholds, deps.clock()))


def check_rotation_outcomes(outcomes: Callable[[], OutcomeTable]) -> Report:
    """The daily timer's report of the rotation's checks: as its last run kept them, and
    `rotation` critical when it is overdue (REFRESH_TOKEN_ROTATION_SCHEDULE says when)."""
    try:
        schedule = load_rotation_schedule()
    except SettingsError as exc:
        detail = "; ".join(exc.problems) + ", so the refresh token rotation does not run."
        return report_of((Check("rotation", "critical", detail),))
    try:
        table = outcomes()
    except SettingsError as exc:
        return rotation_unknown("; ".join(exc.problems))
    try:
        kept = table.read()
    except OutcomesUnavailable as exc:
        return rotation_unknown(exc.kind)
    return report_of(assess_rotation(kept, schedule, table.now()))


def run_checks(
    dependencies: Dependencies, *, probe_floor: int | None
) -> tuple[Report, ProbeOutcome | None]:
    """The checks, with a probe when `probe_floor` is given: at most one real exchange per
    that many seconds; the probe is made before the vault is read. A bad setting is the
    report's one critical check, naming it."""
    try:
        deps = dependencies()
    except SettingsError as exc:
        return settings_report(exc.problems), None
    outcome = None
    if probe_floor is not None:
        outcome = deps.probe.probe(floor_seconds=probe_floor)
    facts = gather(deps, outcome)
    return assess(facts, deps.thresholds, deps.clock()), outcome


def gather(deps: CredentialsHealthDependencies, probe: ProbeOutcome | None) -> CredentialFacts:
    names = deps.names
    app_id, app_secret, refresh_token = deps.secrets.inspect(
        (names.app_id, names.app_secret, names.refresh_token)
    )
    return CredentialFacts(app_id, app_secret, refresh_token, deps.tokens.history(), probe)
