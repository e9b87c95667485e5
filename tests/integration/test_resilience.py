"""Caller retries, credential rotation, single flight and the rotation timer."""

from __future__ import annotations

import logging
import time
from concurrent.futures import ThreadPoolExecutor
from email.utils import formatdate

import pytest

from dev.emulators.faults import Delay, Disconnect, Status
from dev.emulators.samples import (
    SAMPLE_APP_ID,
    SAMPLE_REFRESH_TOKEN,
    SECRET_NAME_APP_ID,
    SECRET_NAME_APP_SECRET,
    SECRET_NAME_REFRESH_TOKEN,
)
from tests.integration.conftest import Harness, ResetCall
from tests.integration.helpers import assert_problem, run_timer

RESET = r"/resetpassword$"
SECRETS = (SECRET_NAME_APP_ID, SECRET_NAME_APP_SECRET, SECRET_NAME_REFRESH_TOKEN)


def wait_for(condition: object, timeout: float = 5.0) -> None:
    assert callable(condition)
    end = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < end, "condition not met in time"
        time.sleep(0.02)


pytestmark = pytest.mark.usefixtures("guard_off")


# --- idempotency ---------------------------------------------------------------------


def test_a_resent_request_with_the_same_idempotency_key_reuses_the_request_id(
    harness: Harness, reset_call: ResetCall
) -> None:
    key = {"Idempotency-Key": "ticket-INC001-attempt"}
    first = harness.reset(headers=key)
    second = harness.reset(headers=key)
    assert first.status == second.status == 200
    ids = [r.headers["ms-requestid"] for r in reset_call.patches(harness)]
    assert len(ids) == 2 and ids[0] == ids[1]
    assert len(harness.stack.partner_center.applied_resets) == 1


def test_different_keys_or_no_key_give_different_request_ids(harness: Harness) -> None:
    harness.reset(headers={"Idempotency-Key": "a"})
    harness.reset(headers={"Idempotency-Key": "b"})
    harness.reset()
    ids = {
        r.headers["ms-requestid"] for r in harness.stack.partner_center.requests_to("PATCH", RESET)
    }
    assert len(ids) == 3


# --- retry policy ----------------------------------------------------------------------


def test_retry_after_as_an_http_date_is_honoured(harness: Harness, reset_call: ResetCall) -> None:
    when = formatdate(time.time() + 2, usegmt=True)
    reset_call.inject(harness, Status(429, {"statusCode": 429}, {"Retry-After": when}))
    assert harness.reset().status == 200
    assert harness.clock.slept >= 0.9


def test_two_5xx_answers_are_retried_to_success(harness: Harness, reset_call: ResetCall) -> None:
    # The backoff's shape (0.5 s, 1.5 s, ...) is specified in tests/unit/test_retry.py.
    harness.reset()
    reset_call.inject(harness, Status(502), times=2)
    assert harness.reset().status == 200
    assert len(reset_call.patches(harness)) == 4


def test_a_read_timeout_is_retried_with_the_same_request_id(
    harness: Harness, reset_call: ResetCall
) -> None:
    harness.timings(partner_center_timeouts=(3.0, 0.3))
    harness.reset()
    reset_call.inject(harness, Delay(0.5))
    harness.stack.partner_center.clear_requests()
    answer = harness.reset()
    assert answer.status == 200
    patches = reset_call.patches(harness)
    assert len(patches) == 2
    assert patches[0].headers["ms-requestid"] == patches[1].headers["ms-requestid"]


def test_the_token_endpoint_failing_once_is_retried(harness: Harness) -> None:
    harness.stack.identity.inject(Status(500, {"error": "server_error"}))
    assert harness.reset().status == 200
    assert harness.stack.identity.exchanges == 1


def test_temporarily_unavailable_from_the_token_endpoint_is_retried(harness: Harness) -> None:
    harness.stack.identity.inject(Status(400, {"error": "temporarily_unavailable"}))
    assert harness.reset().status == 200


def test_a_token_endpoint_that_stays_down_is_503_inside_the_deadline(harness: Harness) -> None:
    harness.configure(RESET_DEADLINE_SECONDS="3")
    harness.stack.identity.inject(Disconnect(), times=None)
    started = harness.clock.now()
    assert_problem(harness.reset(), 503, "dependency_unavailable")
    assert harness.clock.now() - started < 3.5


