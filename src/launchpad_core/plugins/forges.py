"""Git forges (GitHub, GitLab ...): the interface a forge plugin implements.

The hosted service asks the ``launchpad_forges`` hook for the forges configured on
this installation; each is an object following :class:`Forge`. The service runs
the OAuth 2.0 authorization-code flow (with ``state`` and PKCE) itself, against
the endpoints a forge names in :class:`OAuthClient`, and asks the forge who the
token belongs to with :meth:`Forge.user`. For publishing a job to a repository
and importing a template from one, a forge creates and finds repositories
(:meth:`Forge.create_repository`, :meth:`Forge.repository`: a
:class:`ForgeRepository` with its smart-HTTP ``clone_url``) and says how git
authenticates with the token (:meth:`Forge.git_credentials`). A template that
follows its repository learns of a new tag from the forge's webhook, which the
forge verifies and reads (:meth:`Forge.webhook_tag`: :func:`hmac_sha256_matches`
and :func:`secret_matches` compare in constant time). For updating a
published project, a forge opens a pull request (GitHub) or merge request (GitLab)
from a branch LaunchPad pushed (:meth:`Forge.open_change_request`: a
:class:`ChangeRequest`), at most one per branch. A forge is always
built from plain settings, so its base URLs can point at GitHub Enterprise, a
self-managed GitLab or a stand-in in tests.

:func:`request_json` (and :func:`get_json`) is the one way forge plugins call a
forge's REST API: a 401 becomes :class:`ForgeTokenRevokedError` (the service
then drops the token), an unexpected status or body :class:`ForgeUnavailableError`.
Tokens never appear in messages.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Mapping
from typing import Any, Protocol

import attrs

from ..errors import LaunchpadError

TIMEOUT_SECONDS = 10


class ForgeError(LaunchpadError):
    """A forge could not do what was asked."""

    code = "forge_error"


class ForgeUnavailableError(ForgeError):
    """The forge is down, slow, or answered something that is not what its API answers."""

    code = "forge_unavailable"


class ForgeTokenRevokedError(ForgeError):
    """The forge refuses the access token (401): it was revoked, or has expired."""

    code = "forge_token_revoked"


class ForgeRepositoryExistsError(ForgeError):
    """A repository of that name exists already in that namespace."""

    code = "forge_repository_exists"


class ForgeRepositoryNotFoundError(ForgeError):
    """No such repository, or the token may not see it."""

    code = "forge_repository_not_found"


class ForgeWebhookSignatureError(ForgeError):
    """A webhook delivery's signature (or secret token) is missing or wrong."""

    code = "invalid_signature"


class ForgeWebhookPayloadError(ForgeError):
    """A correctly signed webhook delivery whose body is not the event's shape."""

    code = "invalid_event"


@attrs.frozen
class WebhookTag:
    """A tag pushed to a repository, as a verified webhook delivery tells it: the tag's
    name and, when the forge says, the commit (or tag object) it points at."""

    tag: str
    delivery: str | None = None


@attrs.frozen
class OAuthClient:
    """Where and how LaunchPad asks a forge for an access token: ``scopes`` to sign in
    (who the person is, their verified emails); ``repository_scopes`` added only when the
    person first needs LaunchPad to create, read or push their repositories (publishing,
    importing a private template, pull requests), and asked for then."""

    authorize_url: str
    token_url: str
    client_id: str
    client_secret: str = attrs.field(repr=False)
    scopes: tuple[str, ...] = ()
    repository_scopes: tuple[str, ...] = ()


@attrs.frozen
class ForgeEmail:
    address: str
    verified: bool
    primary: bool = False


@attrs.frozen
class ForgeUser:
    """Who an access token belongs to. ``id`` is the forge's stable id (a login can be
    renamed); ``emails`` say which the forge has verified."""

    id: str
    login: str
    name: str | None
    emails: tuple[ForgeEmail, ...] = ()

    @property
    def verified_emails(self) -> tuple[str, ...]:
        """Verified addresses, the primary one first."""
        ordered = sorted(self.emails, key=lambda e: not e.primary)
        return tuple(e.address for e in ordered if e.verified)


@attrs.frozen
class ForgeRepository:
    """A repository on a forge. ``path`` is ``owner/name`` (a GitLab group path may
    hold slashes); ``clone_url`` is its smart-HTTP URL (git clone and push)."""

    path: str
    private: bool
    clone_url: str
    web_url: str
    default_branch: str | None = None


@attrs.frozen
class ChangeRequest:
    """A pull request (GitHub) or merge request (GitLab): its number in the repository
    (GitLab's ``iid``) and its web page."""

    number: int
    web_url: str


