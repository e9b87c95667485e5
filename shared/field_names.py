"""How a field a caller named is shown back: as sent when it is plainly a name, else as
`(unknown field)`. A body key, a query parameter name or a nested key can hold any text,
line breaks and bidi controls included; echoed as sent it could forge an answer's detail
or, quoted in a log line, the log itself."""

from __future__ import annotations

import re

SHOWABLE_FIELD = re.compile(r"^[A-Za-z0-9_.$-]{1,64}$")
UNKNOWN_FIELD = "(unknown field)"


def shown_field(name: str) -> str:
    """`name` when it matches `SHOWABLE_FIELD` (the contract's rule), else `(unknown field)`."""
    return name if SHOWABLE_FIELD.fullmatch(name) else UNKNOWN_FIELD
