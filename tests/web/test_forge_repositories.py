"""The forge plugins' repository calls (for publishing and importing, later steps),
against the stand-in forge: GitHub's ``POST /user/repos`` and ``GET /repos/...``,
GitLab's ``POST /api/v4/projects`` and ``GET /api/v4/projects/...``."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest
import requests
from authlib.oauth2.rfc7636 import create_s256_code_challenge

from launchpad_core import Launchpad
from launchpad_core.plugins.forges import (
    Forge,
    ForgeRepositoryExistsError,
    ForgeRepositoryNotFoundError,
    ForgeTokenRevokedError,
)

from .forge_standin import GITHUB_CLIENT, GITLAB_CLIENT, StandinForge, forge_settings, running
from .forge_standin import launchpad_with_forges as make_launchpad

FORGES = ("github", "gitlab")
CLIENTS = {"github": GITHUB_CLIENT, "gitlab": GITLAB_CLIENT}
CALLBACK = "http://127.0.0.1:8000"


@pytest.fixture(scope="module")
def launchpad() -> Launchpad:
    return make_launchpad()


@pytest.fixture(scope="module")
def forge() -> Iterator[StandinForge]:
    standin = StandinForge()
    with running(standin):
        standin.register_clients(CALLBACK)
        yield standin


def plugin(launchpad: Launchpad, standin: StandinForge, name: str) -> Forge:
    settings = forge_settings(standin.url, "unused").forges
    return launchpad.hooks.forges(settings=settings)[name]


def access_token(standin: StandinForge, name: str, login: str) -> str:
    """A token for ``login`` as the OAuth flow gets it (PKCE, through the stand-in), with
    the plugin's sign-in and repository scopes."""
    oauth = plugin(make_launchpad(), standin, name).oauth
    standin.signed_in = login
    redirect = f"{CALLBACK}/auth/{name}/callback"
    client_id, secret = CLIENTS[name]
    authorize = "/login/oauth/authorize" if name == "github" else "/oauth/authorize"
    verifier = "v" * 50
    answer = requests.get(f"{standin.url}{authorize}", allow_redirects=False, timeout=10,
                          params={"response_type": "code", "client_id": client_id,
                                  "redirect_uri": redirect, "state": "s",
                                  "code_challenge": create_s256_code_challenge(verifier),
                                  "code_challenge_method": "S256",
                                  "scope": " ".join((*oauth.scopes, *oauth.repository_scopes))})
    code = answer.headers["location"].split("code=", 1)[1].split("&", 1)[0]
    token_path = "/login/oauth/access_token" if name == "github" else "/oauth/token"
    token = requests.post(f"{standin.url}{token_path}", timeout=10, data={
        "grant_type": "authorization_code", "code": code, "redirect_uri": redirect,
        "client_id": client_id, "client_secret": secret, "code_verifier": verifier})
    return token.json()["access_token"]


@pytest.fixture
def someone(forge: StandinForge) -> str:
    login = f"dev-{uuid.uuid4().hex[:8]}"
    forge.add_person(login, (f"{login}@example.org", True))
    return login


@pytest.mark.parametrize("name", FORGES)
def test_a_repository_is_created_then_found(launchpad, forge, someone, name):
    hub = plugin(launchpad, forge, name)
    token = access_token(forge, name, someone)
    created = hub.create_repository(token, name="demo", private=True, description="made")
    assert created.path == f"{someone}/demo" and created.private
    assert created.clone_url == f"{forge.url}/{someone}/demo.git"
    assert hub.repository(token, f"{someone}/demo") == created
    public = hub.create_repository(token, name="open", private=False)
    assert not public.private


@pytest.mark.parametrize("name", FORGES)
def test_a_taken_name_and_a_missing_repository(launchpad, forge, someone, name):
    hub = plugin(launchpad, forge, name)
    token = access_token(forge, name, someone)
    hub.create_repository(token, name="twice", private=True)
    with pytest.raises(ForgeRepositoryExistsError, match="exists already"):
        hub.create_repository(token, name="twice", private=False)
    with pytest.raises(ForgeRepositoryNotFoundError):
        hub.repository(token, f"{someone}/never")
    other = f"dev-{uuid.uuid4().hex[:8]}"
    forge.add_person(other)
    with pytest.raises(ForgeRepositoryNotFoundError):  # another person's private one
        hub.repository(access_token(forge, name, other), f"{someone}/twice")


@pytest.mark.parametrize("name", FORGES)
def test_a_revoked_token_cannot_create(launchpad, forge, someone, name):
    hub = plugin(launchpad, forge, name)
    token = access_token(forge, name, someone)
    forge.revoke(someone)
    with pytest.raises(ForgeTokenRevokedError):
        hub.create_repository(token, name="late", private=True)


@pytest.mark.parametrize(("name", "user"), [("github", "x-access-token"), ("gitlab", "oauth2")])
def test_git_authenticates_with_the_token(launchpad, forge, name, user):
    assert plugin(launchpad, forge, name).git_credentials("tok") == (user, "tok")


def test_the_stand_in_takes_new_routes(forge: Any):
    forge.route("GET", "/ping/(?P<word>\\w+)", lambda r: (200, {"pong": r.match["word"]}, []))
    assert requests.get(f"{forge.url}/ping/hi", timeout=10).json() == {"pong": "hi"}
