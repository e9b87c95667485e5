"""The link page, the reveal and the purge timer, as registered in function_app.py and
driven like the worker drives them, against Azurite."""

from __future__ import annotations

import json
import threading

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dev.link_client import open_sealed
from reset_password.generated_password import MAX_LENGTH, MIN_LENGTH, generate_password
from secret_links.crypto import SealedPassword, new_link, seal
from secret_links.page import CONTENT_SECURITY_POLICY
from shared.errors import InvalidRequest
from shared.problems import problem_body
from tests.secret_links.conftest import CUSTOMER, OTHER_USER, USER, LinkHarness

PASSWORD = "Route-Spec-Pw-77!"
DAY = 86400.0


def _gone_body(raw: bytes) -> dict[str, object]:
    body = json.loads(raw)
    assert isinstance(body, dict)
    body.pop("correlationId")
    return body


def test_the_page_of_a_live_link_offers_one_button_and_nothing_secret(links: LinkHarness) -> None:
    link = links.ready_link(PASSWORD)
    answer = links.page(link.link_id)
    assert answer.status == 200
    assert answer.mimetype == "text/html"
    page = answer.raw.decode()
    assert page.count("<button") == 2  # show, and copy (hidden until shown)
    assert 'id="reveal"' in page and "hidden>" in page
    assert "change this password the first time you sign in" in page
    stored = links.store.public_point(link.link_id)
    for secret in (PASSWORD, link.key_text, link.link_id):
        assert secret not in page
    assert stored  # the link is still there: reading the page spent nothing


def test_the_page_carries_the_contracts_headers(links: LinkHarness) -> None:
    # The policy itself is specified in tests/unit/test_link_page.py.
    for link_id in (links.ready_link(PASSWORD).link_id, new_link().link_id):
        answer = links.page(link_id)
        assert answer.headers["content-security-policy"] == CONTENT_SECURITY_POLICY
        assert answer.headers["referrer-policy"] == "no-referrer"
        assert answer.headers["cache-control"] == "no-store"
        assert answer.headers["x-robots-tag"] == "noindex"


def test_link_previews_that_fetch_the_page_leave_the_view(links: LinkHarness) -> None:
    link = links.ready_link(PASSWORD)
    for _ in range(3):
        assert links.page(link.link_id).status == 200
    answer = links.reveal(link.link_id)
    assert answer.status == 200
    sealed = SealedPassword.from_json(answer.json)
    assert open_sealed(sealed, link_id=link.link_id, key_text=link.key_text) == PASSWORD


def test_a_spent_unknown_expired_or_malformed_link_gets_the_same_gone_page(
    links: LinkHarness,
) -> None:
    spent = links.ready_link(PASSWORD)
    assert links.reveal(spent.link_id).status == 200
    expired = links.ready_link(PASSWORD, user=OTHER_USER)
    links.clock.advance(DAY)
    pages = [
        links.page(link_id)
        for link_id in (spent.link_id, new_link().link_id, expired.link_id, "not-a-link", "x" * 300)
    ]
    assert {page.status for page in pages} == {404}
    assert len({page.raw for page in pages}) == 1
    assert b"<script" not in pages[0].raw and b"<button" not in pages[0].raw


def test_the_reveal_answers_the_sealed_password_once(links: LinkHarness) -> None:
    link = links.ready_link(PASSWORD)
    answer = links.reveal(link.link_id)
    assert answer.status == 200
    assert answer.mimetype == "application/json"
    assert set(answer.json) == {"ephemeralPublicKey", "nonce", "ciphertext"}
    assert answer.headers["cache-control"] == "no-store"
    assert answer.headers["referrer-policy"] == "no-referrer"
    sealed = SealedPassword.from_json(answer.json)
    assert open_sealed(sealed, link_id=link.link_id, key_text=link.key_text) == PASSWORD
    again = links.reveal(link.link_id)
    assert again.status == 404
    assert again.json["code"] == "secret_gone"


def test_two_racing_reveal_posts_give_the_ciphertext_to_exactly_one(links: LinkHarness) -> None:
    # tests/secret_links/test_store.py forces both to read before either deletes; here the
    # whole route runs side by side, a few times over.
    start = threading.Barrier(2, timeout=10)  # lets both go at once, round after round
    for _ in range(4):
        link = links.ready_link(PASSWORD)
        statuses: list[int] = []

        def post(link_id: str = link.link_id, statuses: list[int] = statuses) -> None:
            start.wait()
            statuses.append(links.reveal(link_id).status)

        racers = [threading.Thread(target=post) for _ in range(2)]
        for racer in racers:
            racer.start()
        for racer in racers:
            racer.join(timeout=20)
        assert sorted(statuses) == [200, 404]


