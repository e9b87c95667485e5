"""The `pattern`s of the published API documents, and the check that keeps them portable.

Every generator and validator reads a document's patterns with its own regex engine, so
they use only the subset JSON Schema recommends for interoperability: literal characters,
`.`, character classes with ranges (negated or not), `* + ?` and `{n}`, `{n,}`, `{n,m}`
(lazy or not), `^` and `$`, plain groups and `|`. No look-around (`(?=`, `(?!`, ...), no
back-references, no `(?:`, no class escapes (`\\d`, `\\p{..}`), no `\\u` or `\\x` escapes (a
character is written as itself), no character beyond U+FFFF (ECMA-262 without the u flag
reads one as two halves of a pair). Generators that meet a look-ahead can only guess and
filter, and give up.

A pattern may be stricter than the function, never looser: a request the documents call
valid is never refused. Where the subset cannot state a rule, the pattern leaves out some
values the function accepts, and the parameter's description states the full rule. The
character sets come from the function's own rules, so a pattern cannot name a character
the function refuses.

Development tooling only: never imported by `function_app.py`.
"""

from __future__ import annotations

import string
import unicodedata
from collections.abc import Iterable
from functools import cache

from reset_password.names import (
    MAX_DOMAIN_LENGTH,
    MAX_LOCAL_PART_LENGTH,
    is_domain_name,
    is_user_principal_name,
)
from reset_password.password_policy import REQUIRED_CLASSES, SYMBOLS

# --- the subset -------------------------------------------------------------------------

# Characters with a meaning of their own outside a class: written `\c` to mean `c`.
_SYNTAX = frozenset("^$\\.*+?()[]{}|/-")
# Inside a class, the characters that must be escaped to stand for themselves.
_CLASS_SYNTAX = frozenset("\\]^-[")
_QUANTIFIERS = frozenset("*+?{")
_LAST_BMP = 0xFFFF
_SURROGATES = range(0xD800, 0xE000)


class OutsideSubset(ValueError):
    """The pattern uses a construct outside JSON Schema's interoperable regex subset."""

    def __init__(self, pattern: str, position: int, reason: str) -> None:
        super().__init__(f"{reason} at offset {position} of {pattern[:60]!r}")
        self.position = position
        self.reason = reason


class _Reader:
    """A recursive-descent reader of the subset; raises at the first construct outside it."""

    def __init__(self, pattern: str) -> None:
        self.pattern = pattern
        self.at = 0

    def fail(self, reason: str) -> OutsideSubset:
        return OutsideSubset(self.pattern, self.at, reason)

    def peek(self, ahead: int = 0) -> str:
        index = self.at + ahead
        return self.pattern[index] if index < len(self.pattern) else ""

    def take(self) -> str:
        char = self.peek()
        self.at += 1
        return char

    def read(self) -> None:
        self.alternation()
        if self.at < len(self.pattern):
            raise self.fail("unbalanced ')'")

    def alternation(self) -> None:
        self.sequence()
        while self.peek() == "|":
            self.take()
            self.sequence()

    def sequence(self) -> None:
        while self.peek() not in {"", "|", ")"}:
            self.term()

    def term(self) -> None:
        char = self.peek()
        if char in {"^", "$"}:
            self.take()
            if self.peek() in _QUANTIFIERS:
                raise self.fail("a quantified anchor")
            return
        if char in _QUANTIFIERS:
            raise self.fail("a quantifier with nothing to repeat")
        self.atom()
        if self.peek() in _QUANTIFIERS:
            self.quantifier()
            if self.peek() in _QUANTIFIERS:
                raise self.fail("a quantifier of a quantifier")

    def atom(self) -> None:
        char = self.take()
        if char == "(":
            if self.peek() == "?":
                raise self.fail("a '(?' group (look-around, non-capturing or named)")
            self.alternation()
            if self.take() != ")":
                raise self.fail("an unclosed group")
        elif char == "[":
            self.character_class()
        elif char == "\\":
            self.escape(_SYNTAX)
        elif char in {"]", "}"}:
            raise self.fail(f"an unescaped '{char}'")
        elif char != ".":
            self.literal(char)

    def escape(self, allowed: frozenset[str]) -> str:
        char = self.take()
        if char == "":
            raise self.fail("a trailing backslash")
        if char not in allowed:
            raise self.fail(f"the escape '\\{char}' (write a character as itself)")
        return char

    def literal(self, char: str) -> str:
        code = ord(char)
        if code > _LAST_BMP or code in _SURROGATES:
            raise self.fail(f"U+{code:04X}, which engines read differently")
        return char

    def character_class(self) -> None:
        if self.peek() == "^":
            self.take()
        if self.peek() == "]":
            raise self.fail("an empty class")
        while self.peek() != "]":
            low = self.class_character()
            if self.peek() == "-" and self.peek(1) != "]":
                self.take()
                high = self.class_character()
                if ord(high) < ord(low):
                    raise self.fail(f"the range {low}-{high}, which is backwards")
        self.take()

    def class_character(self) -> str:
        char = self.take()
        if char == "":
            raise self.fail("an unclosed class")
        if char == "\\":
            return self.escape(_CLASS_SYNTAX)
        if char in {"[", "-"}:
            raise self.fail(f"an unescaped '{char}' in a class")
        return self.literal(char)

    def quantifier(self) -> None:
        if self.take() == "{":
            low = self.number()
            high: int | None = low
            if self.peek() == ",":
                self.take()
                high = self.number() if self.peek() != "}" else None
            if self.take() != "}":
                raise self.fail("a malformed {n,m}")
            if high is not None and high < low:
                raise self.fail("a {n,m} with m below n")
        if self.peek() == "?":
            self.take()

    def number(self) -> int:
        digits = ""
        while self.peek().isdigit() and self.peek().isascii():
            digits += self.take()
        if not digits:
            raise self.fail("a malformed {n,m}")
        return int(digits)


