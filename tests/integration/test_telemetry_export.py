"""The audit record reaches Application Insights with its fields as custom dimensions.

The worker exports its own log records (APPLICATIONINSIGHTS_CONNECTION_STRING set) through
the real Azure Monitor exporter to the ingestion emulator, authenticated with the managed
identity as in Azure (local auth off); a reset runs through the registered function and
the batch is flushed instead of waited for. Nothing leaves loopback.
"""

from __future__ import annotations

import ipaddress
import json
import socket
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.trace import NonRecordingSpan, SpanContext, TraceFlags

from dev.emulators.app_insights import MONITOR_AUDIENCE, Envelope, IngestionEmulator
from dev.emulators.faults import Status
from dev.emulators.managed_identity import MANAGED_IDENTITY_CLIENT_ID
from dev.emulators.samples import SAMPLE_CUSTOMER_ID, SAMPLE_USER_ID
from reset_password.audit import AUDIT_EVENT, audit_logger
from tests.integration.conftest import CANARY_PASSWORD, Harness
from worker.log_export import LogExport
from worker.telemetry import SDK_EXTRAS_OFF, start_log_export, stop_log_export

LOOPBACK_NAMES = {"localhost"}


@dataclass
class NetworkGuard:
    """Every connection or name lookup the process attempts beyond loopback (refused)."""

    beyond_loopback: list[str] = field(default_factory=list)

    def allowed(self, host: object) -> bool:
        text = str(host).strip("[]")
        if text.lower() in LOOPBACK_NAMES:
            return True
        try:
            return ipaddress.ip_address(text.split("%")[0]).is_loopback
        except ValueError:
            return False


@pytest.fixture
def network(monkeypatch: pytest.MonkeyPatch) -> Iterator[NetworkGuard]:
    guard = NetworkGuard()
    real_connect = socket.socket.connect
    real_getaddrinfo = socket.getaddrinfo

    def connect(sock: socket.socket, address: Any) -> None:
        host = address[0] if isinstance(address, tuple) else address
        if sock.family in (socket.AF_INET, socket.AF_INET6) and not guard.allowed(host):
            guard.beyond_loopback.append(f"connect {host}")
            raise OSError("the test refuses a connection beyond loopback")
        real_connect(sock, address)

    def getaddrinfo(host: Any, *args: Any, **kwargs: Any) -> Any:
        if host is not None and not guard.allowed(host):
            guard.beyond_loopback.append(f"lookup {host}")
            raise socket.gaierror("the test refuses a name lookup beyond loopback")
        return real_getaddrinfo(host, *args, **kwargs)

    monkeypatch.setattr(socket.socket, "connect", connect)
    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    yield guard


@pytest.fixture
def exported(
    harness: Harness,
    ingestion: IngestionEmulator,
    network: NetworkGuard,
    tmp_path: Path,
) -> Iterator[LogExport]:
    """The export started as at start-up, with the app settings infra/ gives the app."""
    harness.configure(
        APPLICATIONINSIGHTS_CONNECTION_STRING=ingestion.connection_string,
        APPLICATIONINSIGHTS_AUTHENTICATION_STRING=(
            f"ClientId={MANAGED_IDENTITY_CLIENT_ID};Authorization=AAD"
        ),
        **SDK_EXTRAS_OFF,
    )
    export = start_log_export(storage_directory=str(tmp_path))
    assert export is not None, "the export did not start"
    try:
        yield export
    finally:
        stop_log_export()
    assert not network.beyond_loopback, network.beyond_loopback


def audit_envelopes(ingestion: IngestionEmulator) -> list[Envelope]:
    """What the documented audit query selects: the logger and event dimensions."""
    return [
        envelope
        for envelope in ingestion.messages()
        if envelope.properties.get("logger") == audit_logger.name
        and envelope.properties.get("event") == AUDIT_EVENT
    ]


def test_the_audit_record_arrives_with_its_logger_and_event_as_custom_dimensions(
    harness: Harness, exported: LogExport, ingestion: IngestionEmulator
) -> None:
    assert harness.reset().status == 200
    assert exported.flush()

    [audit] = audit_envelopes(ingestion)
    assert audit.base_type == "MessageData"
    assert AUDIT_EVENT in audit.message


