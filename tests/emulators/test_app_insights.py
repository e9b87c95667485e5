"""The ingestion emulator: takes envelopes posted as the exporter posts them (plain or
gzip'd JSON), only with a managed identity token for Azure Monitor when it requires one,
and only for its own instrumentation key."""

from __future__ import annotations

import gzip
import json
from typing import Any

import pytest
import requests

from dev.emulators import EmulatorStack
from dev.emulators.app_insights import MESSAGE_ENVELOPE, MONITOR_AUDIENCE, IngestionEmulator
from dev.emulators.ledger import TokenLedger


@pytest.fixture
def ledger(emulator_stack: EmulatorStack) -> TokenLedger:
    return emulator_stack.ledger


@pytest.fixture
def ca_bundle(emulator_stack: EmulatorStack) -> str:
    return emulator_stack.ca.ca_bundle_path


def envelope(ikey: str, message: str = "hello") -> dict[str, Any]:
    return {
        "name": MESSAGE_ENVELOPE,
        "iKey": ikey,
        "time": "2026-12-08T00:00:00.000000Z",
        "tags": {"ai.operation.id": "0" * 32},
        "data": {
            "baseType": "MessageData",
            "baseData": {"ver": 2, "message": message, "properties": {"logger": "x"}},
        },
    }


def post(
    ingestion: IngestionEmulator,
    body: bytes,
    *,
    ca_bundle: str,
    token: str | None,
    path: str = "/v2.1/track",
    headers: dict[str, str] | None = None,
) -> requests.Response:
    sent = {"Content-Type": "application/json", **(headers or {})}
    if token is not None:
        sent["Authorization"] = f"Bearer {token}"
    return requests.post(
        ingestion.url + path,
        data=body,
        headers=sent,
        verify=ca_bundle,
        timeout=5,
    )


def test_envelopes_with_a_monitor_token_are_accepted_plain_or_gzipped(
    ingestion: IngestionEmulator, ledger: TokenLedger, ca_bundle: str
) -> None:
    token = ledger.issue(MONITOR_AUDIENCE + "/", 3600)
    plain = json.dumps([envelope(ingestion.instrumentation_key, "one")]).encode()
    zipped = gzip.compress(json.dumps([envelope(ingestion.instrumentation_key, "two")]).encode())

    first = post(ingestion, plain, ca_bundle=ca_bundle, token=token)
    second = post(
        ingestion,
        zipped,
        ca_bundle=ca_bundle,
        token=token,
        path="/v2/track",
        headers={"Content-Encoding": "gzip"},
    )

    assert first.status_code == second.status_code == 200
    assert first.json() == {"itemsReceived": 1, "itemsAccepted": 1, "errors": []}
    assert [e.message for e in ingestion.messages()] == ["one", "two"]
    assert ingestion.messages()[0].properties == {"logger": "x"}


@pytest.mark.parametrize("audience", [None, "https://vault.azure.net"])
def test_without_a_monitor_token_nothing_is_taken(
    ingestion: IngestionEmulator, ledger: TokenLedger, ca_bundle: str, audience: str | None
) -> None:
    token = ledger.issue(audience, 3600) if audience else None
    body = json.dumps([envelope(ingestion.instrumentation_key)]).encode()

    assert post(ingestion, body, ca_bundle=ca_bundle, token=token).status_code == 401
    assert ingestion.envelopes == []


def test_another_resources_key_is_refused(
    ingestion: IngestionEmulator, ledger: TokenLedger, ca_bundle: str
) -> None:
    token = ledger.issue(MONITOR_AUDIENCE, 3600)
    body = json.dumps([envelope("00000000-0000-0000-0000-000000000000")]).encode()

    assert post(ingestion, body, ca_bundle=ca_bundle, token=token).status_code == 400
    assert ingestion.envelopes == []


def test_the_connection_string_names_the_key_and_the_endpoint(
    ingestion: IngestionEmulator,
) -> None:
    assert ingestion.connection_string == (
        f"InstrumentationKey={ingestion.instrumentation_key};IngestionEndpoint={ingestion.url}/"
    )
