"""The domain errors: one exception type per problem code of the contract.

Every message here is written for the caller or the operator and is built only from
values that are safe to show: setting names, secret names, IDs, upstream error codes.
Never pass a password, a token or an upstream body into one.
"""

from __future__ import annotations

from typing import Any, ClassVar


class ProblemError(Exception):
    """An error that becomes an application/problem+json answer."""

    status: ClassVar[int] = 500
    code: ClassVar[str] = "internal_error"
    title: ClassVar[str] = "Internal error"

    def __init__(
        self,
        detail: str,
        *,
        errors: list[dict[str, str]] | None = None,
        retry_after: int | None = None,
        extra: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(detail)
        self.detail = detail
        self.errors = errors
        self.retry_after = retry_after
        self.extra = extra or {}


class InvalidRequest(ProblemError):
    status = 400
    code = "invalid_request"
    title = "The request is not valid"


class Unauthenticated(ProblemError):
    status = 401
    code = "unauthenticated"
    title = "A valid caller token is required"

    def __init__(self, detail: str, *, challenge: str = 'Bearer error="invalid_token"') -> None:
        super().__init__(detail)
        self.challenge = challenge


class Forbidden(ProblemError):
    status = 403
    code = "forbidden"
    title = "The caller may not do this"


class ProtectedUser(ProblemError):
    status = 403
    code = "protected_user"
    title = "The target account is protected"


class PartnerForbidden(ProblemError):
    status = 403
    code = "partner_forbidden"
    title = "Partner Center refused the partner's access to this customer"


class CustomerNotFound(ProblemError):
    status = 404
    code = "customer_not_found"
    title = "Customer not found"


class UserNotFound(ProblemError):
    status = 404
    code = "user_not_found"
    title = "User not found"


class UserNotCloudManaged(ProblemError):
    status = 409
    code = "user_not_cloud_managed"
    title = "The user's password is not managed in the cloud"


class AmbiguousCustomer(ProblemError):
    status = 409
    code = "ambiguous_customer"
    title = "The domain matches more than one customer"


class PayloadTooLarge(ProblemError):
    status = 413
    code = "payload_too_large"
    title = "The request body is too large"


class UnsupportedMediaType(ProblemError):
    status = 415
    code = "unsupported_media_type"
    title = "The request body must be JSON"


class Throttled(ProblemError):
    status = 429
    code = "throttled"
    title = "Partner Center is throttling requests"


class UpstreamError(ProblemError):
    status = 502
    code = "upstream_error"
    title = "Partner Center failed"


class DependencyUnavailable(ProblemError):
    status = 503
    code = "dependency_unavailable"
    title = "A dependency is unavailable"


class PartnerCredentialsInvalid(ProblemError):
    status = 503
    code = "partner_credentials_invalid"
    title = "The stored Partner Center credentials were rejected"


class UpstreamTimeout(ProblemError):
    status = 504
    code = "upstream_timeout"
    title = "The reset did not finish in time"


class ConfigurationError(ProblemError):
    status = 500
    code = "configuration_error"
    title = "The function is not configured correctly"
