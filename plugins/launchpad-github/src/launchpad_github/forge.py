"""``GitHub``: GitHub's OAuth endpoints and the REST calls LaunchPad makes.

Settings (``LAUNCHPAD_FORGE_GITHUB_*``): ``client_id``, ``client_secret``, ``url``
(the web origin, ``https://github.com``), ``api_url`` (``https://api.github.com``;
GitHub Enterprise Server: ``<url>/api/v3``), ``scopes`` (space-separated, to sign in) and
``repository_scopes`` (added when repositories are first needed).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import urlencode

import attrs
from launchpad_core.plugins.forges import (
    ChangeRequest,
    ForgeEmail,
    ForgeRepository,
    ForgeRepositoryExistsError,
    ForgeRepositoryNotFoundError,
    ForgeUnavailableError,
    ForgeUser,
    ForgeWebhookPayloadError,
    ForgeWebhookSignatureError,
    OAuthClient,
    WebhookTag,
    get_json,
    hmac_sha256_matches,
    json_object,
    pushed_tag,
    request_json,
)

SCOPES = ("read:user", "user:email")  # signing in
REPOSITORY_SCOPES = ("repo",)  # repo: create, read and push repositories
HEADERS = {"Accept": "application/vnd.github+json", "X-GitHub-Api-Version": "2022-11-28"}


@attrs.frozen
class GitHub:
    oauth: OAuthClient
    api_url: str
    name: str = "github"
    label: str = "GitHub"

    @classmethod
    def from_settings(cls, settings: Mapping[str, str]) -> GitHub:
        url = (settings.get("url") or "https://github.com").rstrip("/")
        scopes = tuple((settings.get("scopes") or "").split()) or SCOPES
        repository = tuple((settings.get("repository_scopes") or "").split()) or REPOSITORY_SCOPES
        return cls(
            oauth=OAuthClient(authorize_url=f"{url}/login/oauth/authorize",
                              token_url=f"{url}/login/oauth/access_token",
                              client_id=settings["client_id"],
                              client_secret=settings.get("client_secret") or "", scopes=scopes,
                              repository_scopes=repository),
            api_url=(settings.get("api_url") or "https://api.github.com").rstrip("/"))

    def user(self, access_token: str) -> ForgeUser:
        found = self._get("/user", access_token)
        emails = self._get("/user/emails", access_token)
        try:
            return ForgeUser(
                id=str(found["id"]), login=str(found["login"]), name=found.get("name"),
                emails=tuple(ForgeEmail(str(e["email"]), e.get("verified") is True,
                                        e.get("primary") is True) for e in emails))
        except (KeyError, TypeError, AttributeError):
            raise ForgeUnavailableError("GitHub answered a user without an id or a login") \
                from None

    def create_repository(self, access_token: str, *, name: str, private: bool,
                          description: str = "") -> ForgeRepository:
        """``POST /user/repos`` (no initial commit); GitHub answers 422 for a taken name."""
        status, found = request_json(
            "POST", f"{self.api_url}/user/repos", access_token, label=self.label,
            headers=HEADERS, expected=(201, 422),
            body={"name": name, "private": private, "description": description,
                  "auto_init": False})
        if status == 422:
            raise ForgeRepositoryExistsError(f"a GitHub repository {name!r} exists already")
        return _repository(found)

    def repository(self, access_token: str, path: str) -> ForgeRepository:
        status, found = request_json("GET", f"{self.api_url}/repos/{path}", access_token,
                                     label=self.label, headers=HEADERS, expected=(200, 404))
        if status == 404:
            raise ForgeRepositoryNotFoundError(f"no GitHub repository {path!r} is visible")
        return _repository(found)

    def git_credentials(self, access_token: str) -> tuple[str, str]:
        return "x-access-token", access_token

    def webhook_tag(self, headers: Mapping[str, str], body: bytes,
                    secret: str) -> WebhookTag | None:
        """``X-Hub-Signature-256`` checked; a ``push`` of a tag or a ``create`` of one."""
        if not hmac_sha256_matches(secret, body, headers.get("x-hub-signature-256")):
            raise ForgeWebhookSignatureError("the X-Hub-Signature-256 header is missing or "
                                             "does not sign this body with the secret")
        event = headers.get("x-github-event")
        if event not in ("push", "create"):
            return None
        found = json_object(body, self.label)
        if event == "create":
            if found.get("ref_type") != "tag":
                return None
            tag = found.get("ref")
        else:
            tag = pushed_tag(found.get("ref"), found.get("after"))
        if tag is not None and not isinstance(tag, str):
            raise ForgeWebhookPayloadError("GitHub's delivery names no tag")
        return WebhookTag(tag, headers.get("x-github-delivery")) if tag else None
    # -- project updates: pull requests ------------------------------------------------
    def open_change_request(self, access_token: str, *, repository: ForgeRepository,
                            branch: str, base: str, title: str,
                            body: str = "") -> ChangeRequest:
        """The open pull request ``branch`` -> ``base`` (``GET /repos/{path}/pulls``), else
        ``POST /repos/{path}/pulls``; GitHub's 422 "already exists" (a race) reads it again."""
        found = self._open_pull(access_token, repository, branch, base)
        if found is not None:
            return found
        status, created = request_json(
            "POST", f"{self.api_url}/repos/{repository.path}/pulls", access_token,
            label=self.label, headers=HEADERS, expected=(201, 422),
            body={"title": title, "head": branch, "base": base, "body": body})
        if status == 201:
            return _pull(created)
        found = self._open_pull(access_token, repository, branch, base)
        if found is None:
            raise ForgeUnavailableError(f"GitHub refused the pull request from {branch!r} "
                                        f"into {base!r}")
        return found

    def _open_pull(self, access_token: str, repository: ForgeRepository, branch: str,
                   base: str) -> ChangeRequest | None:
        owner = repository.path.split("/")[0]
        query = urlencode({"head": f"{owner}:{branch}", "base": base, "state": "open"})
        pulls = self._get(f"/repos/{repository.path}/pulls?{query}", access_token)
        if not isinstance(pulls, list):
            raise ForgeUnavailableError("GitHub answered pull requests that are not a list")
        return _pull(pulls[0]) if pulls else None

    def _get(self, path: str, access_token: str) -> Any:
        return get_json(f"{self.api_url}{path}", access_token, label=self.label, headers=HEADERS)


def _pull(found: Any) -> ChangeRequest:
    try:
        return ChangeRequest(number=int(found["number"]), web_url=str(found["html_url"]))
    except (KeyError, TypeError, ValueError):
        raise ForgeUnavailableError("GitHub answered a pull request without its number or "
                                    "URL") from None


def _repository(found: Any) -> ForgeRepository:
    try:
        return ForgeRepository(path=str(found["full_name"]), private=found["private"] is True,
                               clone_url=str(found["clone_url"]), web_url=str(found["html_url"]),
                               default_branch=found.get("default_branch"))
    except (KeyError, TypeError, AttributeError):
        raise ForgeUnavailableError("GitHub answered a repository without its name or "
                                    "URLs") from None
