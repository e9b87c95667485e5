"""Every KQL query in the repository (infra/queries/*.kql: the alert rules, the workbook,
the READMEs' queries, `ops audit`'s) passes Microsoft's Kusto language service against the
workspace's `AppTraces` schema, with no error; selects its records by their logger and
event fields, never by message text; and reads only fields the function writes, as they
arrive in Application Insights: real resets, a rotation run and a probe, exported through
the real Azure Monitor exporter to the ingestion emulator, their dimensions collected.

The language service runs once, in one Node process, for all the queries (dev/kql.py).
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from azure.functions.timer import TimerRequest

from dev import kql
from dev.emulators.app_insights import IngestionEmulator
from dev.emulators.managed_identity import MANAGED_IDENTITY_CLIENT_ID
from dev.emulators.samples import SAMPLE_USER_ID
from tests.integration.conftest import CANARY_PASSWORD, LINK_ORIGIN, Harness
from tests.integration.helpers import run_batch
from worker.telemetry import SDK_EXTRAS_OFF, start_log_export, stop_log_export

QUERIES = kql.queries()
NAMES = [query.name for query in QUERIES]
SELECTORS = ("logger", "event")
AUDIT = ("audit.password_reset", "password_reset.audit")
# Fields the contract gives a record that the code does not write yet, each with the work
# that writes it: queries may read them ahead of it. Remove an entry once a scenario of
# `written` below produces the field.
PENDING: dict[tuple[str, str], dict[str, str]] = {}

Written = dict[tuple[str, str], dict[str, set[str]]]


def _planted() -> dict[str, kql.Query]:
    """Queries with a planted fault each, checked in the same run: the checks can fail."""
    with_parameters = next(q for q in QUERIES if q.parameters)
    first = QUERIES[0]
    message_filter = first.text.replace("| where ", '| where Message has "ALERT" and ', 1)
    variants = {
        "misspelt-column": dataclasses.replace(
            with_parameters, text=with_parameters.text.replace("TimeGenerated", "TimeGenrated")
        ),
        "undeclared-parameter": dataclasses.replace(with_parameters, parameters={}),
        "message-filter": dataclasses.replace(first, text=message_filter),
    }
    return {
        f"planted-{fault}": dataclasses.replace(query, name=f"planted-{fault}")
        for fault, query in variants.items()
    }


@pytest.fixture(scope="module")
def everything() -> dict[str, kql.QueryCheck]:
    """The language service's findings, for the files and the planted faults: one run."""
    results = kql.check([*QUERIES, *_planted().values()])
    return {result.query.name: result for result in results}


@pytest.fixture(scope="module")
def checked(everything: dict[str, kql.QueryCheck]) -> dict[str, kql.QueryCheck]:
    return {name: everything[name] for name in NAMES}


def test_there_are_queries_to_check() -> None:
    assert {"alert", "workbook", "readme"} <= {name.split("-")[0] for name in NAMES}


@pytest.mark.parametrize("name", NAMES)
def test_the_language_service_finds_no_error(name: str, checked: dict[str, kql.QueryCheck]) -> None:
    assert [str(d) for d in checked[name].errors] == []


@pytest.mark.parametrize("name", NAMES)
def test_it_reads_the_workspace_traces_table(name: str, checked: dict[str, kql.QueryCheck]) -> None:
    assert checked[name].tables == {kql.TABLE}


@pytest.mark.parametrize("name", NAMES)
def test_it_selects_its_records_by_logger_and_event(
    name: str, checked: dict[str, kql.QueryCheck]
) -> None:
    result = checked[name]
    assert len(result.selected("logger")) == 1, result.selectors
    assert len(result.selected("event")) == 1, result.selectors


@pytest.mark.parametrize("name", NAMES)
def test_it_never_filters_on_message_text(name: str, checked: dict[str, kql.QueryCheck]) -> None:
    assert checked[name].message_in_filters == 0


def test_a_misspelt_name_or_an_undeclared_parameter_is_an_error(
    everything: dict[str, kql.QueryCheck],
) -> None:
    assert everything["planted-misspelt-column"].errors
    assert everything["planted-undeclared-parameter"].errors


def test_a_filter_on_message_text_is_seen(everything: dict[str, kql.QueryCheck]) -> None:
    assert everything["planted-message-filter"].message_in_filters == 1


# --- the fields, against what the function writes ------------------------------------------


@pytest.fixture
def written(
    harness: Harness,
    ingestion: IngestionEmulator,
    tmp_path: Path,
    azurite_connection_string: str,
) -> Iterator[Written]:
    """(logger, event) -> field -> the values it arrived with, from what the app exported:
    a reset with a ticket, a dry run, a refused request, a batch of one user run by the
    queue function, a rotation run and a probe."""
    harness.configure(
        AzureWebJobsStorage=azurite_connection_string,
        PUBLIC_BASE_URL=LINK_ORIGIN,
        APPLICATIONINSIGHTS_CONNECTION_STRING=ingestion.connection_string,
        APPLICATIONINSIGHTS_AUTHENTICATION_STRING=(
            f"ClientId={MANAGED_IDENTITY_CLIENT_ID};Authorization=AAD"
        ),
        **SDK_EXTRAS_OFF,
    )
    export = start_log_export(storage_directory=str(tmp_path))
    assert export is not None
    try:
        body = {"password": CANARY_PASSWORD, "ticketId": "INC0042", "requestedBy": "Grace H"}
        assert harness.reset(body).status == 200
        assert harness.reset(params={"dryRun": "true"}).status == 200
        assert harness.reset(customer="not-a-customer").status == 400
        batch = {"users": [SAMPLE_USER_ID], "delivery": "link", "ticketId": "INC0043"}
        run_batch(harness, azurite_connection_string, batch)
        harness.registered["rotate_refresh_token"].get_user_function()(TimerRequest())
        probe = {"probe": "true"}
        harness.call(
            "credentials_health",
            method="GET",
            route="health/credentials",
            route_params={},
            params=probe,
        )
        assert export.flush()
    finally:
        stop_log_export()
    found: Written = {}
    for envelope in ingestion.messages():
        properties = envelope.properties
        key = (properties.get("logger", ""), properties.get("event", ""))
        for field, value in properties.items():
            found.setdefault(key, {}).setdefault(field, set()).add(value)
    yield found


def nested_keys(values: set[str]) -> set[str]:
    """The keys of the values that are JSON objects (`caller`)."""
    keys: set[str] = set()
    for value in values:
        try:
            parsed = json.loads(value)
        except ValueError:
            continue
        if isinstance(parsed, dict):
            keys.update(parsed)
    return keys


def test_every_field_a_query_reads_is_one_the_function_writes(
    written: Written, checked: dict[str, kql.QueryCheck]
) -> None:
    problems = []
    for name, result in checked.items():
        key = (next(iter(result.selected("logger"))), next(iter(result.selected("event"))))
        if key not in written:
            problems.append(f"{name}: nothing is written as logger/event {key}")
            continue
        fields = written[key]
        pending = set(PENDING.get(key, {}))
        unknown = result.properties - set(fields) - pending
        members = set().union(*(nested_keys(values) for values in fields.values()))
        unknown_members = result.members - members - set(fields) - pending
        if unknown or unknown_members:
            problems.append(f"{name}: {sorted(unknown)} {sorted(unknown_members)}")
    assert problems == []