@pytest.mark.parametrize(
    ("aadsts", "error"),
    [
        (700082, "invalid_grant"),
        (50173, "invalid_grant"),
        (50076, "interaction_required"),
        (50079, "interaction_required"),
        (53003, "interaction_required"),
    ],
)
def test_each_refresh_token_failure_is_named_with_advice(
    harness: Harness, aadsts: int, error: str
) -> None:
    harness.stack.identity.revoke_refresh_tokens(aadsts=aadsts)
    problem = assert_problem(harness.reset(), 503, "partner_credentials_invalid")
    assert f"({error}, AADSTS{aadsts})" in problem["detail"]
    assert harness.stack.partner_center.requests == []


def test_a_wrong_client_secret_is_named(harness: Harness) -> None:
    harness.stack.key_vault.set_secret(SECRET_NAME_APP_SECRET, "not-the-secret")
    problem = assert_problem(harness.reset(), 503, "partner_credentials_invalid")
    assert "AADSTS7000215" in problem["detail"]
    assert SECRET_NAME_APP_SECRET in problem["detail"]


def test_an_expired_client_secret_is_named(harness: Harness) -> None:
    harness.stack.identity.expire_client_secret()
    problem = assert_problem(harness.reset(), 503, "partner_credentials_invalid")
    assert "AADSTS7000222" in problem["detail"]


def test_a_newer_refresh_token_in_key_vault_is_tried_after_a_rejection(
    harness: Harness, reset_call: ResetCall
) -> None:
    harness.configure(SECRET_CACHE_SECONDS="3600")
    harness.reset()
    harness.wait_for_refresh_token_write()
    # The admin's old token is revoked and a re-consented one is stored in the vault.
    harness.stack.identity.revoke_refresh_tokens(aadsts=50173)
    harness.stack.identity.add_refresh_token("re-consented-token-123", SAMPLE_APP_ID)
    harness.stack.key_vault.set_secret(SECRET_NAME_REFRESH_TOKEN, "re-consented-token-123")
    reset_call.inject(harness, Status(401, {"code": 800001}))
    assert harness.reset().status == 200
    harness.assert_nothing_leaked("re-consented-token-123")


# --- refresh-token rotation --------------------------------------------------------


def test_each_new_refresh_token_is_written_back_to_key_vault(harness: Harness) -> None:
    harness.reset()
    kv = harness.stack.key_vault
    harness.wait_for_refresh_token_write()
    assert kv.secret_value(SECRET_NAME_REFRESH_TOKEN) == harness.stack.identity.latest_refresh_token
    assert kv.secret_value(SECRET_NAME_REFRESH_TOKEN) != SAMPLE_REFRESH_TOKEN


def test_rotation_can_be_switched_off(harness: Harness) -> None:
    harness.configure(PROTECTED_ROLE_GUARD="false", ROTATE_REFRESH_TOKEN="false")
    harness.reset()
    harness.finish_background_work()
    assert harness.stack.key_vault.writes(SECRET_NAME_REFRESH_TOKEN) == 0


def test_a_failed_write_back_is_logged_and_the_reset_still_succeeds(harness: Harness) -> None:
    harness.stack.key_vault.read_only = True
    assert harness.reset().status == 200
    wait_for(
        lambda: any(
            r.levelno == logging.ERROR and "Key Vault Secrets Officer" in r.getMessage()
            for r in harness.caplog.records
        )
    )


def test_the_rotated_token_is_used_for_the_next_exchange(harness: Harness) -> None:
    harness.configure(PROTECTED_ROLE_GUARD="false", ROTATE_REFRESH_TOKEN="false")
    harness.stack.identity.revoke_used_refresh_tokens = True
    harness.reset()
    harness.stack.partner_center.inject(Status(401, {"code": 800001}), path=RESET)
    assert harness.reset().status == 200
    assert harness.stack.identity.exchanges == 2


# --- secret cache ------------------------------------------------------------------


def test_a_warm_instance_survives_key_vault_going_down(harness: Harness) -> None:
    harness.configure(PROTECTED_ROLE_GUARD="false", SECRET_CACHE_SECONDS="0")
    harness.reset()
    harness.stack.key_vault.inject(Status(503), times=None)
    # Force a new token exchange, which needs the secrets again.
    harness.stack.partner_center.inject(Status(401, {"code": 800001}), path=RESET)
    assert harness.reset().status == 200
    assert any("Serving cached Key Vault secret" in r.getMessage() for r in harness.caplog.records)


def test_a_cold_instance_with_key_vault_down_is_503(harness: Harness) -> None:
    harness.stack.key_vault.inject(Status(503), times=None)
    assert_problem(harness.reset(), 503, "dependency_unavailable")


