"""The GitLab forge: its endpoints from settings, and how its one email counts as
verified (the whole sign-in flow, against a stand-in serving ``/api/v4/user``, is
in LaunchPad's tests/web/test_forges.py)."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest
from launchpad_core.plugins.forges import ForgeUnavailableError, OAuthClient

from launchpad_gitlab.forge import GitLab
from launchpad_gitlab.plugin import launchpad_forges

ROOT = Path(__file__).parents[1]


def test_the_package_registers_the_plugin_under_gitlab() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    assert project["project"]["entry-points"]["launchpad"] == {"gitlab": "launchpad_gitlab.plugin"}


def test_gitlab_com_by_default_and_a_self_managed_one_by_settings() -> None:
    assert launchpad_forges(settings={"github": {"client_id": "c"}}) == []
    (forge,) = launchpad_forges(settings={"gitlab": {"client_id": "c", "client_secret": "s"}})
    assert forge.oauth.authorize_url == "https://gitlab.com/oauth/authorize"
    assert forge.oauth.token_url == "https://gitlab.com/oauth/token"
    assert forge.api_url == "https://gitlab.com/api/v4"
    assert forge.oauth.scopes == ("read_user",)  # signing in: no projects
    assert forge.oauth.repository_scopes == ("api",)  # asked for when first needed
    own = GitLab.from_settings({"client_id": "c", "url": "https://git.example/"})
    assert own.oauth.authorize_url == "https://git.example/oauth/authorize"
    assert own.api_url == "https://git.example/api/v4"


@pytest.mark.parametrize(("answer", "verified"), [
    ({"id": 7, "username": "ann", "email": "ann@x.org", "confirmed_at": "2030-01-01"},
     ("ann@x.org",)),
    ({"id": 7, "username": "ann", "email": "ann@x.org", "confirmed_at": None}, ()),
    ({"id": 7, "username": "ann"}, ()),
])
def test_the_email_is_verified_once_confirmed(monkeypatch, answer, verified) -> None:
    monkeypatch.setattr("launchpad_gitlab.forge.get_json", lambda url, token, **_: answer)
    user = GitLab(OAuthClient("a", "t", "c", "s"), api_url="https://x").user("tok")
    assert (user.id, user.login, user.verified_emails) == ("7", "ann", verified)


def test_an_answer_without_a_username_is_the_forge_failing(monkeypatch) -> None:
    monkeypatch.setattr("launchpad_gitlab.forge.get_json", lambda url, token, **_: {"id": 7})
    with pytest.raises(ForgeUnavailableError, match="without an id or a username"):
        GitLab(OAuthClient("a", "t", "c", "s"), api_url="https://x").user("tok")


def test_a_webhook_is_verified_by_its_secret_token_then_names_the_tag_pushed() -> None:
    import json

    from launchpad_core.plugins.forges import ForgeWebhookSignatureError

    forge = GitLab.from_settings({"client_id": "c"})
    body = json.dumps({"object_kind": "tag_push", "ref": "refs/tags/1.4.0",
                       "after": "b" * 40}).encode()
    headers = {"x-gitlab-event": "Tag Push Hook", "x-gitlab-token": "s3cret",
               "x-gitlab-event-uuid": "u-1"}
    found = forge.webhook_tag(headers, body, "s3cret")
    assert (found.tag, found.delivery) == ("1.4.0", "u-1")
    for wrong in ({**headers, "x-gitlab-token": "s3cre"}, {**headers, "x-gitlab-token": ""},
                  {k: v for k, v in headers.items() if k != "x-gitlab-token"}):
        with pytest.raises(ForgeWebhookSignatureError):
            forge.webhook_tag(wrong, body, "s3cret")
    deleted = json.dumps({"ref": "refs/tags/1.4.0", "after": "0" * 40}).encode()
    assert forge.webhook_tag(headers, deleted, "s3cret") is None
    assert forge.webhook_tag({**headers, "x-gitlab-event": "Push Hook"}, body, "s3cret") is None
