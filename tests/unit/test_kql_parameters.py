"""Filters reach a KQL query as let statements whose literals carry any printable text as
data: read back with Kusto's literal rules (the Log Analytics emulator's reader), each
value is exactly what the operator typed and the query after the lets is untouched."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from dev.emulators.log_analytics import QueryRefused, split_parameters
from ops.kql import UnprintableValue, string_literal, with_parameters

QUERY = "AppTraces\n| where tostring(Properties.ticketId) == ticketFilter\n| take rowLimit"
printable_text = st.text(st.characters(codec="utf-8")).filter(str.isprintable)


@given(printable_text, printable_text)
@example('" or 1==1 //', "\\")
@example('"; AppTraces | take 1000 //', '\\"')
@example("let x = 1;", "'")
def test_any_printable_value_is_read_back_as_it_was_and_the_query_is_unchanged(
    ticket: str, user: str
) -> None:
    since = datetime(2026, 11, 21, 10, 0, tzinfo=UTC)
    text = with_parameters(
        QUERY, {"fromTime": since, "ticketFilter": ticket, "userFilter": user, "rowLimit": 5}
    )

    parameters, body = split_parameters(text)

    assert parameters == {
        "fromTime": since,
        "ticketFilter": ticket,
        "userFilter": user,
        "rowLimit": 5,
    }
    assert body == QUERY


@pytest.mark.parametrize("value", ["INC\n1", "INC\r1", "a\u2028b", "a\u202eb", "\x00", "\x1b[2J"])
def test_a_value_a_literal_cannot_carry_is_refused(value: str) -> None:
    with pytest.raises(UnprintableValue):
        string_literal(value)


def test_only_the_backslash_and_the_double_quote_are_escaped() -> None:
    assert string_literal('it\'s \\ "x" ü') == '"it\'s \\\\ \\"x\\" ü"'


def test_a_flag_is_never_written_as_a_number() -> None:
    with pytest.raises(TypeError):
        with_parameters(QUERY, {"rowLimit": True})


@pytest.mark.parametrize("name", ["1x", "a b", "x;AppTraces", ""])
def test_a_parameter_name_must_be_a_plain_name(name: str) -> None:
    with pytest.raises(ValueError, match="not a KQL name"):
        with_parameters(QUERY, {name: "x"})


def test_the_reader_refuses_a_string_that_never_ends() -> None:
    with pytest.raises(QueryRefused):
        split_parameters('let ticketFilter = "INC-1;\nAppTraces')
