"""Microsoft Entra password rules for cloud users, checked before anything goes upstream.

Messages name the rule that failed, never the password or any part of it.
"""

from __future__ import annotations

import string

MIN_LENGTH = 8
MAX_LENGTH = 256
SYMBOLS = frozenset("@#$%^&*-_!+=[]{}|\\:',.?/`~\"();<> ")
ALLOWED = frozenset(string.ascii_letters + string.digits) | SYMBOLS
REQUIRED_CLASSES = 3

RULE_LENGTH = f"must be {MIN_LENGTH} to {MAX_LENGTH} characters long"
RULE_CHARACTERS = (
    "may contain only the characters Microsoft Entra allows: A-Z, a-z, 0-9, space and "
    "@ # $ % ^ & * - _ ! + = [ ] { } | \\ : ' , . ? / ` ~ \" ( ) ; < >"
)
RULE_CLASSES = (
    "must contain at least 3 of these 4 kinds of character: lowercase letters, uppercase "
    "letters, digits, symbols"
)


def password_rule_violations(password: str) -> list[str]:
    """The rules `password` breaks, in a stable order; empty when it is acceptable."""
    problems = []
    if not MIN_LENGTH <= len(password) <= MAX_LENGTH:
        problems.append(RULE_LENGTH)
    if not set(password) <= ALLOWED:
        problems.append(RULE_CHARACTERS)
    classes = (
        any(c in string.ascii_lowercase for c in password)
        + any(c in string.ascii_uppercase for c in password)
        + any(c in string.digits for c in password)
        + any(c in SYMBOLS for c in password)
    )
    if classes < REQUIRED_CLASSES:
        problems.append(RULE_CLASSES)
    return problems