def test_second_expired_unknown_and_malformed_reveals_are_one_and_the_same_404(
    links: LinkHarness,
) -> None:
    spent = links.ready_link(PASSWORD)
    links.reveal(spent.link_id)
    expired = links.ready_link(PASSWORD, user=OTHER_USER)
    links.clock.advance(DAY)
    answers = [
        links.reveal(link_id)
        for link_id in (
            spent.link_id,
            expired.link_id,
            new_link().link_id,
            "abc",
            "%2e%2e",
            "A" * 22,
        )
    ]
    assert {answer.status for answer in answers} == {404}
    assert {answer.mimetype for answer in answers} == {"application/problem+json"}
    bodies = [_gone_body(answer.raw) for answer in answers]
    assert all(body == bodies[0] for body in bodies)
    assert bodies[0]["code"] == "secret_gone"
    assert bodies[0]["type"] == "urn:partner-password-reset:problem:secret_gone"


def test_the_gone_problem_has_the_projects_problem_shape(links: LinkHarness) -> None:
    answer = links.reveal(new_link().link_id)
    shared_shape = problem_body(InvalidRequest("x"), "c")
    assert set(answer.json) == set(shared_shape)
    assert answer.headers["x-correlation-id"] == answer.json["correlationId"]


def test_a_link_whose_reset_is_pending_is_not_ready_and_stays_usable(links: LinkHarness) -> None:
    link = new_link()
    links.store.create_pending(link.link_id, link.public_point, customer_id=CUSTOMER, user_id=USER)
    assert links.page(link.link_id).status == 200
    answer = links.reveal(link.link_id)
    assert answer.status == 409
    assert answer.json["code"] == "secret_not_ready"
    assert answer.headers["retry-after"] == "10"
    links.store.store_sealed(
        link.link_id, seal(PASSWORD, link_id=link.link_id, public_point=link.public_point)
    )
    assert links.reveal(link.link_id).status == 200


def test_a_link_whose_reset_failed_is_gone(links: LinkHarness) -> None:
    link = new_link()
    links.store.create_pending(link.link_id, link.public_point, customer_id=CUSTOMER, user_id=USER)
    links.store.delete_pending(link.link_id)
    assert links.reveal(link.link_id).json["code"] == "secret_gone"


def test_a_link_expires_on_the_links_clock(links: LinkHarness) -> None:
    link = links.ready_link(PASSWORD)
    links.clock.advance(DAY - 1)
    assert links.page(link.link_id).status == 200
    links.clock.advance(1)
    assert links.page(link.link_id).status == 404
    assert links.reveal(link.link_id).json["code"] == "secret_gone"


def test_each_reveal_is_audited_without_key_or_ciphertext(links: LinkHarness) -> None:
    link = links.ready_link(PASSWORD)
    answer = links.reveal(link.link_id)
    links.reveal(link.link_id)
    links.reveal(new_link().link_id)
    records = links.audit_records()
    assert len(records) == 1
    record = records[0]
    assert record == {
        "event": "password_link.revealed",
        "linkId": link.link_id,
        "customerTenantId": CUSTOMER,
        "userId": USER,
        "revealedAt": record["revealedAt"],
        "correlationId": answer.headers["x-correlation-id"],
    }
    assert record["revealedAt"].endswith("Z")


@pytest.mark.parametrize(
    ("content_type", "status"),
    [("text/plain", 415), ("application/x-www-form-urlencoded", 415), ("application/jsonx", 415)],
)
def test_a_reveal_that_is_not_json_is_refused(
    links: LinkHarness, content_type: str, status: int
) -> None:
    link = links.ready_link(PASSWORD)
    answer = links.reveal(link.link_id, headers={"Content-Type": content_type})
    assert answer.status == status
    assert answer.json["code"] == "unsupported_media_type"
    assert links.store.status(link.link_id) is not None


def test_a_reveal_with_charset_or_without_content_type_is_accepted(links: LinkHarness) -> None:
    first, second = links.ready_link(PASSWORD), links.ready_link(PASSWORD, user=OTHER_USER)
    charset = {"Content-Type": "application/json; charset=utf-8"}
    assert links.reveal(first.link_id, headers=charset).status == 200
    assert links.reveal(second.link_id, b" { } ", headers={}).status == 200


def test_a_reveal_with_a_query_is_refused(links: LinkHarness) -> None:
    link = links.ready_link(PASSWORD)
    answer = links.reveal(link.link_id, params={"view": "1"})
    assert answer.status == 400
    assert "view" in answer.json["detail"]
    assert links.store.status(link.link_id) is not None


