"""``GitLab``: GitLab's OAuth endpoints and the REST calls LaunchPad makes.

Settings (``LAUNCHPAD_FORGE_GITLAB_*``): ``client_id``, ``client_secret``, ``url``
(``https://gitlab.com`` or a self-managed instance; the API is ``<url>/api/v4``)
and ``scopes`` (space-separated).
"""

from __future__ import annotations

from collections.abc import Mapping

import attrs
from launchpad_core.forges import (
    ForgeEmail,
    ForgeUnavailableError,
    ForgeUser,
    OAuthClient,
    get_json,
)

SCOPES = ("read_user",)


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
        return cls(
            oauth=OAuthClient(authorize_url=f"{url}/oauth/authorize",
                              token_url=f"{url}/oauth/token", client_id=settings["client_id"],
                              client_secret=settings.get("client_secret") or "", scopes=scopes),
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
