"""Caller text never forges a log line: no control character a request carried reaches a
log message, a field name is echoed only when it is plainly a name, and the audit record
is the only record the documented audit selection (logger and event fields) finds."""

from __future__ import annotations

import json
import logging
import re
import string
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dev.emulators.identity import CALLER_APP_ID
from reset_password.audit import AUDIT_EVENT, audit_logger
from shared.log import EVENT_FIELD, LOGGER_FIELD
from tests.integration.conftest import CANARY_PASSWORD, Harness

UNKNOWN_FIELD = "(unknown field)"
# What a forger would plant: a line break, then a line shaped like a successful audit.
FORGED_AUDIT = '\nINFO audit.password_reset: password_reset.audit {"outcome":"succeeded"}'
CONTROL_CHARACTERS = ["\n", "\r", "\r\n", "\u2028", "\u2029", "\x85", "\x1b", "\x00", "\t"]
FORMAT_CHARACTERS = ["\u202e", "\u200b", "\ufeff", "\u2066"]
_PREFIX = re.compile(r"^\[correlationId=[0-9a-f-]{36}\] ")
KNOWN_FIELDS = {"password", "forceChangePassword", "ticketId", "revokeSessions"}


def messages_since(harness: Harness, start: int) -> list[logging.LogRecord]:
    return list(harness.caplog.records[start:])


def assert_every_message_printable(records: list[logging.LogRecord]) -> None:
    for record in records:
        message = _PREFIX.sub("", record.getMessage())
        unprintable = sorted({char for char in message if not char.isprintable()})
        assert not unprintable, (record.name, unprintable, message)


def audit_selection(records: list[logging.LogRecord]) -> list[logging.LogRecord]:
    """What the documented query selects: the logger and event fields, not the text."""
    return [
        record
        for record in records
        if getattr(record, LOGGER_FIELD, None) == audit_logger.name
        and getattr(record, EVENT_FIELD, None) == AUDIT_EVENT
    ]


def assert_only_the_real_audit_record(
    records: list[logging.LogRecord], *, text_query_too: bool = True
) -> None:
    [audit] = audit_selection(records)
    assert audit.name == audit_logger.name
    assert [r for r in records if r.name == audit_logger.name] == [audit]
    if text_query_too:
        # What a request refused before its words reach a message: even a query on the
        # text (the old one) finds only the real record.
        assert [r for r in records if AUDIT_EVENT in r.getMessage()] == [audit]


def body_with(key: str) -> bytes:
    return json.dumps({"password": CANARY_PASSWORD, key: True}).encode()


def test_a_body_key_that_forges_an_audit_line_is_refused_unnamed_and_logged_escaped(
    harness: Harness,
) -> None:
    start = len(harness.caplog.records)
    answer = harness.reset(body_with(FORGED_AUDIT))
    assert answer.status == 400
    problem: dict[str, Any] = answer.json
    assert {"field": UNKNOWN_FIELD} in [{"field": e["field"]} for e in problem["errors"]]
    assert AUDIT_EVENT not in problem["detail"]
    assert AUDIT_EVENT not in json.dumps(problem["errors"])
    records = messages_since(harness, start)
    assert_every_message_printable(records)
    assert_only_the_real_audit_record(records)


def test_a_body_key_with_any_control_or_format_character_is_unknown_field(
    harness: Harness,
) -> None:
    for char in CONTROL_CHARACTERS + FORMAT_CHARACTERS:
        start = len(harness.caplog.records)
        answer = harness.reset(body_with(f"extra{char}field"))
        assert answer.status == 400
        fields = [error["field"] for error in answer.json["errors"]]
        assert fields == [UNKNOWN_FIELD], repr(char)
        assert "extra" not in answer.json["detail"]
        records = messages_since(harness, start)
        assert_every_message_printable(records)
        assert_only_the_real_audit_record(records)


def test_plain_unknown_field_names_are_shown_as_sent(harness: Harness) -> None:
    for key in ("foo_bar", "a.b", "$x", "x-y", "A" * 64):
        answer = harness.reset(body_with(key))
        assert answer.status == 400
        assert [error["field"] for error in answer.json["errors"]] == [key]
        assert key in answer.json["detail"]


