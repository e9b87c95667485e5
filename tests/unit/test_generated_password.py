"""Generated passwords (contract 1c): Entra's characters without look-alikes, every class,
any length the setting allows, and nothing about the layout a guesser could lean on."""

from __future__ import annotations

import string
from collections import Counter

import pytest
from hypothesis import given
from hypothesis import strategies as st

from reset_password.generated_password import (
    ALPHABET,
    CLASSES,
    MAX_LENGTH,
    MIN_LENGTH,
    generate_password,
)
from reset_password.password_policy import ALLOWED, password_rule_violations

LOOK_ALIKES_AND_QUOTES = set("0Oo1lI|'\"`")
lengths = st.integers(min_value=MIN_LENGTH, max_value=MAX_LENGTH)


def test_the_length_range_is_the_settings() -> None:
    assert (MIN_LENGTH, MAX_LENGTH) == (12, 256)


@given(lengths)
def test_a_password_has_exactly_the_asked_length(length: int) -> None:
    assert len(generate_password(length)) == length


@given(lengths)
def test_every_character_is_one_entra_allows_and_no_look_alike_or_quote(length: int) -> None:
    password = generate_password(length)
    assert set(password) <= ALLOWED
    assert not set(password) & LOOK_ALIKES_AND_QUOTES


@given(lengths)
def test_every_password_holds_all_four_classes(length: int) -> None:
    password = generate_password(length)
    for members in CLASSES:
        assert set(password) & members


@given(lengths)
def test_the_projects_own_policy_accepts_every_password(length: int) -> None:
    assert password_rule_violations(generate_password(length)) == []


def test_the_alphabet_is_entras_minus_look_alikes_quotes_and_the_space() -> None:
    # A space is invisible at the end of a copied password and trimmed by many forms.
    assert ALLOWED - LOOK_ALIKES_AND_QUOTES - {" "} == ALPHABET
    assert frozenset().union(*CLASSES) == ALPHABET
    assert set(string.ascii_lowercase) - set("ol") <= ALPHABET
    assert set("23456789") <= ALPHABET


@pytest.mark.parametrize("length", [MIN_LENGTH - 1, MAX_LENGTH + 1, 0, -5])
def test_a_length_outside_the_range_is_refused(length: int) -> None:
    with pytest.raises(ValueError, match="12 to 256"):
        generate_password(length)


def test_no_position_is_reserved_for_a_class() -> None:
    # A generator that put "the digit" at a fixed place would show it here: over 3000
    # passwords every class turns up at every position (a miss has odds below 1e-100).
    seen: dict[int, Counter[int]] = {position: Counter() for position in range(MIN_LENGTH)}
    for _ in range(3000):
        for position, character in enumerate(generate_password(MIN_LENGTH)):
            kind = next(i for i, members in enumerate(CLASSES) if character in members)
            seen[position][kind] += 1
    for position, kinds in seen.items():
        assert set(kinds) == {0, 1, 2, 3}, position


def test_passwords_do_not_repeat() -> None:
    assert len({generate_password(MIN_LENGTH) for _ in range(2000)}) == 2000
