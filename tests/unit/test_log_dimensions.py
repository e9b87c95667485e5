"""What the export makes of a structured event: one custom dimension per field under a
plain name, scalars as they are and anything else as JSON, never overriding the record's
own `logger` and `event`; the mapping itself is not exported."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from opentelemetry.sdk._logs import LoggerProvider
from opentelemetry.sdk._logs.export import InMemoryLogRecordExporter, SimpleLogRecordProcessor

from shared.log import CUSTOM_DIMENSIONS_FIELD, EVENT_FIELD, LOGGER_FIELD, log_event
from worker.log_export import DimensionsHandler, dimension

# A log record's own attributes (name, msg, levelname, ...) are never replaced by a field.
RECORD_ATTRIBUTES = {*vars(logging.makeLogRecord({})), "message", "asctime"}
PLAIN_NAME = st.from_regex(r"[A-Za-z][A-Za-z0-9_]{0,20}", fullmatch=True)
JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(), inner, max_size=3),
    max_leaves=8,
)


class Exported:
    def __init__(self) -> None:
        self.memory = InMemoryLogRecordExporter()  # type: ignore[no-untyped-call]
        self.provider = LoggerProvider()
        self.provider.add_log_record_processor(SimpleLogRecordProcessor(self.memory))
        self.logger = logging.getLogger("tests.dimensions")
        self.logger.propagate = False
        self.logger.setLevel(logging.INFO)
        self.handler = DimensionsHandler(logger_provider=self.provider)
        self.logger.addHandler(self.handler)

    def attributes(self) -> dict[str, Any]:
        [record] = self.memory.get_finished_logs()
        self.memory.clear()
        return dict(record.log_record.attributes or {})

    def close(self) -> None:
        self.logger.removeHandler(self.handler)
        self.provider.shutdown()


@pytest.fixture(scope="module")
def exported() -> Iterator[Exported]:
    running = Exported()
    yield running
    running.close()


@given(fields=st.dictionaries(PLAIN_NAME, JSON_VALUES, max_size=6))
def test_each_field_becomes_a_dimension_of_its_own(
    exported: Exported, fields: dict[str, Any]
) -> None:
    log_event(exported.logger, logging.INFO, "thing.happened", fields)

    attributes = exported.attributes()
    assert CUSTOM_DIMENSIONS_FIELD not in attributes
    assert attributes[LOGGER_FIELD] == exported.logger.name
    assert attributes[EVENT_FIELD] == "thing.happened"
    for name, value in fields.items():
        if name in {LOGGER_FIELD, EVENT_FIELD, "correlation_id", *RECORD_ATTRIBUTES}:
            continue
        if value is None:
            assert name not in attributes
            continue
        assert attributes[name] == dimension(value)


@given(name=st.text(min_size=1).filter(lambda n: not n[0].isascii() or not n.isidentifier()))
def test_a_field_under_another_name_stays_in_the_message_alone(
    exported: Exported, name: str
) -> None:
    log_event(exported.logger, logging.INFO, "thing.happened", {name: "value"})

    attributes = exported.attributes()
    assert set(attributes) <= {LOGGER_FIELD, EVENT_FIELD, "correlation_id"}


def test_a_field_cannot_pose_as_the_exporters_own_attributes(exported: Exported) -> None:
    fields = {"microsoft.custom_event.name": "forged", "exception.type": "Forged"}
    log_event(exported.logger, logging.INFO, "thing.happened", fields)

    assert not set(exported.attributes()) & set(fields)


def test_nested_values_arrive_as_json_a_query_can_parse(exported: Exported) -> None:
    caller = {"kind": "app", "appId": "0c4b7d2e", "name": "Flow \u00e9"}
    log_event(exported.logger, logging.INFO, "thing.happened", {"caller": caller, "codes": []})

    attributes = exported.attributes()
    assert json.loads(attributes["caller"]) == caller
    assert attributes["caller"].isascii()
    assert attributes["codes"] == "[]"
