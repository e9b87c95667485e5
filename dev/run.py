"""The local-run command: emulators with sample data plus the function on :7071.

    python3 dev/run.py                # http://localhost:7071/api/...
    python3 dev/run.py --port 7072
    python3 dev/run.py --empty-vault  # no credentials stored: rehearse the operator path

It also prints the commands that rehearse the operator path against these emulators
(dev/rehearsal.py): store secrets, consent, reset, check health, read the audit. The
audit records the function writes go to the Log Analytics emulator, as its log export
would put them in the workspace in Azure.

Everything runs on 127.0.0.1; Ctrl-C stops it all.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import sys
import threading
from pathlib import Path
from typing import TYPE_CHECKING

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from dev.bootstrap import ROOT, reexec_in_venv

if TYPE_CHECKING:
    from dev.emulators.stack import EmulatorStack


def main() -> int:
    reexec_in_venv(Path(__file__))
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, default=7071)
    parser.add_argument("--key", default=os.environ.get("LOCAL_FUNCTION_KEY"))
    parser.add_argument(
        "--empty-vault",
        action="store_true",
        help="start with nothing in the emulated vault (the operator commands store it)",
    )
    args = parser.parse_args()
    os.chdir(ROOT)

    from dev.azurite import running_azurite
    from dev.emulators.log_analytics import TraceForwarder
    from dev.emulators.samples import (
        NO_GDAP_CUSTOMER_DOMAIN,
        NO_GDAP_CUSTOMER_ID,
        NON_CUSTOMER_DOMAIN,
        SAMPLE_ADMIN_USER_ID,
        SAMPLE_CUSTOM_DOMAIN,
        SAMPLE_CUSTOM_DOMAIN_USER_ID,
        SAMPLE_CUSTOM_DOMAIN_USER_UPN,
        SAMPLE_CUSTOMER_DOMAIN,
        SAMPLE_CUSTOMER_ID,
        SAMPLE_FEDERATED_USER_ID,
        SAMPLE_GUEST_USER_ID,
        SAMPLE_SYNCED_USER_ID,
        SAMPLE_USER_ID,
    )
    from dev.emulators.stack import EmulatorStack
    from dev.localhost import LocalFunctionsHost, http_functions
    from dev.queue_host import LocalQueueHost, QueueOptions, connection_string, queue_functions
    from dev.rehearsal import operator_environment, render, steps

    key = args.key or secrets.token_urlsafe(24)
    with EmulatorStack() as stack, running_azurite() as azurite:
        if args.empty_vault:
            stack.key_vault.reset()
        # Includes GRAPH_BASE_URL, so revokeSessions reaches the Graph emulator.
        os.environ.update(stack.settings())
        # One-time links: their table in Azurite, their URLs pointing here.
        os.environ.update(
            {
                "AzureWebJobsStorage": azurite.connection_string,
                "PUBLIC_BASE_URL": f"http://localhost:{args.port}",
            }
        )
        import logging

        logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
        # The audit records (and every structured event) land in the workspace emulator.
        logging.getLogger().addHandler(TraceForwarder(stack.log_analytics))
        import function_app

        # Indexed once (get_functions() runs once per app): the HTTP triggers are served,
        # the queue triggers (batches) polled on Azurite as the host's extension does.
        functions = list(function_app.app.get_functions())
        host = LocalFunctionsHost(http_functions(functions), key, port=args.port).start()
        queue_options = QueueOptions.from_host_json()
        queue_hosts = [
            LocalQueueHost(
                function, connection_string(function.connection, os.environ), queue_options
            ).start()
            for function in queue_functions(functions)
        ]
        base = f"http://localhost:{args.port}/api"
        sample_link = _sample_link(SAMPLE_CUSTOMER_ID, SAMPLE_USER_ID)
        _show_passwords_set(stack)
        reset_url = f"{base}/customers/{SAMPLE_CUSTOMER_ID}/users/{SAMPLE_USER_ID}/resetpassword"
        rehearsal = render(operator_environment(stack), steps(base, key))
        vault = (
            "empty (--empty-vault): store the credentials with the rehearsal below"
            if args.empty_vault
            else "seeded with the sample credentials (--empty-vault starts empty)"
        )
        print(
            f"""
Function host ready on {base}   (function key: {key})

Emulators: Partner Center {stack.partner_center.url}, identity {stack.identity.url},
           Key Vault {stack.key_vault.url}, managed identity {stack.managed_identity.url},
           Graph {stack.graph.url}, Log Analytics {stack.log_analytics.url},
           Azurite tables http://127.0.0.1:{azurite.table_port},
           queues http://127.0.0.1:{azurite.queue_port} (polled for the queue triggers)
Vault: {vault}

Sample customer {SAMPLE_CUSTOMER_ID} (Contoso, {SAMPLE_CUSTOMER_DOMAIN}, {SAMPLE_CUSTOM_DOMAIN}):
  user   {SAMPLE_USER_ID}  Ada Lovelace, resets fine
  admin  {SAMPLE_ADMIN_USER_ID}  Global Administrator -> 403 protected_user
  synced {SAMPLE_SYNCED_USER_ID}  from on-premises -> 409 user_not_cloud_managed
  fed    {SAMPLE_FEDERATED_USER_ID}  federated -> 409 user_not_cloud_managed
  custom {SAMPLE_CUSTOM_DOMAIN_USER_ID}  {SAMPLE_CUSTOM_DOMAIN_USER_UPN}, resets fine
  guest  {SAMPLE_GUEST_USER_ID}  B2B guest from Fabrikam -> 409 user_is_guest
