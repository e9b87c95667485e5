"""`GET /api/health/credentials?probe=true` spends the partner's one credential, so it is
rationed and accounted for: one real exchange per HEALTH_PROBE_MIN_SECONDS per instance
(concurrent probes share it), caller tokens and CALLER_OPERATOR_ROLE when tokens are on,
an audit record per probe, and the reset routes' problem answer for an unexpected error."""

from __future__ import annotations

import json
import threading
import time
from typing import Any

import pytest

from dev.emulators.faults import Delay
from dev.emulators.identity import CALLER_APP_ID
from dev.emulators.samples import SECRET_NAME_REFRESH_TOKEN
from tests.integration.conftest import Answer, Harness
from tests.integration.helpers import assert_problem, checks

PROBE = {"probe": "true"}
OPERATOR_ROLE = "PasswordReset.Operate"
INVOKE_ROLE = "PasswordReset.Invoke"
TOKEN_PATH = r"/oauth2/"
# In an exception's message only: the frames logged must not carry it.
INTERNAL_STATE = "internal state canary-internal-7d1e"


class ManualClock:
    """Wall-clock time that moves only when a spec moves it (Timings.token_clock)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.now = time.time()

    def __call__(self) -> float:
        with self._lock:
            return self.now

    def advance(self, seconds: float) -> None:
        with self._lock:
            self.now += seconds


@pytest.fixture
def clock(harness: Harness) -> ManualClock:
    manual = ManualClock()
    harness.timings(token_clock=manual)
    return manual


@pytest.fixture
def tokens_on(tokens_on: Harness, clock: ManualClock) -> Harness:
    """Caller tokens on, with this module's manual clock."""
    return tokens_on


def redemptions(harness: Harness) -> int:
    """Refresh-token grants the identity emulator served (probes, resets, anything)."""
    return len(harness.stack.identity.requests_to("POST", TOKEN_PATH))


def stored_versions(harness: Harness) -> int:
    """New refresh-token versions written to Key Vault by the function."""
    return harness.stack.key_vault.writes(SECRET_NAME_REFRESH_TOKEN)


def bearer(harness: Harness, roles: list[str] | None) -> dict[str, str]:
    token = harness.stack.identity.mint_caller_token({"roles": roles})
    harness.extra_secrets.append(token)
    return {"Authorization": f"Bearer {token}"}


def check_health(
    harness: Harness,
    params: dict[str, str] | None = None,
    headers: dict[str, str] | None = None,
) -> Answer:
    return harness.call(
        "credentials_health",
        method="GET",
        route="health/credentials",
        route_params={},
        params=params,
        headers=headers,
    )


def probe(harness: Harness, headers: dict[str, str] | None = None) -> Answer:
    return check_health(harness, PROBE, headers)


def token_exchange(answer: Answer) -> dict[str, Any]:
    return checks(answer)["token_exchange"]


def probe_audits(harness: Harness) -> list[dict[str, Any]]:
    return [
        r.custom_dimensions  # type: ignore[attr-defined]
        for r in harness.caplog.records
        if r.name == "audit.credentials_health"
    ]


# --- the floor: one real exchange per HEALTH_PROBE_MIN_SECONDS --------------------------


def test_25_probes_within_the_floor_redeem_the_refresh_token_once(
    harness: Harness, clock: ManualClock
) -> None:
    answers = []
    for _ in range(25):
        answers.append(probe(harness))
        clock.advance(1)
    assert redemptions(harness) == 1
    assert stored_versions(harness) == 1
    assert [a.status for a in answers] == [200] * 25


def test_only_the_probe_that_exchanged_says_probed(harness: Harness, clock: ManualClock) -> None:
    first = probe(harness)
    clock.advance(10)
    second = probe(harness)
    assert token_exchange(first)["probed"] is True
    assert token_exchange(second)["probed"] is False


def test_a_probe_within_the_floor_names_the_last_probes_time(
    harness: Harness, clock: ManualClock
) -> None:
    first = probe(harness)
    clock.advance(10)
    second = probe(harness)
    last_probe = token_exchange(first)["lastProbeAt"]
    assert isinstance(last_probe, str) and last_probe.endswith("Z")
    assert token_exchange(second)["lastProbeAt"] == last_probe


def test_after_the_floor_a_probe_exchanges_again(harness: Harness, clock: ManualClock) -> None:
    probe(harness)
    clock.advance(300)
    again = probe(harness)
    assert token_exchange(again)["probed"] is True
    assert redemptions(harness) == 2
    assert stored_versions(harness) == 2


def test_the_floor_is_an_app_setting(harness: Harness, clock: ManualClock) -> None:
    harness.configure(HEALTH_PROBE_MIN_SECONDS="60")
    probe(harness)
    clock.advance(59)
    probe(harness)
    assert redemptions(harness) == 1
    clock.advance(1)
    probe(harness)
    assert redemptions(harness) == 2


def test_a_floor_of_zero_lets_every_probe_exchange(harness: Harness, clock: ManualClock) -> None:
    harness.configure(HEALTH_PROBE_MIN_SECONDS="0")
    for _ in range(3):
        assert token_exchange(probe(harness))["probed"] is True
    assert redemptions(harness) == 3


