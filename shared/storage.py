"""What the storage clients (the `secretlinks` and `batches` tables, the batch queue)
share: each SDK attempt bounded by the deadline of the request under way, the options
every client is built with, and the table or queue created on first use.

Storage that hangs must not hold a reset, a reveal or a batch's acceptance past its
deadline: the SDK's own timeouts and retries (seconds each) would add up to far more.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from contextlib import suppress
from typing import Any
from urllib.parse import urlsplit

import requests
from azure.core.credentials import TokenCredential
from azure.core.exceptions import ResourceExistsError, ServiceRequestTimeoutError
from azure.core.pipeline.transport import RequestsTransport
from azure.data.tables import TableClient
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

from shared.context import MIN_USEFUL_SECONDS, deadline_if_any

# Few, short SDK attempts (each bounded by the caller's timeouts and the request's
# deadline): a reveal is a person waiting at a page, a reset a caller.
SDK_RETRY_TOTAL = 2
SDK_RETRY_BACKOFF = 0.8
SDK_RETRY_BACKOFF_MAX = 2


# azure-core exports RequestsTransport through a module __getattr__, untyped.
class DeadlineTransport(RequestsTransport):  # type: ignore[misc]
    """A storage client's HTTP transport, bounded by the request under way (a reset, a
    reveal, a batch, a purge): each attempt's connect and read timeouts are clipped to
    what is left of the request's deadline, the SDK's wait before a retry too, and no
    attempt starts once too little is left (it fails as a timeout, which the stores
    report as storage out of reach). So the SDK's retries share the deadline instead of
    adding to it: as many fit as the time left allows. Outside a request (a spec driving
    a store directly) each attempt waits as the configured timeouts say.

    The environment is read once per origin: `requests` otherwise scans `os.environ`
    for proxies twice and looks for a netrc file on every call, which was a quarter of
    the CPU a batch worker spent on its table calls (and App Service's environment is
    larger still). The standard variables (HTTPS_PROXY, NO_PROXY, REQUESTS_CA_BUNDLE)
    still apply; a netrc entry never does, so it cannot replace the SDK's Authorization
    header."""

    def __init__(self, *, connection_timeout: float, read_timeout: float) -> None:
        session = requests.Session()
        session.trust_env = False
        # The SDK's retry policy retries; the adapter never does (as azure-core's own).
        adapter = HTTPAdapter(max_retries=Retry(total=False, redirect=False, raise_on_status=False))
        session.mount("http://", adapter)
        session.mount("https://", adapter)
        super().__init__(
            session=session,
            session_owner=True,
            connection_timeout=connection_timeout,
            read_timeout=read_timeout,
        )
        self._environment: dict[str, dict[str, Any]] = {}

    def send(self, request: Any, **kwargs: Any) -> Any:
        deadline = deadline_if_any()
        if deadline is not None:
            left = deadline.remaining()
            if left < MIN_USEFUL_SECONDS:
                raise ServiceRequestTimeoutError("the request's deadline ran out")
            config = self.connection_config
            connect = kwargs.get("connection_timeout", config.timeout)
            read = kwargs.get("read_timeout", config.read_timeout)
            kwargs["connection_timeout"] = min(connect, left)
            kwargs["read_timeout"] = min(read, left)
        environment = self._environment_for(str(request.url))
        if kwargs.get("proxies") is None:
            kwargs["proxies"] = environment["proxies"]
        if "connection_verify" not in kwargs and self.connection_config.verify is True:
            kwargs["connection_verify"] = environment["verify"]
        return super().send(request, **kwargs)

    def sleep(self, duration: float) -> None:
        deadline = deadline_if_any()
        super().sleep(duration if deadline is None else min(duration, deadline.remaining()))

    def _environment_for(self, url: str) -> dict[str, Any]:
        """What `requests` would take from the environment for this origin (proxies,
        NO_PROXY, the CA bundle), read on its first call."""
        parts = urlsplit(url)
        origin = f"{parts.scheme}://{parts.netloc}"
        found = self._environment.get(origin)
        if found is None:
            with requests.Session() as reader:  # trust_env on: reads what requests would
                read = reader.merge_environment_settings(origin + "/", {}, None, None, None)
            found = self._environment[origin] = dict(read)
        return found


def client_options(timeouts: tuple[float, float], retry_backoff: float) -> dict[str, Any]:
    """The SDK options of every storage client: `timeouts` (connect, read) bound each
    attempt, the request's deadline bounds them all."""
    connect, read = timeouts
    return {
        "retry_total": SDK_RETRY_TOTAL,
        "retry_backoff_factor": retry_backoff,
        "retry_backoff_max": SDK_RETRY_BACKOFF_MAX,
        "transport": DeadlineTransport(connection_timeout=connect, read_timeout=read),
        # A redirect would carry the request's authorization elsewhere.
        "permit_redirects": False,
    }


def open_table(
    *,
    table_name: str,
    connection_string: str | None = None,
    endpoint: str | None = None,
    credential: TokenCredential | None = None,
    timeouts: tuple[float, float],
    retry_backoff: float = SDK_RETRY_BACKOFF,
) -> TableClient:
    """A table client: from a connection string (Azurite) or an account endpoint and a
    credential (the managed identity). Raises ValueError for a malformed connection
    string, without quoting it."""
    options = client_options(timeouts, retry_backoff)
    if connection_string is not None:
        try:
            return TableClient.from_connection_string(
                connection_string, table_name=table_name, **options
            )
        except (ValueError, TypeError, KeyError):
            raise ValueError("not a storage connection string") from None
    if endpoint is None or credential is None:
        raise ValueError("a table needs a connection string, or an endpoint and a credential")
    return TableClient(endpoint, table_name, credential=credential, **options)


class CreatedOnce:
    """A table or queue the infra may not have made (Azurite starts empty): created the
    first time a write needs it, once per process however many threads ask, and never
    asked about again (one round trip saved per write)."""

    def __init__(self, create: Callable[[], object]) -> None:
        self._create = create
        self._done = False
        self._lock = threading.Lock()

    def ensure(self) -> None:
        if self._done:
            return
        with self._lock:
            if not self._done:
                with suppress(ResourceExistsError):
                    self._create()
                self._done = True
