"""Passwords the function makes itself (contract 1c), so no caller ever holds one.

Drawn with `secrets` from the characters Microsoft Entra allows, less those a person
misreads or mistypes when copying from a screen: `0 O o 1 l I |`, the quotes, and the
space (invisible at the end of a copied password, and trimmed by many sign-in forms).
Every password holds all four classes. Whole passwords are drawn and those missing a
class are drawn again, so every valid password is equally likely and no position is
reserved for a class (a fixed "digit at the end" would give a guesser a head start).
"""

from __future__ import annotations

import secrets
import string

from reset_password.password_policy import ALLOWED, SYMBOLS

MIN_LENGTH = 12
MAX_LENGTH = 256
_EXCLUDED = frozenset("0Oo1lI|'\"` ")

ALPHABET = ALLOWED - _EXCLUDED
CLASSES: tuple[frozenset[str], ...] = (
    frozenset(string.ascii_lowercase) - _EXCLUDED,
    frozenset(string.ascii_uppercase) - _EXCLUDED,
    frozenset(string.digits) - _EXCLUDED,
    SYMBOLS - _EXCLUDED,
)
_CHOICES = "".join(sorted(ALPHABET))


def generate_password(length: int) -> str:
    """A fresh password of `length` characters (12-256) holding all four classes."""
    if not MIN_LENGTH <= length <= MAX_LENGTH:
        raise ValueError(f"a generated password must be {MIN_LENGTH} to {MAX_LENGTH} characters")
    # At 12 characters about one draw in three misses a class; longer ones rarely do.
    while True:
        password = "".join(secrets.choice(_CHOICES) for _ in range(length))
        present = set(password)
        if all(present & members for members in CLASSES):
            return password
