"""Sign-up, login, logout, /api/me, cookies and server-side sessions."""

from __future__ import annotations

import hashlib
import uuid
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from launchpad_web.accounts.models import (
    AuthSession,
    LoginFailure,
    PasswordReset,
    SignupAttempt,
    ThrottleScope,
    User,
)
from launchpad_web.accounts.passwords import Passwords
from launchpad_web.db import make_session_factory
from launchpad_web.settings import PasswordHashing
from launchpad_worker.compose import service_app

from .conftest import BrowserClient

PASSWORD = "correct horse battery staple"
COOKIE = "__Host-lp_session"


def test_signup_answers_the_user_and_signs_in(client):
    result = client.post("/api/auth/signup",
                         json={"email": "  Ann.Lee@Example.ORG ", "password": PASSWORD})
    assert result.status_code == 201
    assert result.json["email"] == "ann.lee@example.org"
    assert result.json["role"] == "free"
    assert set(result.json) == {"id", "email", "role", "created_at"}
    assert client.get("/api/me").json == result.json


def test_the_password_is_stored_as_an_argon2id_hash(client, signup, db):
    user = signup(client)
    with db.session() as session:
        hashed = session.scalar(sa.select(User.hashed_password).where(User.email == user["email"]))
    assert hashed.startswith("$argon2id$")
    assert PASSWORD not in hashed


def test_session_cookie_is_httponly_lax_secure_and_host_only(client):
    result = client.post("/api/auth/signup", json={"email": "a@example.org", "password": PASSWORD})
    cookie = result.cookies[COOKIE]
    assert cookie.http_only and cookie.secure and cookie.same_site == "Lax"
    assert cookie.path == "/" and cookie.domain is None
    assert cookie.max_age == 7 * 24 * 3600
    assert len(cookie.value) >= 43


def test_development_cookies_are_not_secure(make_app, new_client):
    client = new_client(make_app(env="development"))
    result = client.post("/api/auth/signup", json={"email": "d@example.org", "password": PASSWORD})
    cookie = result.cookies["lp_session"]
    assert not cookie.secure and cookie.http_only and cookie.same_site == "Lax"


def test_sessions_are_stored_as_sha256_of_the_token(client, signup, db):
    signup(client)
    token = client.cookies[COOKIE]
    with db.session() as session:
        ids = session.scalars(sa.select(AuthSession.id)).all()
    assert hashlib.sha256(token.encode()).hexdigest() in ids
    assert token not in ids


def test_an_email_is_taken_once_whatever_its_case(client, new_client, signup):
    signup(client, "taken@example.org")
    result = new_client().post("/api/auth/signup",
                               json={"email": "TAKEN@example.org", "password": PASSWORD})
    assert result.status_code == 409
    assert result.json["code"] == "email_taken"
    assert result.json["field"] == "$.email"


@pytest.mark.parametrize("email", ["plain", "a@b", "a b@example.org", "a@@example.org", 7])
def test_invalid_emails_are_refused(client, email):
    result = client.post("/api/auth/signup", json={"email": email, "password": PASSWORD})
    assert result.status_code == 422
    assert result.json["errors"][0]["field"] == "$.email"


@pytest.mark.parametrize("field", ["role", "plan", "owner_id", "id"])
def test_forbidden_fields_are_refused_by_name(client, field):
    body = {"email": "f@example.org", "password": PASSWORD, field: "pro"}
    result = client.post("/api/auth/signup", json=body)
    assert result.status_code == 422
    assert result.json["field"] == f"$.{field}"
    assert result.json["errors"] == [{"code": "unknown_field", "field": f"$.{field}",
                                      "message": f"unknown or forbidden field {field!r}"}]


def test_login_starts_a_new_session_every_time(client, new_client, signup):
    user = signup(client, "login@example.org")
    first = client.cookies[COOKIE]
    result = client.post("/api/auth/login", json={"email": "login@example.org",
                                                  "password": PASSWORD})
    assert result.status_code == 200
    assert result.json == user
    second = client.cookies[COOKIE]
    assert second != first
    stale = new_client()
    stale.cookies[COOKIE] = first
    assert stale.get("/api/me").status_code == 401
    assert client.get("/api/me").status_code == 200


def test_wrong_password_and_unknown_email_answer_alike(client, new_client, signup, monkeypatch):
    signup(client, "known@example.org")
    from launchpad_web.accounts.passwords import Passwords

    dummy_checks = []
    original = Passwords.verify_dummy
    monkeypatch.setattr(Passwords, "verify_dummy",
                        lambda self, pw: dummy_checks.append(pw) or original(self, pw))
    browser = new_client()
    wrong = browser.post("/api/auth/login",
                         json={"email": "known@example.org", "password": "not the password"})
    unknown = browser.post("/api/auth/login",
                           json={"email": "nobody@example.org", "password": "not the password"})
    assert wrong.status_code == unknown.status_code == 401
    assert wrong.json == unknown.json
    assert wrong.json["code"] == "invalid_credentials"
    assert dummy_checks == ["not the password"]  # an unknown email still costs a hash
    assert COOKIE not in browser.cookies


