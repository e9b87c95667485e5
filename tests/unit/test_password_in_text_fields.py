"""A caller's password copied into `ticketId` or `requestedBy` (a flow mapping the wrong
field) is refused: both are audited and echoed, so taking the request would put the
password in the log and the answer. The refusal names the field and never the value."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shared.errors import InvalidRequest
from tests.unit.helpers import PASSWORD, errors_of, parsed_order, request

FIELDS = ("ticketId", "requestedBy")


@pytest.mark.parametrize("field", FIELDS)
def test_the_password_as_a_text_field_is_refused_naming_the_field(field: str) -> None:
    errors = errors_of(request({"password": PASSWORD, field: PASSWORD}))

    assert errors == {field: "must not contain the password (it is audited and echoed)"}


@pytest.mark.parametrize("field", FIELDS)
@given(
    before=st.text(alphabet="ABCXYZ0123- ", max_size=20),
    after=st.text(alphabet="ABCXYZ0123- ", max_size=20),
    upper=st.booleans(),
)
def test_the_password_inside_a_text_field_in_any_letter_case_is_refused_and_never_shown(
    field: str, before: str, after: str, upper: bool
) -> None:
    copied = PASSWORD.upper() if upper else PASSWORD
    with pytest.raises(InvalidRequest) as caught:
        parsed_order(request({"password": PASSWORD, field: f"{before}{copied}{after}"[:64]}))

    shown = json.dumps(caught.value.errors) + str(caught.value)
    assert PASSWORD.lower() not in shown.lower()
    assert caught.value.errors is not None
    assert [error["field"] for error in caught.value.errors] == [field]


@pytest.mark.parametrize("field", FIELDS)
def test_a_text_field_sharing_only_part_of_the_password_is_taken(field: str) -> None:
    order = parsed_order(request({"password": PASSWORD, field: PASSWORD[:8]}))

    assert order.ticket_id == PASSWORD[:8] or order.requested_by == PASSWORD[:8]
