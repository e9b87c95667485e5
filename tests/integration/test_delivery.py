"""Generated passwords delivered once (contract 1c), end to end through the registered
functions: the emulators for Partner Center, Azurite for the `secretlinks` table.

A reset with `"delivery": "link"` answers a link that opens exactly the password Partner
Center received, once; a scramble (`"none"`) stores nothing; a reset that fails leaves
no link; storage gone before the reset resets nothing, and gone after it says the
password was set but cannot be delivered.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import pytest

from dev.emulators.faults import Status
from dev.emulators.samples import SAMPLE_CUSTOMER_ID, SAMPLE_USER_ID, SAMPLE_USER_UPN
from dev.link_client import open_sealed
from reset_password.generated_password import ALPHABET
from reset_password.password_policy import password_rule_violations
from secret_links.crypto import SealedPassword, is_link_id
from tests.integration.conftest import (
    LINK_ORIGIN,
    Answer,
    Harness,
    LinkTable,
    received_passwords,
)
from tests.integration.helpers import audit_records

PATCHES = r"^/v1/customers/[^/]+/users/[^/]+(/resetpassword)?$"


def patches(harness: Harness) -> int:
    return len(harness.stack.partner_center.requests_to("PATCH", PATCHES))


def link_parts(answer: Answer) -> tuple[str, str]:
    """The link ID and the key of a reset's answer."""
    url = urlsplit(answer.json["secretLink"]["url"])
    return url.path.rpartition("/")[2], url.fragment


def reveal(harness: Harness, link_id: str) -> Answer:
    return harness.call(
        "secret_link_reveal",
        method="POST",
        route=f"secrets/{link_id}/reveal",
        route_params={"linkId": link_id},
        body=b"{}",
        headers={"Content-Type": "application/json"},
    )


def opened(harness: Harness, answer: Answer) -> str:
    """The password the answer's link opens (its one view spent)."""
    link_id, key = link_parts(answer)
    revealed = reveal(harness, link_id)
    assert revealed.status == 200
    return open_sealed(SealedPassword.from_json(revealed.json), link_id=link_id, key_text=key)


def set_password(harness: Harness) -> str | None:
    return harness.stack.partner_center.current_password(SAMPLE_CUSTOMER_ID, SAMPLE_USER_ID)


# --- a one-time link ---------------------------------------------------------------


def test_a_link_reset_answers_a_link_that_opens_the_password_partner_center_received(
    harness: Harness, link_table: LinkTable
) -> None:
    answer = harness.reset({"delivery": "link"})

    assert answer.status == 200
    assert opened(harness, answer) == set_password(harness)
    link_id, _ = link_parts(answer)
    second = reveal(harness, link_id)
    assert (second.status, second.json["code"]) == (404, "secret_gone")


