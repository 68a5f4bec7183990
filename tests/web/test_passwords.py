"""Password rules at sign-up and login, and the hashing parameters."""

from __future__ import annotations

import pytest

from launchpad_web.accounts.common_passwords import COMMON_PASSWORDS
from launchpad_web.accounts.passwords import Passwords
from launchpad_web.settings import PasswordHashing


def signup_with(client, password):
    return client.post("/api/auth/signup", json={"email": "pw@example.org", "password": password})


@pytest.mark.parametrize("password", ["x" * 8, "é" * 8, "a sentence with spaces", "y" * 1024])
def test_eight_to_1024_characters_are_accepted(client, password):
    assert signup_with(client, password).status_code == 201


@pytest.mark.parametrize(("password", "code"), [
    ("", "password_too_short"),
    ("short12", "password_too_short"),
    ("z" * 1025, "password_too_long"),
    ("password123", "password_too_common"),
    ("PassWord123", "password_too_common"),
    ("qwertyuiop", "password_too_common"),
])
def test_weak_passwords_are_refused_with_the_field(client, password, code):
    result = signup_with(client, password)
    assert result.status_code == 422
    assert result.json["field"] == "$.password"
    assert result.json["errors"][0]["code"] == code


def test_a_huge_password_is_refused_before_hashing(client, monkeypatch):
    hashed = []
    monkeypatch.setattr(Passwords, "hash", lambda self, pw: hashed.append(pw))
    monkeypatch.setattr(Passwords, "verify", lambda self, h, pw: hashed.append(pw))
    monkeypatch.setattr(Passwords, "verify_dummy", lambda self, pw: hashed.append(pw))
    huge = "h" * 1_000_000
    assert signup_with(client, huge).status_code == 422
    login = client.post("/api/auth/login", json={"email": "pw@example.org", "password": huge})
    assert login.status_code == 422
    assert login.json["errors"][0]["code"] == "password_too_long"
    assert hashed == []


def test_the_common_list_is_a_useful_size():
    assert 100 <= len(COMMON_PASSWORDS) <= 300
    assert all(p == p.casefold() for p in COMMON_PASSWORDS)


def test_default_hashing_is_at_least_owasps_argon2id_minimum():
    params = PasswordHashing()
    assert params.memory_kib >= 19 * 1024 and params.time_cost >= 2 and params.parallelism >= 1
    hashed = Passwords(PasswordHashing(time_cost=1, memory_kib=8, parallelism=1)).hash("x" * 8)
    assert hashed.startswith("$argon2id$")


def test_verify_answers_false_for_garbage_hashes():
    passwords = Passwords(PasswordHashing(time_cost=1, memory_kib=8, parallelism=1))
    assert not passwords.verify("not a hash", "whatever1")
    assert passwords.verify(passwords.hash("whatever1"), "whatever1")
