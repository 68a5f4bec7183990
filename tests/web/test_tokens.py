"""API tokens: created once with their secret, listed without it, revoked, sent as Bearer."""

from __future__ import annotations

import hashlib
import uuid
from datetime import datetime

import pytest
import sqlalchemy as sa

from launchpad_web.accounts.models import ApiToken

COOKIE = "__Host-lp_session"
PASSWORD = "correct horse battery staple"


@pytest.fixture
def script(new_client):
    """A client that is no browser: no cookies sent by itself, no Sec-Fetch-Site."""
    script = new_client()
    script.default_headers = {}
    return script


def create_token(client, name="ci", **extra):
    result = client.post("/api/tokens", json={"name": name, **extra})
    assert result.status_code == 201, result.text
    return result.json


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_a_token_is_shown_once_and_authenticates(client, script, signup):
    user = signup(client)
    created = create_token(client, "deploy")
    assert created["token"].startswith("lp_") and len(created["token"]) >= 40
    assert created["name"] == "deploy" and created["expires_at"] is None
    listed = client.get("/api/tokens").json
    assert listed == [{"id": created["id"], "name": "deploy", "created_at": created["created_at"],
                       "last_used_at": None, "expires_at": None}]
    result = script.get("/api/me", headers=bearer(created["token"]))
    assert result.status_code == 200 and result.json == user
    assert COOKIE not in result.cookies  # a token never starts a session


def test_only_the_sha256_is_stored(client, signup, db):
    signup(client)
    secret = create_token(client)["token"]
    with db.session() as session:
        hashes = session.scalars(sa.select(ApiToken.token_hash)).all()
    assert hashes == [hashlib.sha256(secret.encode()).hexdigest()]


def test_last_used_is_written_at_most_once_a_minute(client, script, signup, clock):
    signup(client)
    created = create_token(client)
    script.get("/api/me", headers=bearer(created["token"]))
    first = client.get("/api/tokens").json[0]["last_used_at"]
    assert datetime.fromisoformat(first) == clock.now
    clock.advance(seconds=59)
    script.get("/api/me", headers=bearer(created["token"]))
    assert client.get("/api/tokens").json[0]["last_used_at"] == first
    clock.advance(seconds=1)
    script.get("/api/me", headers=bearer(created["token"]))
    assert datetime.fromisoformat(client.get("/api/tokens").json[0]["last_used_at"]) == clock.now


def test_an_expired_token_is_refused_with_a_bearer_challenge(client, script, signup, clock):
    signup(client)
    created = create_token(client, expires_in_days=30)
    assert datetime.fromisoformat(created["expires_at"]) == clock.now.replace(month=1, day=31)
    clock.advance(days=29, hours=23)
    assert script.get("/api/me", headers=bearer(created["token"])).status_code == 200
    clock.advance(hours=1)
    result = script.get("/api/me", headers=bearer(created["token"]))
    assert result.status_code == 401
    assert result.json["code"] == "invalid_token"
    assert result.headers["WWW-Authenticate"] == 'Bearer realm="launchpad", error="invalid_token"'


def test_a_revoked_token_is_refused(client, script, signup):
    signup(client)
    created = create_token(client)
    assert client.delete(f"/api/tokens/{created['id']}").status_code == 204
    assert client.get("/api/tokens").json == []
    result = script.get("/api/me", headers=bearer(created["token"]))
    assert result.status_code == 401 and result.json["code"] == "invalid_token"


@pytest.mark.parametrize("secret", ["lp_forged", "not-a-launchpad-token", "", "lp_" + "x" * 500])
def test_unknown_tokens_are_refused(script, secret):
    result = script.get("/api/me", headers={"Authorization": f"Bearer {secret}"})
    assert result.status_code == 401
    assert result.json["code"] == "invalid_token"
    assert result.headers["WWW-Authenticate"].startswith("Bearer ")


def test_a_bad_token_does_not_fall_back_to_the_cookie(client, signup):
    signup(client)
    result = client.get("/api/me", headers=bearer("lp_forged"))
    assert result.status_code == 401 and result.json["code"] == "invalid_token"


def test_anonymous_401s_carry_a_bearer_challenge(script):
    result = script.get("/api/me")
    assert result.status_code == 401 and result.json["code"] == "unauthenticated"
    assert result.headers["WWW-Authenticate"] == 'Bearer realm="launchpad"'


