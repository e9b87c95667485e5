"""Run the emulator stack with sample data until Ctrl-C: `python -m dev.emulators`."""

from __future__ import annotations

import shlex
import threading

from dev.emulators import samples
from dev.emulators.stack import EmulatorStack

_SAMPLE_IDS = (
    "SAMPLE_CUSTOMER_ID",
    "SAMPLE_CUSTOMER_DOMAIN",
    "SAMPLE_USER_ID",
    "SAMPLE_USER_UPN",
    "SAMPLE_ADMIN_USER_ID",
    "SAMPLE_SYNCED_USER_ID",
    "SAMPLE_FEDERATED_USER_ID",
    "NO_GDAP_CUSTOMER_ID",
    "NO_GDAP_USER_ID",
    "SAMPLE_CUSTOM_DOMAIN",
    "SAMPLE_CUSTOM_DOMAIN_USER_ID",
    "SAMPLE_CUSTOM_DOMAIN_USER_UPN",
    "SAMPLE_GUEST_USER_ID",
    "SAMPLE_GUEST_USER_UPN",
    "NO_GDAP_CUSTOMER_INITIAL_DOMAIN",
    "NON_CUSTOMER_DOMAIN",
    "NON_CUSTOMER_TENANT_ID",
)


def main() -> None:
    with EmulatorStack() as stack:
        print("# Emulators are running. Paste these into your shell:")
        for name, value in stack.settings().items():
            print(f"export {name}={shlex.quote(value)}")
        print("\n# Sample data:")
        for name in _SAMPLE_IDS:
            print(f"# {name}={getattr(samples, name)}")
        print("\n# Ctrl-C stops the emulators.", flush=True)
        try:
            threading.Event().wait()
        except KeyboardInterrupt:
            print("\nstopping")


if __name__ == "__main__":
    main()
