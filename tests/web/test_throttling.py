"""Login throttling: 5 failures per account and 30 per client address in 15 minutes."""

from __future__ import annotations

import sqlalchemy as sa

from launchpad_web.accounts.models import LoginFailure, ThrottleScope

PASSWORD = "correct horse battery staple"
WRONG = "not the password at all"


def login(client, email, password=WRONG, address="192.0.2.1"):
    return client.post("/api/auth/login", json={"email": email, "password": password},
                       remote_addr=address)


def fail(client, email, times, address="192.0.2.1"):
    for _ in range(times):
        assert login(client, email, address=address).status_code == 401


def assert_throttled(result, retry_after):
    assert result.status_code == 429
    assert result.json["code"] == "too_many_attempts"
    assert result.headers["Retry-After"] == str(retry_after)


def test_five_failures_lock_the_account_for_the_window(client, new_client, signup, clock):
    signup(new_client(), "ann@example.org")
    fail(client, "ann@example.org", 5)
    assert_throttled(login(client, "ann@example.org", PASSWORD), 900)
    clock.advance(minutes=14, seconds=59)
    assert_throttled(login(client, "ann@example.org", PASSWORD), 1)
    clock.advance(seconds=1)
    assert login(client, "ann@example.org", PASSWORD).status_code == 200


def test_retry_after_counts_from_the_failure_that_matters(client, signup, new_client, clock):
    signup(new_client(), "bo@example.org")
    for _ in range(5):
        fail(client, "bo@example.org", 1)
        clock.advance(minutes=1)
    assert_throttled(login(client, "bo@example.org", PASSWORD), 600)  # first failure + 15 min
    clock.advance(minutes=10)
    fail(client, "bo@example.org", 1)  # four remain in the window, so one more attempt
    assert_throttled(login(client, "bo@example.org", PASSWORD), 60)  # second failure + 15 min


def test_unknown_emails_are_throttled_and_answered_alike(client, new_client, signup):
    signup(new_client(), "known@example.org")
    answers = []
    for email in ("known@example.org", "unknown@example.org"):
        fail(client, email, 5)
        answers.append(login(client, email))
    assert answers[0].json == answers[1].json
    assert answers[0].headers["Retry-After"] == answers[1].headers["Retry-After"] == "900"


def test_the_account_limit_holds_across_addresses(client, new_client, signup):
    signup(new_client(), "cy@example.org")
    for n in range(5):
        fail(client, "cy@example.org", 1, address=f"198.51.100.{n}")
    assert_throttled(login(client, "cy@example.org", PASSWORD, address="203.0.113.9"), 900)


def test_thirty_failures_lock_the_address_for_every_account(client, new_client, signup):
    signup(new_client(), "dee@example.org")
    for n in range(30):
        fail(client, f"guess-{n}@example.org", 1, address="192.0.2.66")
    assert_throttled(login(client, "dee@example.org", PASSWORD, address="192.0.2.66"), 900)
    assert login(client, "dee@example.org", PASSWORD, address="192.0.2.67").status_code == 200


def test_success_forgets_the_accounts_failures_but_not_the_addresss(client, new_client,
                                                                    signup, db):
    signup(new_client(), "eve@example.org")
    fail(client, "eve@example.org", 4)
    assert login(client, "eve@example.org", PASSWORD).status_code == 200
    fail(client, "eve@example.org", 4)
    assert login(client, "eve@example.org", PASSWORD).status_code == 200
    with db.session() as session:
        counts = dict(session.execute(sa.select(LoginFailure.scope, sa.func.count())
                                      .group_by(LoginFailure.scope)).all())
    assert counts == {ThrottleScope.ADDRESS: 8}


def test_failures_are_shared_by_every_api_process(make_app, new_client, signup, db):
    signup(new_client(), "fay@example.org")
    first, second = new_client(make_app()), new_client(make_app())
    fail(first, "fay@example.org", 3)
    fail(second, "fay@example.org", 2)
    assert_throttled(login(first, "fay@example.org", PASSWORD), 900)
    with db.session() as session:
        keys = session.scalars(sa.select(LoginFailure.key)
                               .where(LoginFailure.scope == ThrottleScope.ACCOUNT)).all()
    assert keys == ["fay@example.org"] * 5


def test_wrong_current_passwords_count_against_the_account(client, signup):
    user = signup(client)
    body = {"current_password": WRONG, "new_password": "a brand new passphrase"}
    for _ in range(5):
        result = client.post("/api/me/password", json=body, remote_addr="192.0.2.5")
        assert result.status_code == 403 and result.json["code"] == "wrong_password"
    body["current_password"] = PASSWORD
    assert_throttled(client.post("/api/me/password", json=body, remote_addr="192.0.2.5"), 900)
    assert_throttled(login(client, user["email"], PASSWORD, address="192.0.2.9"), 900)


def test_old_failures_are_purged(client, clock, db):
    from launchpad_web.accounts.throttling import LoginThrottle

    fail(client, "gil@example.org", 2)
    clock.advance(minutes=10)
    fail(client, "gil@example.org", 1)
    clock.advance(minutes=5)
    with db.session() as session:
        assert LoginThrottle(clock=clock).purge(session) == 4  # two failures, two rows each
        session.commit()
        assert session.scalar(sa.select(sa.func.count()).select_from(LoginFailure)) == 2
