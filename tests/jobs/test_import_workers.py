"""An import from a private repository run by a real ``launchpad worker`` process on
Redis: the queue's messages hold the job's id and never the forge token, the worker's
log neither, and the template is made once."""

from __future__ import annotations

import time
import uuid
from datetime import UTC, datetime

import pytest
import redis
import sqlalchemy as sa
from cryptography.fernet import Fernet
from web.forge_standin import GITHUB_CLIENT, StandinForge, Token, running
from web.test_template_sources import copier_files

from launchpad_web.forges.encryption import TokenCipher
from launchpad_web.forges.models import ForgeAccount
from launchpad_web.sources.models import ImportJob, TemplateSource
from launchpad_web.templates.models import TemplateVersion

from .conftest import Stack, database, wait_for

pytestmark = pytest.mark.slow


def redis_values(url: str) -> bytes:
    """Everything the queue holds, as one byte string."""
    client = redis.Redis.from_url(url)
    found = []
    for key in client.keys("*"):
        kind = client.type(key)
        if kind == b"list":
            found += client.lrange(key, 0, -1)
        elif kind == b"string":
            found.append(client.get(key))
        elif kind == b"zset":
            found += client.zrange(key, 0, -1)
        elif kind == b"hash":
            found += client.hvals(key)
    return b"\n".join(found)


def test_a_private_template_is_imported_by_a_worker_and_the_token_stays_in_git(
    tmp_path, redis_server
):
    standin = StandinForge()
    token = f"at_{uuid.uuid4().hex}"
    with running(standin) as url:
        standin.add_person("ann", ("ann@example.org", True))
        standin.tokens[token] = Token(
            client_id=GITHUB_CLIENT[0],
            login="ann",
            scope="repo",
            access_token=token,
            refresh_token=None,
            expires_at=time.time() + 3600,
        )
        standin.add_repository("ann", "starter", copier_files("1.0.0"), private=True, tag="1.0.0")
        key = Fernet.generate_key().decode()
        env = {
            "LAUNCHPAD_ENCRYPTION_KEYS": key,
            "LAUNCHPAD_FORGE_GITHUB_CLIENT_ID": GITHUB_CLIENT[0],
            "LAUNCHPAD_FORGE_GITHUB_CLIENT_SECRET": GITHUB_CLIENT[1],
            "LAUNCHPAD_FORGE_GITHUB_URL": url,
            "LAUNCHPAD_FORGE_GITHUB_API_URL": url,
        }
        with database(tmp_path) as database_url:
            stack = Stack(tmp_path, database_url, redis_server.url, env)
            try:
                run(stack, token, TokenCipher([key]), redis_server.url)
            finally:
                stack.close()


def run(stack: Stack, token: str, cipher: TokenCipher, redis_url: str) -> None:
    user_id = uuid.UUID(stack.signup())
    now = datetime.now(UTC)
    with stack.session_factory() as session:
        session.add(
            ForgeAccount(
                user_id=user_id,
                forge="github",
                forge_user_id="1000",
                login="ann",
                access_token=cipher.encrypt(token),
                created_at=now,
                updated_at=now,
            )
        )
        session.commit()
    result = stack.client.simulate_post(
        "/api/templates/imports",
        cookies=stack.cookies,
        headers={"Sec-Fetch-Site": "same-origin"},
        json={"source": "gh:ann/starter"},
    )
    assert result.status_code == 202, result.text
    import_id = uuid.UUID(result.json["id"])
    assert result.json["status"] == "pending"
    queued = redis_values(redis_url)
    assert str(import_id).encode() in queued and token.encode() not in queued
    worker = stack.start_worker()

    def finished() -> ImportJob | None:
        with stack.session_factory() as session:
            job = session.get(ImportJob, import_id)
            return job if job.status.value in ("completed", "failed") else None

    job = wait_for(finished, timeout=60, what="the import job to end")
    assert (job.status.value, job.version, job.tag) == ("completed", 1, "1.0.0"), job.log
    with stack.session_factory() as session:
        source = session.get_one(TemplateSource, job.result_template_id)
        assert (source.forge, source.repository) == ("github", "ann/starter")
        assert (
            session.scalar(
                sa.select(sa.func.count())
                .select_from(TemplateVersion)
                .where(TemplateVersion.template_id == job.result_template_id)
            )
            == 1
        )
    assert token not in stack.worker_log(worker)
