"""The local-run command: emulators with sample data plus the function on :7071.

    python3 dev/run.py                # http://localhost:7071/api/...
    python3 dev/run.py --port 7072

Everything runs on 127.0.0.1; Ctrl-C stops it all.
"""

from __future__ import annotations

import argparse
import os
import secrets
import sys
import threading
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from dev.bootstrap import ROOT, reexec_in_venv


def main() -> int:
    reexec_in_venv(Path(__file__))
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, default=7071)
    parser.add_argument("--key", default=os.environ.get("LOCAL_FUNCTION_KEY"))
    args = parser.parse_args()
    os.chdir(ROOT)

    from dev.azurite import running_azurite
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

    key = args.key or secrets.token_urlsafe(24)
    with EmulatorStack() as stack, running_azurite() as azurite:
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
        print(
            f"""
Function host ready on {base}   (function key: {key})

Emulators: Partner Center {stack.partner_center.url}, identity {stack.identity.url},
           Key Vault {stack.key_vault.url}, managed identity {stack.managed_identity.url},
           Graph {stack.graph.url}, Azurite tables http://127.0.0.1:{azurite.table_port},
           queues http://127.0.0.1:{azurite.queue_port} (polled for the queue triggers)

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

Try:
  curl -s -X POST "{base}/customers/{SAMPLE_CUSTOMER_ID}/users/{SAMPLE_USER_ID}/resetpassword" \\
    -H "x-functions-key: {key}" -H "Content-Type: application/json" \\
    -d '{{"password": "Correct-Horse-42", "ticketId": "INC0012345"}}'
  curl -s -X POST "{base}/users/{SAMPLE_CUSTOM_DOMAIN_USER_UPN}/resetpassword" \\
    -H "x-functions-key: {key}" -H "Content-Type: application/json" \\
    -d '{{"password": "Correct-Horse-42", "revokeSessions": true}}'
  curl -s {base}/health
A sample one-time link (a made-up generated password; open it in a browser, it works once):
  {sample_link}
  curl -s "{base}/health/credentials?probe=true" -H "x-functions-key: {key}"

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
