"""Forgotten passwords, when the service can send email: the request page answers the
same for every address (no account enumeration) and is limited per client address,
the emailed link (read from the test SMTP sink of tests/jobs) works once and
expires, only its hash is stored, and a reset signs the account out everywhere."""

from __future__ import annotations

import email
import email.policy
import hashlib
import re
import time
from datetime import timedelta

import attrs
import pytest
import sqlalchemy as sa
from jobs.test_sweeper import smtp_server  # noqa: F401 (the mail sink fixture)

from launchpad_web.accounts.models import PasswordReset
from launchpad_web.accounts.resets import LIFETIME, PER_ADDRESS, PER_EMAIL
from launchpad_web.jobs.settings import SmtpSettings

from .test_pages import FORM, post_form, sign_up_by_form, token_of

PASSWORD = "correct horse battery staple"
NEW_PASSWORD = "another horse battery staple"


@pytest.fixture
def mail_app(make_app, settings, smtp_server):  # noqa: F811
    smtp = SmtpSettings(host="127.0.0.1", port=smtp_server.server_address[1],
                        sender="launchpad@example.org", starttls=False)
    return make_app(jobs=attrs.evolve(settings.jobs, smtp=smtp),
                    public_url="https://launchpad.example")


def mails_to(sink, recipient, count=1, wait=5.0):
    deadline = time.monotonic() + wait
    while time.monotonic() < deadline:
        found = [m for m in sink.messages if f"To: {recipient}" in m]
        if len(found) >= count:
            return found
        time.sleep(0.02)
    return [m for m in sink.messages if f"To: {recipient}" in m]


def link_in(mail):
    text = email.message_from_string(mail, policy=email.policy.default).get_content()
    return re.search(r"https?://[^/\s]+(/password/reset/[\w-]+)", text).group(1)


def ask(client, email):
    return post_form(client, "/password/forgot", {"email": email},
                     token=token_of(client.get("/password/forgot").text))


def test_without_email_there_is_no_reset_and_the_page_says_so(app, new_client):
    browser = new_client(app)
    assert "Forgotten your password?" not in browser.get("/login").text
    page = browser.get("/password/forgot")
    assert page.status_code == 200 and "cannot send email" in page.text
    assert 'action="/password/forgot"' not in page.text
    assert browser.post("/password/forgot", body="email=a%40b.org",
                        headers=FORM).status_code == 404
    assert browser.get("/password/reset/abc").status_code == 404


def test_a_reset_by_the_emailed_link_works_once(mail_app, new_client, smtp_server, db):  # noqa: F811
    ada, visitor = new_client(mail_app), new_client(mail_app)
    sign_up_by_form(ada)
    assert 'href="/password/forgot"' in visitor.get("/login").text
    known, unknown = ask(visitor, "Ada@Example.com"), ask(visitor, "nobody@example.com")
    assert known.status_code == unknown.status_code == 200
    assert _without_email(known.text, "ada@example.com") == _without_email(
        unknown.text, "nobody@example.com")  # the same page either way
    [mail] = mails_to(smtp_server, "ada@example.com")
    assert "Subject: Reset your LaunchPad password" in mail
    assert mails_to(smtp_server, "nobody@example.com", wait=0.3) == []
    link = link_in(mail)
    token = link.rsplit("/", 1)[1]
    with db.session() as session:  # only the hash is stored
        hashes = session.scalars(sa.select(PasswordReset.token_hash)).all()
    assert hashlib.sha256(token.encode()).hexdigest() in hashes and token not in hashes

    page = visitor.get(link)
    assert page.status_code == 200 and 'name="new_password"' in page.text
    weak = post_form(visitor, link, {"new_password": "short"}, token=token_of(page.text))
    assert weak.status_code == 422
    assert re.search(r'id="new_password-error">[^<]+</p>', weak.text)
    assert post_form(visitor, link, {"new_password": NEW_PASSWORD}).status_code == 403
    done = post_form(visitor, link, {"new_password": NEW_PASSWORD}, token=token_of(page.text))
    assert done.status_code == 303 and done.headers["Location"] == "/login?reset=done"
    assert "Your password is changed" in visitor.get("/login?reset=done").text
    assert ada.get("/api/me").status_code == 401  # signed out everywhere
    again = visitor.get(link)
    assert again.status_code == 400 and "not valid any more" in again.text
    reused = post_form(visitor, link, {"new_password": "yet another horse battery"},
                       token=token_of(visitor.get("/password/forgot").text))
    assert reused.status_code == 400
    login = visitor.post("/api/auth/login", json={"email": "ada@example.com",
                                                  "password": NEW_PASSWORD})
    assert login.status_code == 200


