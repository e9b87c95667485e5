"""Log lines: one line per record, whatever text went into it; structured events carry
their logger and event name as fields a query can select on."""

from __future__ import annotations

import logging
import uuid

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shared.context import Deadline, request_scope
from shared.log import EVENT_FIELD, LOGGER_FIELD, install_correlation_logging, log_event, quoted

logger = logging.getLogger("tests.log_lines")
LINE_BREAKERS = ["\n", "\r", "\x0b", "\x0c", "\x1c", "\x85", "\u2028", "\u2029"]
HIDERS = ["\x1b[2K", "\x00", "\x7f", "\u202e", "\u2066", "\u200b", "\ufeff", "\U000e0041"]


@pytest.fixture(autouse=True)
def correlated(caplog: pytest.LogCaptureFixture) -> None:
    install_correlation_logging()
    caplog.set_level(logging.DEBUG)


def only_message(caplog: pytest.LogCaptureFixture) -> str:
    [record] = caplog.records
    return record.getMessage()


@pytest.mark.parametrize("char", LINE_BREAKERS + HIDERS)
def test_a_control_or_format_character_in_an_argument_is_written_escaped(
    caplog: pytest.LogCaptureFixture, char: str
) -> None:
    with request_scope(uuid.uuid4(), Deadline(5)):
        logger.warning("refused: %s", f"a{char}b")
    message = only_message(caplog)
    assert message.isprintable(), repr(message)
    assert message.endswith("refused: a" + char.encode("unicode_escape").decode() + "b")


@pytest.mark.parametrize("char", LINE_BREAKERS)
def test_a_line_break_is_escaped_outside_a_request_too(
    caplog: pytest.LogCaptureFixture, char: str
) -> None:
    logger.error(f"text{char}from somewhere")
    assert only_message(caplog).isprintable()


def test_the_correlation_prefix_still_leads_the_escaped_line(
    caplog: pytest.LogCaptureFixture,
) -> None:
    correlation_id = uuid.uuid4()
    with request_scope(correlation_id, Deadline(5)):
        logger.info("x %s", "\nINFO forged")
    assert only_message(caplog) == f"[correlationId={correlation_id}] x \\nINFO forged"


def test_a_record_that_cannot_be_formatted_is_left_to_logging() -> None:
    # logging reports a broken format when a handler writes the record; making the
    # record must not raise, nor lose what the handler's report shows.
    make = logging.getLogRecordFactory()
    record = make("tests", logging.INFO, __file__, 1, "%d", ("not a number",), None)
    assert (record.msg, record.args) == ("%d", ("not a number",))


@given(text=st.text())
def test_quoted_text_is_one_printable_ascii_json_string(text: str) -> None:
    shown = quoted(text)
    assert shown.isascii() and shown.isprintable()
    assert shown.startswith('"') and shown.endswith('"')


def test_a_structured_event_carries_its_logger_and_event_as_fields(
    caplog: pytest.LogCaptureFixture,
) -> None:
    events = logging.getLogger("tests.events")
    log_event(events, logging.INFO, "thing.happened", {"count": 1})
    [record] = caplog.records
    assert getattr(record, LOGGER_FIELD) == "tests.events"
    assert getattr(record, EVENT_FIELD) == "thing.happened"
