"""Credentials health: what the facts about the Partner Center credentials mean.

Pure functions: facts (Key Vault's dates for the three secrets, this instance's exchange
history, an optional probe exchange's outcome), the thresholds and the time in, checks
out. Each check says what is wrong and what to do in words of our own; no secret value
and no upstream string reaches a detail. `credentials/checks.py` gathers the facts,
`credentials/health_route.py` and the timers report them.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Literal

from credentials.history import ExchangeHistory
from credentials.key_vault import SecretState
from credentials.outcome_table import TABLE_NAME as OUTCOME_TABLE
from credentials.outcome_table import KeptCheck
from shared.settings import HealthSettings
from shared.timer_schedule import Schedule

Status = Literal["ok", "warning", "critical"]
_RANK: Mapping[Status, int] = {"ok": 0, "warning": 1, "critical": 2}
# A refresh token unused this long is dead (Microsoft identity platform).
REFRESH_TOKEN_LIFETIME_DAYS = 90
DAY_SECONDS = 86400.0
CONSENT = "python3 -m ops consent"
STORE_COMMAND = "python3 -m ops secrets --app-secret-expires YYYY-MM-DD"
# `amr` values shown as they are (RFC 8176 and Microsoft's): the claim comes from the
# token endpoint, and no upstream string is repeated beyond names we know.
KNOWN_METHODS = frozenset(
    {
        *("face", "fido", "fpt", "geo", "hwk", "iris", "kba", "mca", "mfa", "ngcmfa"),
        *("otp", "pin", "pop", "pwd", "retina", "rba", "rsa", "sc", "sms", "swk", "tel"),
        *("user", "vbm", "wia", "wiaormfa"),
    }
)


@dataclass(frozen=True)
class Check:
    name: str
    status: Status
    detail: str
    # Extra JSON fields of the check (dates, day counts, names): never a secret.
    facts: Mapping[str, object] = field(default_factory=dict)

    def to_json(self) -> dict[str, object]:
        return {"name": self.name, "status": self.status, "detail": self.detail, **self.facts}


@dataclass(frozen=True)
class Report:
    status: Status
    checks: tuple[Check, ...]

    def to_json(self) -> dict[str, object]:
        return {"status": self.status, "checks": [check.to_json() for check in self.checks]}


@dataclass(frozen=True)
class ProbeOutcome:
    """One token exchange made for the check: failed (our own detail) or not, and
    whether the refresh token it returned could be stored.

    `probed` is false when the answer reports an earlier probe's exchange (made within
    the probe floor, or by a concurrent probe) rather than one made for it; `at` is when
    that exchange was made.
    """

    failure: str | None = None
    credentials_rejected: bool = False
    store_problem: str | None = None
    at: float | None = None
    probed: bool = True


@dataclass(frozen=True)
class CredentialFacts:
    app_id: SecretState
    app_secret: SecretState
    refresh_token: SecretState
    history: ExchangeHistory
    probe: ProbeOutcome | None = None

    @property
    def secrets(self) -> tuple[SecretState, ...]:
        return (self.app_id, self.app_secret, self.refresh_token)


def worst(statuses: Iterable[Status]) -> Status:
    return max(statuses, key=_RANK.__getitem__, default="ok")


def assess(facts: CredentialFacts, thresholds: HealthSettings, now: float) -> Report:
    """Every check: what the route answers."""
    return report_of(
        (*assess_stored(facts, thresholds, now), *assess_exchanges(facts.history, facts.probe))
    )


def assess_stored(
    facts: CredentialFacts, thresholds: HealthSettings, now: float
) -> tuple[Check, ...]:
    """The checks of what Key Vault holds, judged by the clock: the same in every instance,
    so the daily timer can run them anywhere."""
    return (
        check_key_vault(facts.secrets),
        check_refresh_token(facts.refresh_token, facts.history, thresholds, now),
        check_app_secret(facts.app_secret, thresholds, now),
    )


def assess_exchanges(history: ExchangeHistory, probe: ProbeOutcome | None) -> tuple[Check, ...]:
    """The checks of this instance's exchanges (and a probe's): known only where one was
    made, so the timer that exchanges (the rotation) reports them."""
    return (check_token_exchange(history, probe), check_mfa(history))


def report_of(checks: tuple[Check, ...]) -> Report:
    return Report(worst(check.status for check in checks), checks)


def settings_report(problems: list[str]) -> Report:
    """The answer when the settings the check needs are themselves broken."""
    check = Check(
        "settings",
        "critical",
        "The app settings the credentials need are missing or malformed: "
        + "; ".join(problems)
        + ". Fix them (azd env set ..., then azd provision).",
    )
    return Report("critical", (check,))


def check_key_vault(states: Iterable[SecretState]) -> Check:
    states = tuple(states)
    listed = [{"name": state.name, "present": state.present} for state in states]
    problems = [state.problem for state in states if state.problem is not None]
    if problems:
        return Check("key_vault", "critical", " ".join(problems), {"secrets": listed})
    names = ", ".join(f"'{state.name}'" for state in states)
    return Check(
        "key_vault", "ok", f"Key Vault answered; secrets {names} are present.", {"secrets": listed}
    )


def check_refresh_token(
    state: SecretState, history: ExchangeHistory, thresholds: HealthSettings, now: float
) -> Check:
    last = history.last_success
    facts: dict[str, object] = {
        "storedAt": None,
        "daysSinceStored": None,
        "daysLeft": None,
        "lastExchangeAt": iso_time(last.at) if last is not None else None,
    }
    if state.problem is not None:
        return Check("refresh_token", "critical", f"Cannot tell its age: {state.problem}", facts)
    if state.created_on is None:
        return Check(
            "refresh_token",
            "warning",
            f"Key Vault gave no creation date for secret '{state.name}', so its 90-day "
            "window cannot be watched.",
            facts,
        )
    age = max(now - state.created_on, 0.0) / DAY_SECONDS
    days_since = math.floor(age)
    days_left = max(REFRESH_TOKEN_LIFETIME_DAYS - math.ceil(age), 0)
    facts.update(
        storedAt=iso_time(state.created_on), daysSinceStored=days_since, daysLeft=days_left
    )
    stored = (
        f"The refresh token in Key Vault secret '{state.name}' was stored "
        f"{_date(state.created_on)} ({days_since} days ago); about {days_left} days are left "
        f"of its {REFRESH_TOKEN_LIFETIME_DAYS}-day window."
    )
    if age >= thresholds.refresh_token_critical_days:
        return Check(
            "refresh_token",
            "critical",
            f"{stored} A partner admin must run {CONSENT} now (before it expires unused), "
            "then find out why rotation stopped storing new ones (the rotation timer's "
            f"ALERT lines; the app's Key Vault Secrets Officer role on '{state.name}').",
            facts,
        )
    if age >= thresholds.refresh_token_warning_days:
        return Check(
            "refresh_token",
            "warning",
            f"{stored} Rotation is not storing new ones: check the rotation timer's ALERT "
            f"lines, ROTATE_REFRESH_TOKEN and the app's Key Vault Secrets Officer role on "
            f"'{state.name}'; or have a partner admin run {CONSENT}.",
            facts,
        )
    return Check("refresh_token", "ok", stored, facts)


def check_app_secret(state: SecretState, thresholds: HealthSettings, now: float) -> Check:
    facts: dict[str, object] = {"expiresAt": None, "daysLeft": None}
    if state.problem is not None:
        return Check("app_secret", "critical", f"Cannot tell its expiry: {state.problem}", facts)
    if state.expires_on is None:
        return Check(
            "app_secret",
            "ok",
            f"No expiry date is recorded on Key Vault secret '{state.name}', so it cannot "
            f"be watched; record it when you next store the secret ({STORE_COMMAND}).",
            facts,
        )
    days_left = math.floor((state.expires_on - now) / DAY_SECONDS)
    facts.update(expiresAt=iso_time(state.expires_on), daysLeft=days_left)
    renew = f"Create a new client secret for the app in Entra ID and store it with {STORE_COMMAND}."
    if state.expires_on <= now:
        return Check(
            "app_secret",
            "critical",
            f"The app secret in '{state.name}' expired {_date(state.expires_on)}: every token "
            f"exchange fails. {renew}",
            facts,
        )
    expires = f"The app secret in '{state.name}' expires {_date(state.expires_on)}"
    if days_left <= thresholds.app_secret_critical_days:
        return Check("app_secret", "critical", f"{expires}, in {days_left} days. {renew}", facts)
    if days_left <= thresholds.app_secret_warning_days:
        return Check("app_secret", "warning", f"{expires}, in {days_left} days. {renew}", facts)
    return Check("app_secret", "ok", f"{expires} ({days_left} days left).", facts)


def check_token_exchange(history: ExchangeHistory, probe: ProbeOutcome | None) -> Check:
    facts: dict[str, object] = {
        "probed": probe is not None and probe.probed,
        "lastProbeAt": iso_time(probe.at) if probe is not None and probe.at is not None else None,
        "lastSuccessAt": iso_time(history.last_success.at) if history.last_success else None,
        "lastFailureAt": iso_time(history.last_failure.at) if history.last_failure else None,
    }
    if probe is not None:
        return _probed(probe, facts)
    failure = history.last_failure
    if history.failing and failure is not None:
        when = f"The last token exchange in this instance ({iso_time(failure.at)}) failed: "
        if failure.credentials_rejected:
            return Check("token_exchange", "critical", when + failure.detail, facts)
        return Check(
            "token_exchange",
            "warning",
            when + failure.detail + " The credentials were not refused; it may pass on its own.",
            facts,
        )
    if history.last_success is None:
        return Check(
            "token_exchange",
            "ok",
            "No token exchange in this instance since it started; ?probe=true makes one.",
            facts,
        )
    return Check(
        "token_exchange",
        "ok",
        f"The last token exchange in this instance ({iso_time(history.last_success.at)}) worked.",
        facts,
    )


def _probed(probe: ProbeOutcome, facts: dict[str, object]) -> Check:
    again = _reported_again(probe)
    if probe.failure is not None:
        if probe.credentials_rejected:
            return Check("token_exchange", "critical", again + probe.failure, facts)
        return Check(
            "token_exchange",
            "warning",
            f"{again}{probe.failure} The credentials were not refused; try again later.",
            facts,
        )
    if probe.store_problem is not None:
        return Check(
            "token_exchange",
            "warning",
            f"{again}The token exchange worked, but the new refresh token could not be "
            f"stored: {probe.store_problem}",
            facts,
        )
    if not probe.probed:
        return Check("token_exchange", "ok", f"{again}The token exchange worked.", facts)
    return Check("token_exchange", "ok", "A token exchange just worked.", facts)


def _reported_again(probe: ProbeOutcome) -> str:
    """What a probe answer says when it made no exchange of its own."""
    if probe.probed or probe.at is None:
        return ""
    return (
        f"No new exchange: probes make one at most once per HEALTH_PROBE_MIN_SECONDS per "
        f"instance, and this reports the probe of {iso_time(probe.at)}. "
    )


def check_mfa(history: ExchangeHistory) -> Check:
    last = history.last_success
    if last is None:
        return Check(
            "mfa",
            "ok",
            "Not known yet: no token exchange in this instance since it started; "
            "?probe=true makes one.",
            {"mfa": None},
        )
    methods = last.authentication_methods
    if methods is None:
        return Check(
            "mfa",
            "warning",
            "The last access token's claims could not be read, so multi-factor "
            "authentication cannot be confirmed.",
            {"mfa": None},
        )
    named = [method if method in KNOWN_METHODS else "other" for method in methods]
    facts: dict[str, object] = {"mfa": last.mfa, "authenticationMethods": named}
    if not last.mfa:
        shown = ", ".join(named) if named else "none"
        return Check(
            "mfa",
            "critical",
            f"The last access token ({iso_time(last.at)}) carries no multi-factor authentication "
            f"(amr: {shown}); Partner Center refuses App+User calls without it. A partner "
            f"admin must run {CONSENT}, signing in with MFA.",
            facts,
        )
    return Check("mfa", "ok", "The last access token carries multi-factor authentication.", facts)


# The rotation's checks, as its last run kept them (credentials/outcome_table.py), in the
# order it writes them.
ROTATION_CHECKS = ("rotation", "token_exchange", "mfa")
# How long past its schedule's next firing the rotation may be before it counts as stopped:
# a run the host starts late, or retries, lands well inside it.
ROTATION_GRACE_SECONDS = DAY_SECONDS
RUN_IT = (
    "Check that rotate_refresh_token is enabled and the app is running; it can be run at "
    "once with POST /admin/functions/rotate_refresh_token (the master key)."
)


def assess_rotation(
    kept: Mapping[str, KeptCheck], schedule: Schedule, now: float
) -> tuple[Check, ...]:
    """The rotation's checks again, as its last run left them, for the daily timer (so
    each has a record every day): `rotation` is critical once the rotation is overdue by
    more than a day, and warning before its first run; the others as they were."""
    last = kept.get("rotation")
    if last is None:
        return (
            Check(
                "rotation",
                "warning",
                "The weekly refresh token rotation has not run yet (no outcome in table "
                f"{OUTCOME_TABLE}), so the token exchange and MFA are not checked. {RUN_IT}",
            ),
        )
    due = schedule.next_after(datetime.fromtimestamp(last.at, UTC))
    overdue = due is None or now > due.timestamp() + ROTATION_GRACE_SECONDS
    checks = [_as_of(last) if not overdue else _overdue(last, due)]
    checks += [_as_of(kept[name]) for name in ROTATION_CHECKS[1:] if name in kept]
    return tuple(checks)


def _as_of(kept: KeptCheck) -> Check:
    detail = f"{kept.detail} (As of the weekly rotation at {iso_time(kept.at)}.)"
    return Check(kept.name, kept.status, detail, {"asOf": iso_time(kept.at)})


def _overdue(last: KeptCheck, due: datetime | None) -> Check:
    when = "it never comes due" if due is None else f"it was due {iso_time(due.timestamp())}"
    return Check(
        "rotation",
        "critical",
        f"The refresh token rotation has not run since {iso_time(last.at)} ({when} by "
        f"REFRESH_TOKEN_ROTATION_SCHEDULE), so the refresh token is not renewed and the "
        f"exchange is not checked. {RUN_IT}",
        {"asOf": iso_time(last.at)},
    )


def rotation_unknown(why: str) -> Report:
    """The rotation's checks when its kept outcome cannot be read: `rotation` is a
    warning saying why (a failure's type or a setting, never storage's text)."""
    return report_of(
        (
            Check(
                "rotation",
                "warning",
                f"The refresh token rotation's last outcome could not be read from table "
                f"{OUTCOME_TABLE} ({why}), so it is not known whether it ran.",
            ),
        )
    )


def iso_time(moment: float) -> str:
    return datetime.fromtimestamp(moment, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _date(moment: float) -> str:
    return datetime.fromtimestamp(moment, UTC).strftime("%Y-%m-%d")