# --- single flight -------------------------------------------------------------------


def test_concurrent_cold_requests_make_one_exchange_and_one_read_per_secret(
    harness: Harness,
) -> None:
    harness.configure(PROTECTED_ROLE_GUARD="false", ROTATE_REFRESH_TOKEN="false")
    harness.stack.identity.inject(Delay(0.3))  # widen the race window
    with ThreadPoolExecutor(max_workers=16) as pool:
        statuses = list(pool.map(lambda _: harness.reset().status, range(16)))
    assert statuses == [200] * 16
    assert harness.stack.identity.exchanges == 1
    assert [harness.stack.key_vault.reads(name) for name in SECRETS] == [1, 1, 1]


def test_a_token_near_expiry_is_refreshed_by_one_request_while_others_use_it(
    harness: Harness,
) -> None:
    harness.configure(PROTECTED_ROLE_GUARD="false", ROTATE_REFRESH_TOKEN="false")
    later = 0.0
    harness.timings(token_clock=lambda: time.time() + later)
    harness.stack.identity.access_token_lifetime = 2  # refresh window opens after 1 s
    harness.reset()
    later = 1.1
    harness.stack.identity.inject(Delay(0.5))
    with ThreadPoolExecutor(max_workers=8) as pool:
        started = time.monotonic()
        statuses = list(pool.map(lambda _: harness.reset().status, range(8)))
    assert statuses == [200] * 8
    assert harness.stack.identity.exchanges == 2
    # Only the refreshing request waited for the slow exchange.
    assert time.monotonic() - started < 2.0


# --- the rotation timer --------------------------------------------------------------


def test_the_timer_exchanges_and_stores_a_new_refresh_token(harness: Harness) -> None:
    run_timer(harness)
    assert harness.stack.identity.exchanges == 1
    assert harness.stack.key_vault.writes(SECRET_NAME_REFRESH_TOKEN) == 1
    assert harness.stack.partner_center.requests == []
    assert any("Refresh token rotated" in r.getMessage() for r in harness.caplog.records)


def test_the_timer_alerts_with_the_aadsts_code_when_the_exchange_fails(harness: Harness) -> None:
    harness.stack.identity.revoke_refresh_tokens(aadsts=700082)
    run_timer(harness)
    alerts = [r.getMessage() for r in harness.caplog.records if "ALERT" in r.getMessage()]
    assert alerts and "AADSTS700082" in alerts[0]


def test_the_timer_alerts_when_the_write_back_fails(harness: Harness) -> None:
    harness.stack.key_vault.read_only = True
    run_timer(harness)
    alerts = [r.getMessage() for r in harness.caplog.records if "ALERT" in r.getMessage()]
    assert any("could not be stored" in alert for alert in alerts)


def test_the_timer_is_registered_with_a_weekly_schedule(harness: Harness) -> None:
    trigger = harness.registered["rotate_refresh_token"].get_trigger()
    assert trigger.get_dict_repr()["schedule"] == "0 0 3 * * 1"


def test_the_request_id_key_label_is_stable() -> None:
    # Changing the label would break in-flight caller retries across a deployment.
    from reset_password.idempotency import HMAC_KEY_LABEL

    assert HMAC_KEY_LABEL == b"partner-password-reset/idempotency/v1"


def test_an_authority_without_the_v2_endpoint_is_used_through_v1(harness: Harness) -> None:
    harness.stack.identity.inject(Status(404, b""), times=None, path=r"/oauth2/v2\.0/token$")
    assert harness.reset().status == 200
    [v1] = harness.stack.identity.requests_to("POST", r"/oauth2/token$")
    assert v1.form()["resource"] == "https://api.partnercenter.microsoft.com"
    assert "scope" not in v1.form()


def test_a_bad_reset_setting_does_not_stop_the_rotation_timer(harness: Harness) -> None:
    harness.configure(CALLER_POLICY="{not json", PROTECTED_ROLE_IDS="not-a-guid")
    run_timer(harness)
    assert harness.stack.identity.exchanges == 1
    assert harness.stack.key_vault.writes(SECRET_NAME_REFRESH_TOKEN) == 1


def test_the_timer_and_the_route_share_one_token_cache(harness: Harness) -> None:
    harness.configure(PROTECTED_ROLE_GUARD="false")
    run_timer(harness)
    assert harness.reset().status == 200
    assert harness.stack.identity.exchanges == 1