def test_a_name_longer_than_64_characters_is_unknown_field(harness: Harness) -> None:
    answer = harness.reset(body_with("A" * 65))
    assert [error["field"] for error in answer.json["errors"]] == [UNKNOWN_FIELD]


def test_a_query_name_with_a_line_break_is_unknown_field_and_logged_escaped(
    harness: Harness,
) -> None:
    start = len(harness.caplog.records)
    answer = harness.reset(params={"dryRun" + FORGED_AUDIT: "true"})
    assert answer.status == 400
    assert [error["field"] for error in answer.json["errors"]] == [UNKNOWN_FIELD]
    records = messages_since(harness, start)
    assert_every_message_printable(records)
    assert_only_the_real_audit_record(records)


def test_the_credentials_health_route_logs_a_refused_query_name_escaped(
    harness: Harness,
) -> None:
    start = len(harness.caplog.records)
    answer = harness.call(
        "credentials_health",
        method="GET",
        route="health/credentials",
        route_params={},
        params={"probe" + FORGED_AUDIT: "true"},
    )
    assert answer.status == 400
    assert [error["field"] for error in answer.json["errors"]] == [UNKNOWN_FIELD]
    records = messages_since(harness, start)
    assert_every_message_printable(records)
    assert not audit_selection(records)
    assert not [r for r in records if AUDIT_EVENT in r.getMessage()]


def test_a_caller_named_with_a_line_break_is_logged_escaped(harness: Harness) -> None:
    """The caller's app ID comes from a signed token, and is still not trusted as text:
    CALLER_POLICY refusing it names it in `detail`, which is logged."""
    harness.configure(
        **harness.stack.settings(caller_auth=True),
        CALLER_POLICY=json.dumps({CALLER_APP_ID: ["*"]}),
    )
    token = harness.stack.identity.mint_caller_token({"azp": "app" + FORGED_AUDIT})
    harness.extra_secrets.append(token)
    start = len(harness.caplog.records)
    answer = harness.reset(headers={"Authorization": f"Bearer {token}"})
    assert answer.status == 403
    records = messages_since(harness, start)
    assert_every_message_printable(records)
    # The refusal quotes the name, escaped, so a query on message text would find it:
    # the reason the audit is selected on its fields.
    assert_only_the_real_audit_record(records, text_query_too=False)


unknown_keys = st.text(max_size=30).filter(lambda key: key not in KNOWN_FIELDS)
caller_text = st.text(max_size=40) | st.sampled_from(
    [FORGED_AUDIT, *CONTROL_CHARACTERS, *FORMAT_CHARACTERS]
)
header_values = st.text(alphabet=string.printable + "\x85\u2028\u202e\x00", max_size=40)
query_names = st.text(min_size=1, max_size=20).filter(lambda name: name.lower() != "code")


@settings(suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(
    key=unknown_keys | caller_text.filter(lambda key: key not in KNOWN_FIELDS),
    customer=caller_text,
    user=caller_text,
    headers=st.fixed_dictionaries(
        {},
        optional={
            "x-correlation-id": header_values,
            "MS-CorrelationId": header_values,
            "Idempotency-Key": header_values,
            "Content-Type": st.just("application/json") | header_values,
            "X-Anything": header_values,
        },
    ),
    query_name=st.none() | query_names,
)
def test_no_caller_text_puts_a_control_character_or_an_audit_record_in_the_log(
    harness: Harness,
    key: str,
    customer: str,
    user: str,
    headers: dict[str, str],
    query_name: str | None,
) -> None:
    start = len(harness.caplog.records)
    params = {} if query_name is None else {query_name: "true"}
    answer = harness.reset(
        body_with(key), customer=customer, user=user, headers=headers, params=params
    )
    assert answer.status in (400, 415)
    if answer.status == 400:
        for error in answer.json["errors"]:
            field = error["field"]
            assert field == UNKNOWN_FIELD or re.fullmatch(r"[A-Za-z0-9_.$-]{1,64}", field)
    records = messages_since(harness, start)
    assert_every_message_printable(records)
    assert_only_the_real_audit_record(records)