def test_a_huge_reveal_body_is_refused(links: LinkHarness) -> None:
    answer = links.reveal(links.ready_link(PASSWORD).link_id, b"{" + b" " * 2000 + b"}")
    assert answer.status == 413


def _is_not_empty_object(body: bytes) -> bool:
    try:
        value: object = json.loads(body)
    except ValueError:
        return True
    return value != {}


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(), inner, max_size=3),
    max_leaves=8,
)


@settings(max_examples=40, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    st.one_of(
        st.binary(max_size=64),
        json_values.map(lambda value: json.dumps(value).encode()),
        st.sampled_from([b"", b"null", b"[]", b'{"a":1}', b"{}{}", b'"{}"', b"{\xff}"]),
    ).filter(_is_not_empty_object)
)
def test_any_reveal_body_but_an_empty_object_is_refused(links: LinkHarness, body: bytes) -> None:
    answer = links.reveal(new_link().link_id, body)
    assert answer.status == 400
    assert answer.json["code"] == "invalid_request"


def test_a_refused_reveal_leaves_the_link_usable(links: LinkHarness) -> None:
    link = links.ready_link(PASSWORD)
    assert links.reveal(link.link_id, b'{"id": 1}').status == 400
    assert links.reveal(link.link_id, b"").status == 400
    assert links.reveal(link.link_id).status == 200


def test_the_purge_timer_removes_expired_links_only(links: LinkHarness) -> None:
    expired = links.ready_link(PASSWORD)
    links.clock.advance(DAY / 2)
    alive = links.ready_link(PASSWORD, user=OTHER_USER)
    links.clock.advance(DAY / 2)
    links.purge()
    assert links.store.status(expired.link_id) is None
    links.clock.advance(-DAY)  # back before the expiry: only a row that is gone stays gone
    assert links.store.status(expired.link_id) is None
    assert links.store.status(alive.link_id) is not None


def test_the_purge_timer_is_registered_with_its_schedule(links: LinkHarness) -> None:
    trigger = links.registered["purge_secret_links"].get_trigger()
    assert trigger.get_dict_repr()["schedule"] == "0 17 * * * *"


def test_without_link_settings_the_reveal_is_a_configuration_error(links: LinkHarness) -> None:
    links.configure(AzureWebJobsStorage=None)
    answer = links.reveal(new_link().link_id)
    assert answer.status == 500
    assert answer.json["code"] == "configuration_error"
    assert "AzureWebJobsStorage" in answer.json["detail"]
    assert links.page(new_link().link_id).status == 500


def test_storage_out_of_reach_is_503_with_retry_after(links: LinkHarness) -> None:
    links.configure(
        AzureWebJobsStorage=(
            "DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=a2V5;"
            "TableEndpoint=http://127.0.0.1:9/devstoreaccount1;"
        )
    )
    answer = links.reveal(new_link().link_id)
    assert answer.status == 503
    assert answer.json["code"] == "dependency_unavailable"
    assert answer.headers["retry-after"] == "30"
    page = links.page(new_link().link_id)
    assert page.status == 503
    assert b"has not been used up" in page.raw


@settings(max_examples=8, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.integers(min_value=MIN_LENGTH, max_value=MAX_LENGTH).map(generate_password))
def test_no_password_key_or_ciphertext_reaches_a_log_or_header(
    links: LinkHarness, password: str
) -> None:
    link = links.ready_link(password)
    links.page(link.link_id)
    revealed = links.reveal(link.link_id)
    links.reveal(link.link_id)
    ciphertext = revealed.json["ciphertext"]
    haystack = links.log_text() + json.dumps([a.headers for a in links.answers])
    haystack += "".join(a.raw.decode(errors="replace") for a in links.answers if a is not revealed)
    for secret in (password, link.key_text, ciphertext, revealed.json["nonce"]):
        assert secret not in haystack


def test_an_unexpected_error_is_the_projects_500_problem_without_internals(
    links: LinkHarness, monkeypatch: pytest.MonkeyPatch
) -> None:
    link = links.ready_link(PASSWORD)

    def broken(link_id: str) -> None:
        raise RuntimeError(f"boom {link.key_text}")

    monkeypatch.setattr(links.store, "reveal", broken)
    monkeypatch.setattr(links.store, "status", broken)
    answer = links.reveal(link.link_id)
    assert answer.status == 500
    assert answer.json["code"] == "internal_error"
    assert links.page(link.link_id).status == 500
    assert link.key_text not in links.log_text() + answer.raw.decode()
    # The same line every route writes (shared/unexpected.py): the type and the frames.
    assert "unexpected RuntimeError during secret link reveal at " in links.log_text()
    assert "unexpected RuntimeError during secret link page at " in links.log_text()
