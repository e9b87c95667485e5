"""Telemetry settings: export only to an ingestion endpoint the log records may travel to,
with Entra ingestion spelled as the platform spells it; a problem names the setting, never
its value, and stops the export alone."""

from __future__ import annotations

import logging

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shared.settings import SettingsError, load_telemetry_settings
from worker.telemetry import start_log_export

KEY = "InstrumentationKey=6f1c2b9e-3d4a-4e5f-8a7b-9c0d1e2f3a4b"
CLIENT_ID = "0c4b7d2e-9a1f-4e3c-8b6d-5f2a1e0d9c87"
CONNECTION = "APPLICATIONINSIGHTS_CONNECTION_STRING"
AUTHENTICATION = "APPLICATIONINSIGHTS_AUTHENTICATION_STRING"


def _problems(env: dict[str, str]) -> list[str]:
    with pytest.raises(SettingsError) as caught:
        load_telemetry_settings(env)
    return caught.value.problems


def test_without_a_connection_string_nothing_is_exported() -> None:
    assert not load_telemetry_settings({}).export_enabled
    assert not load_telemetry_settings({CONNECTION: "  "}).export_enabled


@pytest.mark.parametrize(
    "connection_string",
    [
        KEY,
        f"{KEY};IngestionEndpoint=https://westeurope-5.in.applicationinsights.azure.com/;"
        "LiveEndpoint=https://westeurope.livediagnostics.monitor.azure.com/",
        f"{KEY};IngestionEndpoint=http://127.0.0.1:8123/",
        f"{KEY};EndpointSuffix=applicationinsights.azure.cn",
    ],
)
def test_a_connection_string_with_a_key_turns_the_export_on(connection_string: str) -> None:
    assert load_telemetry_settings({CONNECTION: connection_string}).export_enabled


@pytest.mark.parametrize(
    "connection_string",
    [
        "IngestionEndpoint=https://westeurope-5.in.applicationinsights.azure.com/",
        "InstrumentationKey=not-a-guid",
        f"{KEY};IngestionEndpoint=http://ingest.example.com/",
        f"{KEY};IngestionEndpoint=westeurope-5.in.applicationinsights.azure.com",
        "just some text",
    ],
)
def test_a_connection_string_that_could_misdirect_the_records_is_refused(
    connection_string: str,
) -> None:
    [problem] = _problems({CONNECTION: connection_string})
    assert problem.startswith(CONNECTION)


@pytest.mark.parametrize(
    ("authentication_string", "client_id"),
    [
        ("Authorization=AAD", None),
        (f"ClientId={CLIENT_ID};Authorization=AAD", CLIENT_ID),
        (f"authorization=AAD;clientid={CLIENT_ID}", CLIENT_ID),
    ],
)
def test_entra_ingestion_names_the_identity_that_sends(
    authentication_string: str, client_id: str | None
) -> None:
    settings = load_telemetry_settings({CONNECTION: KEY, AUTHENTICATION: authentication_string})
    assert settings.entra_ingestion
    assert settings.ingestion_client_id == client_id


@pytest.mark.parametrize(
    "authentication_string",
    [
        "Authorization=Key",
        f"ClientId={CLIENT_ID}",
        "ClientId=not-a-guid;Authorization=AAD",
        f"ClientId={CLIENT_ID};Authorization=AAD;Secret=x",
    ],
)
def test_an_authentication_string_of_another_form_is_refused(authentication_string: str) -> None:
    [problem] = _problems({CONNECTION: KEY, AUTHENTICATION: authentication_string})
    assert problem.startswith(AUTHENTICATION)


# Values carry a marker no message holds, so a shown value cannot pass for message text.
@given(value=st.text().map(lambda text: "Zq9#" + text), place=st.sampled_from(["", KEY + ";"]))
def test_a_problem_never_shows_the_value(value: str, place: str) -> None:
    for env in ({CONNECTION: place + value}, {CONNECTION: KEY, AUTHENTICATION: value}):
        try:
            load_telemetry_settings(env)
        except SettingsError as exc:
            assert "Zq9#" not in " ".join(exc.problems)


def test_a_bad_telemetry_setting_stops_the_export_alone(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.ERROR)
    secret_looking = "InstrumentationKey=oops;IngestionEndpoint=http://ingest.example.com/"

    assert start_log_export({CONNECTION: secret_looking}) is None

    [line] = [r.getMessage() for r in caplog.records]
    assert CONNECTION in line
    assert "oops" not in line
    assert "ingest.example.com" not in line