Customer without GDAP: {NO_GDAP_CUSTOMER_ID} ({NO_GDAP_CUSTOMER_DOMAIN}) -> 403 partner_forbidden
Domain of a tenant that is no customer: {NON_CUSTOMER_DOMAIN}
Session revocations (revokeSessions) land in the Graph emulator and are printed on exit.

{_delivery_curls(reset_url, key)}
{batch_curls(base, key)}
Or your own password:
  curl -s -X POST "{reset_url}" \\
    -H "x-functions-key: {key}" -H "Content-Type: application/json" \\
    -d '{{"password": "Correct-Horse-42", "ticketId": "INC0012345"}}'
  curl -s -X POST "{base}/users/{SAMPLE_CUSTOM_DOMAIN_USER_UPN}/resetpassword" \\
    -H "x-functions-key: {key}" -H "Content-Type: application/json" \\
    -d '{{"password": "Correct-Horse-42", "revokeSessions": true}}'
  curl -s {base}/health
  curl -s "{base}/health/credentials?probe=true" -H "x-functions-key: {key}"
A sample one-time link (a made-up generated password; open it in a browser, it works once):
  {sample_link}

{rehearsal}

Ctrl-C stops everything.
""",
            flush=True,
        )
        try:
            threading.Event().wait()
        except KeyboardInterrupt:
            print("stopping")
        finally:
            for queue_host in queue_hosts:
                queue_host.stop()
            host.stop()
            for revocation in stack.graph.revocations:
                print(f"revoked sessions of {revocation.user_id} in {revocation.tenant_id}")
    return 0


def _show_passwords_set(stack: EmulatorStack) -> None:
    """The emulated Partner Center says which password it was given, so what a link's page
    shows can be compared with it (a real Partner Center tells nobody)."""
    partner_center = stack.partner_center
    partner_center.on_reset = lambda applied: print(
        f"emulated Partner Center: user {applied.user_id} now has the password "
        f"{partner_center.current_password(applied.customer_id, applied.user_id)}",
        flush=True,
    )


def _delivery_curls(reset_url: str, key: str) -> str:
    """The resets in which the function generates the password (contract 1c)."""
    send = (
        f'  curl -s -X POST "{reset_url}" \\\n'
        f'    -H "x-functions-key: {key}" -H "Content-Type: application/json" \\\n'
    )
    link = '{"delivery": "link", "ticketId": "INC0012345", "requestedBy": "Grace Hopper"}'
    scramble = '{"delivery": "none", "revokeSessions": true, "ticketId": "INC0012345"}'
    return (
        "Reset with a one-time link: nobody sends or sees the password but the person who\n"
        "opens the answer's secretLink.url in a browser and clicks (once; then it is gone):\n"
        f"{send}    -d '{link}'\n"
        "The page shows the password the emulated Partner Center prints here when it resets.\n"
        "A scramble (a generated password, set and forgotten):\n"
        f"{send}    -d '{scramble}'"
    )


def batch_curls(base: str, key: str) -> str:
    """A batch of three sample users (contract 1d), and its status: the queue host here
    runs one message per user as the Functions host would, so the status goes from
    running to completed. The admin is refused by the guard, the others are reset."""
    from dev.emulators.samples import (
        SAMPLE_ADMIN_USER_ID,
        SAMPLE_CUSTOM_DOMAIN_USER_UPN,
        SAMPLE_CUSTOMER_ID,
        SAMPLE_USER_ID,
    )

    users = [SAMPLE_USER_ID, SAMPLE_CUSTOM_DOMAIN_USER_UPN, SAMPLE_ADMIN_USER_ID]
    body = json.dumps({"users": users, "delivery": "link", "ticketId": "INC0012346"})
    return (
        "A batch: three users, a one-time link each (items[].secretLink.url, one per person);\n"
        "the local queue host resets them one queue message per user, as the host would:\n"
        f'  curl -s -X POST "{base}/customers/{SAMPLE_CUSTOMER_ID}/resetpasswords" \\\n'
        f'    -H "x-functions-key: {key}" -H "Content-Type: application/json" \\\n'
        f"    -d '{body}'\n"
        "Then its statusUrl from that answer: running while users are pending, then completed\n"
        "(two succeeded; the Global Administrator failed with protected_user):\n"
        f'  curl -s "{base}/batches/<batchId>" -H "x-functions-key: {key}"'
    )


def _sample_link(customer_id: str, user_id: str) -> str:
    """A ready link to a made-up password, to try the page before any reset made one."""
    import composition
    from reset_password.generated_password import generate_password
    from secret_links.crypto import new_link, seal

    deps = composition.secret_links()
    link = new_link()
    deps.store.create_pending(
        link.link_id, link.public_point, customer_id=customer_id, user_id=user_id
    )
    password = generate_password(16)
    deps.store.store_sealed(
        link.link_id, seal(password, link_id=link.link_id, public_point=link.public_point)
    )
    return link.url(os.environ["PUBLIC_BASE_URL"])


if __name__ == "__main__":
    sys.exit(main())