def test_logout_ends_the_session(client, new_client, signup):
    signup(client)
    token = client.cookies[COOKIE]
    result = client.post("/api/auth/logout")
    assert result.status_code == 204
    cleared = result.cookies[COOKIE]
    assert cleared.value == "" and cleared.expires.year == 1970 and cleared.secure
    assert COOKIE not in client.cookies
    replay = new_client()
    replay.cookies[COOKIE] = token
    assert replay.get("/api/me").status_code == 401


def test_logout_and_me_need_a_session(client):
    for method, path in (("POST", "/api/auth/logout"), ("GET", "/api/me")):
        result = client.request(method, path)
        assert result.status_code == 401
        assert result.json["code"] == "unauthenticated"


def test_an_unknown_session_cookie_is_cleared(client):
    client.cookies[COOKIE] = "forged-token"
    assert client.get("/api/me").status_code == 401
    assert COOKIE not in client.cookies


def test_idle_sessions_expire(client, signup, clock):
    signup(client)
    clock.advance(hours=1, minutes=59)
    assert client.get("/api/me").status_code == 200  # use renews the idle period
    clock.advance(hours=1, minutes=59)
    assert client.get("/api/me").status_code == 200
    clock.advance(hours=2)
    assert client.get("/api/me").status_code == 401


def test_expired_sessions_are_purged(client, new_client, signup, clock, db):
    from launchpad_web.accounts.sessions import SessionStore

    signup(client)
    clock.advance(hours=1)
    signup(new_client())
    clock.advance(hours=1, minutes=30)
    store = SessionStore(idle=timedelta(hours=2), absolute=timedelta(days=7), clock=clock)
    with db.session() as session:
        assert store.purge_expired(session) == 1
        session.commit()
        assert session.scalar(sa.select(sa.func.count()).select_from(AuthSession)) == 1


def test_sessions_end_at_their_absolute_lifetime_even_when_used(client, signup, clock):
    signup(client)
    for _ in range(7 * 24 - 1):
        clock.advance(hours=1)
        assert client.get("/api/me").status_code == 200
    clock.advance(hours=1)
    assert client.get("/api/me").status_code == 401


def test_a_login_after_expiry_works(client, signup, clock):
    user = signup(client, "again@example.org")
    clock.advance(days=8)
    assert client.get("/api/me").status_code == 401
    client.post("/api/auth/login", json={"email": "again@example.org", "password": PASSWORD})
    assert client.get("/api/me").json == user


def test_login_rehashes_when_the_parameters_changed(client, signup, make_app, new_client, db):
    user = signup(client)
    stronger = new_client(make_app(password_hashing=PasswordHashing(2, 16, 1)))
    result = stronger.post("/api/auth/login", json={"email": user["email"], "password": PASSWORD})
    assert result.status_code == 200
    with db.session() as session:
        hashed = session.scalar(sa.select(User.hashed_password).where(User.email == user["email"]))
    assert "m=16,t=2,p=1" in hashed


# -- password change and purging ---------------------------------------------------------
NEW_PASSWORD = "a brand new passphrase"


def change_password(client, current=PASSWORD, new=NEW_PASSWORD):
    return client.post("/api/me/password", json={"current_password": current,
                                                 "new_password": new})


def test_a_password_change_ends_other_sessions_and_renews_this_one(client, new_client, signup):
    user = signup(client, "pw@example.org")
    laptop = new_client()
    laptop.post("/api/auth/login", json={"email": "pw@example.org", "password": PASSWORD})
    before = client.cookies[COOKIE]
    result = change_password(client)
    assert result.status_code == 200 and result.json["email"] == user["email"]
    assert client.cookies[COOKIE] != before
    assert result.headers["X-CSRF-Token"]
    assert client.get("/api/me").status_code == 200
    assert laptop.get("/api/me").status_code == 401
    stale = new_client()
    stale.cookies[COOKIE] = before
    assert stale.get("/api/me").status_code == 401
    old = new_client().post("/api/auth/login",
                            json={"email": "pw@example.org", "password": PASSWORD})
    assert old.status_code == 401
    new = new_client().post("/api/auth/login",
                            json={"email": "pw@example.org", "password": NEW_PASSWORD})
    assert new.status_code == 200


@pytest.mark.parametrize(("current", "new", "expected"), [
    ("wrong current password", NEW_PASSWORD, (403, "wrong_password", "$.current_password")),
    (PASSWORD, "short", (422, "password_too_short", "$.new_password")),
    (PASSWORD, "password123", (422, "password_too_common", "$.new_password")),
    (PASSWORD, "x" * 1025, (422, "password_too_long", "$.new_password")),
    ("x" * 1025, NEW_PASSWORD, (422, "password_too_long", "$.current_password")),
])
def test_a_refused_password_change_changes_nothing(client, signup, current, new, expected):
    status, code, field = expected
    user = signup(client)
    before = client.cookies[COOKIE]
    result = change_password(client, current, new)
    assert result.status_code == status
    assert result.json["field"] == field
    assert (result.json["errors"][0]["code"] if status == 422 else result.json["code"]) == code
    assert client.cookies[COOKIE] == before and client.get("/api/me").status_code == 200
    login = client.post("/api/auth/login", json={"email": user["email"], "password": PASSWORD})
    assert login.status_code == 200


