"""Harness for the operator commands: the emulator stack, a scripted operator and browser.

The commands run in-process through `ops.cli.main` with every outside collaborator
handed in (ops.deps.Deps): an environment pointing at the emulators, a Key Vault
credential minted by the emulators' ledger, canned prompts, planted PKCE values, a
"browser" that follows the sign-in redirect to the command's loopback listener, and a fake
Azure CLI for the role grants (the real one cannot run here). Every
test ends by searching stdout, stderr and every captured log line for the canaries and
for every code and token the emulators handed out.
"""

from __future__ import annotations

import http.client
import json
import logging
import socket
import sys
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit, urlunsplit

import pytest
from azure.core.credentials import AccessToken

from dev.emulators import EmulatorStack
from dev.emulators import samples as s
from dev.emulators.key_vault import KEY_VAULT_AUDIENCE
from dev.emulators.ledger import TokenLedger
from ops.cli import main
from ops.console import Console
from ops.credentials import SignIn, sign_in_for
from ops.deps import Deps
from ops.errors import NoTerminal
from ops.pkce import Proof

CANARY_APP_SECRET = "Canary~AppSecret.7c1e9a4f0b2d8e6a"
CANARY_VERIFIER = "canary-pkce-verifier-" + "0123456789abcdefghijklmnopqrstuvwxyz"
CANARY_TYPED_SECRET = "Canary~TypedSecret.5d3b1f9e7a"
STATE = "state-from-the-command-0001"
NONCE = "nonce-from-the-command-0001"
NOW = datetime(2026, 11, 21, 10, 0, 0, tzinfo=UTC)
LISTEN_ANYWHERE = "http://localhost:0"

SUBSCRIPTION = "00000000-0000-0000-0000-0000000000aa"
VAULT_ID = (
    f"/subscriptions/{SUBSCRIPTION}/resourceGroups/rg-test"
    "/providers/Microsoft.KeyVault/vaults/kv-test"
)
PRINCIPAL = "11111111-2222-3333-4444-555555555555"
SECRETS_USER = "4633458b-17de-408a-b874-0445c86b69e6"
SECRETS_OFFICER = "b86a8fe4-44ce-4948-aee5-eccb2c155cd7"
SECRET_NAMES = (s.SECRET_NAME_APP_ID, s.SECRET_NAME_APP_SECRET, s.SECRET_NAME_REFRESH_TOKEN)


class VaultCredential:
    """The operator's sign-in, as far as the Key Vault emulator can tell."""

    def __init__(self, ledger: TokenLedger) -> None:
        self._ledger = ledger
        self.scopes: list[str] = []

    def get_token(self, *scopes: str, **kwargs: Any) -> AccessToken:
        del kwargs
        self.scopes.extend(scopes)
        return AccessToken(self._ledger.issue(KEY_VAULT_AUDIENCE, 3600), int(time.time()) + 3600)


def _has_ipv6_loopback() -> bool:
    try:
        with socket.socket(socket.AF_INET6, socket.SOCK_STREAM) as probe:
            probe.bind(("::1", 0))
    except OSError:
        return False
    return True


needs_ipv6_loopback = pytest.mark.skipif(
    not _has_ipv6_loopback(),
    reason="this machine has no IPv6 loopback (::1 cannot be bound), so there is no [::1]"
    " listener to check",
)


def http_get(url: str) -> tuple[int, dict[str, str]]:
    """A GET without redirects or logging (urllib3 would log the code in the URL)."""
    parts = urlsplit(url)
    connection = http.client.HTTPConnection(parts.hostname or "", parts.port, timeout=5)
    try:
        path = parts.path or "/"
        connection.request("GET", f"{path}?{parts.query}" if parts.query else path)
        response = connection.getresponse()
        response.read()
        return response.status, {k.lower(): v for k, v in response.getheaders()}
    finally:
        connection.close()


