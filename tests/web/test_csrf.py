"""CSRF: cookie-authenticated writes need same-origin evidence or the session's CSRF token."""

from __future__ import annotations

import pytest

PASSWORD = "correct horse battery staple"
OWN_ORIGIN = "http://falconframework.org"  # the TestClient's scheme and host
PUBLIC_ORIGIN = "http://127.0.0.1:8000"  # the settings' default public URL


@pytest.fixture
def browser(client, signup):
    """A signed-in browser that sends only the headers each test gives."""
    signup(client)
    client.default_headers = {}
    return client


def create_token(client, **headers):
    return client.post("/api/tokens", json={"name": "t"}, headers=headers)


def token_count(client):
    client.default_headers = {"Sec-Fetch-Site": "same-origin"}
    try:
        return len(client.get("/api/tokens").json)
    finally:
        client.default_headers = {}


@pytest.mark.parametrize("headers", [
    {},
    {"Sec-Fetch-Site": "cross-site"},
    {"Sec-Fetch-Site": "same-site"},
    {"Origin": "https://evil.example"},
    {"Origin": "null"},
    {"Origin": "http://falconframework.org.evil.example"},
    {"Sec-Fetch-Site": "cross-site", "Origin": OWN_ORIGIN},
    {"X-CSRF-Token": "0" * 64},
])
def test_cookie_writes_without_same_origin_evidence_are_refused(browser, headers):
    result = create_token(browser, **headers)
    assert result.status_code == 403
    assert result.json["code"] == "csrf_failed"
    assert token_count(browser) == 0
    assert browser.get("/api/me").status_code == 200  # the session is untouched


@pytest.mark.parametrize("headers", [
    {"Sec-Fetch-Site": "same-origin"},
    {"Sec-Fetch-Site": "none"},
    {"Origin": OWN_ORIGIN},
    {"Origin": PUBLIC_ORIGIN},
    {"Origin": PUBLIC_ORIGIN.upper()},
])
def test_same_origin_writes_pass(browser, headers):
    assert create_token(browser, **headers).status_code == 201
    assert token_count(browser) == 1


def test_the_configured_public_url_is_the_allowed_origin(make_app, new_client, signup):
    client = new_client(make_app(public_url="https://launchpad.example"))
    signup(client)
    client.default_headers = {}
    assert create_token(client, Origin="https://launchpad.example").status_code == 201
    assert create_token(client, Origin=PUBLIC_ORIGIN).status_code == 403


def test_the_csrf_token_lets_a_write_through(browser):
    token = browser.get("/api/auth/csrf").json
    assert token["header"] == "X-CSRF-Token" and len(token["csrf_token"]) == 64
    assert create_token(browser, **{"X-CSRF-Token": token["csrf_token"]}).status_code == 201
    # a valid token wins over a cross-site Origin: only this session's pages can read it
    headers = {"X-CSRF-Token": token["csrf_token"], "Origin": "https://evil.example"}
    assert create_token(browser, **headers).status_code == 201
    assert token_count(browser) == 2


def test_the_csrf_token_is_bound_to_the_session(browser, new_client, signup):
    other = new_client()
    signup(other)
    foreign = other.get("/api/auth/csrf").json["csrf_token"]
    result = create_token(browser, **{"X-CSRF-Token": foreign})
    assert result.status_code == 403 and result.json["code"] == "csrf_failed"


def test_signup_and_login_answer_the_new_sessions_csrf_token(client):
    client.default_headers = {}
    signed_up = client.post("/api/auth/signup", json={"email": "c@example.org",
                                                      "password": PASSWORD})
    first = signed_up.headers["X-CSRF-Token"]
    assert client.get("/api/auth/csrf").json["csrf_token"] == first
    logged_in = client.post("/api/auth/login", json={"email": "c@example.org",
                                                     "password": PASSWORD},
                            headers={"X-CSRF-Token": first})
    second = logged_in.headers["X-CSRF-Token"]
    assert second != first
    assert create_token(client, **{"X-CSRF-Token": first}).status_code == 403
    assert create_token(client, **{"X-CSRF-Token": second}).status_code == 201


def test_logout_needs_csrf_protection_too(browser):
    assert browser.post("/api/auth/logout", headers={"Origin": "https://evil.example"}
                        ).status_code == 403
    assert browser.get("/api/me").status_code == 200
    assert browser.post("/api/auth/logout", headers={"Origin": OWN_ORIGIN}).status_code == 204


@pytest.mark.parametrize("headers", [{"Origin": "https://evil.example"},
                                     {"Sec-Fetch-Site": "cross-site"}])
def test_cross_site_login_and_signup_are_refused(client, new_client, signup, headers):
    signup(new_client(), "victim-of-login-csrf@example.org")
    client.default_headers = {}
    body = {"email": "victim-of-login-csrf@example.org", "password": PASSWORD}
    login = client.post("/api/auth/login", json=body, headers=headers)
    assert login.status_code == 403 and login.json["code"] == "csrf_failed"
    signup_body = {"email": "planted@example.org", "password": PASSWORD}
    result = client.post("/api/auth/signup", json=signup_body, headers=headers)
    assert result.status_code == 403 and result.json["code"] == "csrf_failed"
    assert client.cookies == {}
    retry = client.post("/api/auth/signup", json=signup_body, headers={"Origin": OWN_ORIGIN})
    assert retry.status_code == 201  # the refused sign-up created nothing


def test_scripts_without_browser_headers_can_sign_up_and_log_in(client):
    client.default_headers = {}
    body = {"email": "script@example.org", "password": PASSWORD}
    assert client.post("/api/auth/signup", json=body).status_code == 201
    assert client.post("/api/auth/login", json=body).status_code == 403  # now it has a cookie
    client.cookies.clear()
    assert client.post("/api/auth/login", json=body).status_code == 200


def test_safe_methods_are_not_checked(browser):
    result = browser.get("/api/me", headers={"Origin": "https://evil.example",
                                             "Sec-Fetch-Site": "cross-site"})
    assert result.status_code == 200
