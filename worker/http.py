"""The process's HTTP session for Partner Center and the identity platform.

`requests` re-reads the environment on every call (proxies scanned over `os.environ`,
the netrc file, the CA bundle): hundreds of microseconds each time on App Service, where
the environment is large. Here it is read once per origin and reused; the standard
variables (HTTPS_PROXY, NO_PROXY, REQUESTS_CA_BUNDLE, ...) still apply. A netrc entry is
never consulted, so it cannot replace our Authorization header.

Our clients send plain requests (method, URL, headers, form or body, query, timeouts, no
redirects); those are prepared here and handed to `send` directly, skipping the
per-call merging of session settings, cookies and hooks that `Session.request` repeats.
No cookie is sent: these APIs are stateless, and a cookie one answer set has no business
on the next call.
"""

from __future__ import annotations

import threading
from typing import Any
from urllib.parse import urlsplit

import requests
from requests.adapters import HTTPAdapter
from requests.structures import CaseInsensitiveDict

# The Functions worker runs sync handlers on a thread pool; keep a connection for each.
HTTP_POOL_SIZE = 64


class OncePerOriginSession(requests.Session):
    def __init__(self) -> None:
        super().__init__()
        self.trust_env = False
        self._environment = requests.Session()  # trust_env on: reads what requests would
        self._per_origin: dict[tuple[str, str], dict[str, Any]] = {}
        self._lock = threading.Lock()
        # Retries are ours (they share an MS-RequestId and respect the deadline).
        adapter = HTTPAdapter(pool_connections=8, pool_maxsize=HTTP_POOL_SIZE, max_retries=0)
        self.mount("https://", adapter)
        self.mount("http://", adapter)

    def request(  # type: ignore[override]
        self,
        method: str | bytes,
        url: str | bytes,
        *,
        params: Any = None,
        data: Any = None,
        headers: dict[str, str] | None = None,
        timeout: Any = None,
        allow_redirects: bool = True,
        **kwargs: Any,
    ) -> requests.Response:
        text_url = url if isinstance(url, str) else url.decode()
        environment = self._environment_for(text_url)
        if kwargs or allow_redirects:
            # Anything beyond what our clients send takes requests' own path.
            for name in ("proxies", "verify", "cert"):
                if kwargs.get(name) is None and environment.get(name) is not None:
                    kwargs[name] = environment[name]
            return super().request(
                method,
                url,
                params=params,
                data=data,
                headers=headers,
                timeout=timeout,
                allow_redirects=allow_redirects,
                **kwargs,
            )
        merged: CaseInsensitiveDict[str | bytes] = CaseInsensitiveDict(self.headers)
        merged.update(headers or {})
        prepared = requests.Request(
            method=method.upper() if isinstance(method, str) else method.decode().upper(),
            url=text_url,
            headers=merged,
            data=data,
            params=params,
        ).prepare()
        return self.send(
            prepared,
            timeout=timeout,
            allow_redirects=False,
            stream=False,
            proxies=environment.get("proxies") or {},
            verify=environment.get("verify", True),
            cert=environment.get("cert"),
        )

    def _environment_for(self, url: str) -> dict[str, Any]:
        parts = urlsplit(url)
        origin = (parts.scheme, parts.netloc)
        found = self._per_origin.get(origin)
        if found is None:
            with self._lock:
                settings = self._environment.merge_environment_settings(url, {}, None, None, None)
                found = self._per_origin[origin] = dict(settings)
        return found


def build_session() -> requests.Session:
    return OncePerOriginSession()
