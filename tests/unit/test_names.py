"""Path values: a GUID or a name; anything else is a 400 naming the path parameter."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from reset_password.names import CustomerRef, UserRef, parse_customer, parse_user
from tests.budget import examples
from tests.unit.helpers import errors_of, parsed_order, request

GUID_TEXT = "0B1A2C3D-4E5F-4A6B-8C7D-9E0F1A2B3C4D"
LOCAL_PART_CHARS = (
    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.!#$%&'*+-/=?^_`{|}~"
)
# Every label well-formed; only the length is wrong.
DOMAIN_300 = ("a" * 63 + ".") * 4 + "a" * 44
# Cyrillic letters that render exactly like these Latin ones.
LOOK_ALIKES = {"a": "\u0430", "e": "\u0435", "o": "\u043e", "p": "\u0440", "c": "\u0441"}

labels = st.from_regex(r"[A-Za-z0-9]([A-Za-z0-9-]{0,20}[A-Za-z0-9])?", fullmatch=True)
domains = st.lists(labels, min_size=2, max_size=4).map(".".join)
local_parts = st.text(LOCAL_PART_CHARS, min_size=1, max_size=40).filter(
    lambda s: not s.startswith(".") and not s.endswith(".") and ".." not in s and "%" not in s
)
upns = st.builds(lambda local, domain: f"{local}@{domain}", local_parts, domains)


# --- what is accepted ----------------------------------------------------------------


def test_a_guid_is_an_id_in_lower_case() -> None:
    assert parse_customer(GUID_TEXT) == CustomerRef(tenant_id=GUID_TEXT.lower())
    assert parse_user(GUID_TEXT) == UserRef(object_id=GUID_TEXT.lower())


@given(domains)
def test_any_well_formed_domain_is_a_domain_in_lower_case(domain: str) -> None:
    assert parse_customer(domain) == CustomerRef(domain=domain.lower())


@given(upns)
def test_any_well_formed_upn_is_a_upn_in_lower_case(upn: str) -> None:
    assert parse_user(upn) == UserRef(upn=upn.lower())


@pytest.mark.parametrize(
    "upn",
    [
        "ada@contoso.com",
        "ada.lovelace@contoso.onmicrosoft.com",
        "ada_fabrikam.com#EXT#@contoso.onmicrosoft.com",
        "o'brien+it@contoso.co.uk",
        "100%@contoso.com",
    ],
)
def test_real_world_upns_are_accepted(upn: str) -> None:
    assert parse_user(upn) == UserRef(upn=upn.lower())


def test_a_domain_of_253_characters_is_accepted() -> None:
    domain = ".".join(["a" * 63] * 3 + ["b" * 61])
    assert len(domain) == 253
    assert parse_customer(domain) == CustomerRef(domain=domain)


# --- what is refused -----------------------------------------------------------------


@given(domains, st.data())
def test_a_domain_with_a_space_is_refused(domain: str, data: st.DataObject) -> None:
    at = data.draw(st.integers(0, len(domain)))
    assert parse_customer(domain[:at] + " " + domain[at:]) is None


@given(domains)
def test_a_domain_with_a_trailing_dot_is_refused(domain: str) -> None:
    assert parse_customer(domain + ".") is None


def test_a_domain_of_300_characters_is_refused() -> None:
    assert len(DOMAIN_300) == 300
    assert parse_customer(DOMAIN_300) is None


@settings(max_examples=examples(0.25))
@given(domains, st.sampled_from(sorted(LOOK_ALIKES)))
def test_a_domain_with_a_unicode_look_alike_is_refused(domain: str, latin: str) -> None:
    spoofed = "contoso" + latin + "." + domain
    assert parse_customer(spoofed.replace(latin, LOOK_ALIKES[latin], 1)) is None


@pytest.mark.parametrize(
    "domain",
    ["contoso", "-contoso.com", "contoso-.com", "contoso..com", ".contoso.com", "a" * 64 + ".com"],
)
def test_malformed_domain_labels_are_refused(domain: str) -> None:
    assert parse_customer(domain) is None


@given(st.text(max_size=40).filter(lambda s: "@" not in s))
def test_a_user_without_an_at_sign_is_not_a_upn(text: str) -> None:
    ref = parse_user(text)
    assert ref is None or ref.upn is None


@given(local_parts, local_parts, domains)
def test_a_upn_with_two_at_signs_is_refused(first: str, second: str, domain: str) -> None:
    assert parse_user(f"{first}@{second}@{domain}") is None


@given(domains)
def test_a_upn_with_an_empty_local_part_is_refused(domain: str) -> None:
    assert parse_user("@" + domain) is None


@given(upns, st.data())
def test_a_upn_still_holding_a_percent_escape_is_refused(upn: str, data: st.DataObject) -> None:
    escape = "%" + data.draw(st.from_regex(r"[0-9A-Fa-f]{2}", fullmatch=True))
    at = data.draw(st.integers(0, len(upn)))
    assert parse_user(upn[:at] + escape + upn[at:]) is None


@given(upns, st.sampled_from(sorted(LOOK_ALIKES)))
def test_a_upn_with_a_unicode_look_alike_is_refused(upn: str, latin: str) -> None:
    # Planted at the front, so every example carries one look-alike (no filtering).
    assert parse_user(LOOK_ALIKES[latin] + upn) is None
    local, _, domain = upn.partition("@")
    assert parse_user(f"{local}@{LOOK_ALIKES[latin]}{domain}") is None


@pytest.mark.parametrize("local", [".ada", "ada.", "ada..lovelace", "a" * 114, "ada lovelace"])
def test_malformed_upn_prefixes_are_refused(local: str) -> None:
    assert parse_user(f"{local}@contoso.com") is None


# --- how the request reports it ------------------------------------------------------


@pytest.mark.parametrize(
    "customer",
    ["contoso .com", "contoso.com.", DOMAIN_300, "cont\u043eso.com", "contoso"],
)
def test_a_malformed_customer_is_400_naming_customer(customer: str) -> None:
    errors = errors_of(request(customer=customer))
    assert set(errors) == {"customer"}
    assert "verified domain such as contoso.com" in errors["customer"]


@pytest.mark.parametrize(
    "user",
    [
        "ada.contoso.com",
        "ada@fabrikam@contoso.com",
        "@contoso.com",
        "ada%40contoso.com",
        "ad\u0430@contoso.com",
        "ada@contoso.com.",
    ],
)
def test_a_malformed_user_is_400_naming_user(user: str) -> None:
    errors = errors_of(request(user=user))
    assert set(errors) == {"user"}
    assert "userPrincipalName such as ada@contoso.com" in errors["user"]


def test_the_request_carries_what_was_asked() -> None:
    parsed = parsed_order(request(customer="Contoso.com", user="Ada@Contoso.com"))
    assert parsed.customer == CustomerRef(domain="contoso.com")
    assert parsed.user == UserRef(upn="ada@contoso.com")
