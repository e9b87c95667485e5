"""Partner Center emulator: the reset, its validation and idempotency, lookups and paging."""

from __future__ import annotations

import json
import uuid
from urllib.parse import quote

import pytest
import requests
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dev.emulators import DropResponse, EmulatorStack
from dev.emulators import samples as s

from .helpers import partner_token, pc_headers, reset_body, reset_url

PASSWORD = "Correct-Horse-42"


def _reset(stack: EmulatorStack, token: str, **headers: str) -> requests.Response:
    return requests.patch(
        reset_url(stack, s.SAMPLE_CUSTOMER_ID, s.SAMPLE_USER_ID),
        headers=pc_headers(token, **headers),
        json=reset_body(PASSWORD),
        timeout=5,
    )


def test_reset_applies_and_echoes_the_password_like_the_real_api(
    emulators: EmulatorStack,
) -> None:
    token = partner_token(emulators)
    request_id, correlation_id = str(uuid.uuid4()), str(uuid.uuid4())

    answer = _reset(
        emulators, token, **{"MS-RequestId": request_id, "MS-CorrelationId": correlation_id}
    )

    assert answer.status_code == 200
    assert answer.headers["Content-Type"] == "application/json; charset=utf-8"
    assert answer.headers["MS-RequestId"] == request_id
    assert answer.headers["MS-CorrelationId"] == correlation_id
    body = answer.json()
    assert body["passwordProfile"] == {"forceChangePassword": True, "password": PASSWORD}
    assert body["id"] == s.SAMPLE_USER_ID
    assert body["userPrincipalName"] == s.SAMPLE_USER_UPN
    assert body["displayName"] == "Ada Lovelace"
    assert body["state"] == "active"
    assert body["softDeletionTime"] is None
    assert body["attributes"] == {"objectType": "CustomerUser"}
    assert body["links"]["self"]["method"] == "GET"
    pc = emulators.partner_center
    assert pc.current_password(s.SAMPLE_CUSTOMER_ID, s.SAMPLE_USER_ID) == PASSWORD
    (applied,) = pc.applied_resets
    assert (applied.request_id, applied.correlation_id) == (request_id, correlation_id)
    assert applied.force_change_password is True
    assert PASSWORD not in repr(applied)


def test_older_route_without_resetpassword_suffix_also_resets(emulators: EmulatorStack) -> None:
    token = partner_token(emulators)
    answer = requests.patch(
        f"{emulators.partner_center.url}/v1/customers/{s.SAMPLE_CUSTOMER_ID}/users/{s.SAMPLE_USER_ID}",
        headers=pc_headers(token),
        json=reset_body(PASSWORD, force_change=False),
        timeout=5,
    )
    assert answer.status_code == 200
    assert emulators.partner_center.applied_resets[0].force_change_password is False


def test_reset_can_answer_204(emulators: EmulatorStack) -> None:
    emulators.partner_center.answer_reset_with_204 = True
    answer = _reset(emulators, partner_token(emulators))
    assert (answer.status_code, answer.content) == (204, b"")
    assert len(emulators.partner_center.applied_resets) == 1


def test_repeated_request_id_replays_without_applying_again(emulators: EmulatorStack) -> None:
    token = partner_token(emulators)
    request_id = str(uuid.uuid4())
    first = _reset(emulators, token, **{"MS-RequestId": request_id})
    second = _reset(emulators, token, **{"MS-RequestId": request_id})

    assert first.status_code == second.status_code == 200
    assert first.json() == second.json()
    assert len(emulators.partner_center.applied_resets) == 1


def test_lost_answer_then_retry_applies_once(emulators: EmulatorStack) -> None:
    token = partner_token(emulators)
    request_id = str(uuid.uuid4())
    emulators.partner_center.inject(DropResponse(), path="resetpassword$")
    with pytest.raises(requests.ConnectionError):
        _reset(emulators, token, **{"MS-RequestId": request_id})

    retry = _reset(emulators, token, **{"MS-RequestId": request_id})

    assert retry.status_code == 200
    assert len(emulators.partner_center.applied_resets) == 1