def check_subset(pattern: str) -> None:
    """Raises OutsideSubset unless the pattern stays inside the interoperable subset."""
    _Reader(pattern).read()


def outside_subset(pattern: str) -> str | None:
    """Why the pattern leaves the subset, or None."""
    try:
        check_subset(pattern)
    except OutsideSubset as error:
        return str(error)
    return None


# --- building patterns ------------------------------------------------------------------


def class_body(characters: Iterable[str]) -> str:
    """The characters as the body of a class: runs of three or more as ranges, the class
    syntax escaped; every character of the Basic Multilingual Plane."""
    codes = sorted({ord(char) for char in characters})
    runs: list[list[int]] = []
    for code in codes:
        if runs and runs[-1][1] == code - 1:
            runs[-1][1] = code
        else:
            runs.append([code, code])

    def one(code: int) -> str:
        char = chr(code)
        return f"\\{char}" if char in _CLASS_SYNTAX else char

    parts = []
    for low, high in runs:
        if high - low >= 2:
            parts.append(f"{one(low)}-{one(high)}")
        else:
            parts.extend(one(code) for code in range(low, high + 1))
    return "".join(parts)


def _ascii_printable() -> list[str]:
    return [chr(code) for code in range(0x20, 0x7F)]


# Path values: what the function reads as a GUID, a domain or a userPrincipalName.
GUID = "[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"
# A domain is at most MAX_DOMAIN_LENGTH long: the schema says so with maxLength.
MAX_CUSTOMER_LENGTH = MAX_DOMAIN_LENGTH
# For a UPN, maxLength keeps the domain within MAX_DOMAIN_LENGTH whatever the local part
# (at least one character and the '@'); longer UPNs than this are left out.
MAX_USER_LENGTH = MAX_DOMAIN_LENGTH + 2
# Each repetition of `\.?[atext]` adds one or two characters, so this many after the
# first keep the local part within MAX_LOCAL_PART_LENGTH: every local part up to
# LOCAL_PART_ANY_FORM characters fits, longer ones only when dots break them up.
_LOCAL_REPEATS = (MAX_LOCAL_PART_LENGTH - 1) // 2
LOCAL_PART_ANY_FORM = _LOCAL_REPEATS + 1


@cache
def label_characters() -> str:
    """The characters the function takes inside a domain label (LDH): the dot separates."""
    return "".join(c for c in _ascii_printable() if c != "." and is_domain_name(f"a{c}a.com"))