def test_a_link_reset_answers_the_link_and_says_the_password_was_generated(
    harness: Harness, link_table: LinkTable
) -> None:
    before = datetime.now(UTC)
    answer = harness.reset({"delivery": "link", "forceChangePassword": False})

    body = answer.json
    assert (body["status"], body["passwordGenerated"], body["delivery"]) == (
        "succeeded",
        True,
        "link",
    )
    assert body["forceChangePassword"] is True
    assert harness.stack.partner_center.applied_resets[0].force_change_password is True
    link = body["secretLink"]
    assert set(link) == {"url", "expiresAt", "maxViews"} and link["maxViews"] == 1
    url = urlsplit(link["url"])
    link_id, key = link_parts(answer)
    assert f"{url.scheme}://{url.netloc}" == LINK_ORIGIN
    assert url.path == f"/api/secrets/{link_id}" and is_link_id(link_id)
    assert len(key) == 128 and not url.query
    expires = datetime.strptime(link["expiresAt"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
    expected = before + timedelta(minutes=1440)
    assert expected - timedelta(seconds=5) <= expires <= expected + timedelta(seconds=60)


def test_the_reset_by_user_principal_name_delivers_by_link_too(
    harness: Harness, link_table: LinkTable
) -> None:
    answer = harness.call(
        "reset_password_by_upn",
        method="POST",
        route=f"users/{SAMPLE_USER_UPN}/resetpassword",
        route_params={"user": SAMPLE_USER_UPN},
        body=json.dumps({"delivery": "link", "requestedBy": "Grace Hopper"}).encode(),
        headers={"Content-Type": "application/json"},
    )

    assert (answer.status, answer.json["requestedBy"]) == (200, "Grace Hopper")
    assert opened(harness, answer) == set_password(harness)


def test_the_table_holds_the_ciphertext_and_nothing_that_opens_it(
    harness: Harness, link_table: LinkTable
) -> None:
    answer = harness.reset({"delivery": "link"})

    link_id, key = link_parts(answer)
    [row] = link_table.links()
    assert row["PartitionKey"] == link_id and row["State"] == "ready"
    assert (row["CustomerId"], row["UserId"]) == (SAMPLE_CUSTOMER_ID, SAMPLE_USER_ID)
    text = json.dumps(link_table.rows(), default=str)
    assert key not in text and key[:42] not in text
    assert str(set_password(harness)) not in text


def test_a_new_link_deletes_the_users_older_links(harness: Harness, link_table: LinkTable) -> None:
    first = harness.reset({"delivery": "link"})
    second = harness.reset({"delivery": "link"})

    first_id, _ = link_parts(first)
    second_id, _ = link_parts(second)
    assert reveal(harness, first_id).json["code"] == "secret_gone"
    assert {row["PartitionKey"] for row in link_table.links()} == {second_id}
    assert opened(harness, second) == set_password(harness)


def test_older_links_left_behind_are_a_warning_and_the_new_link_stands(
    harness: Harness, link_table: LinkTable
) -> None:
    first = harness.reset({"delivery": "link"})
    # The storage goes away as the function deletes the user's older links: after the
    # new link's password was stored (the older links are read while it is stored).
    link_table.proxy.cut_on(b"DELETE ")

    second = harness.reset({"delivery": "link"})

    assert second.status == 200 and "secretLink" in second.json
    assert [w["code"] for w in second.json["warnings"]] == ["older_links_not_deleted"]
    states = {row["PartitionKey"]: row["State"] for row in link_table.links()}
    assert states == {link_parts(first)[0]: "ready", link_parts(second)[0]: "ready"}


def test_a_reset_with_the_callers_password_leaves_the_users_link_alone(
    harness: Harness, link_table: LinkTable
) -> None:
    link = harness.reset({"delivery": "link"})
    harness.reset()

    # The link opens the password it was made for; the caller's reset is the caller's.
    assert len(link_table.links()) == 1
    assert opened(harness, link) != set_password(harness)


# --- a scramble --------------------------------------------------------------------


def test_a_scramble_sends_a_generated_password_and_stores_nothing(
    harness: Harness, link_table: LinkTable
) -> None:
    answer = harness.reset({"delivery": "none", "revokeSessions": True})

    body = answer.json
    assert (answer.status, body["passwordGenerated"], body["delivery"]) == (200, True, "none")
    assert "secretLink" not in body and body["sessionsRevoked"] is True
    [password] = received_passwords(harness.stack)
    assert len(password) == 16 and set(password) <= ALPHABET
    assert password_rule_violations(password) == []
    assert link_table.rows() == []


def test_a_scramble_needs_no_storage(harness: Harness, link_table: LinkTable) -> None:
    link_table.cut()

    assert harness.reset({"delivery": "none"}).status == 200
    assert patches(harness) == 1


def test_generated_passwords_have_the_length_of_the_setting(
    harness: Harness, link_table: LinkTable
) -> None:
    harness.configure(GENERATED_PASSWORD_LENGTH="40")
    harness.reset({"delivery": "none"})

    [password] = received_passwords(harness.stack)
    assert len(password) == 40 and password_rule_violations(password) == []


def test_each_reset_generates_a_new_password(harness: Harness, link_table: LinkTable) -> None:
    for _ in range(3):
        harness.reset({"delivery": "none"})

    assert len(set(received_passwords(harness.stack))) == 3


# --- failures ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fault", "code"),
    [
        (Status(403, {"code": 2032, "description": "denied"}), "partner_forbidden"),
        (Status(404, {"code": 60002, "description": "no user"}), "user_not_found"),
    ],
    ids=["403", "404"],
)
def test_a_failed_reset_leaves_no_link_and_answers_none(
    harness: Harness, link_table: LinkTable, fault: Status, code: str
) -> None:
    harness.stack.partner_center.inject(fault, method="PATCH", path=PATCHES)

    answer = harness.reset({"delivery": "link"})

    assert answer.json["code"] == code
    assert "secretLink" not in answer.json and "://" not in answer.raw.decode()
    assert link_table.rows() == []
    [record] = audit_records(harness)
    assert (record["passwordSet"], record["outcome"]) == (False, code)


def test_storage_gone_before_the_reset_is_503_and_nothing_is_reset(
    harness: Harness, link_table: LinkTable
) -> None:
    link_table.cut()

    answer = harness.reset({"delivery": "link"})

    assert (answer.status, answer.json["code"]) == (503, "dependency_unavailable")
    assert answer.headers["retry-after"] == "30"
    assert patches(harness) == 0
    assert harness.stack.partner_center.applied_resets == []
    [record] = audit_records(harness)
    assert (record["outcome"], record["passwordSet"], record["secretLinkId"]) == (
        "dependency_unavailable",
        False,
        None,
    )


def test_storage_gone_after_the_reset_is_503_and_the_audit_says_the_password_was_set(
    harness: Harness, link_table: LinkTable
) -> None:
    harness.stack.partner_center.on_reset = link_table.cut

    answer = harness.reset({"delivery": "link", "ticketId": "INC42"})

    assert (answer.status, answer.json["code"]) == (503, "secret_link_not_stored")
    assert "set" in answer.json["detail"] and "reset again" in answer.json["detail"]
    assert "retry-after" in answer.headers
    assert len(harness.stack.partner_center.applied_resets) == 1
    [row] = link_table.links()
    assert row["State"] == "pending" and "Ciphertext" not in row
    [record] = audit_records(harness)
    assert record["outcome"] == "secret_link_not_stored" and record["httpStatus"] == 503
    assert record["passwordSet"] is True and record["passwordGenerated"] is True
    assert record["secretLinkId"] == row["PartitionKey"]


@pytest.mark.parametrize("delivery", ["link", "none"])
def test_an_idempotency_key_with_a_delivery_is_400_before_anything_happens(
    harness: Harness, link_table: LinkTable, delivery: str
) -> None:
    answer = harness.reset({"delivery": delivery}, headers={"Idempotency-Key": "INC1-try1"})

    assert (answer.status, answer.json["code"]) == (400, "invalid_request")
    assert [e["field"] for e in answer.json["errors"]] == ["Idempotency-Key"]
    assert patches(harness) == 0 and link_table.rows() == []


def test_a_password_with_a_delivery_is_400_naming_the_rule(
    harness: Harness, link_table: LinkTable
) -> None:
    answer = harness.reset({"delivery": "link", "password": "Correct-Horse-42"})

    assert (answer.status, answer.json["errors"][0]["field"]) == (400, "password")
    assert "delivery" in answer.json["errors"][0]["message"]
    assert patches(harness) == 0 and link_table.rows() == []


def test_neither_a_password_nor_a_delivery_is_400_naming_the_rule(harness: Harness) -> None:
    answer = harness.reset({"ticketId": "INC1"})

    assert answer.json["errors"] == [
        {"field": "password", "message": "password is required unless delivery is given"}
    ]


def test_a_link_reset_with_bad_link_settings_is_500_before_anything_is_reset(
    harness: Harness,
) -> None:
    # The harness sets no storage for links: a reset with the caller's password works,
    # one that needs a link is refused, naming the setting.
    assert harness.reset().status == 200
    answer = harness.reset({"delivery": "link"})

    assert (answer.status, answer.json["code"]) == (500, "configuration_error")
    assert "PUBLIC_BASE_URL" in answer.json["detail"]
    assert patches(harness) == 1


@pytest.mark.parametrize("delivery", ["link", "none"])
def test_a_dry_run_with_a_delivery_validates_and_stores_nothing(
    harness: Harness, link_table: LinkTable, delivery: str
) -> None:
    answer = harness.reset({"delivery": delivery}, params={"dryRun": "true"})

    body = answer.json
    assert (body["status"], body["delivery"], body["passwordGenerated"]) == (
        "validated",
        delivery,
        False,
    )
    assert "secretLink" not in body
    assert patches(harness) == 0 and link_table.rows() == []
    [record] = audit_records(harness)
    assert (record["dryRun"], record["secretLinkId"], record["passwordGenerated"]) == (
        True,
        None,
        False,
    )


# --- who asked, and the audit ------------------------------------------------------


@pytest.mark.parametrize("requested_by", ["Grace Hopper", "svc-onboarding@contoso.com", None])
def test_requested_by_is_echoed_and_audited(harness: Harness, requested_by: str | None) -> None:
    body: dict[str, Any] = {"password": "Correct-Horse-42"}
    if requested_by is not None:
        body["requestedBy"] = requested_by

    answer = harness.reset(body)

    assert answer.json["requestedBy"] == requested_by
    assert "delivery" not in answer.json and "passwordGenerated" not in answer.json
    [record] = audit_records(harness)
    assert record["requestedBy"] == requested_by
    assert (record["delivery"], record["passwordGenerated"], record["passwordSet"]) == (
        None,
        False,
        True,
    )


def test_the_audit_of_a_link_reset_names_the_link_and_never_its_key(
    harness: Harness, link_table: LinkTable
) -> None:
    answer = harness.reset({"delivery": "link", "requestedBy": "Ada's manager"})

    link_id, key = link_parts(answer)
    [record] = audit_records(harness)
    assert record["delivery"] == "link" and record["secretLinkId"] == link_id
    assert record["requestedBy"] == "Ada's manager"
    assert (record["passwordGenerated"], record["passwordSet"]) == (True, True)
    assert key not in json.dumps(record) and key[:42] not in json.dumps(record)