def test_the_audit_fields_arrive_one_dimension_each(
    harness: Harness, exported: LogExport, ingestion: IngestionEmulator
) -> None:
    answer = harness.reset({"password": CANARY_PASSWORD, "ticketId": "INC0012345"})
    assert exported.flush()

    [audit] = audit_envelopes(ingestion)
    dimensions = audit.properties
    assert dimensions["outcome"] == "succeeded"
    assert dimensions["httpStatus"] == "200"
    assert dimensions["customerTenantId"] == SAMPLE_CUSTOMER_ID
    assert dimensions["userId"] == SAMPLE_USER_ID
    assert dimensions["ticketId"] == "INC0012345"
    assert dimensions["correlationId"] == answer.json["correlationId"]
    assert dimensions["correlation_id"] == answer.json["correlationId"]
    # Nested values as JSON a query can parse_json(); no Python repr of a mapping.
    assert json.loads(dimensions["caller"])["kind"]
    assert json.loads(dimensions["warnings"]) == []
    assert "custom_dimensions" not in dimensions


def test_no_secret_reaches_any_envelope(
    harness: Harness, exported: LogExport, ingestion: IngestionEmulator
) -> None:
    harness.reset()
    harness.reset({"password": CANARY_PASSWORD + " with a space"})
    harness.stack.partner_center.inject(Status(503, {"description": "down"}), times=None)
    harness.reset()
    assert exported.flush()

    sent = "\n".join(ingestion.bodies())
    assert AUDIT_EVENT in sent
    for secret in harness.secrets():
        assert secret not in sent, "a secret value reached Application Insights"


def test_ingestion_is_authenticated_with_the_user_assigned_identity(
    harness: Harness, exported: LogExport, ingestion: IngestionEmulator
) -> None:
    harness.reset()
    assert exported.flush()

    tracks = ingestion.requests
    assert tracks, "nothing was sent"
    for request in tracks:
        assert harness.stack.ledger.is_valid(request.bearer_token(), MONITOR_AUDIENCE)
    identity_calls = [
        r
        for r in harness.stack.managed_identity.requests
        if r.query.get("resource", "").startswith(MONITOR_AUDIENCE)
    ]
    assert identity_calls
    assert {r.query.get("client_id") for r in identity_calls} == {MANAGED_IDENTITY_CLIENT_ID}


def test_the_exporters_own_records_stay_out_of_the_export(
    harness: Harness, exported: LogExport, ingestion: IngestionEmulator
) -> None:
    harness.reset()
    assert exported.flush()
    harness.reset()
    assert exported.flush()

    loggers = {e.properties.get("logger_name", "") for e in ingestion.envelopes}
    assert audit_logger.name in loggers
    assert not {name for name in loggers if name.startswith(("azure.monitor", "opentelemetry"))}


def test_a_trace_sampled_out_upstream_does_not_drop_the_audit_record(
    harness: Harness, exported: LogExport, ingestion: IngestionEmulator
) -> None:
    # As when the host hands down a trace context whose sampled flag is off.
    trace_id = 0x5CE0A1B2C3D4E5F60718293A4B5C6D7E
    unsampled = SpanContext(
        trace_id=trace_id, span_id=0x1234, is_remote=True, trace_flags=TraceFlags(0)
    )
    token = otel_context.attach(trace.set_span_in_context(NonRecordingSpan(unsampled)))
    try:
        assert harness.reset().status == 200
    finally:
        otel_context.detach(token)
    assert exported.flush()

    [audit] = audit_envelopes(ingestion)
    assert audit.tags["ai.operation.id"] == f"{trace_id:032x}"


def test_nothing_is_sent_beyond_loopback(
    harness: Harness, exported: LogExport, ingestion: IngestionEmulator, network: NetworkGuard
) -> None:
    harness.reset()
    assert exported.flush()

    assert ingestion.requests
    assert network.beyond_loopback == []