@cache
def atext_characters() -> str:
    """The characters the function takes in a UPN's local part, less the dot (which only
    separates) and '%' (refused before two hex digits, a rule the subset cannot state)."""
    return "".join(
        c for c in _ascii_printable() if c != "%" and is_user_principal_name(f"{c}@contoso.com")
    )


def _label() -> str:
    edge = class_body(set(label_characters()) - {"-"})
    inner = class_body(label_characters())
    return f"[{edge}]([{inner}]{{0,61}}[{edge}])?"


def domain_syntax() -> str:
    label = _label()
    return f"{label}(\\.{label})+"


def user_principal_name_syntax() -> str:
    atext = f"[{class_body(atext_characters())}]"
    return f"{atext}(\\.?{atext}){{0,{_LOCAL_REPEATS}}}@{domain_syntax()}"


def customer_pattern() -> str:
    return f"^({GUID}|{domain_syntax()})$"


def user_pattern() -> str:
    return f"^({GUID}|{user_principal_name_syntax()})$"


def user_principal_name_pattern() -> str:
    return f"^{user_principal_name_syntax()}$"


# Idempotency-Key: 1-128 printable ASCII. HTTP trims spaces at either end of a header
# value, so a key that starts or ends with one would not arrive as sent.
MAX_IDEMPOTENCY_KEY_LENGTH = 128


def idempotency_key_pattern() -> str:
    visible = class_body(c for c in _ascii_printable() if c != " ")
    printable = class_body(_ascii_printable())
    inner = MAX_IDEMPOTENCY_KEY_LENGTH - 2
    return f"^[{visible}]([{printable}]{{0,{inner}}}[{visible}])?$"


# The password: at least REQUIRED_CLASSES of the four classes, only allowed characters.
PASSWORD_CLASSES = (
    string.ascii_lowercase,
    string.ascii_uppercase,
    string.digits,
    "".join(sorted(SYMBOLS)),
)


def password_pattern(required: int = REQUIRED_CLASSES) -> str:
    """Look-ahead free: a password holds classes x, y, z exactly when it matches
    `[^x]*x[^y]*y[^z]*z.*` (over the allowed characters) for the order in which their first
    occurrences come. One branch per order of `required` distinct classes, sharing
    prefixes; each branch reads the password once, without backtracking."""
    allowed = "".join(PASSWORD_CLASSES)

    def first(index: int) -> str:
        others = "".join(c for c in allowed if c not in PASSWORD_CLASSES[index])
        return f"[{class_body(others)}]*[{class_body(PASSWORD_CLASSES[index])}]"

    def branches(chosen: tuple[int, ...]) -> str:
        if len(chosen) == required:
            return ""
        options = [
            first(index) + branches((*chosen, index))
            for index in range(len(PASSWORD_CLASSES))
            if index not in chosen
        ]
        return options[0] if len(options) == 1 else "(" + "|".join(options) + ")"

    return f"^{branches(())}[{class_body(allowed)}]*$"


# ticketId: none of Unicode categories Cc, Cf, Zl, Zp (contract section 1).
TICKET_REFUSED_CATEGORIES = frozenset({"Cc", "Cf", "Zl", "Zp"})


@cache
def ticket_id_pattern() -> str:
    """The allowed characters of the Basic Multilingual Plane, named one range at a time.
    A class of what is allowed (not a negated class of what is refused) keeps out every
    character beyond U+FFFF in any engine: without the u flag each is two surrogates, which
    the class leaves out, and with it (or in Python) the character itself is not named.
    Noncharacters are left out too. Built on demand: the scan costs ~20 ms."""
    allowed = (
        chr(code)
        for code in range(0x20, 0x10000)
        if code not in _SURROGATES
        and not (0xFDD0 <= code <= 0xFDEF or code >= 0xFFFE)
        and unicodedata.category(chr(code)) not in TICKET_REFUSED_CATEGORIES
    )
    return f"^[{class_body(allowed)}]*$"


def link_id_pattern() -> str:
    """A one-time link's ID exactly as the function reads one (secret_links.crypto): 16
    bytes in base64url without padding, so 22 characters whose last carries 2 bits."""
    return "^[A-Za-z0-9_\\-]{21}[AQgw]$"