@pytest.mark.parametrize(
    "headers",
    [
        {"Authorization": ""},
        {"Authorization": "Bearer not-issued"},
        {"Authorization": "Basic abc"},
    ],
)
def test_missing_or_invalid_token_is_800001(
    emulators: EmulatorStack, headers: dict[str, str]
) -> None:
    answer = _reset(emulators, partner_token(emulators), **headers)
    assert answer.status_code == 401
    assert answer.json() == {
        "code": 800001,
        "description": "Authorization token is missing or invalid",
        "data": [],
        "source": "PartnerFD",
    }


def test_token_for_another_audience_is_refused(emulators: EmulatorStack) -> None:
    vault_token = emulators.ledger.issue("https://vault.azure.net", 60)
    assert _reset(emulators, vault_token).status_code == 401


@pytest.mark.parametrize(
    "override",
    [
        {"Accept": "text/plain"},
        {"Content-Type": "text/plain"},
        {"MS-RequestId": "not-a-guid"},
        {"MS-CorrelationId": ""},
    ],
)
def test_reset_needs_its_headers(emulators: EmulatorStack, override: dict[str, str]) -> None:
    answer = _reset(emulators, partner_token(emulators), **override)
    assert answer.status_code == 400
    assert answer.json()["code"] == 800002
    assert emulators.partner_center.applied_resets == []


@pytest.mark.parametrize(
    "body",
    [
        {"passwordProfile": {"password": PASSWORD}, "attributes": {"objectType": "CustomerUser"}},
        {
            "passwordProfile": {"password": PASSWORD, "forceChangePassword": "yes"},
            "attributes": {"objectType": "CustomerUser"},
        },
        {"passwordProfile": {"password": PASSWORD, "forceChangePassword": True}},
        {
            "passwordProfile": {"password": PASSWORD, "forceChangePassword": True},
            "attributes": {"objectType": "User"},
        },
        {
            "passwordProfile": {"password": PASSWORD, "forceChangePassword": True},
            "attributes": {"objectType": "CustomerUser"},
            "extra": PASSWORD,
        },
        [PASSWORD],
    ],
)
def test_off_contract_body_is_800002_without_the_password(
    emulators: EmulatorStack, body: object
) -> None:
    answer = requests.patch(
        reset_url(emulators, s.SAMPLE_CUSTOMER_ID, s.SAMPLE_USER_ID),
        headers=pc_headers(partner_token(emulators)),
        data=json.dumps(body),
        timeout=5,
    )
    assert answer.status_code == 400
    assert answer.json()["code"] == 800002
    assert PASSWORD not in answer.text


def test_body_that_is_not_json(emulators: EmulatorStack) -> None:
    answer = requests.patch(
        reset_url(emulators, s.SAMPLE_CUSTOMER_ID, s.SAMPLE_USER_ID),
        headers=pc_headers(partner_token(emulators)),
        data=b"{password: " + PASSWORD.encode(),
        timeout=5,
    )
    assert answer.status_code == 400
    assert PASSWORD not in answer.text


@pytest.mark.parametrize(
    ("customer", "user", "status", "code"),
    [
        ("2d4f6a8c-0e1b-4c3d-8e5f-7a9b1c3d5e7f", s.SAMPLE_USER_ID, 404, 60003),
        (s.SAMPLE_CUSTOMER_ID, "3e5a7c9d-1f2b-4d4e-9f6a-8b0c2d4e6f8a", 404, 60002),
        (s.NO_GDAP_CUSTOMER_ID, s.NO_GDAP_USER_ID, 403, 2032),
    ],
)
def test_business_failures(
    emulators: EmulatorStack, customer: str, user: str, status: int, code: int
) -> None:
    answer = requests.patch(
        reset_url(emulators, customer, user),
        headers=pc_headers(partner_token(emulators)),
        json=reset_body(PASSWORD),
        timeout=5,
    )
    assert answer.status_code == status
    assert answer.json()["code"] == code
    assert answer.json()["source"] == "PartnerFD"
    assert emulators.partner_center.applied_resets == []


