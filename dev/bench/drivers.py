"""What is timed: the registered function as the worker calls it, and bare replays.

The product is used only through its public entry points: `function_app.app`, the
emulator stack, app settings in the environment, and `fresh_clients` below.
"""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import azure.functions as func

    from dev.emulators.messages import RecordedRequest

PASSWORD = "Bench#Pw-7f3a9c2e"  # meets the policy; reuse is fine against the emulators
RESET_ROUTE_END = "resetpassword"
# Sent fresh on every replayed call, as the function does, so each one is a new reset.
PER_CALL_IDS = ("ms-requestid", "ms-correlationid")
HOP_BY_HOP = frozenset(
    {"host", "content-length", "connection", "accept-encoding", "user-agent", "transfer-encoding"}
)


def fresh_clients() -> None:
    """Forget the function's cached clients, as a new worker would start.

    The one place that names the product's internal reset hook: update it here if it moves.
    """
    from composition import rebuild

    rebuild()


def configure(**settings: str) -> None:
    """Change app settings and start cold, as after an app-settings change."""
    os.environ.update(settings)
    fresh_clients()


class RegisteredReset:
    """The reset function found via `app.get_functions()`, called like the worker does."""

    def __init__(self, app: Any, customer: str, user: str) -> None:
        import azure.functions as func

        self._func = func
        for function in app.get_functions():
            trigger: Any = function.get_trigger()
            if str(getattr(trigger, "route", "") or "").endswith(RESET_ROUTE_END):
                self._user_function: Callable[..., func.HttpResponse] = function.get_user_function()
                self._argument = str(trigger.name)
                self._route = str(trigger.route)
                break
        else:
            raise LookupError("no HTTP trigger whose route ends in 'resetpassword'")
        self._route_params = {"customer": customer, "user": user}
        self._body = json.dumps({"password": PASSWORD}).encode()
        self.last: func.HttpResponse | None = None

    def aim(self, customer: str) -> None:
        """Name another customer from the next call on (a domain, say)."""
        self._route_params = {**self._route_params, "customer": customer}

    def __call__(self) -> bool:
        path = self._route.format(**self._route_params)
        request = self._func.HttpRequest(
            method="POST",
            url=f"http://localhost:7071/api/{path}",
            headers={"Content-Type": "application/json"},
            params={},
            route_params=self._route_params,
            body=self._body,
        )
        self.last = self._user_function(**{self._argument: request})
        return bool(200 <= self.last.status_code < 300)


class BareCalls:
    """The same upstream requests sent one after another with `requests.Session()`.

    Method, URL, headers and body are those the function sent, as the emulator recorded
    them; a default session, nothing tuned.
    """

    def __init__(self, base_url: str, recorded: Sequence[RecordedRequest]) -> None:
        import requests

        self._session = requests.Session()
        self._calls = [
            (
                r.method,
                base_url + r.path + (f"?{r.raw_query}" if r.raw_query else ""),
                {k: v for k, v in r.headers.items() if k not in HOP_BY_HOP},
                r.body or None,
            )
            for r in recorded
        ]

    def __call__(self) -> bool:
        ok = True
        for method, url, headers, body in self._calls:
            for name in PER_CALL_IDS:
                if name in headers:
                    headers[name] = str(uuid.uuid4())
            if method == "PATCH":
                response = self._session.patch(url, data=body, headers=headers)
            else:
                response = self._session.request(method, url, data=body, headers=headers)
            ok = ok and 200 <= response.status_code < 300
        return ok
