"""Forge settings from the environment, and ``launchpad keys generate|rotate`` run
in-process against a real database (SQLite and PostgreSQL)."""

from __future__ import annotations

import os
import uuid
from datetime import UTC, datetime
from typing import Any

import pytest
import sqlalchemy as sa
from cryptography.fernet import Fernet

from launchpad_core.cli.main import main
from launchpad_web.accounts.models import User
from launchpad_web.db import make_session_factory
from launchpad_web.errors import ConfigurationError
from launchpad_web.forges.encryption import TokenCipher, UnreadableSecretError
from launchpad_web.forges.models import ForgeAccount
from launchpad_web.settings import WebSettings
from launchpad_web.sources.models import TemplateSource
from launchpad_web.templates.models import TemplateRecord

NOW = datetime(2030, 1, 1, tzinfo=UTC)


def test_forge_settings_come_from_the_environment(tmp_path):
    key = Fernet.generate_key().decode()
    settings = WebSettings.from_env({
        "LAUNCHPAD_DATA_DIR": str(tmp_path), "LAUNCHPAD_ENCRYPTION_KEYS": f" {key} ,",
        "LAUNCHPAD_FORGE_GITHUB_CLIENT_ID": "id", "LAUNCHPAD_FORGE_GITHUB_API_URL": "https://x",
        "LAUNCHPAD_FORGE_GITLAB_CLIENT_SECRET": " ", "LAUNCHPAD_FORGES": "ignored"})
    assert settings.forges.enabled and settings.forges.encryption_keys == (key,)
    assert settings.forges.forges == {"github": {"client_id": "id", "api_url": "https://x"}}
    assert key not in repr(settings)
    assert not WebSettings.from_env({"LAUNCHPAD_DATA_DIR": str(tmp_path)}).forges.enabled


def test_a_key_that_is_not_a_fernet_key_is_a_configuration_error(tmp_path):
    good = Fernet.generate_key().decode()
    with pytest.raises(ConfigurationError, match="key 2 is not a Fernet key"):
        WebSettings.from_env({"LAUNCHPAD_DATA_DIR": str(tmp_path),
                              "LAUNCHPAD_ENCRYPTION_KEYS": f"{good},secret123"})


def test_a_tampered_secret_does_not_decrypt_and_says_nothing_of_it():
    cipher = TokenCipher([Fernet.generate_key().decode()])
    stored = cipher.encrypt("gho_secret")
    with pytest.raises(UnreadableSecretError) as caught:
        cipher.decrypt(stored[:-4] + "AAAA")
    assert "gho_secret" not in str(caught.value) and stored not in str(caught.value)


@pytest.fixture
def environment(tmp_path, monkeypatch, committing_engine):
    for name in list(os.environ):
        if name.startswith("LAUNCHPAD_") and not name.startswith("LAUNCHPAD_TEST_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("LAUNCHPAD_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("LAUNCHPAD_DATABASE_URL",
                       committing_engine.url.render_as_string(hide_password=False))
    return monkeypatch


def linked_account(engine: sa.Engine, cipher: TokenCipher) -> uuid.UUID:
    with make_session_factory(engine)() as db, db.begin():
        user = User(email=f"{uuid.uuid4().hex[:8]}@example.org", hashed_password="",
                    created_at=NOW, updated_at=NOW)
        db.add(user)
        db.flush()
        row = ForgeAccount(user_id=user.id, forge="github", forge_user_id=uuid.uuid4().hex,
                           login="ann", access_token=cipher.encrypt("gho_access"),
                           refresh_token=cipher.encrypt("ghr_refresh"), created_at=NOW,
                           updated_at=NOW)
        db.add(row)
        db.flush()
        return row.id


def row_id_template(db: Any, user_id: uuid.UUID) -> uuid.UUID:
    return db.scalar(sa.select(TemplateRecord.id).where(TemplateRecord.owner_id == user_id))


def followed_template(engine: sa.Engine, cipher: TokenCipher, account: uuid.UUID) -> None:
    """A template of the account's user following its repository, its webhook secret
    encrypted with ``cipher``."""
    with make_session_factory(engine)() as db, db.begin():
        owner = db.get_one(ForgeAccount, account).user_id
        template = TemplateRecord(name="t", definition={}, version=1, owner_id=owner,
                                  created_at=NOW, updated_at=NOW)
        db.add(template)
        db.flush()
        db.add(TemplateSource(template_id=template.id, spec="gh:ann/t", url="https://x/t.git",
                              commit="a" * 40, following=True,
                              webhook_secret=cipher.encrypt("webhook-secret"),
                              created_at=NOW, updated_at=NOW))


def test_keys_generate_prints_a_fernet_key(capsys):
    assert main(["keys", "generate"]) == 0
    Fernet(capsys.readouterr().out.strip())


def test_keys_rotate_re_encrypts_under_the_first_key(environment, committing_engine, capsys):
    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    row_id = linked_account(committing_engine, TokenCipher([old]))
    followed_template(committing_engine, TokenCipher([old]), row_id)
    environment.setenv("LAUNCHPAD_ENCRYPTION_KEYS", f"{new},{old}")
    assert main(["keys", "rotate"]) == 0
    assert capsys.readouterr().out == ("re-encrypted the secrets of 2 rows (forge tokens, "
                                       "webhook secrets) under the first key\n")
    with make_session_factory(committing_engine)() as db:
        row = db.get_one(ForgeAccount, row_id)
        only_new = TokenCipher([new])
        assert only_new.decrypt(row.access_token) == "gho_access"
        assert only_new.decrypt(row.refresh_token) == "ghr_refresh"
        source = db.get_one(TemplateSource, row_id_template(db, row.user_id))
        assert only_new.decrypt(source.webhook_secret) == "webhook-secret"


def test_keys_rotate_without_the_old_key_changes_nothing(environment, committing_engine,
                                                         capsys):
    old = Fernet.generate_key().decode()
    row_id = linked_account(committing_engine, TokenCipher([old]))
    with make_session_factory(committing_engine)() as db:
        before = db.get_one(ForgeAccount, row_id).access_token
    environment.setenv("LAUNCHPAD_ENCRYPTION_KEYS", Fernet.generate_key().decode())
    assert main(["keys", "rotate"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("launchpad: error: ") and err.count("\n") == 1
    assert "was a key removed too early?" in err
    with make_session_factory(committing_engine)() as db:
        assert db.get_one(ForgeAccount, row_id).access_token == before


def test_keys_rotate_without_keys_is_an_error(environment, capsys):
    assert main(["keys", "rotate"]) == 1
    assert "LAUNCHPAD_ENCRYPTION_KEYS is not set" in capsys.readouterr().err
