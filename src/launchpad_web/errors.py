"""The one exception tree of launchpad_web.

:class:`WebError` is the root (a :class:`~launchpad_core.LaunchpadError`, so the
``launchpad`` CLI reports the ``serve``/``db`` commands' errors like its own).
:class:`ApiError` and its subclasses are answered to clients as RFC 9457 problem
documents by :mod:`launchpad_web.problems`, the one place errors become responses.
Each class has a stable ``code``; raise them with keyword-only details.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import attrs

from launchpad_core import LaunchpadError, Problem


class WebError(LaunchpadError):
    """Root of every error launchpad_web raises on purpose."""

    code = "web_error"


class ConfigurationError(WebError):
    """A setting is missing or malformed."""

    code = "configuration_error"


class SchemaOutdatedError(WebError):
    """The database schema is not at the revision this version of the code expects."""

    code = "schema_outdated"


@attrs.frozen
class FieldError:
    """One problem with one request field, located by JSON path (``$.email``)."""

    code: str
    message: str
    field: str = "$"


class ApiError(WebError):
    """An error answered to the client with ``status`` and a problem document."""

    status = 400
    code = "bad_request"
    title = "Bad request"

    def __init__(
        self,
        detail: str | None = None,
        *,
        field: str | None = None,
        errors: Iterable[FieldError] = (),
        headers: Mapping[str, str] | None = None,
    ):
        super().__init__(detail or self.title, path=field)
        self.detail = detail
        self.field = field
        self.errors = tuple(errors)
        self.headers = dict(headers or {})


class InvalidJsonError(ApiError):
    code = "invalid_json"
    title = "The request body is not valid JSON"


class InvalidEventError(ApiError):
    code = "invalid_event"
    title = "The signed webhook event is not of an event's shape"


class UnauthenticatedError(ApiError):
    status = 401
    code = "unauthenticated"
    title = "Sign in first"


class InvalidCredentialsError(UnauthenticatedError):
    code = "invalid_credentials"
    title = "Wrong email or password"


class InvalidTokenError(UnauthenticatedError):
    code = "invalid_token"
    title = "The API token is unknown, expired or revoked"


class InvalidSignatureError(ApiError):
    code = "invalid_signature"
    title = "The webhook signature is missing, wrong or too old"


class PaymentRequiredError(ApiError):
    """A plan's limit is reached, or a feature belongs to another plan."""

    status = 402
    code = "payment_required"
    title = "Your plan does not allow this"


class QuotaExceededError(PaymentRequiredError):
    code = "quota_exceeded"
    title = "Your plan's limit is reached"


class PlanRequiredError(PaymentRequiredError):
    code = "plan_required"
    title = "This needs another plan"


class NoBillingAccountError(ApiError):
    status = 409
    code = "no_billing_account"
    title = "There is no paid subscription to manage yet"


class AlreadySubscribedError(ApiError):
    status = 409
    code = "already_subscribed"
    title = "You already pay for a plan; change it in the billing portal"


class BillingUnavailableError(ApiError):
    status = 503
    code = "billing_unavailable"
    title = "Paid plans cannot be bought on this installation"


class ForbiddenError(ApiError):
    status = 403
    code = "forbidden"
    title = "Not allowed"


class CsrfFailedError(ForbiddenError):
    code = "csrf_failed"
    title = "Cross-site request refused"


class SessionRequiredError(ForbiddenError):
    code = "session_required"
    title = "Sign in with a password for this; an API token cannot do it"


class InvitationForAnotherEmailError(ForbiddenError):
    code = "invitation_for_another_email"
    title = ("The invitation was sent to another email address: sign in with the account "
             "of that address to answer it")


class WrongPasswordError(ForbiddenError):
    code = "wrong_password"
    title = "The current password is wrong"


class NotFoundError(ApiError):
    status = 404
    code = "not_found"
    title = "Not found"


class InvitationNotFoundError(NotFoundError):
    code = "invitation_not_found"
    title = "No such invitation: the link is wrong, or it was replaced, revoked or answered"


class InvitationExpiredError(ApiError):
    status = 410
    code = "invitation_expired"
    title = "The invitation has expired: ask the team for a new one"


class ConflictError(ApiError):
    status = 409
    code = "conflict"
    title = "Conflict"


class EmailTakenError(ConflictError):
    code = "email_taken"
    title = "An account with this email exists"


class LastOwnerError(ConflictError):
    code = "last_owner"
    title = "A team keeps at least one owner: make someone else owner first"


class AlreadyMemberError(ConflictError):
    code = "already_member"
    title = "This person is already a member of the team"


class VersionConflictError(ConflictError):
    """A write based on a version that is no longer the latest (``version`` field)."""

    code = "version_conflict"
    title = "It was changed meanwhile: read the latest version and apply your change again"


class StalePreconditionError(VersionConflictError):
    """The same, announced with ``If-Match``."""

    status = 412


class InvalidPreconditionError(ApiError):
    """``If-Match`` holds no version this API gives out (not ``"v<1..2^31-1>"``)."""

    status = 412
    code = "invalid_precondition"
    title = "If-Match names no version: send the ETag you read"


class PreconditionRequiredError(ApiError):
    status = 428
    code = "version_required"
    title = "Say which version you change: send If-Match or the version field"


