"""``GitLab``: GitLab's OAuth endpoints and the REST calls LaunchPad makes.

Settings (``LAUNCHPAD_FORGE_GITLAB_*``): ``client_id``, ``client_secret``, ``url``
(``https://gitlab.com`` or a self-managed instance; the API is ``<url>/api/v4``),
``scopes`` (space-separated, to sign in) and ``repository_scopes`` (added when
repositories are first needed).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import quote, urlencode

import attrs
from launchpad_core.plugins.forges import (
    ChangeRequest,
    ForgeEmail,
    ForgeRepository,
    ForgeRepositoryExistsError,
    ForgeRepositoryNotFoundError,
    ForgeUnavailableError,
    ForgeUser,
    ForgeWebhookSignatureError,
    OAuthClient,
    WebhookTag,
    get_json,
    json_object,
    pushed_tag,
    request_json,
    secret_matches,
)

SCOPES = ("read_user",)  # signing in
REPOSITORY_SCOPES = ("api",)  # api: create projects, read and push them over HTTP


@attrs.frozen
class GitLab:
    oauth: OAuthClient
    api_url: str
    name: str = "gitlab"
    label: str = "GitLab"

    @classmethod
    def from_settings(cls, settings: Mapping[str, str]) -> GitLab:
        url = (settings.get("url") or "https://gitlab.com").rstrip("/")
        scopes = tuple((settings.get("scopes") or "").split()) or SCOPES
        repository = tuple((settings.get("repository_scopes") or "").split()) or REPOSITORY_SCOPES
        return cls(
            oauth=OAuthClient(authorize_url=f"{url}/oauth/authorize",
                              token_url=f"{url}/oauth/token", client_id=settings["client_id"],
                              client_secret=settings.get("client_secret") or "", scopes=scopes,
                              repository_scopes=repository),
            api_url=(settings.get("api_url") or f"{url}/api/v4").rstrip("/"))

    def user(self, access_token: str) -> ForgeUser:
        """GitLab shows one email, the primary one; it is verified once ``confirmed_at``
        is set."""
        found = get_json(f"{self.api_url}/user", access_token, label=self.label)
        try:
            email = found.get("email")
            emails = (ForgeEmail(str(email), bool(found.get("confirmed_at")), primary=True),) \
                if email else ()
            return ForgeUser(id=str(found["id"]), login=str(found["username"]),
                             name=found.get("name"), emails=emails)
        except (KeyError, TypeError, AttributeError):
            raise ForgeUnavailableError("GitLab answered a user without an id or a username") \
                from None

    def create_repository(self, access_token: str, *, name: str, private: bool,
                          description: str = "") -> ForgeRepository:
        """``POST /projects`` in the user's namespace; GitLab answers 400 for a taken name."""
        status, found = request_json(
            "POST", f"{self.api_url}/projects", access_token, label=self.label,
            expected=(201, 400),
            body={"name": name, "path": name, "description": description,
                  "visibility": "private" if private else "public"})
        if status == 400:
            raise ForgeRepositoryExistsError(f"a GitLab project {name!r} exists already")
        return _repository(found)

    def repository(self, access_token: str, path: str) -> ForgeRepository:
        status, found = request_json(
            "GET", f"{self.api_url}/projects/{quote(path, safe='')}", access_token,
            label=self.label, expected=(200, 404))
        if status == 404:
            raise ForgeRepositoryNotFoundError(f"no GitLab project {path!r} is visible")
        return _repository(found)

    def git_credentials(self, access_token: str) -> tuple[str, str]:
        return "oauth2", access_token

    def webhook_tag(self, headers: Mapping[str, str], body: bytes,
                    secret: str) -> WebhookTag | None:
        """``X-Gitlab-Token`` checked; a ``Tag Push Hook`` that creates or moves a tag."""
        if not secret_matches(secret, headers.get("x-gitlab-token")):
            raise ForgeWebhookSignatureError("the X-Gitlab-Token header is missing or is not "
                                             "the secret")
        if headers.get("x-gitlab-event") != "Tag Push Hook":
            return None
        found = json_object(body, self.label)
        tag = pushed_tag(found.get("ref"), found.get("after"))
        return WebhookTag(tag, headers.get("x-gitlab-event-uuid")) if tag else None
    # -- project updates: merge requests -----------------------------------------------
    def open_change_request(self, access_token: str, *, repository: ForgeRepository,
                            branch: str, base: str, title: str,
                            body: str = "") -> ChangeRequest:
        """The opened merge request ``branch`` -> ``base``
        (``GET /projects/{id}/merge_requests``), else ``POST`` one; GitLab's 409 "already
        exists" (a race) reads it again."""
        found = self._open_merge_request(access_token, repository, branch, base)
        if found is not None:
            return found
        status, created = request_json(
            "POST", f"{self._project_url(repository)}/merge_requests", access_token,
            label=self.label, expected=(201, 409),
            body={"source_branch": branch, "target_branch": base, "title": title,
                  "description": body})
        if status == 201:
            return _merge_request(created)
        found = self._open_merge_request(access_token, repository, branch, base)
        if found is None:
            raise ForgeUnavailableError(f"GitLab refused the merge request from {branch!r} "
                                        f"into {base!r}")
        return found

    def _open_merge_request(self, access_token: str, repository: ForgeRepository,
                            branch: str, base: str) -> ChangeRequest | None:
        query = urlencode({"source_branch": branch, "target_branch": base, "state": "opened"})
        found = get_json(f"{self._project_url(repository)}/merge_requests?{query}",
                         access_token, label=self.label)
        if not isinstance(found, list):
            raise ForgeUnavailableError("GitLab answered merge requests that are not a list")
        return _merge_request(found[0]) if found else None

    def _project_url(self, repository: ForgeRepository) -> str:
        return f"{self.api_url}/projects/{quote(repository.path, safe='')}"


def _merge_request(found: Any) -> ChangeRequest:
    try:
        return ChangeRequest(number=int(found["iid"]), web_url=str(found["web_url"]))
    except (KeyError, TypeError, ValueError):
        raise ForgeUnavailableError("GitLab answered a merge request without its iid or "
                                    "URL") from None


def _repository(found: Any) -> ForgeRepository:
    try:
        return ForgeRepository(path=str(found["path_with_namespace"]),
                               private=found["visibility"] != "public",
                               clone_url=str(found["http_url_to_repo"]),
                               web_url=str(found["web_url"]),
                               default_branch=found.get("default_branch"))
    except (KeyError, TypeError, AttributeError):
        raise ForgeUnavailableError("GitLab answered a project without its path or "
                                    "URLs") from None
