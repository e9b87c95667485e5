"""Fresh processes the parent times: `python -m dev.bench.child function|client|floor ...`.

Each prints one line the moment it has its first successful answer; the parent's clock
runs from spawning it to that line. Then, untimed, a second line: JSON checkpoints on
the system-wide monotonic clock (comparable with the parent's on Linux), so the parent
can split the time into interpreter start, imports and the first request. Keep imports
here to what each side really needs.
"""

from __future__ import annotations

import time

STARTED = time.monotonic()  # before anything but the interpreter and runpy

import json  # noqa: E402 - after the start checkpoint on purpose
import sys  # noqa: E402
from typing import Any  # noqa: E402

# A step is a list of calls sent at the same time; a call answers `expect` ("2xx" or a
# status code) when it went as it does for the function.
Call = dict[str, str]
Step = list[Call]


def _report(ok: bool, imported: float, modules_imported: int) -> int:
    answered = time.monotonic()
    print("answered" if ok else "failed", flush=True)
    checkpoints = {
        "started": STARTED,
        "imported": imported,
        "answered": answered,
        "modules_imported": modules_imported,
        "modules_answered": len(sys.modules),
    }
    print(json.dumps(checkpoints), flush=True)
    return 0 if ok else 1


def function(customer: str, user: str) -> int:
    import function_app
    from dev.bench.drivers import RegisteredReset

    imported, modules = time.monotonic(), len(sys.modules)
    ok = RegisteredReset(function_app.app, customer, user)()
    return _report(ok, imported, modules)


def _load_steps(plan_path: str) -> list[Step]:
    with open(plan_path, encoding="utf-8") as f:
        steps: list[Step] = json.load(f)
    return steps


def _sender(session: Any) -> Any:
    def send(call: Call) -> bool:
        response = session.request(
            call["method"],
            call["url"],
            headers=json.loads(call["headers"]),
            data=call["body"].encode() or None,
        )
        status = int(response.status_code)
        return 200 <= status < 300 if call["expect"] == "2xx" else status == int(call["expect"])

    return send


def client(plan_path: str) -> int:
    """The least a client can do: the same round trips (one Key Vault challenge, one
    managed identity token, the three secrets read concurrently, the token exchange,
    the reset) with a default `requests.Session`."""
    from concurrent.futures import ThreadPoolExecutor

    import azure.functions  # noqa: F401 - the worker has it loaded before any function
    import requests

    imported, modules = time.monotonic(), len(sys.modules)
    send = _sender(requests.Session())
    ok = True
    with ThreadPoolExecutor(max_workers=4) as pool:
        for step in _load_steps(plan_path):
            ok = all(pool.map(send, step)) and ok
    return _report(ok, imported, modules)


def floor(plan_path: str) -> int:
    """The same answer with the packages the function must keep, used directly: a
    pydantic model for the body, `ManagedIdentityCredential` and `SecretClient` for the
    three secrets (one read first, which pays the challenge and the identity token,
    then the other two at once), `requests` for the exchange and the reset. What this
    costs over `client` is the packages' price; what the function costs over this is
    its own."""
    import os
    from concurrent.futures import ThreadPoolExecutor

    import azure.functions  # noqa: F401
    import pydantic
    import requests
    from azure.identity import ManagedIdentityCredential
    from azure.keyvault.secrets import SecretClient

    class Body(pydantic.BaseModel):
        model_config = pydantic.ConfigDict(extra="forbid", frozen=True)
        password: pydantic.SecretStr
        forceChangePassword: bool = True

    imported, modules = time.monotonic(), len(sys.modules)
    Body.model_validate_json(b'{"password": "Bench#Pw-7f3a9c2e"}')
    vault = SecretClient(
        os.environ["KEY_VAULT_URL"],
        ManagedIdentityCredential(client_id=os.environ.get("AZURE_CLIENT_ID")),
        verify_challenge_resource=False,
    )
    names = [
        os.environ["SECRET_NAME_APP_ID"],
        os.environ["SECRET_NAME_APP_SECRET"],
        os.environ["SECRET_NAME_REFRESH_TOKEN"],
    ]
    send = _sender(requests.Session())
    with ThreadPoolExecutor(max_workers=4) as pool:
        ok = vault.get_secret(names[0]).value is not None
        ok = all(s.value is not None for s in pool.map(vault.get_secret, names[1:])) and ok
        # The plan's last two steps: the token exchange and the reset.
        for step in _load_steps(plan_path)[-2:]:
            ok = all(pool.map(send, step)) and ok
    return _report(ok, imported, modules)


if __name__ == "__main__":
    kind, *args = sys.argv[1:]
    if kind == "function":
        sys.exit(function(*args))
    sys.exit(client(*args) if kind == "client" else floor(*args))