def test_another_users_token_answers_404_and_stays(client, new_client, script, signup):
    signup(client)
    mine = create_token(client)
    other = new_client()
    signup(other)
    for token_id in (mine["id"], str(uuid.uuid4())):
        result = other.delete(f"/api/tokens/{token_id}")
        assert result.status_code == 404 and result.json["code"] == "not_found"
    assert other.get("/api/tokens").json == []
    assert [t["id"] for t in client.get("/api/tokens").json] == [mine["id"]]
    assert script.get("/api/me", headers=bearer(mine["token"])).status_code == 200


def test_tokens_cannot_create_tokens_or_take_the_account_over(client, script, signup):
    signup(client)
    secret = create_token(client)["token"]
    attempts = [
        ("POST", "/api/tokens", {"name": "more"}),
        ("POST", "/api/me/password", {"current_password": "x" * 8, "new_password": "y" * 20}),
        ("DELETE", "/api/me", {"password": "x" * 8}),
        ("GET", "/api/auth/csrf", None),
    ]
    for method, path, body in attempts:
        result = script.request(method, path, json=body, headers=bearer(secret))
        assert result.status_code == 403, (method, path)
        assert result.json["code"] == "session_required"
    assert len(client.get("/api/tokens").json) == 1


def test_a_token_can_list_and_revoke_tokens_without_a_csrf_token(client, script, signup, clock):
    signup(client)
    first = create_token(client, "a")
    clock.advance(seconds=1)
    second = create_token(client, "b")
    listed = script.get("/api/tokens", headers=bearer(first["token"]))
    assert [t["name"] for t in listed.json] == ["a", "b"]
    assert all("token" not in t for t in listed.json)
    result = script.delete(f"/api/tokens/{second['id']}",
                           headers={**bearer(first["token"]), "Origin": "https://evil.example"})
    assert result.status_code == 204
    assert [t["name"] for t in client.get("/api/tokens").json] == ["a"]


@pytest.mark.parametrize(("body", "field", "code"), [
    ({"name": ""}, "$.name", "invalid_length"),
    ({"name": "   "}, "$.name", "invalid_length"),
    ({"name": "n" * 101}, "$.name", "invalid_length"),
    ({"name": "ci", "expires_in_days": 0}, "$.expires_in_days", "out_of_range"),
    ({"name": "ci", "expires_in_days": 367}, "$.expires_in_days", "out_of_range"),
    ({"name": "ci", "expires_in_days": "7"}, "$.expires_in_days", "invalid_type"),
    ({"name": "ci", "user_id": str(uuid.uuid4())}, "$.user_id", "unknown_field"),
    ({}, "$.name", "missing_field"),
])
def test_bad_token_requests_are_422(client, signup, body, field, code):
    signup(client)
    result = client.post("/api/tokens", json=body)
    assert result.status_code == 422
    assert result.json["field"] == field
    assert result.json["errors"][0]["code"] == code
    assert client.get("/api/tokens").json == []


def test_names_are_stripped(client, signup):
    signup(client)
    assert create_token(client, "  laptop  ")["name"] == "laptop"


def test_each_process_caches_a_token_for_five_seconds(client, signup, make_app, new_client,
                                                      clock):
    signup(client)
    created = create_token(client)
    other_process = new_client(make_app())
    other_process.default_headers = {}
    assert other_process.get("/api/me", headers=bearer(created["token"])).status_code == 200
    assert client.delete(f"/api/tokens/{created['id']}").status_code == 204
    assert client.get("/api/me", headers=bearer(created["token"])).status_code == 401
    clock.advance(seconds=4)
    assert other_process.get("/api/me", headers=bearer(created["token"])).status_code == 200
    clock.advance(seconds=1)
    assert other_process.get("/api/me", headers=bearer(created["token"])).status_code == 401


def test_a_cached_token_still_expires_on_time(client, script, signup, clock):
    signup(client)
    created = create_token(client, expires_in_days=1)
    clock.advance(days=1, seconds=-1)
    assert script.get("/api/me", headers=bearer(created["token"])).status_code == 200
    clock.advance(seconds=1)
    assert script.get("/api/me", headers=bearer(created["token"])).status_code == 401


def test_deleting_the_account_drops_its_cached_tokens(client, script, signup):
    signup(client)
    created = create_token(client)
    assert script.get("/api/me", headers=bearer(created["token"])).status_code == 200
    assert client.delete("/api/me", json={"password": PASSWORD}).status_code == 204
    assert script.get("/api/me", headers=bearer(created["token"])).status_code == 401
