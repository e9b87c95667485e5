"""Fresh processes the parent times: `python -m dev.bench.child function|client ...`.

Each prints one line the moment it has its first successful answer; the parent's clock
runs from spawning it to that line. Keep imports here to what each side really needs.
"""

from __future__ import annotations

import sys


def function(customer: str, user: str) -> int:
    import function_app
    from dev.bench.drivers import RegisteredReset

    ok = RegisteredReset(function_app.app, customer, user)()
    print("answered" if ok else "failed", flush=True)
    return 0 if ok else 1


def client(plan_path: str) -> int:
    """The least a client can do: same round trips, the three secrets read concurrently."""
    import json
    from concurrent.futures import ThreadPoolExecutor

    import azure.functions  # noqa: F401 - the worker has it loaded before any function
    import requests

    with open(plan_path, encoding="utf-8") as f:
        steps: list[list[dict[str, str]]] = json.load(f)
    session = requests.Session()

    def send(call: dict[str, str]) -> bool:
        response = session.request(
            call["method"],
            call["url"],
            headers=json.loads(call["headers"]),
            data=call["body"].encode() or None,
        )
        return 200 <= response.status_code < 300

    ok = True
    with ThreadPoolExecutor(max_workers=4) as pool:
        for step in steps:
            ok = all(pool.map(send, step)) and ok
    print("answered" if ok else "failed", flush=True)
    return 0 if ok else 1


if __name__ == "__main__":
    kind, *args = sys.argv[1:]
    sys.exit(function(*args) if kind == "function" else client(*args))
