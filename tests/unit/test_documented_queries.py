"""The queries the READMEs show are the files in infra/queries, word for word: each fenced
`kusto` block is introduced by a comment naming its file (`<!-- infra/queries/x.kql -->`)
and holds that file's query without its comment lines; no query sits inline in the text.
So the language service's check of the files (tests/integration/test_queries.py) covers
what an operator copies from the documentation."""

from __future__ import annotations

import re
import textwrap
from pathlib import Path

import pytest

from dev import kql

ROOT = Path(__file__).resolve().parents[2]
DOCUMENTS = ("README.md", "infra/README.md", "infra/connector/README.md")
_BLOCK = re.compile(
    r"^(?P<indent>[ \t]*)```(?P<lang>kusto|kql)[ \t]*\n(?P<body>.*?)^(?P=indent)```",
    re.MULTILINE | re.DOTALL,
)
_MARKER = re.compile(r"<!--\s*(infra/queries/[\w.-]+\.kql)\s*-->\s*$")
# An inline code span that starts like a query over a table.
_INLINE_QUERY = re.compile(r"`\s*(?:traces|AppTraces|union)\s*\|[^`]*`")


def blocks(name: str) -> list[tuple[str | None, str]]:
    """(the file the marker before it names, the block's text) for each kusto block."""
    text = (ROOT / name).read_text(encoding="utf-8")
    found = []
    for match in _BLOCK.finditer(text):
        before = text[: match.start()].rstrip().splitlines()
        marker = _MARKER.search(before[-1]) if before else None
        body = textwrap.dedent(match.group("body")).strip()
        found.append((marker.group(1) if marker else None, body))
    return found


DOCUMENTED = [(name, path, body) for name in DOCUMENTS for path, body in blocks(name)]


def test_the_readme_shows_the_audit_query() -> None:
    assert ("README.md", "infra/queries/readme-audit.kql") in {(n, p) for n, p, _ in DOCUMENTED}


@pytest.mark.parametrize(("document", "path", "body"), DOCUMENTED)
def test_each_shown_query_names_its_file_and_equals_it(
    document: str, path: str | None, body: str
) -> None:
    assert path is not None, f"{document}: a kusto block without <!-- infra/queries/... -->"
    assert body == kql.load(ROOT / path).body, f"{document} shows {path} other than it is"


@pytest.mark.parametrize("document", DOCUMENTS)
def test_no_query_is_written_inline(document: str) -> None:
    assert _INLINE_QUERY.findall((ROOT / document).read_text(encoding="utf-8")) == []
