"""Application Insights ingestion emulator: the breeze endpoint the Azure Monitor exporter
posts to (`POST {IngestionEndpoint}/v2.1/track`, or the older `/v2/track`).

The body is a JSON array of envelopes (gzip'd when `Content-Encoding: gzip`), and the
answer says how many were accepted. With `require_token` (the default, as with local
auth off in Azure) a request needs a bearer token the managed identity emulator issued
for Azure Monitor's audience, as the real service does; azure-core sends a bearer token
only over TLS, so that takes a test CA (HTTPS).
"""

from __future__ import annotations

import gzip
import json
import threading
import uuid
from dataclasses import dataclass
from typing import Any

from dev.emulators.base import EmulatorServer
from dev.emulators.ledger import TokenLedger
from dev.emulators.messages import RecordedRequest, Response, json_response
from dev.emulators.tls import TestCertificateAuthority

TRACK_PATHS = frozenset({"/v2.1/track", "/v2/track"})
# The audience of ingestion tokens (the exporter asks for `https://monitor.azure.com//.default`).
MONITOR_AUDIENCE = "https://monitor.azure.com"
MESSAGE_ENVELOPE = "Microsoft.ApplicationInsights.Message"


@dataclass(frozen=True)
class Envelope:
    """One telemetry item as it arrived."""

    name: str
    ikey: str
    tags: dict[str, str]
    base_type: str
    base_data: dict[str, Any]
    raw: str

    @property
    def properties(self) -> dict[str, str]:
        """What Application Insights shows as `customDimensions`."""
        properties = self.base_data.get("properties") or {}
        return {str(k): str(v) for k, v in properties.items()}

    @property
    def message(self) -> str:
        return str(self.base_data.get("message", ""))


class IngestionEmulator(EmulatorServer):
    def __init__(
        self,
        ledger: TokenLedger,
        ca: TestCertificateAuthority | None = None,
        *,
        require_token: bool = True,
    ) -> None:
        super().__init__(ssl_context=ca.server_context() if ca is not None else None)
        self.ledger = ledger
        self._require_token = require_token
        self.require_token = require_token
        self.instrumentation_key = str(uuid.uuid4())
        self._state = threading.Lock()
        self._envelopes: list[Envelope] = []

    def reset(self) -> None:
        with self._state:
            self._envelopes.clear()
        self.require_token = self._require_token

    @property
    def connection_string(self) -> str:
        """What APPLICATIONINSIGHTS_CONNECTION_STRING holds to send here."""
        return f"InstrumentationKey={self.instrumentation_key};IngestionEndpoint={self.url}/"

    @property
    def envelopes(self) -> list[Envelope]:
        with self._state:
            return list(self._envelopes)

    def bodies(self) -> list[str]:
        """Every track request's body as text (gunzipped), for searches of what was sent."""
        texts = []
        for request in self.requests:
            body = request.body
            if "gzip" in request.header("content-encoding").lower():
                body = gzip.decompress(body)
            texts.append(body.decode("utf-8", errors="replace"))
        return texts

    def messages(self) -> list[Envelope]:
        """Trace telemetry: what lands in the `traces` table."""
        return [e for e in self.envelopes if e.name == MESSAGE_ENVELOPE]

    def handle(self, request: RecordedRequest) -> Response:
        if request.method != "POST" or request.path not in TRACK_PATHS:
            return json_response(404, {"error": "not found"})
        if self.require_token and not self.ledger.is_valid(
            request.bearer_token(), MONITOR_AUDIENCE
        ):
            return json_response(
                401, {"itemsReceived": 0, "itemsAccepted": 0, "errors": [{"statusCode": 401}]}
            )
        try:
            items = _parse(request)
        except ValueError:
            return json_response(400, {"itemsReceived": 0, "itemsAccepted": 0, "errors": []})
        for item in items:
            if item.ikey != self.instrumentation_key:
                return json_response(
                    400, {"itemsReceived": len(items), "itemsAccepted": 0, "errors": []}
                )
        with self._state:
            self._envelopes.extend(items)
        return json_response(
            200, {"itemsReceived": len(items), "itemsAccepted": len(items), "errors": []}
        )


def _parse(request: RecordedRequest) -> list[Envelope]:
    body = request.body
    if "gzip" in request.header("content-encoding").lower():
        body = gzip.decompress(body)
    text = body.decode("utf-8")
    # The service takes a JSON array, or newline-delimited envelopes.
    stripped = text.strip()
    items: list[Any] = (
        json.loads(stripped)
        if stripped.startswith("[")
        else [json.loads(line) for line in stripped.splitlines() if line.strip()]
    )
    envelopes = []
    for item in items:
        if not isinstance(item, dict) or not isinstance(item.get("data"), dict):
            raise ValueError("not an envelope")
        data = item["data"]
        envelopes.append(
            Envelope(
                name=str(item.get("name", "")),
                ikey=str(item.get("iKey", "")),
                tags={str(k): str(v) for k, v in (item.get("tags") or {}).items()},
                base_type=str(data.get("baseType", "")),
                base_data=dict(data.get("baseData") or {}),
                raw=json.dumps(item, ensure_ascii=False),
            )
        )
    return envelopes
