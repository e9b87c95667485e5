"""Entra password rules: what is accepted, what is refused, and how it is said."""

from __future__ import annotations

import string

from hypothesis import given
from hypothesis import strategies as st

from reset_password.password_policy import (
    ALLOWED,
    RULE_CHARACTERS,
    RULE_CLASSES,
    RULE_LENGTH,
    SYMBOLS,
    password_rule_violations,
)

allowed_text = st.text(alphabet=sorted(ALLOWED), min_size=8, max_size=256)


def _classes(password: str) -> int:
    return sum(
        any(c in group for c in password)
        for group in (string.ascii_lowercase, string.ascii_uppercase, string.digits, SYMBOLS)
    )


def test_a_password_with_three_classes_and_eight_characters_is_accepted() -> None:
    assert password_rule_violations("Abcdefg1") == []


def test_all_four_classes_are_accepted() -> None:
    assert password_rule_violations("Ab1!Ab1!") == []


def test_seven_characters_break_the_length_rule() -> None:
    assert password_rule_violations("Abcde1!") == [RULE_LENGTH]


def test_257_characters_break_the_length_rule() -> None:
    assert RULE_LENGTH in password_rule_violations("Aa1!" * 64 + "x")


def test_256_characters_are_accepted() -> None:
    assert password_rule_violations("Aa1!" * 64) == []


def test_two_classes_break_the_complexity_rule() -> None:
    assert password_rule_violations("abcdefgh1") == [RULE_CLASSES]


def test_unicode_letters_are_refused() -> None:
    assert RULE_CHARACTERS in password_rule_violations("Pässwort1!")


def test_emoji_and_control_characters_are_refused() -> None:
    assert RULE_CHARACTERS in password_rule_violations("Abcdef1!\U0001f600")
    assert RULE_CHARACTERS in password_rule_violations("Abcdef1!\n")


def test_space_counts_as_a_symbol() -> None:
    assert password_rule_violations("abc def 123") == []


@given(allowed_text)
def test_allowed_characters_pass_exactly_when_three_classes_are_present(pw: str) -> None:
    assert (password_rule_violations(pw) == []) == (_classes(pw) >= 3)


@given(st.text(min_size=0, max_size=300))
def test_messages_never_contain_the_password(pw: str) -> None:
    for message in password_rule_violations(pw):
        assert message in {RULE_LENGTH, RULE_CHARACTERS, RULE_CLASSES}


@given(st.text(min_size=1).filter(lambda t: not set(t) <= ALLOWED))
def test_any_character_outside_the_entra_set_is_refused(pw: str) -> None:
    assert RULE_CHARACTERS in password_rule_violations(pw)