def test_a_password_change_needs_a_session(client):
    result = change_password(client)
    assert result.status_code == 401 and result.json["code"] == "unauthenticated"


def test_sign_in_purges_the_users_expired_sessions(client, new_client, signup, clock, db):
    user = signup(client)
    signup(new_client())
    laptop = new_client()
    laptop.post("/api/auth/login", json={"email": user["email"], "password": PASSWORD})
    clock.advance(hours=3)  # every session is now idle-expired
    fresh = new_client()
    fresh.post("/api/auth/login", json={"email": user["email"], "password": PASSWORD})
    with db.session() as session:
        rows = session.execute(sa.select(AuthSession.user_id, AuthSession.created_at)).all()
    mine = [created for user_id, created in rows if str(user_id) == user["id"]]
    assert mine == [clock.now]  # the two expired ones went
    assert len(rows) == 2  # the other user's expired session waits for the purge


def test_the_purge_sessions_command(tmp_path, monkeypatch, capsys):
    from launchpad_core.cli.main import main
    from launchpad_web.db import make_engine, make_session_factory
    from launchpad_web.migrate import upgrade

    monkeypatch.setenv("LAUNCHPAD_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("LAUNCHPAD_DATABASE_URL", raising=False)
    engine = make_engine(f"sqlite:///{tmp_path / 'launchpad.sqlite3'}")
    upgrade(engine)
    now = datetime.now(UTC)
    with make_session_factory(engine)() as session:
        user = User(email="p@example.org", hashed_password="x", created_at=now, updated_at=now)
        session.add(user)
        session.flush()
        session.add_all([
            AuthSession(id="a" * 64, user_id=user.id, created_at=now, last_seen_at=now,
                        expires_at=now + timedelta(days=1)),
            AuthSession(id="b" * 64, user_id=user.id, created_at=now - timedelta(days=8),
                        last_seen_at=now - timedelta(minutes=5), expires_at=now),
            AuthSession(id="c" * 64, user_id=user.id, created_at=now - timedelta(hours=3),
                        last_seen_at=now - timedelta(hours=3), expires_at=now + timedelta(days=6)),
            LoginFailure(scope=ThrottleScope.ADDRESS, key="192.0.2.1",
                         failed_at=now - timedelta(hours=1)),
            LoginFailure(scope=ThrottleScope.ADDRESS, key="192.0.2.1", failed_at=now),
            SignupAttempt(address="192.0.2.1", attempted_at=now - timedelta(hours=2)),
            SignupAttempt(address="192.0.2.1", attempted_at=now),
            *(PasswordReset(token_hash=str(age) * 64, user_id=user.id, email=user.email,
                            address="192.0.2.1", requested_at=now - timedelta(hours=age),
                            expires_at=now - timedelta(hours=age - 1)) for age in (0, 3)),
        ])
        session.commit()
    assert main(["db", "purge-sessions"]) == 0
    assert capsys.readouterr().out == (
        "purged 2 expired sessions, 1 old login failures, 1 old sign-ups and 1 old "
        "password resets\n")
    with engine.connect() as connection:
        assert connection.scalars(sa.select(AuthSession.id)).all() == ["a" * 64]
        assert connection.scalar(sa.select(sa.func.count()).select_from(LoginFailure)) == 1
    engine.dispose()


def test_no_database_connection_is_held_while_a_password_is_hashed_or_verified(
        committing_engine, settings, monkeypatch):
    """Hashing takes ~0.2 s: were a transaction open across it (on SQLite, the write lock
    every request takes), each sign-up or login would stall everyone else."""
    client = BrowserClient(service_app(settings,
                                       session_factory=make_session_factory(committing_engine)))
    held: list[tuple[str, int]] = []
    hash_, verify = Passwords.hash, Passwords.verify

    def hashing(self: Passwords, password: str) -> str:
        held.append(("hash", committing_engine.pool.checkedout()))
        return hash_(self, password)

    def verifying(self: Passwords, hashed: str, password: str) -> bool:
        held.append(("verify", committing_engine.pool.checkedout()))
        return verify(self, hashed, password)

    monkeypatch.setattr(Passwords, "hash", hashing)
    monkeypatch.setattr(Passwords, "verify", verifying)
    address = f"held-{uuid.uuid4().hex[:8]}@example.org"
    assert client.post("/api/auth/signup",
                       json={"email": address, "password": PASSWORD}).status_code == 201
    wrong = client.post("/api/auth/login", json={"email": address, "password": PASSWORD + "x"})
    right = client.post("/api/auth/login", json={"email": address, "password": PASSWORD})
    assert (wrong.status_code, right.status_code) == (401, 200)
    changed = client.post("/api/me/password", json={"current_password": PASSWORD,
                                                    "new_password": PASSWORD + " too"})
    assert changed.status_code in (200, 204), changed.text
    assert held == [("hash", 0), ("verify", 0), ("verify", 0), ("verify", 0), ("hash", 0)]