class Forge(Protocol):
    """What the service needs from a forge."""

    #: a short lowercase name used in URLs and the database (``github``)
    name: str
    #: the forge's name as people know it (``GitHub``)
    label: str
    oauth: OAuthClient

    def user(self, access_token: str) -> ForgeUser:
        """The token's owner; :class:`ForgeTokenRevokedError` if the forge refuses it."""
        ...

    def create_repository(self, access_token: str, *, name: str, private: bool,
                          description: str = "") -> ForgeRepository:
        """A new empty repository of the token's owner (no initial commit);
        :class:`ForgeRepositoryExistsError` if the name is taken."""
        ...

    def repository(self, access_token: str, path: str) -> ForgeRepository:
        """The repository at ``owner/name`` as the token sees it;
        :class:`ForgeRepositoryNotFoundError` if it does not exist or is hidden."""
        ...

    def git_credentials(self, access_token: str) -> tuple[str, str]:
        """The user name and password git sends over HTTP to clone or push with the token."""
        ...

    def webhook_tag(self, headers: Mapping[str, str], body: bytes,
                    secret: str) -> WebhookTag | None:
        """The tag a webhook delivery (``headers`` by lowercase name, the raw ``body``)
        says was pushed, once its signature or token is checked against ``secret``; None
        for a verified delivery of another event (a ping, a branch push, a tag deleted).
        :class:`ForgeWebhookSignatureError` when the check fails,
        :class:`ForgeWebhookPayloadError` for a verified body of the wrong shape."""
        ...

    # -- project updates (pull / merge requests) --------------------------------------
    def open_change_request(self, access_token: str, *, repository: ForgeRepository,
                            branch: str, base: str, title: str,
                            body: str = "") -> ChangeRequest:
        """The open pull (merge) request from ``branch`` into ``base`` of ``repository``:
        the one already open when there is one, else a new one with ``title`` and
        ``body``. Calling it again never opens a second one.

        :param repository: as :meth:`repository` answered it
        :param branch: the pushed branch with the change
        :param base: the branch it is to be merged into (the default branch)
        """
        ...


def hmac_sha256_matches(secret: str, body: bytes, signature: str | None) -> bool:
    """Whether ``signature`` is ``sha256=<hex HMAC-SHA256 of body under secret>`` (GitHub's
    ``X-Hub-Signature-256``), compared in constant time."""
    expected = "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return signature is not None and hmac.compare_digest(expected.encode(),
                                                         signature.encode(errors="replace"))


def secret_matches(secret: str, given: str | None) -> bool:
    """Whether ``given`` is ``secret`` (GitLab's ``X-Gitlab-Token``), in constant time."""
    return given is not None and hmac.compare_digest(secret.encode(),
                                                     given.encode(errors="replace"))


def json_object(body: bytes, label: str) -> dict[str, Any]:
    """A verified webhook body as a JSON object; :class:`ForgeWebhookPayloadError` if not."""
    try:
        found = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        raise ForgeWebhookPayloadError(f"{label}'s delivery is not JSON") from None
    if not isinstance(found, dict):
        raise ForgeWebhookPayloadError(f"{label}'s delivery is not a JSON object")
    return found


def pushed_tag(ref: Any, after: Any) -> str | None:
    """The tag a push event's ``ref`` names when it creates or moves it (``after`` is not
    all zeros, which means deleted); None for a branch or a deletion."""
    if not isinstance(ref, str) or not ref.startswith("refs/tags/"):
        return None
    if isinstance(after, str) and set(after) == {"0"}:
        return None
    return ref.removeprefix("refs/tags/") or None


def get_json(url: str, access_token: str, *, label: str,
             headers: dict[str, str] | None = None) -> Any:
    """``GET url`` with the bearer token; the JSON answer of a 200."""
    return request_json("GET", url, access_token, label=label, headers=headers)[1]


def request_json(method: str, url: str, access_token: str, *, label: str,
                 body: Any = None, headers: dict[str, str] | None = None,
                 expected: tuple[int, ...] = (200,)) -> tuple[int, Any]:
    """``method url`` with the bearer token (and ``body`` as JSON); the status, one of
    ``expected``, and the JSON answer. See the module's doc for the errors."""
    import requests  # imported here: every `launchpad` command loads the forge plugins

    try:
        response = requests.request(
            method, url, json=body, timeout=TIMEOUT_SECONDS, allow_redirects=False,
            headers={"Accept": "application/json", **(headers or {}),
                     "Authorization": f"Bearer {access_token}"})
    except requests.RequestException as exc:
        raise ForgeUnavailableError(f"{label} did not answer: {exc.__class__.__name__}") from None
    if response.status_code == 401:
        raise ForgeTokenRevokedError(f"{label} no longer accepts LaunchPad's access token")
    if response.status_code not in expected:
        raise ForgeUnavailableError(f"{label} answered {response.status_code} to {method} "
                                    f"{url}")
    try:
        return response.status_code, response.json()
    except ValueError:
        raise ForgeUnavailableError(f"{label} answered something that is not JSON") from None
