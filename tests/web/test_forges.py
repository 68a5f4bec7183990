"""Signing in with a forge, linking and unlinking, its tokens: against the stand-in forge.

The browser is :class:`BrowserClient` on the app; the redirects to and from the
forge are followed by hand through real HTTP to the stand-in (Authlib's server on
loopback), so each hop can be checked or tampered with. ``test_forge_browser.py``
drives the same flow through a served app with an HTTP client that follows
redirects on its own.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import attrs
import pytest
import requests
import sqlalchemy as sa
from cryptography.fernet import Fernet
from launchpad_github.forge import GitHub

from launchpad_core import Launchpad
from launchpad_web.db import make_session_factory
from launchpad_web.forges.encryption import TokenCipher
from launchpad_web.forges.models import ForgeAccount
from launchpad_web.forges.rotation import rotate_tokens
from launchpad_web.forges.settings import ForgeSettings
from launchpad_worker.compose import service_app

from .conftest import PASSWORD, BrowserClient
from .forge_standin import (
    GITHUB_CLIENT,
    StandinForge,
    forge_settings,
    launchpad_with_forges,
    running,
)

KEY = Fernet.generate_key().decode()
FORGES = ("github", "gitlab")
STANDIN_LOGGERS = ("authlib.oauth2.rfc6749.grants",)  # the stand-in's server logs tokens
OAUTH_COOKIE = "__Host-lp_oauth"
LOCAL = "http://127.0.0.1:8000"  # the settings' public URL: the callback's origin


@pytest.fixture(scope="module")
def launchpad() -> Launchpad:
    return launchpad_with_forges()


@pytest.fixture(scope="module")
def forge() -> Iterator[StandinForge]:
    standin = StandinForge()
    with running(standin):
        standin.register_clients(LOCAL)
        yield standin


@pytest.fixture
def app(make_app: Any, forge: StandinForge) -> Any:
    return make_app(forges=forge_settings(forge.url, KEY))


def person(forge: StandinForge, *emails: tuple[str, bool]) -> str:
    login = f"dev-{uuid.uuid4().hex[:8]}"
    forge.add_person(login, *emails)
    return login


def email() -> str:
    return f"dev-{uuid.uuid4().hex[:8]}@example.org"


def post_form(client: BrowserClient, path: str, fields: dict[str, str]) -> Any:
    return client.post(path, body=urlencode(fields),
                       headers={"Content-Type": "application/x-www-form-urlencoded"})


def form_token(client: BrowserClient, page: str = "/login") -> str:
    html = client.get(page).text
    return html.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]


def to_forge(client: BrowserClient, name: str, action: str | None = None) -> str:
    """Post the page's forge button; the forge's authorization URL it redirects to."""
    page = "/login" if action is None else "/account"
    fields = {"csrf_token": form_token(client, page)}
    result = post_form(client, action or f"/auth/{name}/start",
                       fields if action else {**fields, "next": "/dashboard"})
    assert result.status_code == 303, result.text
    return result.headers["location"]


def at_forge(url: str) -> str:
    """The browser at the forge, signed in there: where the forge sends it back."""
    answer = requests.get(url, allow_redirects=False, timeout=10)
    assert answer.status_code == 302, answer.text
    location = answer.headers["location"]
    assert location.startswith(LOCAL)
    return location.removeprefix(LOCAL)


def sign_in_with(client: BrowserClient, forge: StandinForge, name: str, login: str, *,
                 repositories: bool = False) -> Any:
    """Sign in as ``login`` (then, with ``repositories``, allow LaunchPad to use them:
    the account page's "Allow repositories"); the sign-in's answer."""
    forge.signed_in = login
    answer = client.get(at_forge(to_forge(client, name)))
    if repositories:
        allowed = client.get(at_forge(allow_repositories(client, name)))
        assert allowed.status_code == 303, allowed.text
    return answer


def allow_repositories(client: BrowserClient, name: str, back: str = "") -> str:
    """Post "Allow repositories"; the forge's authorization URL it redirects to."""
    fields = {"csrf_token": form_token(client, "/account"), "repositories": "true"}
    result = post_form(client, f"/account/forges/{name}/link",
                       {**fields, "next": back} if back else fields)
    assert result.status_code == 303, result.text
    return result.headers["location"]


def stored(db: Any, login: str) -> ForgeAccount:
    with db.session() as session:
        return session.scalars(sa.select(ForgeAccount).where(ForgeAccount.login == login)).one()


# -- signing in -----------------------------------------------------------------------------
@pytest.mark.parametrize("name", FORGES)
def test_signing_in_makes_an_account_with_the_verified_email(client, forge, db, name):
    address = email()
    login = person(forge, (address, True))
    url = to_forge(client, name)
    query = parse_qs(urlsplit(url).query)
    assert query["code_challenge_method"] == ["S256"] and query["code_challenge"][0]
    assert query["state"][0] and query["redirect_uri"] == [f"{LOCAL}/auth/{name}/callback"]
    forge.signed_in = login
    result = client.get(at_forge(url))
    assert result.status_code == 303 and result.headers["location"] == "/dashboard"
    me = client.get("/api/me").json
    assert me["email"] == address
    links = client.get("/api/me/forges").json
    assert [(link["forge"], link["login"], link["token"]) for link in links] == \
        [(name, login, "active")]
    assert client.get("/api/auth/csrf").status_code == 200  # a real session, as a password's


@pytest.mark.parametrize("name", FORGES)
def test_signing_in_again_finds_the_same_account(client, new_client, forge, name):
    login = person(forge, (email(), True))
    sign_in_with(client, forge, name, login)
    first = client.get("/api/me").json["id"]
    forge.people[login].emails[0]["email"] = email()  # the email changed at the forge
    other = new_client()
    assert sign_in_with(other, forge, name, login).status_code == 303
    assert other.get("/api/me").json["id"] == first


def test_a_verified_email_links_the_existing_account(client, new_client, forge, signup):
    address = email()
    existing = signup(new_client(), address)
    login = person(forge, ("other@example.org", False), (address.upper(), True))
    assert sign_in_with(client, forge, "github", login).status_code == 303
    assert client.get("/api/me").json["id"] == existing["id"]


@pytest.mark.parametrize("name", FORGES)
def test_an_unverified_email_never_links_an_existing_account(client, forge, signup, db, name):
    address = email()
    signup(BrowserClient(client.test_client.app), address)
    login = person(forge, (address, False))
    result = sign_in_with(client, forge, name, login)
    assert result.status_code == 409
    assert "forge_email_unverified" in result.text
    assert "sign in with your password" in result.text
    assert client.get("/api/me").status_code == 401
    with db.session() as session:
        assert session.scalar(sa.select(sa.func.count()).select_from(ForgeAccount)
                              .where(ForgeAccount.login == login)) == 0


def test_without_a_verified_email_no_account_is_made(client, forge, db):
    address = email()
    login = person(forge, (address, False))
    assert sign_in_with(client, forge, "github", login).status_code == 409
    with db.session() as session:
        assert session.scalar(sa.text("SELECT count(*) FROM users WHERE email = :e"),
                              {"e": address}) == 0


def test_a_wrong_state_is_refused(client, forge):
    login = person(forge, (email(), True))
    forge.signed_in = login
    back = at_forge(to_forge(client, "github"))
    forged = back.replace("state=", "state=x")
    result = client.get(forged)
    assert result.status_code == 400 and "oauth_state_mismatch" in result.text
    assert client.get("/api/me").status_code == 401
    # the flow's cookie is gone: the right state does not work afterwards either
    assert client.get(back).status_code == 400


def test_a_callback_without_the_flows_cookie_is_refused(client, new_client, forge):
    login = person(forge, (email(), True))
    forge.signed_in = login
    back = at_forge(to_forge(client, "github"))
    result = new_client().get(back)  # another browser: login CSRF
    assert result.status_code == 400 and "oauth_state_mismatch" in result.text


def test_a_replayed_code_is_refused_by_the_forge(client, forge):
    login = person(forge, (email(), True))
    forge.signed_in = login
    url = to_forge(client, "github")
    flow_cookie = client.cookies[OAUTH_COOKIE]
    back = at_forge(url)
    assert client.get(back).status_code == 303
    client.cookies[OAUTH_COOKIE] = flow_cookie  # the same flow and code, again
    result = client.get(back)
    assert result.status_code == 400 and "forge_refused" in result.text


def test_a_code_without_the_pkce_verifier_is_refused_by_the_forge(forge):
    login = person(forge, (email(), True))
    forge.signed_in = login
    query = {"response_type": "code", "client_id": GITHUB_CLIENT[0], "state": "s",
             "redirect_uri": f"{LOCAL}/auth/github/callback", "code_challenge": "x" * 43,
             "code_challenge_method": "S256"}
    answer = requests.get(f"{forge.url}/login/oauth/authorize", params=query,
                          allow_redirects=False, timeout=10)
    code = parse_qs(urlsplit(answer.headers["location"]).query)["code"][0]
    token = requests.post(f"{forge.url}/login/oauth/access_token", timeout=10, data={
        "grant_type": "authorization_code", "code": code, "client_id": GITHUB_CLIENT[0],
        "client_secret": GITHUB_CLIENT[1], "redirect_uri": query["redirect_uri"]})
    assert token.status_code == 400 and token.json()["error"] == "invalid_request"


def test_an_unknown_forge_is_404(client):
    result = post_form(client, "/auth/gitea/start", {"csrf_token": form_token(client)})
    assert result.status_code == 404 and "unknown_forge" in result.text


def test_the_start_needs_the_forms_csrf_token(client):
    form_token(client)
    assert post_form(client, "/auth/github/start", {"csrf_token": "wrong"}).status_code == 403


def test_the_login_and_signup_pages_offer_the_forges_and_allow_their_forms(client, forge):
    for page in ("/login", "/signup"):
        result = client.get(page)
        assert "Sign in with GitHub" in result.text and "Sign in with GitLab" in result.text
        assert f"form-action 'self' {forge.url};" in result.headers["content-security-policy"]


def test_without_keys_there_is_no_forge(make_app, forge):
    without_keys = ForgeSettings(forges=forge_settings(forge.url, KEY).forges)
    client = BrowserClient(make_app(forges=without_keys))
    assert "Sign in with" not in client.get("/login").text
    assert "form-action 'self';" in client.get("/login").headers["content-security-policy"]
    assert post_form(client, "/auth/github/start", {}).status_code == 404
    assert client.get("/api/forges").status_code == 404
    health = client.get("/api/health").json["forges"]
    assert health["enabled"] is False and health["forges"] == []
    assert "LAUNCHPAD_ENCRYPTION_KEYS" in health["detail"]


def test_health_and_the_api_list_the_forges(client):
    assert client.get("/api/health").json["forges"] == {
        "enabled": True, "forges": ["github", "gitlab"], "detail": None}
    assert client.get("/api/forges").json == [{"name": "github", "label": "GitHub"},
                                              {"name": "gitlab", "label": "GitLab"}]


# -- linking and unlinking -----------------------------------------------------------------
def test_linking_from_the_account_page(client, forge, signup):
    signup(client)
    login = person(forge, ("unverified@example.org", False))  # linking needs no email
    forge.signed_in = login
    url = to_forge(client, "gitlab", action="/account/forges/gitlab/link")
    result = client.get(at_forge(url))
    assert result.status_code == 303 and result.headers["location"] == "/account?done=forge"
    page = client.get("/account?done=forge").text
    assert f"linked as {login}" in page and "Unlink GitLab" in page and "Link GitHub" in page
    assert [link["forge"] for link in client.get("/api/me/forges").json] == ["gitlab"]


def test_a_link_finished_in_another_session_is_refused(client, new_client, forge, signup):
    signup(client)
    login = person(forge, (email(), True))
    forge.signed_in = login
    url = to_forge(client, "github", action="/account/forges/github/link")
    cookie = client.cookies[OAUTH_COOKIE]
    other = new_client()
    signup(other)
    other.cookies[OAUTH_COOKIE] = cookie
    result = other.get(at_forge(url))
    assert result.status_code == 400 and "oauth_state_mismatch" in result.text
    assert other.get("/api/me/forges").json == []


def test_a_forge_account_linked_elsewhere_is_refused(client, new_client, forge, signup):
    login = person(forge, (email(), True))
    sign_in_with(new_client(), forge, "github", login)
    signup(client)
    forge.signed_in = login
    url = to_forge(client, "github", action="/account/forges/github/link")
    result = client.get(at_forge(url))
    assert result.status_code == 409 and "forge_account_taken" in result.text


def test_the_last_way_to_sign_in_cannot_be_unlinked(client, forge):
    login = person(forge, (email(), True))
    sign_in_with(client, forge, "github", login)
    csrf = client.get("/api/auth/csrf").json["csrf_token"]
    result = client.delete("/api/me/forges/github", headers={"X-CSRF-Token": csrf})
    assert result.status_code == 409 and result.json["code"] == "last_sign_in_method"
    page = post_form(client, "/account/forges/github/unlink", {"csrf_token": csrf})
    assert page.status_code == 409 and "the only way you can sign in" in page.text
    # a password set (no current one asked: there is none), then it can go
    assert post_form(client, "/account/password", {
        "csrf_token": csrf, "current_password": "", "new_password": PASSWORD,
    }).status_code == 303
    csrf = client.get("/api/auth/csrf").json["csrf_token"]
    unlinked = post_form(client, "/account/forges/github/unlink", {"csrf_token": csrf})
    assert unlinked.headers["location"] == "/account?done=unlinked"
    assert client.get("/api/me/forges").json == []


def test_with_two_forges_one_can_be_unlinked(client, forge):
    login = person(forge, (email(), True))
    sign_in_with(client, forge, "github", login)
    forge.signed_in = login
    client.get(at_forge(to_forge(client, "gitlab", action="/account/forges/gitlab/link")))
    csrf = client.get("/api/auth/csrf").json["csrf_token"]
    assert client.delete("/api/me/forges/gitlab",
                         headers={"X-CSRF-Token": csrf}).status_code == 204
    assert client.delete("/api/me/forges/gitlab",
                         headers={"X-CSRF-Token": csrf}).json["code"] == "forge_not_linked"


def test_a_passwordless_account_cannot_sign_in_with_a_password(client, new_client, forge):
    address = email()
    sign_in_with(client, forge, "github", person(forge, (address, True)))
    result = new_client().post("/api/auth/login", json={"email": address, "password": ""})
    assert result.status_code in (401, 422)
    result = new_client().post("/api/auth/login", json={"email": address, "password": PASSWORD})
    assert result.status_code == 401 and result.json["code"] == "invalid_credentials"


# -- tokens -----------------------------------------------------------------------------------
def test_tokens_are_stored_encrypted(client, forge, db):
    login = person(forge, (email(), True))
    sign_in_with(client, forge, "github", login)
    row = stored(db, login)
    (live,) = forge.live_access_tokens(login)
    assert live not in row.access_token
    assert TokenCipher([KEY]).decrypt(row.access_token) == live
    assert TokenCipher([KEY]).decrypt(row.refresh_token).startswith("rt_")


def test_tokens_never_reach_logs_exports_or_answers(client, forge, caplog):
    login = person(forge, (email(), True))
    with caplog.at_level(logging.DEBUG):
        sign_in_with(client, forge, "github", login)
        export = client.get("/api/me/export")
        answers = [client.get("/api/me/forges").text, client.get("/api/me/forges/github").text]
    (live,) = forge.live_access_tokens(login)
    secrets = [live, *(t.refresh_token for t in forge.tokens.values() if t.login == login)]
    logged = "\n".join(r.getMessage() + str(r.__dict__) for r in caplog.records
                        if not r.name.startswith(STANDIN_LOGGERS))
    for secret in secrets:
        assert secret not in logged and secret not in export.text
        assert all(secret not in answer for answer in answers)
    (linked,) = export.json["forge_accounts"]
    assert linked["forge"] == "github" and linked["login"] == login
    assert "access_token" not in linked and "refresh_token" not in linked
    assert "forge_accounts" not in export.json["other"]


def test_a_revoked_token_is_dropped_and_a_new_sign_in_replaces_it(client, forge, db):
    login = person(forge, (email(), True))
    sign_in_with(client, forge, "gitlab", login)
    forge.revoke(login)
    result = client.get("/api/me/forges/gitlab")
    assert result.status_code == 200 and result.json["token"] == "revoked"
    row = stored(db, login)
    assert row.access_token is None and row.refresh_token is None
    assert "access revoked: link again" in client.get("/account").text
    sign_in_with(client, forge, "gitlab", login)
    assert client.get("/api/me/forges/gitlab").json["token"] == "active"


def test_an_expired_token_is_refreshed(client, forge, db, clock):
    login = person(forge, (email(), True))
    sign_in_with(client, forge, "github", login)
    (first,) = forge.live_access_tokens(login)
    clock.advance(minutes=61)  # past the forge's expires_in (an hour)
    checked = client.get("/api/me/forges/github")
    assert checked.status_code == 200, checked.text
    assert checked.json["token"] == "active"
    (second,) = forge.live_access_tokens(login)
    assert second != first
    assert TokenCipher([KEY]).decrypt(stored(db, login).access_token) == second


def test_a_refused_refresh_drops_the_tokens(client, forge, db, clock):
    login = person(forge, (email(), True))
    sign_in_with(client, forge, "github", login)
    forge.revoke(login)
    clock.advance(minutes=61)
    assert client.get("/api/me/forges/github").json["token"] == "revoked"
    assert stored(db, login).access_token is None


def test_no_database_connection_is_held_while_the_forge_answers(committing_engine, settings,
                                                               forge, signup, monkeypatch):
    """A slow forge must not hold a transaction (on SQLite, every request's lock): a
    signed-in person's link and its check ask it with none open."""
    changed = attrs.evolve(settings, forges=forge_settings(forge.url, KEY))
    client = BrowserClient(service_app(changed, launchpad=launchpad_with_forges(),
                                       session_factory=make_session_factory(committing_engine)))
    asked, held = GitHub.user, []

    def watched(self: GitHub, access_token: str) -> Any:
        held.append(committing_engine.pool.checkedout())
        return asked(self, access_token)

    monkeypatch.setattr(GitHub, "user", watched)
    signup(client)
    forge.signed_in = person(forge, (email(), True))
    linked = client.get(at_forge(to_forge(client, "github", "/account/forges/github/link")))
    assert linked.headers["location"] == "/account?done=forge"
    assert client.get("/api/me/forges/github").json["token"] == "active"
    assert held == [0, 0]


def test_rotation_re_encrypts_every_token_under_the_newest_key(client, forge, db):
    login = person(forge, (email(), True))
    sign_in_with(client, forge, "github", login)
    (live,) = forge.live_access_tokens(login)
    newer = Fernet.generate_key().decode()
    with db.session() as session:
        assert rotate_tokens(session, (newer, KEY)) >= 1
        session.commit()
    row = stored(db, login)
    assert TokenCipher([newer]).decrypt(row.access_token) == live  # the old key is not needed
    with pytest.raises(Exception, match="does not decrypt"), db.session() as session:
        rotate_tokens(session, (Fernet.generate_key().decode(),))


def test_the_forge_routes_are_in_the_openapi_document(client):
    paths = client.get("/api/openapi.json").json["paths"]
    assert set(paths["/api/me/forges/{forge}"]) >= {"get", "delete"}
    assert "get" in paths["/api/forges"] and "get" in paths["/api/me/forges"]


def test_a_verified_email_that_is_no_address_is_passed_over(client, forge):
    address = email()
    login = person(forge, ("not an address", True), (address, True))
    assert sign_in_with(client, forge, "github", login).status_code == 303
    assert client.get("/api/me").json["email"] == address