@dataclass
class Browser:
    """Plays the operator's browser: GET the sign-in URL, follow the redirect home.

    `forged` are queries some other local process or web page sends to the listener's
    redirect URI before the real answer arrives; they are sent, and answered, before
    `open` returns, so they reach the listener first. `in_background=False` also signs in
    before `open` returns, so a spec can let the wait time out without waiting for real.
    """

    follow: bool = True
    available: bool = True
    in_background: bool = True
    rewrite_state: str | None = None
    forged: list[dict[str, str]] = field(default_factory=list)
    opened: list[str] = field(default_factory=list)
    sign_in_status: int | None = None
    listener_status: int | None = None
    forged_statuses: list[int] = field(default_factory=list)
    _threads: list[threading.Thread] = field(default_factory=list)

    def open(self, url: str) -> bool:
        self.opened.append(url)
        if not self.available:
            return False
        redirect_uri = parse_qs(urlsplit(url).query)["redirect_uri"][0]
        for query in self.forged:
            status, _ = http_get(f"{redirect_uri}?{urlencode(query)}")
            self.forged_statuses.append(status)
        if self.follow and not self.in_background:
            self._sign_in(url)
        elif self.follow:
            # The command blocks waiting for the redirect, so the browser runs beside it.
            thread = threading.Thread(target=self._sign_in, args=(url,), daemon=True)
            thread.start()
            self._threads.append(thread)
        return True

    def _sign_in(self, url: str) -> None:
        self.sign_in_status, headers = http_get(url)
        location = headers.get("location")
        if location is None:
            return
        if self.rewrite_state is not None:
            location = _with_query(location, state=self.rewrite_state)
        self.listener_status, _ = http_get(location)

    def join(self) -> None:
        for thread in self._threads:
            thread.join(timeout=10)


def _with_query(url: str, **changes: str) -> str:
    parts = urlsplit(url)
    query = {k: v[0] for k, v in parse_qs(parts.query).items()}
    query.update(changes)
    return urlunsplit(parts._replace(query=urlencode(query)))


@dataclass
class FakeAz:
    """The Azure CLI as the postprovision hook calls it, in front of the Key Vault emulator.

    The vault's secret names are the emulator's; role assignments it creates are remembered
    (and listed on the next run), each with how many refresh-token versions the vault held
    when it was created. `fail_with` makes every call raise.
    """

    stack: EmulatorStack
    calls: list[list[str]] = field(default_factory=list)
    # (secret name, role ID, refresh-token versions in the vault at that moment)
    created: list[tuple[str, str, int]] = field(default_factory=list)
    fail_with: Exception | None = None

    def __call__(self, argv: Sequence[str]) -> str:
        args = list(argv)
        self.calls.append(args)
        if self.fail_with is not None:
            raise self.fail_with
        if args[1] == "rest":
            url = args[args.index("--url") + 1]
            if "/roleAssignments?" in url:
                held = [self._assignment(secret, role) for secret, role, _ in self.created]
                return json.dumps({"value": held})
            assert url.startswith(f"{VAULT_ID}/secrets?"), url
            names = [n for n in SECRET_NAMES if self.stack.key_vault.secret_value(n) is not None]
            return json.dumps({"value": [{"name": name} for name in names]})
        assert args[1:4] == ["role", "assignment", "create"], args[:4]
        secret = args[args.index("--scope") + 1].rsplit("/", 1)[-1]
        refresh_versions = len(self.stack.key_vault.versions(s.SECRET_NAME_REFRESH_TOKEN))
        self.created.append((secret, args[args.index("--role") + 1], refresh_versions))
        return "{}"

    def grants(self) -> set[tuple[str, str]]:
        return {(secret, role) for secret, role, _ in self.created}

    @staticmethod
    def _assignment(secret: str, role: str) -> dict[str, Any]:
        scope = f"{VAULT_ID}/secrets/{secret}"
        return {
            "id": f"{scope}/providers/Microsoft.Authorization/roleAssignments/{secret}-{role}",
            "properties": {
                "roleDefinitionId": f"/providers/Microsoft.Authorization/roleDefinitions/{role}",
                "principalId": PRINCIPAL,
                "scope": scope,
            },
        }


@dataclass(frozen=True)
class Outcome:
    code: int
    out: str
    err: str