def _without_email(html, email):
    return html.replace(email, "EMAIL")


def test_a_link_expires_and_a_used_link_spends_the_others(mail_app, new_client, smtp_server,  # noqa: F811
                                                          clock):
    client = new_client(mail_app)
    sign_up_by_form(client)
    ask(client, "ada@example.com")
    ask(client, "ada@example.com")
    first, second = (link_in(m) for m in mails_to(smtp_server, "ada@example.com", 2))
    clock.advance(seconds=LIFETIME.total_seconds() + 1)
    assert client.get(first).status_code == 400
    clock.advance(seconds=-LIFETIME.total_seconds())
    token = token_of(client.get(first).text)
    assert post_form(client, first, {"new_password": NEW_PASSWORD},
                     token=token).status_code == 303
    assert client.get(second).status_code == 400  # spent with the first


def test_requests_are_limited_per_address_and_quietly_per_email(mail_app, new_client,
                                                                smtp_server):  # noqa: F811
    client = new_client(mail_app)
    sign_up_by_form(client)
    for _ in range(PER_EMAIL + 2):
        assert ask(client, "ada@example.com").status_code == 200
    assert len(mails_to(smtp_server, "ada@example.com", PER_EMAIL + 1, wait=1)) == PER_EMAIL
    for n in range(PER_ADDRESS - PER_EMAIL - 2):
        assert ask(client, f"someone{n}@example.com").status_code == 200
    refused = ask(client, "ada@example.com")
    assert refused.status_code == 429 and int(refused.headers["Retry-After"]) > 0
    assert 'role="alert"' in refused.text


def test_an_unknown_or_malformed_token_is_refused(mail_app, new_client):
    client = new_client(mail_app)
    assert client.get("/password/reset/nope").status_code == 400
    assert client.get("/password/reset/" + "x" * 500).status_code == 400
    bad = post_form(client, "/password/forgot", {"email": "not an email"},
                    token=token_of(client.get("/password/forgot").text))
    assert bad.status_code == 422 and re.search(r'id="email-error">[^<]+</p>', bad.text)


def test_old_requests_are_purged(db, clock):
    from launchpad_web.accounts.resets import purge_resets

    with db.session() as session:
        for age in (timedelta(hours=3), timedelta(minutes=5)):
            session.add(PasswordReset(token_hash=hashlib.sha256(str(age).encode()).hexdigest(),
                                      email="a@example.org", address="192.0.2.1",
                                      requested_at=clock() - age,
                                      expires_at=clock() - age + LIFETIME))
        session.flush()
        assert purge_resets(session, clock) == 1
        assert session.scalar(sa.select(sa.func.count()).select_from(PasswordReset)) == 1


def test_the_api_resets_a_password_by_the_mailed_token(mail_app, app, new_client,
                                                        smtp_server):  # noqa: F811
    ada, script = new_client(mail_app), new_client(mail_app)
    sign_up_by_form(ada)
    script.default_headers = {}  # a script, not a browser
    for address in ("ada@example.com", "nobody@example.com"):
        asked = script.post("/api/auth/password-reset", json={"email": address})
        assert (asked.status_code, asked.text) == (202, "")
    bad = script.post("/api/auth/password-reset", json={"email": "nope"})
    assert (bad.status_code, bad.json["field"]) == (422, "$.email")
    [mail] = mails_to(smtp_server, "ada@example.com")
    token = link_in(mail).rsplit("/", 1)[1]
    weak = script.post("/api/auth/password-reset/confirm",
                       json={"token": token, "new_password": "short"})
    assert (weak.status_code, weak.json["field"]) == (422, "$.new_password")
    done = script.post("/api/auth/password-reset/confirm",
                       json={"token": token, "new_password": NEW_PASSWORD})
    assert done.status_code == 204
    again = script.post("/api/auth/password-reset/confirm",
                        json={"token": token, "new_password": NEW_PASSWORD})
    assert (again.status_code, again.json["code"], again.json["field"]) == (
        400, "invalid_reset_token", "$.token")
    assert ada.get("/api/me").status_code == 401
    without_mail = new_client(app)
    assert without_mail.post("/api/auth/password-reset",
                             json={"email": "ada@example.com"}).status_code == 404
