"""Fail closed: each way the function once failed open, now refused or answered safely.

Every case runs against the emulators through the real clients; the harness then
searches every answer and log line for the canary password and every secret.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from pathlib import Path
from typing import Any

import pytest

from dev.emulators.faults import Hang, Status
from dev.emulators.identity import CALLER_APP_ID
from dev.emulators.pc_models import GLOBAL_ADMINISTRATOR_ROLE_ID, USER_ADMINISTRATOR_ROLE_ID
from dev.emulators.samples import (
    NO_GDAP_CUSTOMER_ID,
    SAMPLE_ADMIN_USER_ID,
    SAMPLE_CUSTOMER_DOMAIN,
    SAMPLE_CUSTOMER_ID,
    SAMPLE_USER_ID,
    SECRET_NAME_REFRESH_TOKEN,
)
from shared.caller_auth import CallerTokenValidator, TokenRules
from shared.context import Deadline, request_scope
from shared.errors import DependencyUnavailable
from shared.upstream import Upstream
from tests.integration.conftest import CANARY_PASSWORD, ROUTE, Answer, Harness, ResetCall
from tests.integration.helpers import (
    add_user,
    assert_problem,
    audit_records,
    bearer,
    reset_patches,
    run_timer,
)
from worker.http import build_session

RESET = r"/resetpassword$"
CUSTOMER_PAGE = "/v1/customers"


def add_role_holder(harness: Harness, roles: list[tuple[str, str]]) -> str:
    return harness.stack.partner_center.add_user(
        SAMPLE_CUSTOMER_ID,
        user_principal_name=f"role-{uuid.uuid4().hex[:8]}@contoso.onmicrosoft.com",
        first_name="Role",
        last_name="Holder",
        roles=roles,
    ).id


# --- 1. a blank or narrowed protected-role list ---------------------------------------


@pytest.mark.parametrize("blank", ["", " ", ","])
def test_a_blank_protected_role_list_still_protects_a_global_admin(
    harness: Harness, blank: str
) -> None:
    harness.configure(PROTECTED_ROLE_IDS=blank)
    assert_problem(harness.reset(user=SAMPLE_ADMIN_USER_ID), 403, "protected_user")
    assert reset_patches(harness) == 0


def test_a_list_without_the_core_roles_still_protects_them(harness: Harness) -> None:
    harness.configure(PROTECTED_ROLE_IDS=USER_ADMINISTRATOR_ROLE_ID)
    assert_problem(harness.reset(user=SAMPLE_ADMIN_USER_ID), 403, "protected_user")


def test_the_effective_protected_list_is_logged_at_start_up(
    harness: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    from worker.startup import report_settings_problems

    harness.configure(PROTECTED_ROLE_IDS=" ")
    report_settings_problems()
    [line] = [
        r.getMessage() for r in caplog.records if "Protected role template IDs" in r.getMessage()
    ]
    assert GLOBAL_ADMINISTRATOR_ROLE_ID in line


# --- 2. query parameters ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("params", "named"),
    [
        ({"dryRun": ""}, "dryRun"),
        ({"dryrun": "true"}, "dryrun"),
        ({"DryRun": "true"}, "DryRun"),
        ({"dry_run": "true"}, "dry_run"),
        # Brackets are not in the contract's field-name rule: refused all the same.
        ({"dryRun[]": "true"}, "(unknown field)"),
        ({"dryRun": "true,true"}, "dryRun"),
        ({"dryRun": "true,false"}, "dryRun"),
        ({"dryRun": "1"}, "dryRun"),
    ],
)
def test_a_misspelt_empty_or_repeated_dry_run_is_400_before_anything_goes_upstream(
    harness: Harness, params: dict[str, str], named: str
) -> None:
    problem = assert_problem(harness.reset(params=params), 400, "invalid_request")
    assert named in [error["field"] for error in problem["errors"]]
    assert harness.stack.partner_center.requests == []


def test_a_bare_dry_run_in_the_url_is_400(harness: Harness) -> None:
    answer = harness.call(
        "reset_password",
        method="POST",
        route=ROUTE.format(customer=SAMPLE_CUSTOMER_ID, user=SAMPLE_USER_ID) + "?dryRun",
        route_params={"customer": SAMPLE_CUSTOMER_ID, "user": SAMPLE_USER_ID},
        body=json.dumps({"password": CANARY_PASSWORD}).encode(),
        headers={"Content-Type": "application/json"},
    )
    assert_problem(answer, 400, "invalid_request")
    assert harness.stack.partner_center.requests == []


@pytest.mark.parametrize("value", ["TRUE", "True", "true"])
def test_dry_run_takes_true_in_any_case(harness: Harness, value: str) -> None:
    answer = harness.reset(params={"dryRun": value})
    assert answer.status == 200 and answer.json["status"] == "validated"
    assert reset_patches(harness) == 0


def test_the_hosts_function_key_parameter_is_accepted(harness: Harness) -> None:
    assert harness.reset(params={"code": "function-key-value"}).status == 200


# --- 3. redirects ----------------------------------------------------------------------


def test_the_token_endpoint_redirect_is_not_followed(harness: Harness) -> None:
    elsewhere = harness.stack.partner_center.url + "/collect"
    for status in (307, 308):
        harness.stack.identity.inject(
            Status(status, b"", {"Location": elsewhere}), times=None, path=r"/token$"
        )
        assert_problem(harness.reset(), 503, "dependency_unavailable")
        harness.stack.identity.clear_faults()
    assert harness.stack.partner_center.requests_to("POST", "/collect") == []
    assert reset_patches(harness) == 0


def test_a_key_vault_redirect_is_not_followed(harness: Harness) -> None:
    elsewhere = harness.stack.partner_center.url + "/collect"
    harness.stack.key_vault.inject(
        Status(307, b"", {"Location": elsewhere}), times=None, path="/secrets/"
    )
    assert_problem(harness.reset(), 503, "dependency_unavailable")
    assert harness.stack.partner_center.requests == []


def test_a_partner_center_redirect_is_an_upstream_error(
    harness: Harness, reset_call: ResetCall
) -> None:
    elsewhere = harness.stack.identity.url + "/collect"
    reset_call.inject(harness, Status(307, b"", {"Location": elsewhere}), times=None)
    assert_problem(harness.reset(), 502, "upstream_error")
    assert len(reset_call.patches(harness)) == 1
    assert harness.stack.identity.requests_to("PATCH", "/collect") == []


def test_a_plain_http_authority_off_loopback_is_a_configuration_error(harness: Harness) -> None:
    harness.configure(AUTHORITY_HOST="http://login.example.com")
    problem = assert_problem(harness.reset(), 500, "configuration_error")
    assert "AUTHORITY_HOST" in problem["detail"]
    assert "login.example.com" not in problem["detail"]


# --- 4. a stale UPN entry with the guard off ----------------------------------------------


def test_a_renamed_upn_resets_its_new_owner_not_the_old_one(harness: Harness) -> None:
    harness.configure(PROTECTED_ROLE_GUARD="false")
    upn = "jdoe@contoso.onmicrosoft.com"
    old_id = add_user(harness, SAMPLE_CUSTOMER_ID, upn)
    assert harness.reset(user=upn).status == 200
    pc = harness.stack.partner_center
    pc.user(SAMPLE_CUSTOMER_ID, old_id).user_principal_name = "jdoe.old@contoso.onmicrosoft.com"
    new_id = add_user(harness, SAMPLE_CUSTOMER_ID, upn)

    answer = harness.reset(user=upn)

    assert answer.status == 200 and answer.json["userId"] == new_id
    assert [r.user_id for r in pc.applied_resets] == [old_id, new_id]


def test_a_user_named_by_object_id_needs_no_read_with_the_guard_off(harness: Harness) -> None:
    harness.configure(PROTECTED_ROLE_GUARD="false")
    harness.reset()
    assert [r.method for r in harness.stack.partner_center.requests] == ["PATCH"]


# --- 5. upstream strings never quoted ---------------------------------------------------


@pytest.mark.parametrize("status", [400, 403, 409, 500])
def test_a_string_error_code_from_partner_center_is_never_quoted(
    harness: Harness, status: int
) -> None:
    harness.configure(PROTECTED_ROLE_GUARD="false")
    echo: dict[str, object] = {"code": f"Bad {CANARY_PASSWORD}", "description": CANARY_PASSWORD}
    harness.stack.partner_center.inject(Status(status, echo), times=None, path=RESET)
    answer = harness.reset()
    assert answer.status >= 400
    assert "Bad" not in answer.json["detail"]


def test_a_numeric_error_code_is_quoted(harness: Harness) -> None:
    harness.configure(PROTECTED_ROLE_GUARD="false")
    harness.stack.partner_center.inject(Status(400, {"code": 2001, "description": "x"}), path=RESET)
    assert "2001" in assert_problem(harness.reset(), 400, "invalid_request")["detail"]


def test_protected_role_names_come_from_our_table_not_the_answer(harness: Harness) -> None:
    user = add_role_holder(harness, [(f"Admin {CANARY_PASSWORD}", GLOBAL_ADMINISTRATOR_ROLE_ID)])
    problem = assert_problem(harness.reset(user=user), 403, "protected_user")
    assert "Global Administrator" in problem["detail"]


def test_a_display_name_quoting_the_password_is_left_out_of_the_answer(harness: Harness) -> None:
    harness.stack.partner_center.user(
        SAMPLE_CUSTOMER_ID, SAMPLE_USER_ID
    ).display_name = f"Ada {CANARY_PASSWORD}"
    answer = harness.reset()
    assert answer.status == 200 and answer.json["displayName"] is None


# --- 6. hostile upstream values ---------------------------------------------------------


@pytest.mark.parametrize("value", ["\u00b2", "1e9999", "-5", "soon"])
def test_an_unreadable_retry_after_is_treated_as_absent(harness: Harness, value: str) -> None:
    harness.configure(PROTECTED_ROLE_GUARD="false")
    harness.stack.partner_center.inject(
        Status(429, {"statusCode": 429}, {"Retry-After": value}), path=RESET
    )
    assert harness.reset().status == 200


@pytest.mark.parametrize("value", ["\u00b2", "NaN", None, -1, "1e9999", True])
def test_an_unreadable_token_lifetime_keeps_the_reset_and_the_refresh_token(
    harness: Harness, value: object
) -> None:
    harness.stack.identity.token_answer_overrides = {"expires_in": value, "expires_on": value}
    assert harness.reset().status == 200
    harness.wait_for_refresh_token_write()
    stored = harness.stack.key_vault.secret_value(SECRET_NAME_REFRESH_TOKEN)
    assert stored == harness.stack.identity.latest_refresh_token


@pytest.mark.parametrize("token", ["t\u00f6ken-\u4e2d", "with space", ""])
def test_an_access_token_no_header_can_carry_is_a_503(harness: Harness, token: str) -> None:
    harness.stack.identity.token_answer_overrides = {"access_token": token}
    assert_problem(harness.reset(), 503, "dependency_unavailable")
    assert harness.stack.partner_center.requests == []


def test_the_timer_alerts_on_an_unexpected_failure(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    def explode(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError(f"boom {CANARY_PASSWORD}")

    monkeypatch.setattr("credentials.partner_center_tokens.PartnerCenterTokens.exchange", explode)
    run_timer(harness)
    alerts = [r.getMessage() for r in harness.caplog.records if "ALERT" in r.getMessage()]
    assert alerts and "RuntimeError" in alerts[0]


# --- 7. Retry-After bounds ---------------------------------------------------------------


@pytest.mark.parametrize("upstream", ["999999999", "0"])
def test_the_answers_retry_after_is_between_1_and_300(harness: Harness, upstream: str) -> None:
    harness.configure(PROTECTED_ROLE_GUARD="false", RESET_DEADLINE_SECONDS="1")
    harness.stack.partner_center.inject(
        Status(429, {"statusCode": 429}, {"Retry-After": upstream}), times=None, path=RESET
    )
    answer = assert_problem(harness.reset(), 429, "throttled")
    assert answer["status"] == 429
    assert 1 <= int(harness.answers[-1].headers["retry-after"]) <= 300


# --- 8. restricted callers cannot map the customers ------------------------------------


@pytest.fixture
def restricted(harness: Harness) -> Harness:
    harness.configure(
        **harness.stack.settings(caller_auth=True),
        CALLER_POLICY=json.dumps({CALLER_APP_ID: [NO_GDAP_CUSTOMER_ID]}),
    )
    return harness


@pytest.mark.parametrize(
    "customer", [SAMPLE_CUSTOMER_ID, SAMPLE_CUSTOMER_DOMAIN, "nobody-here.example.com"]
)
def test_a_restricted_caller_gets_one_answer_for_every_customer_it_may_not_touch(
    restricted: Harness, customer: str
) -> None:
    problem = assert_problem(
        restricted.reset(customer=customer, headers=bearer(restricted)), 403, "forbidden"
    )
    assert problem["detail"] == "This caller may not act on the customer it named."
    assert SAMPLE_CUSTOMER_ID not in json.dumps(problem)
    assert reset_patches(restricted) == 0


# --- 9. configuration errors name settings, not values ---------------------------------


def test_a_configuration_error_names_the_setting_not_its_value(harness: Harness) -> None:
    harness.configure(CALLER_POLICY=json.dumps({"app-secret-name": ["tenant-secret-name"]}))
    problem = assert_problem(harness.reset(), 500, "configuration_error")
    assert "CALLER_POLICY" in problem["detail"]
    assert "secret-name" not in json.dumps(problem)


# --- 10. idempotency keys and passwords ---------------------------------------------------


def test_the_same_key_with_another_password_is_applied_under_another_request_id(
    harness: Harness,
) -> None:
    harness.configure(PROTECTED_ROLE_GUARD="false")
    key = {"Idempotency-Key": "INC0012345"}
    assert harness.reset(headers=key).status == 200
    second = harness.reset({"password": "Another#Pw-2024"}, headers=key)
    assert second.status == 200
    applied = harness.stack.partner_center.applied_resets
    assert len(applied) == 2 and applied[0].request_id != applied[1].request_id
    current = harness.stack.partner_center.current_password(SAMPLE_CUSTOMER_ID, SAMPLE_USER_ID)
    assert current == "Another#Pw-2024"
    harness.extra_secrets.append("Another#Pw-2024")


# --- 11. a refresh token that could not be stored -------------------------------------------


def test_an_unstored_refresh_token_stays_in_use_until_a_write_lands(harness: Harness) -> None:
    harness.configure(PROTECTED_ROLE_GUARD="false", SECRET_CACHE_SECONDS="0")
    identity, vault = harness.stack.identity, harness.stack.key_vault
    identity.revoke_used_refresh_tokens = True
    vault.read_only = True

    for _ in range(3):
        # A 401 makes the function exchange the refresh token again.
        harness.stack.partner_center.inject(Status(401, b""), path=RESET)
        assert harness.reset().status == 200
    assert identity.exchanges == 4

    vault.read_only = False
    harness.stack.partner_center.inject(Status(401, b""), path=RESET)
    assert harness.reset().status == 200
    deadline = time.monotonic() + 5
    while vault.secret_value(SECRET_NAME_REFRESH_TOKEN) != identity.latest_refresh_token:
        assert time.monotonic() < deadline, "the newest refresh token never reached the vault"
        time.sleep(0.01)


def test_a_refused_write_back_logs_what_is_true(harness: Harness) -> None:
    harness.configure(PROTECTED_ROLE_GUARD="false")
    harness.stack.key_vault.read_only = True
    assert harness.reset().status == 200
    deadline = time.monotonic() + 5
    while not any("ALERT" in r.getMessage() for r in harness.caplog.records):
        assert time.monotonic() < deadline
        time.sleep(0.01)
    text = "\n".join(r.getMessage() for r in harness.caplog.records)
    assert "stays in use in memory" in text
    assert "previous refresh token stays valid" not in text


# --- 12 and 18. the roles check sees every page, by ID or by name ------------------------


def test_a_protected_role_on_the_second_page_is_seen(harness: Harness) -> None:
    harness.stack.partner_center.directory_roles_page_size = 1
    user = add_role_holder(
        harness,
        [
            ("Reports Reader", str(uuid.uuid4())),
            ("Global Administrator", GLOBAL_ADMINISTRATOR_ROLE_ID),
        ],
    )
    assert_problem(harness.reset(user=user), 403, "protected_user")
    assert len(harness.stack.partner_center.requests_to("GET", "/directoryroles$")) == 2


@pytest.mark.parametrize(
    "name", ["Company Administrator", "GLOBAL ADMINISTRATOR", "user account administrator"]
)
def test_a_protected_role_is_recognised_by_name_when_its_id_is_the_object_id(
    harness: Harness, name: str
) -> None:
    user = add_role_holder(harness, [(name, str(uuid.uuid4()))])
    assert_problem(harness.reset(user=user), 403, "protected_user")
    assert reset_patches(harness) == 0


def test_an_unprotected_role_does_not_block_the_reset(harness: Harness) -> None:
    user = add_role_holder(harness, [("Reports Reader", str(uuid.uuid4()))])
    assert harness.reset(user=user).status == 200


# --- 13. UPN misses are remembered -------------------------------------------------------


def test_ten_requests_for_a_missing_upn_page_through_the_users_once(harness: Harness) -> None:
    for index in range(12):
        add_user(harness, SAMPLE_CUSTOMER_ID, f"bulk{index}@contoso.onmicrosoft.com")
    missing = "nobody@contoso.onmicrosoft.com"
    for _ in range(10):
        assert_problem(harness.reset(user=missing), 404, "user_not_found")
    lists = harness.stack.partner_center.requests_to("GET", r"/users$")
    assert len(lists) == 1


def test_a_missing_upn_is_looked_up_again_once_the_miss_expires(harness: Harness) -> None:
    harness.configure(LOOKUP_MISS_CACHE_SECONDS="0")
    missing = "nobody@contoso.onmicrosoft.com"
    for _ in range(3):
        assert_problem(harness.reset(user=missing), 404, "user_not_found")
    assert len(harness.stack.partner_center.requests_to("GET", r"/users$")) == 3


def test_a_missing_domain_is_remembered_too(harness: Harness) -> None:
    for _ in range(3):
        assert_problem(harness.reset(customer="nobody.example.com"), 404, "customer_not_found")
    assert len(harness.stack.identity.requests_to("GET", "openid-configuration")) == 1


# --- 14. caller signing keys: stale while revalidate ---------------------------------------


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def validator(harness: Harness, clock: Clock, **kwargs: Any) -> CallerTokenValidator:
    identity = harness.stack.identity
    return CallerTokenValidator(
        upstream=Upstream("the identity platform", build_session(), (3.0, 5.0)),
        authority_host=identity.url,
        rules=TokenRules(
            identity.caller_tenant_id, identity.caller_audience, "PasswordReset.Invoke"
        ),
        clock=clock,
        **kwargs,
    )


def authenticate(checker: CallerTokenValidator, headers: dict[str, str], seconds: float) -> Any:
    with request_scope(uuid.uuid4(), Deadline(seconds)):
        return checker.authenticate(headers)


def authorization(harness: Harness, **kwargs: Any) -> dict[str, str]:
    token = harness.stack.identity.mint_caller_token(**kwargs)
    harness.extra_secrets.append(token)
    return {"authorization": f"Bearer {token}"}


def test_cached_keys_keep_serving_when_a_refresh_fails(harness: Harness) -> None:
    clock = Clock()
    checker = validator(harness, clock)
    headers = authorization(harness)
    authenticate(checker, headers, 5)
    clock.now += 2 * 24 * 3600  # the key set is due for its daily refresh
    harness.stack.identity.inject(Status(500, b""), times=None, path="openid-configuration")
    assert authenticate(checker, headers, 5).app_id == CALLER_APP_ID


def test_failed_refreshes_also_respect_the_floor(harness: Harness) -> None:
    clock = Clock()
    checker = validator(harness, clock)
    harness.stack.identity.inject(Status(500, b""), times=None, path="openid-configuration")
    headers = authorization(harness)
    for _ in range(5):
        with pytest.raises(DependencyUnavailable):
            authenticate(checker, headers, 5)
    assert len(harness.stack.identity.requests_to("GET", "openid-configuration")) == 1
    clock.now += 11
    with pytest.raises(DependencyUnavailable):
        authenticate(checker, headers, 5)
    assert len(harness.stack.identity.requests_to("GET", "openid-configuration")) == 2


def test_a_caller_does_not_queue_behind_a_hanging_refresh(harness: Harness) -> None:
    clock = Clock()
    checker = validator(harness, clock, lock_wait=0.05)
    headers = authorization(harness)
    authenticate(checker, headers, 5)
    clock.now += 2 * 24 * 3600  # due for the daily refresh
    loads = len(harness.stack.identity.requests_to("GET", "openid-configuration"))
    harness.stack.identity.inject(Hang(5), path="openid-configuration")
    stuck = threading.Thread(target=lambda: authenticate(checker, headers, 5))
    stuck.start()
    # Wait for the refresh (not the first load) to be under way before calling again.
    while len(harness.stack.identity.requests_to("GET", "openid-configuration")) == loads:
        time.sleep(0.005)
    assert authenticate(checker, headers, 5).app_id == CALLER_APP_ID
    harness.stack.identity.clear_faults()  # lets the hanging call end
    stuck.join(5)


def test_a_first_key_load_that_hangs_is_503_after_the_wait(harness: Harness) -> None:
    checker = validator(harness, Clock(), lock_wait=0.05)
    headers = authorization(harness)
    harness.stack.identity.inject(Hang(5), path="openid-configuration")
    stuck = threading.Thread(target=lambda: _refused(checker, headers))
    stuck.start()
    while not harness.stack.identity.requests_to("GET", "openid-configuration"):
        time.sleep(0.005)
    with pytest.raises(DependencyUnavailable):
        authenticate(checker, headers, 5)
    harness.stack.identity.clear_faults()
    stuck.join(5)


def _refused(checker: CallerTokenValidator, headers: dict[str, str]) -> None:
    with pytest.raises(DependencyUnavailable):
        authenticate(checker, headers, 5)


def test_a_deadline_hit_loading_keys_is_not_blamed_on_partner_center(harness: Harness) -> None:
    checker = validator(harness, Clock())
    with pytest.raises(DependencyUnavailable):
        authenticate(checker, authorization(harness), 0)


# --- 15. ticketId characters ----------------------------------------------------------------


@pytest.mark.parametrize(
    "ticket", ["INC\u202e1", "INC\u200b1", "INC\u20281", "INC\u20291", "INC\u00851", "INC\x7f"]
)
def test_a_ticket_id_with_hidden_or_control_characters_is_400(
    harness: Harness, ticket: str
) -> None:
    answer = harness.reset({"password": CANARY_PASSWORD, "ticketId": ticket})
    problem = assert_problem(answer, 400, "invalid_request")
    assert [e["field"] for e in problem["errors"]] == ["ticketId"]


# --- 16. audit integrity --------------------------------------------------------------------


def test_traces_are_never_sampled_so_audit_records_survive_a_burst() -> None:
    host = json.loads(Path("host.json").read_text())
    excluded = host["logging"]["applicationInsights"]["samplingSettings"]["excludedTypes"]
    assert "Trace" in excluded.split(";")


def test_the_audit_record_keeps_the_path_values_of_an_invalid_request(harness: Harness) -> None:
    harness.reset(b"not json", customer="Contoso.Example", user="someone@contoso.example")
    [record] = audit_records(harness)
    assert (record["customerRequested"], record["userRequested"]) == (
        "Contoso.Example",
        "someone@contoso.example",
    )
    assert record["httpStatus"] == 400


def test_the_audit_record_carries_force_change_password(harness: Harness) -> None:
    harness.reset({"password": CANARY_PASSWORD, "forceChangePassword": False})
    [record] = audit_records(harness)
    assert record["forceChangePassword"] is False


@pytest.mark.parametrize("claims", [{"azp": None}, {"azp": None, "appid": ""}])
def test_a_token_naming_no_calling_application_is_401(
    harness: Harness, claims: dict[str, Any]
) -> None:
    harness.configure(**harness.stack.settings(caller_auth=True))
    answer = harness.reset(headers=bearer(harness, claims))
    assert_problem(answer, 401, "unauthenticated")


# --- 17. the correlation ID on every line -----------------------------------------------


def test_retry_and_write_back_lines_carry_the_correlation_id(harness: Harness) -> None:
    harness.configure(PROTECTED_ROLE_GUARD="false")
    correlation = str(uuid.uuid4())
    harness.stack.partner_center.inject(Status(503, {"code": 1}), path=RESET)
    assert harness.reset(headers={"x-correlation-id": correlation}).status == 200
    harness.wait_for_refresh_token_write()
    deadline = time.monotonic() + 5
    while not any("Stored the new refresh token" in r.getMessage() for r in harness.caplog.records):
        assert time.monotonic() < deadline
        time.sleep(0.01)
    ours = [
        r
        for r in harness.caplog.records
        if r.name.startswith(("shared", "reset_password", "audit"))
    ]
    assert ours
    for record in ours:
        assert correlation in record.getMessage(), record.getMessage()


def assert_nothing_upstream(answer: Answer, harness: Harness) -> None:
    assert answer.status >= 400
    assert harness.stack.partner_center.requests == []
