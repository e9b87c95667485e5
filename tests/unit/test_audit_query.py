"""The documented audit queries select what the code writes: the audit record's logger
and event fields, never its message text (which a caller's words can reach)."""

from __future__ import annotations

import logging
import re
from pathlib import Path

import pytest

from reset_password.audit import AUDIT_EVENT, audit_logger, emit_audit
from shared.log import EVENT_FIELD, LOGGER_FIELD

ROOT = Path(__file__).resolve().parents[2]
DOCUMENTS = ("README.md", "infra/README.md", "infra/connector/README.md")
# Inline `traces | ...` spans and fenced Kusto blocks.
_INLINE_QUERY = re.compile(r"`((?:traces|union)\b[^`]*)`")
_BLOCK_QUERY = re.compile(r"```(?:kusto|kql)?[ \t]*\n\s*((?:traces|union)\b.*?)```", re.DOTALL)
_SELECTOR = re.compile(r'customDimensions\.(\w+)\s*==\s*"([^"]*)"')
_TEXT_MATCH = re.compile(r"\bmessage\b\s*(?:contains|has|startswith|endswith|matches|==|=~)")


def documented_queries() -> list[tuple[str, str]]:
    queries = []
    for name in DOCUMENTS:
        path = ROOT / name
        if not path.exists():
            continue
        text = path.read_text(encoding="utf-8")
        for pattern in (_INLINE_QUERY, _BLOCK_QUERY):
            queries += [(name, " ".join(found.split())) for found in pattern.findall(text)]
    return queries


def audit_queries() -> list[tuple[str, str]]:
    return [
        (name, query)
        for name, query in documented_queries()
        if AUDIT_EVENT in query or audit_logger.name in query or "audit" in query.lower()
    ]


def test_the_readme_documents_an_audit_query() -> None:
    assert any(name == "README.md" for name, _ in audit_queries())


@pytest.mark.parametrize(("document", "query"), audit_queries())
def test_each_audit_query_selects_on_the_logger_and_event_fields(document: str, query: str) -> None:
    selectors = dict(_SELECTOR.findall(query))
    assert selectors.get(LOGGER_FIELD) == audit_logger.name, (document, query)
    assert selectors.get(EVENT_FIELD) == AUDIT_EVENT, (document, query)


@pytest.mark.parametrize(("document", "query"), audit_queries())
def test_no_audit_query_matches_message_text(document: str, query: str) -> None:
    assert not _TEXT_MATCH.search(query), (document, query)


def test_the_audit_record_carries_the_fields_the_queries_select_on(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO)
    emit_audit({"outcome": "succeeded", "httpStatus": 200})
    [record] = caplog.records
    for _, query in audit_queries():
        for field, value in _SELECTOR.findall(query):
            assert getattr(record, field, None) == value, (field, query)