@dataclass
class Operator:
    stack: EmulatorStack
    capsys: pytest.CaptureFixture[str]
    caplog: pytest.LogCaptureFixture
    environ: dict[str, str]
    azd: dict[str, str] = field(default_factory=dict)
    browser: Browser = field(default_factory=Browser)
    secret_answers: list[str] = field(default_factory=list)
    text_answers: list[str] = field(default_factory=list)
    confirm: Callable[[str], bool] = lambda question: False
    # The operator's sign-in, as a credential factory (default: VaultCredential). These
    # specs stand the emulators in for Azure, so it is handed in as the operator's own
    # (not local mode) unless `local_mode` asks for ops/credentials.py's real choice.
    credential: Callable[[], Any] | None = None
    local_mode: bool = False
    extra_secrets: list[str] = field(default_factory=list)
    outputs: list[Outcome] = field(default_factory=list)
    azd_reads: int = 0
    az: FakeAz = field(init=False)

    def __post_init__(self) -> None:
        self.az = FakeAz(self.stack)

    def provisioned(self, **overrides: str) -> None:
        """An azd environment after `azd up`, whose vault is the emulator's."""
        self.azd.update(
            {
                "AZURE_ENV_NAME": "test",
                "AZURE_SUBSCRIPTION_ID": SUBSCRIPTION,
                "AZURE_KEY_VAULT_ID": VAULT_ID,
                "AZURE_KEY_VAULT_ENDPOINT": self.environ["KEY_VAULT_URL"] + "/",
                "AZURE_USER_ASSIGNED_IDENTITY_PRINCIPAL_ID": PRINCIPAL,
                "SECRET_NAME_APP_ID": s.SECRET_NAME_APP_ID,
                "SECRET_NAME_APP_SECRET": s.SECRET_NAME_APP_SECRET,
                "SECRET_NAME_REFRESH_TOKEN": s.SECRET_NAME_REFRESH_TOKEN,
                "ROTATE_REFRESH_TOKEN": "true",
                "VNET_ENABLED": "false",
                **overrides,
            }
        )

    def deps(self) -> Deps:
        return Deps(
            # capsys has replaced the streams by now.
            console=Console(sys.stdout, sys.stderr),
            environ=self.environ,
            azd_environment=self._azd_environment,
            credential=self._sign_in,
            prompt_secret=lambda prompt: _next(self.secret_answers),
            prompt_text=lambda prompt: _next(self.text_answers),
            confirm=self.confirm,
            open_browser=self.browser.open,
            new_proof=lambda: Proof(verifier=CANARY_VERIFIER, state=STATE, nonce=NONCE),
            now=lambda: NOW,
            az=self.az,
        )

    def _sign_in(self, url: str) -> SignIn:
        if self.local_mode:
            return sign_in_for(url, self.environ)
        make = self.credential or (lambda: VaultCredential(self.stack.ledger))
        return SignIn(make(), local=False)

    def _azd_environment(self) -> dict[str, str]:
        self.azd_reads += 1
        return self.azd

    def run(self, *argv: str) -> Outcome:
        self.capsys.readouterr()
        code = main(list(argv), self.deps())
        self.browser.join()
        captured = self.capsys.readouterr()
        outcome = Outcome(code, captured.out, captured.err)
        self.outputs.append(outcome)
        return outcome

    def consent(self, *extra: str) -> Outcome:
        return self.run("consent", "--redirect-uri", LISTEN_ANYWHERE, "--timeout", "10", *extra)

    def secrets(self) -> list[str]:
        """Every secret value the commands could have handled in this test."""
        authorization = self.stack.identity.authorization
        values = [CANARY_APP_SECRET, CANARY_VERIFIER, CANARY_TYPED_SECRET, s.SAMPLE_APP_SECRET]
        values += authorization.issued_codes
        values += self.stack.identity.current_refresh_tokens
        values += self.stack.ledger.issued_tokens()
        return values + self.extra_secrets

    def assert_nothing_leaked(self) -> None:
        seen = [o.out + o.err for o in self.outputs]
        # Called from the fixture's teardown, where caplog.records holds only the
        # teardown phase: the command ran in the call phase.
        records = [*self.caplog.get_records("call"), *self.caplog.records]
        for record in records:
            seen.append(record.getMessage())
            if record.exc_info:
                seen.append(logging.Formatter().formatException(record.exc_info))
        haystack = "\n".join(seen)
        for secret in self.secrets():
            assert secret not in haystack, "a secret value leaked into the output or a log line"


def _next(answers: list[str]) -> str:
    if not answers:
        raise NoTerminal("no scripted answer left")
    return answers.pop(0)


@pytest.fixture
def stack(emulator_stack: EmulatorStack, monkeypatch: pytest.MonkeyPatch) -> EmulatorStack:
    emulator_stack.reset_state()
    emulator_stack.identity.register_app(s.SAMPLE_APP_ID, CANARY_APP_SECRET)
    emulator_stack.key_vault.set_secret(s.SECRET_NAME_APP_SECRET, CANARY_APP_SECRET)
    # The Azure SDK's requests transport trusts the vault's test CA through this.
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", emulator_stack.ca.ca_bundle_path)
    return emulator_stack


def operator_environment(stack: EmulatorStack) -> dict[str, str]:
    settings = stack.settings()
    names = (
        "KEY_VAULT_URL",
        "PARTNER_TENANT_ID",
        "PARTNER_CENTER_BASE_URL",
        "AUTHORITY_HOST",
        "GRAPH_BASE_URL",
        "KEY_VAULT_VERIFY_CHALLENGE_RESOURCE",
    )
    return {name: settings[name] for name in names}


@pytest.fixture
def operator(
    stack: EmulatorStack,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> Iterator[Operator]:
    caplog.set_level(logging.DEBUG)
    running = Operator(stack, capsys, caplog, operator_environment(stack))
    yield running
    running.assert_nothing_leaked()
