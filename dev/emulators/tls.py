"""A throwaway certificate authority so the Key Vault emulator can speak HTTPS.

The Azure SDK refuses bearer tokens over plain HTTP, so Key Vault needs TLS; clients
trust it through REQUESTS_CA_BUNDLE pointing at a file holding only this test CA.
"""

from __future__ import annotations

import shutil
import ssl
import tempfile
from pathlib import Path
from types import TracebackType
from typing import Self

import trustme

SERVER_NAMES = ("127.0.0.1", "localhost")


class TestCertificateAuthority:
    __test__ = False  # not a pytest test class, despite the name

    def __init__(self) -> None:
        self._ca = trustme.CA()
        self._server_cert = self._ca.issue_cert(*SERVER_NAMES)
        self._directory = Path(tempfile.mkdtemp(prefix="emulator-ca-"))
        self.ca_bundle_path = str(self._directory / "test-ca.pem")
        self._ca.cert_pem.write_to_path(self.ca_bundle_path)

    def server_context(self) -> ssl.SSLContext:
        """A fresh server-side context presenting the certificate for 127.0.0.1."""
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.minimum_version = ssl.TLSVersion.TLSv1_2
        self._server_cert.configure_cert(context)
        return context

    def close(self) -> None:
        shutil.rmtree(self._directory, ignore_errors=True)

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()