def test_ids_match_case_insensitively(emulators: EmulatorStack) -> None:
    answer = requests.patch(
        reset_url(emulators, s.SAMPLE_CUSTOMER_ID.upper(), s.SAMPLE_USER_ID.upper()),
        headers=pc_headers(partner_token(emulators)),
        json=reset_body(PASSWORD),
        timeout=5,
    )
    assert answer.status_code == 200


def _get(stack: EmulatorStack, path: str, **headers: str) -> requests.Response:
    token = partner_token(stack)
    return requests.get(
        f"{stack.partner_center.url}{path}",
        headers={"Authorization": f"Bearer {token}", "Accept": "application/json", **headers},
        timeout=5,
    )


def test_get_customer(emulators: EmulatorStack) -> None:
    body = _get(emulators, f"/v1/customers/{s.SAMPLE_CUSTOMER_ID}").json()
    assert body["id"] == s.SAMPLE_CUSTOMER_ID
    assert body["companyProfile"]["tenantId"] == s.SAMPLE_CUSTOMER_ID
    assert body["companyProfile"]["domain"] == s.SAMPLE_CUSTOMER_DOMAIN
    assert body["companyProfile"]["companyName"] == "Contoso"
    assert body["companyProfile"]["attributes"] == {"objectType": "CustomerCompanyProfile"}
    assert body["relationshipToPartner"] == "reseller"
    assert body["attributes"] == {"objectType": "Customer"}


def test_get_unknown_customer(emulators: EmulatorStack) -> None:
    answer = _get(emulators, f"/v1/customers/{uuid.uuid4()}")
    assert answer.status_code == 404
    assert answer.json()["code"] == 60003


def test_get_user_never_shows_a_password(emulators: EmulatorStack) -> None:
    emulators.partner_center.user(s.SAMPLE_CUSTOMER_ID, s.SAMPLE_USER_ID).password = PASSWORD
    answer = _get(emulators, f"/v1/customers/{s.SAMPLE_CUSTOMER_ID}/users/{s.SAMPLE_USER_ID}")
    assert answer.status_code == 200
    assert answer.json()["userPrincipalName"] == s.SAMPLE_USER_UPN
    assert PASSWORD not in answer.text
    assert not (answer.json().get("passwordProfile") or {}).get("password")


def test_sample_users_cover_the_guard_cases(emulators: EmulatorStack) -> None:
    base = f"/v1/customers/{s.SAMPLE_CUSTOMER_ID}/users"
    synced = _get(emulators, f"{base}/{s.SAMPLE_SYNCED_USER_ID}").json()
    federated = _get(emulators, f"{base}/{s.SAMPLE_FEDERATED_USER_ID}").json()
    roles = _get(emulators, f"{base}/{s.SAMPLE_ADMIN_USER_ID}/directoryroles").json()
    plain = _get(emulators, f"{base}/{s.SAMPLE_USER_ID}/directoryroles").json()

    assert synced["lastDirectorySyncTime"] == s.SAMPLE_SYNC_TIME
    assert federated["userDomainType"] == "federated"
    assert roles["items"] == [
        {
            "name": "Global Administrator",
            "id": "62e90394-69f5-4237-9190-012177145e10",
            "attributes": {"objectType": "DirectoryRole"},
        }
    ]
    assert roles["attributes"] == {"objectType": "Collection"}
    assert (plain["totalCount"], plain["items"]) == (0, [])


def test_roles_of_unknown_user(emulators: EmulatorStack) -> None:
    answer = _get(
        emulators, f"/v1/customers/{s.SAMPLE_CUSTOMER_ID}/users/{uuid.uuid4()}/directoryroles"
    )
    assert answer.json()["code"] == 60002


def test_unknown_route(emulators: EmulatorStack) -> None:
    answer = _get(emulators, "/v1/invoices")
    assert answer.status_code == 404
    assert answer.json()["code"] == 1000


