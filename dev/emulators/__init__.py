"""Local emulators of the services the function talks to, for tests and manual runs.

Identity platform, App Service managed identity, Key Vault (HTTPS), Partner Center,
Microsoft Graph (session revocation) and a Log Analytics workspace (HTTPS, the audit), all
on 127.0.0.1, sharing one token ledger.
See stack.EmulatorStack.
"""

from dev.emulators.base import EmulatorServer
from dev.emulators.faults import Delay, Disconnect, DropResponse, Fault, Hang, RawBody, Status
from dev.emulators.graph import GraphEmulator, Revocation
from dev.emulators.identity import IdentityEmulator
from dev.emulators.key_vault import KeyVaultEmulator
from dev.emulators.ledger import TokenLedger
from dev.emulators.log_analytics import LogAnalyticsEmulator
from dev.emulators.managed_identity import ManagedIdentityEmulator
from dev.emulators.messages import RecordedRequest, Response
from dev.emulators.partner_center import PartnerCenterEmulator
from dev.emulators.pc_models import AppliedReset, Customer, User
from dev.emulators.stack import EmulatorStack
from dev.emulators.tls import TestCertificateAuthority

__all__ = [
    "AppliedReset",
    "Customer",
    "Delay",
    "Disconnect",
    "DropResponse",
    "EmulatorServer",
    "EmulatorStack",
    "Fault",
    "GraphEmulator",
    "Hang",
    "IdentityEmulator",
    "KeyVaultEmulator",
    "LogAnalyticsEmulator",
    "ManagedIdentityEmulator",
    "PartnerCenterEmulator",
    "RawBody",
    "RecordedRequest",
    "Response",
    "Revocation",
    "Status",
    "TestCertificateAuthority",
    "TokenLedger",
    "User",
]
