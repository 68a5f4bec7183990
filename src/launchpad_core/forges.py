"""Git forges (GitHub, GitLab ...): the interface a forge plugin implements.

The hosted service asks the ``launchpad_forges`` hook for the forges configured on
this installation; each is an object following :class:`Forge`. The service runs
the OAuth 2.0 authorization-code flow (with ``state`` and PKCE) itself, against
the endpoints a forge names in :class:`OAuthClient`, and asks the forge who the
token belongs to with :meth:`Forge.user`. For publishing a job to a repository
and importing a template from one, a forge creates and finds repositories
(:meth:`Forge.create_repository`, :meth:`Forge.repository`: a
:class:`ForgeRepository` with its smart-HTTP ``clone_url``) and says how git
authenticates with the token (:meth:`Forge.git_credentials`). For updating a
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

from typing import Any, Protocol

import attrs

from .errors import LaunchpadError

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


@attrs.frozen
class OAuthClient:
    """Where and how LaunchPad asks a forge for an access token."""

    authorize_url: str
    token_url: str
    client_id: str
    client_secret: str = attrs.field(repr=False)
    scopes: tuple[str, ...] = ()


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