class PayloadTooLargeError(ApiError):
    status = 413
    code = "payload_too_large"
    title = "The request body is too large"


class UnsupportedMediaTypeError(ApiError):
    status = 415
    code = "unsupported_media_type"
    title = "Send the request body as application/json"


class ValidationFailedError(ApiError):
    """The request is well-formed JSON but its fields are wrong; ``errors`` lists each."""

    status = 422
    code = "invalid_request"
    title = "The request is not valid"

    @classmethod
    def one(cls, code: str, message: str, field: str) -> ValidationFailedError:
        return cls(message, field=field, errors=[FieldError(code, message, field)])

    @classmethod
    def from_problems(
        cls, problems: Iterable[Problem], *, root: str = "$"
    ) -> ValidationFailedError:
        """Core problems (paths from ``$``) re-rooted where the data sat in the request."""
        errors = [FieldError(p.code, p.message, root + p.path.removeprefix("$")) for p in problems]
        return cls(errors=errors)


class UnstorableValueError(ValidationFailedError):
    """The database refused a value (out of its column's range, not encodable): the
    request checks missed it, and the client still gets a 422, never a 500."""

    code = "unstorable_value"
    title = "A value of the request cannot be stored"


class InvalidDefinitionError(ValidationFailedError):
    code = "invalid_definition"
    title = "The template definition is not valid"


class InvalidAnswersError(ValidationFailedError):
    code = "invalid_answers"
    title = "The answers are not valid"


class RenderFailedError(ValidationFailedError):
    """The template failed to render; ``code`` is the core's (``unsafe_path``,
    ``sandbox_violation``, ``render_timeout``, ``cpu_limit`` ...), ``source`` the
    template file concerned when known."""

    title = "The template could not be rendered"

    def __init__(self, detail: str, *, code: str, source: str | None = None,
                 field: str | None = None):
        super().__init__(detail, field=field)
        self.code = code
        self.source = source


class TooManyRequestsError(ApiError):
    status = 429
    code = "too_many_requests"
    title = "Too many requests"

    def __init__(self, detail: str | None = None, *, retry_after: int):
        super().__init__(detail, headers={"Retry-After": str(retry_after)})
        self.retry_after = retry_after


class TooManyEvaluationsError(TooManyRequestsError):
    code = "too_many_evaluations"
    title = "Your account is already evaluating as many templates as it may at once"


class EvaluatorsBusyError(ApiError):
    status = 503
    code = "evaluators_busy"
    title = "Every template evaluator is busy; try again shortly"

    def __init__(self, detail: str | None = None, *, retry_after: int):
        super().__init__(detail, headers={"Retry-After": str(retry_after)})
        self.retry_after = retry_after


class TooManyAttemptsError(TooManyRequestsError):
    code = "too_many_attempts"
    title = "Too many failed sign-in attempts; try again later"


class TooManyJobsError(TooManyRequestsError):
    code = "too_many_jobs"
    title = "You have as many generation jobs queued or running as your plan allows"


class TooManyStreamsError(TooManyRequestsError):
    code = "too_many_streams"
    title = "Too many progress streams are open; close one or try again shortly"


class TooManySignupsError(TooManyRequestsError):
    code = "too_many_signups"
    title = "Too many accounts were created from your address; try again later"


class UnknownForgeError(NotFoundError):
    code = "unknown_forge"
    title = "No such forge is set up on this installation"


class ForgeNotLinkedError(NotFoundError):
    code = "forge_not_linked"
    title = "Your account is not linked to this forge"


class OAuthStateError(ApiError):
    code = "oauth_state_mismatch"
    title = ("The sign-in with the forge did not start here, or took too long: start it "
             "again")


class ForgeRefusedError(ApiError):
    code = "forge_refused"
    title = "The forge refused the authorization: start again"


class ForgeUnreachableError(ApiError):
    status = 502
    code = "forge_unavailable"
    title = "The forge did not answer as expected; try again shortly"


class ForgeTokenRevokedError(ConflictError):
    code = "forge_token_revoked"
    title = "The forge no longer accepts LaunchPad's access: link it again"


class ForgeAccessNeededError(ConflictError):
    code = "forge_access_needed"
    title = ("LaunchPad may not use your repositories on this forge yet: allow it from your "
             "account page (Forges, \"Allow repositories\")")


class ForgeEmailUnverifiedError(ConflictError):
    code = "forge_email_unverified"
    title = ("The forge has not verified an email address of yours: verify one there, or "
             "sign in with your password and link the forge from your account page")


class ForgeAccountTakenError(ConflictError):
    code = "forge_account_taken"
    title = "This forge account is linked to another LaunchPad account"


class ForgeAlreadyLinkedError(ConflictError):
    code = "forge_already_linked"
    title = "Your account is already linked to an account on this forge: unlink it first"


class LastSignInMethodError(ConflictError):
    code = "last_sign_in_method"
    title = ("This is the only way you can sign in: set a password or link another forge "
             "before unlinking it")


class TooManyResetRequestsError(TooManyRequestsError):
    code = "too_many_reset_requests"
    title = "Too many password resets were asked from your address; try again later"


class InvalidResetTokenError(ApiError):
    status = 400
    code = "invalid_reset_token"
    title = "This password-reset link is not valid: it expired, was used or was replaced"