def _follow(stack: EmulatorStack, first_path: str) -> list[list[str]]:
    """Every page's item ids, following links.next the way a client must."""
    pages: list[list[str]] = []
    answer = _get(stack, first_path)
    while True:
        assert answer.status_code == 200, answer.text
        body = answer.json()
        assert body["attributes"] == {"objectType": "Collection"}
        pages.append([item["id"] for item in body["items"]])
        following = body["links"].get("next")
        if following is None:
            return pages
        assert following["uri"].endswith("seekOperation=next")
        headers = {h["key"]: h["value"] for h in following["headers"]}
        answer = _get(stack, f"/v1{following['uri']}", **headers)


def test_customer_filter_is_case_insensitive_starts_with(emulators: EmulatorStack) -> None:
    for field, value in (("Domain", "CONTOSO.on"), ("CompanyName", "cont")):
        query = json.dumps({"Field": field, "Value": value, "Operator": "starts_with"})
        answer = _get(emulators, f"/v1/customers?size=10&filter={quote(query)}")
        assert [c["id"] for c in answer.json()["items"]] == [s.SAMPLE_CUSTOMER_ID]


@pytest.mark.parametrize(
    "raw_filter",
    [
        json.dumps({"Field": "Domain", "Value": "contoso", "Operator": "equals"}),
        json.dumps({"Field": "Tenant", "Value": "x", "Operator": "starts_with"}),
        "not json",
    ],
)
def test_bad_customer_filter_is_3000(emulators: EmulatorStack, raw_filter: str) -> None:
    answer = _get(emulators, f"/v1/customers?filter={quote(raw_filter)}")
    assert answer.status_code == 400
    assert answer.json()["code"] == 3000


def test_customers_page_and_keep_the_filter(emulators: EmulatorStack) -> None:
    pc = emulators.partner_center
    expected = [str(uuid.UUID(int=i + 1)) for i in range(5)]
    for index, customer_id in enumerate(expected):
        pc.add_customer(customer_id, f"Tailspin {index}", f"tailspin{index}.com")
    query = json.dumps({"Field": "CompanyName", "Value": "tailspin", "Operator": "starts_with"})

    pages = _follow(emulators, f"/v1/customers?size=2&filter={quote(query)}")

    assert [len(p) for p in pages] == [2, 2, 1]
    assert sorted(i for p in pages for i in p) == expected


def test_filter_on_users_is_refused(emulators: EmulatorStack) -> None:
    answer = _get(emulators, f"/v1/customers/{s.SAMPLE_CUSTOMER_ID}/users?filter=x")
    assert answer.status_code == 400
    assert answer.json()["code"] == 3000


def test_next_page_without_a_continuation_token(emulators: EmulatorStack) -> None:
    answer = _get(emulators, f"/v1/customers/{s.SAMPLE_CUSTOMER_ID}/users?seekOperation=next")
    assert answer.status_code == 400


def test_users_default_page_holds_all_samples(emulators: EmulatorStack) -> None:
    pages = _follow(emulators, f"/v1/customers/{s.SAMPLE_CUSTOMER_ID}/users")
    assert len(pages) == 1
    assert s.SAMPLE_USER_ID in pages[0]


@settings(
    max_examples=15,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    user_count=st.integers(min_value=0, max_value=23), size=st.integers(min_value=-3, max_value=600)
)
def test_paging_yields_every_user_exactly_once(
    emulator_stack: EmulatorStack, user_count: int, size: int
) -> None:
    emulator_stack.reset_state(sample=False)
    pc = emulator_stack.partner_center
    pc.add_customer(s.SAMPLE_CUSTOMER_ID, "Contoso", s.SAMPLE_CUSTOMER_DOMAIN)
    expected = [
        pc.add_user(
            s.SAMPLE_CUSTOMER_ID,
            user_principal_name=f"u{i}@contoso.com",
            first_name="U",
            last_name=str(i),
        ).id
        for i in range(user_count)
    ]

    pages = _follow(emulator_stack, f"/v1/customers/{s.SAMPLE_CUSTOMER_ID}/users?size={size}")

    page_size = max(1, min(size, 500))
    assert [i for p in pages for i in p] == expected
    assert all(len(p) <= page_size for p in pages)
    assert len(pages) == max(1, -(-user_count // page_size))
