"""What opens a delivered password never leaves where it belongs (contract 1c): the
generated password (only Partner Center gets it), the link's key (only the reset's
answer, in the link's fragment) and the ciphertext (only its table column, and the
reveal's answer) are searched for in every answer and header, every log line and its
fields, every audit record and every table row, on success and on each failure path."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dev.emulators.faults import Status
from tests.integration.conftest import Harness, LinkTable, received_passwords

PATCHES = r"^/v1/customers/[^/]+/users/[^/]+(/resetpassword)?$"
Scenario = Callable[[Harness, LinkTable], None]


def _nothing(harness: Harness, table: LinkTable) -> None:
    pass


def _partner_center_refuses(harness: Harness, table: LinkTable) -> None:
    harness.stack.partner_center.inject(
        Status(403, {"code": 2032, "description": "denied"}), method="PATCH", path=PATCHES
    )


def _revocation_fails(harness: Harness, table: LinkTable) -> None:
    harness.stack.graph.inject(Status(403, {"error": {"code": "Authorization_RequestDenied"}}))


def _storage_gone_before(harness: Harness, table: LinkTable) -> None:
    table.cut()


def _storage_gone_after(harness: Harness, table: LinkTable) -> None:
    harness.stack.partner_center.on_reset = table.cut


# Each: what goes wrong, and the body (and query) of the reset it goes wrong for.
SCENARIOS: dict[str, tuple[Scenario, dict[str, Any], dict[str, str]]] = {
    "link": (_nothing, {"delivery": "link"}, {}),
    "scramble": (_nothing, {"delivery": "none"}, {}),
    "dry-run": (_nothing, {"delivery": "link"}, {"dryRun": "true"}),
    "partner-center-refuses": (_partner_center_refuses, {"delivery": "link"}, {}),
    "revocation-fails": (_revocation_fails, {"delivery": "link", "revokeSessions": True}, {}),
    "storage-gone-before": (_storage_gone_before, {"delivery": "link"}, {}),
    "storage-gone-after": (_storage_gone_after, {"delivery": "link"}, {}),
}
# The scenarios that leave the storage up, so one spec can run many of them.
REPEATABLE = ["link", "scramble", "dry-run", "partner-center-refuses", "revocation-fails"]


def openers(harness: Harness, table: LinkTable) -> list[str]:
    """Everything that opens (or is) a delivered password: the passwords Partner Center
    received, each link's key (and its private scalar alone), each stored ciphertext."""
    found = received_passwords(harness.stack)
    for answer in harness.answers:
        link = _json(answer.raw).get("secretLink")
        if isinstance(link, dict):
            key = urlsplit(link["url"]).fragment
            found += [key, key[:42]]
    found += [str(row["Ciphertext"]) for row in table.rows() if "Ciphertext" in row]
    return found


def everywhere_else(harness: Harness, table: LinkTable) -> str:
    """Every answer (the link itself taken out of the reset's), header, log line and its
    fields, and every table row but its Ciphertext column."""
    seen = []
    for answer in harness.answers:
        body = _json(answer.raw)
        if isinstance(body.get("secretLink"), dict):
            body = {**body, "secretLink": {**body["secretLink"], "url": "(the link)"}}
            seen.append(json.dumps(body))
        else:
            seen.append(answer.raw.decode(errors="replace"))
        seen.append(json.dumps(answer.headers))
    for phase in ("setup", "call"):
        for record in harness.caplog.get_records(phase):
            seen.append(record.getMessage())
            if record.exc_info:
                seen.append(logging.Formatter().formatException(record.exc_info))
            seen.append(json.dumps(getattr(record, "custom_dimensions", None), default=str))
    for row in table.rows():
        seen.append(json.dumps({k: v for k, v in row.items() if k != "Ciphertext"}, default=str))
    return "\n".join(seen)


def _json(raw: bytes) -> dict[str, Any]:
    try:
        value = json.loads(raw)
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def assert_nothing_opens_a_password_elsewhere(harness: Harness, table: LinkTable) -> None:
    haystack = everywhere_else(harness, table)
    # As sent, and as JSON writes it (a generated password may hold a backslash).
    secrets = [form for secret in openers(harness, table) for form in _forms(secret)]
    assert all(secret not in haystack for secret in secrets), "a password opener leaked"


def _forms(secret: str) -> set[str]:
    return {secret, json.dumps(secret)[1:-1]}


@pytest.mark.parametrize("scenario", list(SCENARIOS))
def test_nothing_that_opens_a_password_leaks_on_any_path(
    harness: Harness, link_table: LinkTable, scenario: str
) -> None:
    arrange, body, params = SCENARIOS[scenario]
    arrange(harness, link_table)

    answer = harness.reset(body, params=params)

    assert answer.status in {200, 403, 503}
    assert_nothing_opens_a_password_elsewhere(harness, link_table)


def test_the_search_finds_a_leak_when_there_is_one(harness: Harness, link_table: LinkTable) -> None:
    answer = harness.reset({"delivery": "link"})
    key = urlsplit(answer.json["secretLink"]["url"]).fragment
    logging.getLogger("a.careless.module").info("opened with %s", key)

    with pytest.raises(AssertionError, match="leaked"):
        assert_nothing_opens_a_password_elsewhere(harness, link_table)
    harness.caplog.clear()


words = st.text(st.characters(codec="utf-8", exclude_categories=("Cc", "Cf", "Zl", "Zp", "Cs")))


@settings(
    max_examples=12,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    scenario=st.sampled_from(REPEATABLE),
    ticket=words.filter(lambda text: 1 <= len(text) <= 64),
    requested_by=words.filter(lambda text: 1 <= len(text) <= 128),
)
def test_nothing_leaks_whatever_the_caller_writes_beside_the_delivery(
    harness: Harness, link_table: LinkTable, scenario: str, ticket: str, requested_by: str
) -> None:
    arrange, body, params = SCENARIOS[scenario]
    harness.stack.partner_center.clear_faults()
    harness.stack.graph.clear_faults()
    arrange(harness, link_table)

    answer = harness.reset({**body, "ticketId": ticket, "requestedBy": requested_by}, params=params)

    if answer.status == 200:
        assert (answer.json["ticketId"], answer.json["requestedBy"]) == (ticket, requested_by)
    assert_nothing_opens_a_password_elsewhere(harness, link_table)