def concurrent_probes(harness: Harness, count: int = 8) -> list[Answer]:
    """`count` probes at once, while the one exchange is held long enough for every probe
    to arrive before it ends."""
    harness.stack.identity.inject(Delay(0.3), path=TOKEN_PATH)
    start = threading.Barrier(count)
    answers: list[Answer] = []

    def one_probe() -> None:
        start.wait()
        answers.append(probe(harness))

    threads = [threading.Thread(target=one_probe) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    assert len(answers) == count
    return answers


def test_concurrent_probes_share_one_exchange(harness: Harness, clock: ManualClock) -> None:
    check_health(harness)  # warm: the secrets are read, no exchange yet
    answers = concurrent_probes(harness)
    assert redemptions(harness) == 1
    assert sorted(token_exchange(a)["probed"] for a in answers) == [False] * 7 + [True]
    assert {a.status for a in answers} == {200}


def test_probes_arriving_during_a_new_exchange_report_it_not_the_old_one(
    harness: Harness, clock: ManualClock
) -> None:
    earlier = token_exchange(probe(harness))["lastProbeAt"]
    clock.advance(3600)
    answers = concurrent_probes(harness)
    assert redemptions(harness) == 2
    reported = {token_exchange(a)["lastProbeAt"] for a in answers}
    assert len(reported) == 1
    assert reported != {earlier}


def test_a_failed_probe_is_reported_within_the_floor_without_another_exchange(
    harness: Harness, clock: ManualClock
) -> None:
    harness.stack.identity.revoke_refresh_tokens(aadsts=50173)
    first = probe(harness)
    tried = redemptions(harness)
    clock.advance(30)
    second = probe(harness)
    assert redemptions(harness) == tried
    assert second.status == 503
    assert token_exchange(second)["status"] == "critical"
    assert "AADSTS50173" in token_exchange(second)["detail"]
    assert token_exchange(second)["lastProbeAt"] == token_exchange(first)["lastProbeAt"]


def test_the_check_without_probe_still_makes_no_exchange(
    harness: Harness, clock: ManualClock
) -> None:
    for _ in range(3):
        check_health(harness)
    assert redemptions(harness) == 0


# --- who may probe: caller tokens and CALLER_OPERATOR_ROLE ------------------------------


@pytest.mark.parametrize("params", [None, PROBE], ids=["check", "probe"])
def test_without_a_token_both_forms_are_401_with_a_bearer_challenge(
    tokens_on: Harness, params: dict[str, str] | None
) -> None:
    answer = check_health(tokens_on, params)
    assert_problem(answer, 401, "unauthenticated")
    assert answer.headers["www-authenticate"].startswith("Bearer")
    assert redemptions(tokens_on) == 0


def test_an_expired_token_is_401(tokens_on: Harness) -> None:
    token = tokens_on.stack.identity.mint_caller_token({"exp": int(time.time()) - 600})
    tokens_on.extra_secrets.append(token)
    answer = probe(tokens_on, {"Authorization": f"Bearer {token}"})
    assert_problem(answer, 401, "unauthenticated")


def test_a_probe_without_the_operator_role_is_403_and_exchanges_nothing(
    tokens_on: Harness,
) -> None:
    answer = probe(tokens_on, bearer(tokens_on, [INVOKE_ROLE]))
    problem = assert_problem(answer, 403, "forbidden")
    assert OPERATOR_ROLE in problem["detail"]
    assert redemptions(tokens_on) == 0


def test_a_probe_with_the_operator_role_is_answered(tokens_on: Harness) -> None:
    answer = probe(tokens_on, bearer(tokens_on, [OPERATOR_ROLE]))
    assert answer.status == 200
    assert token_exchange(answer)["probed"] is True


@pytest.mark.parametrize("role", [INVOKE_ROLE, OPERATOR_ROLE])
def test_the_check_without_probe_takes_either_role(tokens_on: Harness, role: str) -> None:
    assert check_health(tokens_on, headers=bearer(tokens_on, [role])).status == 200


@pytest.mark.parametrize("params", [None, PROBE], ids=["check", "probe"])
def test_a_token_with_neither_role_is_403(
    tokens_on: Harness, params: dict[str, str] | None
) -> None:
    answer = check_health(tokens_on, params, headers=bearer(tokens_on, ["Something.Else"]))
    assert_problem(answer, 403, "forbidden")


def test_the_operator_role_is_an_app_setting(tokens_on: Harness) -> None:
    tokens_on.configure(CALLER_OPERATOR_ROLE="Credentials.Probe")
    refused = probe(tokens_on, bearer(tokens_on, [OPERATOR_ROLE]))
    assert_problem(refused, 403, "forbidden")
    assert probe(tokens_on, bearer(tokens_on, ["Credentials.Probe"])).status == 200


def test_the_caller_policy_plays_no_part(tokens_on: Harness) -> None:
    tokens_on.configure(CALLER_POLICY='{"someone-else": ["*"]}')
    assert probe(tokens_on, bearer(tokens_on, [OPERATOR_ROLE])).status == 200


def test_a_malformed_query_is_refused_only_after_the_caller_is_known(tokens_on: Harness) -> None:
    assert_problem(check_health(tokens_on, {"prob": "true"}), 401, "unauthenticated")


def test_half_set_caller_token_settings_are_a_configuration_error(harness: Harness) -> None:
    harness.configure(CALLER_TENANT_ID=harness.stack.identity.caller_tenant_id)
    problem = assert_problem(check_health(harness), 500, "configuration_error")
    assert "CALLER_AUDIENCE" in problem["detail"]
    assert harness.stack.key_vault.requests == []


@pytest.mark.parametrize("value", ["", " ", "soon", "-1", "3601", "1.5"])
def test_a_malformed_floor_is_a_configuration_error_naming_it(harness: Harness, value: str) -> None:
    harness.configure(HEALTH_PROBE_MIN_SECONDS=value)
    problem = assert_problem(probe(harness), 500, "configuration_error")
    assert "HEALTH_PROBE_MIN_SECONDS" in problem["detail"]
    assert redemptions(harness) == 0


def test_a_malformed_floor_is_reported_at_start_up(harness: Harness) -> None:
    from worker.startup import report_settings_problems

    harness.configure(HEALTH_PROBE_MIN_SECONDS="soon")
    [problem] = report_settings_problems()
    assert problem.startswith("HEALTH_PROBE_MIN_SECONDS")


def test_a_bad_caller_setting_is_reported_once_at_start_up(harness: Harness) -> None:
    from worker.startup import report_settings_problems

    harness.configure(CALLER_TENANT_ID=harness.stack.identity.caller_tenant_id)
    [problem] = report_settings_problems()
    assert "CALLER_AUDIENCE" in problem


def test_a_bad_floor_does_not_break_resets(harness: Harness) -> None:
    harness.configure(HEALTH_PROBE_MIN_SECONDS="soon", CALLER_OPERATOR_ROLE=" ")
    assert harness.reset().status == 200


# --- the audit record --------------------------------------------------------------------


def test_each_probe_writes_an_audit_record_naming_its_caller(
    tokens_on: Harness, clock: ManualClock
) -> None:
    headers = bearer(tokens_on, [OPERATOR_ROLE])
    first = probe(tokens_on, headers)
    clock.advance(5)
    probe(tokens_on, headers)
    records = probe_audits(tokens_on)
    assert [r["event"] for r in records] == ["credentials_health.probe"] * 2
    assert [r["probed"] for r in records] == [True, False]
    assert {r["caller"]["appId"] for r in records} == {CALLER_APP_ID}
    assert records[0]["correlationId"] == first.headers["x-correlation-id"]
    assert records[0]["lastProbeAt"] == records[1]["lastProbeAt"] is not None
    assert [r["status"] for r in records] == ["ok", "ok"]
    assert [r["httpStatus"] for r in records] == [200, 200]


def test_a_refused_probe_is_audited_too(tokens_on: Harness) -> None:
    probe(tokens_on, bearer(tokens_on, [INVOKE_ROLE]))
    [record] = probe_audits(tokens_on)
    assert record["caller"]["appId"] == CALLER_APP_ID
    assert record["probed"] is False
    assert record["status"] == "forbidden"
    assert record["httpStatus"] == 403


def test_with_tokens_off_the_function_key_is_the_caller(harness: Harness) -> None:
    probe(harness)
    [record] = probe_audits(harness)
    assert record["caller"]["kind"] == "function-key"


def test_the_check_without_probe_writes_no_audit_record(harness: Harness) -> None:
    check_health(harness)
    assert probe_audits(harness) == []


def test_the_audit_record_holds_no_secret(tokens_on: Harness) -> None:
    probe(tokens_on, bearer(tokens_on, [OPERATOR_ROLE]))
    [record] = probe_audits(tokens_on)
    text = json.dumps(record)
    for secret in tokens_on.secrets():
        assert secret not in text


# --- the last line of defence ---------------------------------------------------------


def test_an_unexpected_error_is_the_reset_routes_500_problem(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    def explode(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError(INTERNAL_STATE)

    monkeypatch.setattr("credentials.checks.gather", explode)
    answer = check_health(harness)
    problem = assert_problem(answer, 500, "internal_error")
    assert answer.headers["cache-control"] == "no-store"
    assert "RuntimeError" not in problem["detail"]
    assert INTERNAL_STATE not in answer.raw.decode()
    logged = "\n".join(r.getMessage() for r in harness.caplog.records)
    assert "RuntimeError" in logged
    assert INTERNAL_STATE not in logged


def test_an_unexpected_error_during_a_probe_is_audited(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    def explode(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("boom")

    monkeypatch.setattr("credentials.checks.gather", explode)
    assert_problem(probe(harness), 500, "internal_error")
    [record] = probe_audits(harness)
    assert record["status"] == "internal_error"
    assert record["httpStatus"] == 500
