"""The domain errors: one exception type per failure a caller or operator must hear of.

They carry no HTTP: `shared.problems` maps each type to its status, code and title, in
one table at the edge. Every message is written for the caller or the operator and is
built only from values that are safe to show: setting names, secret names, IDs, numeric
upstream codes. Never pass a password, a token or an upstream string into one.
"""

from __future__ import annotations

# Seconds a caller is told to wait when a dependency (Key Vault, the identity platform)
# failed: long enough for a short outage to pass.
DEPENDENCY_RETRY_AFTER = 30


class DomainError(Exception):
    """A failure with a detail that is safe to show."""

    def __init__(
        self,
        detail: str,
        *,
        errors: list[dict[str, str]] | None = None,
        retry_after: int | None = None,
    ) -> None:
        super().__init__(detail)
        self.detail = detail
        self.errors = errors
        self.retry_after = retry_after


class InvalidRequest(DomainError):
    """The request breaks a rule (named in `errors`), or Partner Center refused its input."""


class Unauthenticated(DomainError):
    """No valid caller token."""

    def __init__(self, detail: str, *, challenge: str = 'Bearer error="invalid_token"') -> None:
        super().__init__(detail)
        self.challenge = challenge


class Forbidden(DomainError):
    """The caller may not do this, or not to this customer."""


class ProtectedUser(DomainError):
    """The target holds a protected directory role."""


class PartnerForbidden(DomainError):
    """Partner Center refused the partner's access to the customer (GDAP)."""


class CustomerNotFound(DomainError):
    """No such customer."""


class UserNotFound(DomainError):
    """No such user in the customer's tenant."""


class UserNotCloudManaged(DomainError):
    """The user's password belongs to on-premises AD or a federated identity provider."""


class UserIsGuest(DomainError):
    """The user is a B2B guest: it signs in at its home organisation."""


class PayloadTooLarge(DomainError):
    """The body is over the limit."""


class UnsupportedMediaType(DomainError):
    """The body is not JSON."""


class Throttled(DomainError):
    """Partner Center kept throttling."""


class UpstreamError(DomainError):
    """Partner Center failed or answered something unreadable."""


class DependencyUnavailable(DomainError):
    """Key Vault, the managed identity or the identity platform could not be used."""


class SecretLinkNotStored(DomainError):
    """Partner Center set a generated password, but its one-time link could not be stored:
    nobody can be given that password, so the caller resets again."""


class PartnerCredentialsInvalid(DomainError):
    """The stored app secret or refresh token was refused."""

    def __init__(self, detail: str, *, aadsts: int | None = None) -> None:
        super().__init__(detail)
        # The identity platform's AADSTS number, when it gave one: a number is safe to
        # quote, and callers of another tenant's token (Graph) need it to tell consent
        # from MFA.
        self.aadsts = aadsts


class UpstreamTimeout(DomainError):
    """The request's deadline ran out waiting for an upstream service (named in `detail`)."""


def deadline_ran_out(dependency: str) -> UpstreamTimeout:
    """The one deadline error: it names the dependency that was still to answer."""
    return UpstreamTimeout(f"The reset's deadline ran out before {dependency} answered.")


class ConfigurationError(DomainError):
    """App settings missing or malformed."""


class InternalError(DomainError):
    """Something the function did not expect: a bug."""
