"""The runner and the sweeper in this process, on a real database and a moved clock:
abandoned jobs, attempts used up, lost queue messages, artifact retention, notifications
(the ``launchpad_notify`` hook and its built-in SMTP email)."""

from __future__ import annotations

import contextlib
import os
import socketserver
import tarfile
import threading
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import attrs
import pytest
import sqlalchemy as sa

from launchpad_core import hookimpl
from launchpad_core.testing import launchpad_with
from launchpad_web.accounts.models import User
from launchpad_web.db import make_engine, make_session_factory
from launchpad_web.jobs.archives import FORMATS
from launchpad_web.jobs.models import Event, GenerationJob, JobStatus
from launchpad_web.jobs.object_storage import S3ArtifactStorage
from launchpad_web.jobs.settings import SmtpSettings
from launchpad_web.jobs.storage import STAGING, artifact_key, derive
from launchpad_web.settings import WebSettings
from launchpad_web.templates.models import TemplateRecord
from launchpad_web.testing import insert_template
from launchpad_worker import email
from launchpad_worker.context import WorkerContext
from launchpad_worker.runner import JobRunner
from launchpad_worker.sweeper import sweep

from .conftest import database

T0 = datetime(2030, 1, 1, 12, 0, tzinfo=UTC)
HELLO = {"name": "hello", "variables": [{"name": "token", "type": "str", "secret": True}],
         "files": [{"path": "a.txt", "content": "token={{ token }}"}]}


class Clock:
    def __init__(self, start: datetime = T0) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now


class Recorder:
    """An inline plugin keeping what ``launchpad_notify`` was told."""

    def __init__(self) -> None:
        self.calls: list[dict[str, Any]] = []

    @hookimpl
    def launchpad_notify(self, kind, recipient, subject, message, settings):
        self.calls.append({"kind": kind, "recipient": recipient, "subject": subject,
                           "message": message, "settings": settings})


@attrs.define
class World:
    ctx: WorkerContext
    clock: Clock
    recorder: Recorder
    user_id: uuid.UUID
    template_id: uuid.UUID
    enqueued: list[uuid.UUID] = attrs.field(factory=list)

    def session(self) -> Any:
        return self.ctx.session_factory()

    def add_job(self, **values: Any) -> uuid.UUID:
        with self.session() as db:
            row = GenerationJob(user_id=self.user_id, template_id=self.template_id,
                                template_version=1, answers={"token": "***"}, log=[],
                                created_at=self.clock(), updated_at=self.clock(), **values)
            db.add(row)
            db.commit()
            return row.id

    def job(self, job_id: uuid.UUID) -> GenerationJob:
        with self.session() as db:
            return db.get(GenerationJob, job_id)

    def sweep(self) -> Any:
        return sweep(self.ctx, self.enqueued.append)


@contextlib.contextmanager
def make_world(tmp_path: Path, env: dict[str, str] | None = None,
               start: datetime = T0) -> Iterator[World]:
    with database(tmp_path) as url:
        settings = WebSettings.from_env({"LAUNCHPAD_DATA_DIR": str(tmp_path / "data"),
                                         "LAUNCHPAD_DATABASE_URL": url,
                                         "LAUNCHPAD_JOB_LEASE_SECONDS": "30",
                                         "LAUNCHPAD_JOB_MAX_ATTEMPTS": "2", **(env or {})})
        engine = make_engine(url)
        recorder, clock = Recorder(), Clock(start)
        ctx = WorkerContext.from_settings(settings, session_factory=make_session_factory(engine),
                                          launchpad=launchpad_with(recorder), clock=clock)
        with ctx.session() as db:
            user = User(email="ada@example.org", hashed_password="x", created_at=T0,
                        updated_at=T0)
            db.add(user)
            db.flush()
            template = insert_template(db, owner_id=user.id, definition=HELLO, at=T0)
            ids = user.id, template.id
        yield World(ctx, clock, recorder, *ids)
        engine.dispose()


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    with make_world(tmp_path) as made:
        yield made


def test_a_job_run_in_process_notifies_through_the_hook_without_secrets(world):
    job_id = world.add_job()
    JobRunner(world.ctx).run(str(job_id), {"token": "s3cr3t"})
    job = world.job(job_id)
    assert job.status == JobStatus.COMPLETED
    with world.ctx.storage.open(job.artifact_key, "zip") as zipped:
        assert zipped.read()[:2] == b"PK"
    derive(world.ctx.storage, job.artifact_key, "tar.gz")  # what its first download does
    with tarfile.open(fileobj=world.ctx.storage.open(job.artifact_key, "tar.gz")) as tarred:
        assert tarred.extractfile("a.txt").read() == b"token=s3cr3t"
    assert staged(world) == []
    [call] = world.recorder.calls
    assert call["kind"] == "job_completed"
    assert call["recipient"] == "ada@example.org"
    assert call["subject"] == "Your project is ready"
    assert f"/api/generate/{job_id}" in call["message"]
    assert "s3cr3t" not in str(call)
    assert call["settings"]["host"] is None


def test_a_job_already_finished_or_held_is_left_alone(world):
    done = world.add_job(status=JobStatus.COMPLETED)
    held = world.add_job(status=JobStatus.PROCESSING, lease_owner="other",
                         lease_expires_at=T0 + timedelta(seconds=10), attempts=1)
    for job_id in (done, held):
        JobRunner(world.ctx).run(str(job_id), {"token": "x"})
    assert world.job(done).attempts == 0
    assert (world.job(held).lease_owner, world.job(held).attempts) == ("other", 1)
    assert world.recorder.calls == []


def test_an_abandoned_job_is_retried_then_failed_once_its_attempts_are_used(world):
    job_id = world.add_job(status=JobStatus.PROCESSING, lease_owner="gone", attempts=1,
                           lease_expires_at=T0 - timedelta(seconds=1))
    report = world.sweep()
    assert (report.retried, world.enqueued) == ((job_id,), [job_id])
    job = world.job(job_id)
    assert (job.status, job.lease_owner, job.log[-1]["step"]) == (
        JobStatus.PENDING, None, "retrying")

    with world.session() as db:  # the second (last) attempt is abandoned too
        db.execute(sa.update(GenerationJob).values(
            status=JobStatus.PROCESSING, attempts=2, lease_owner="gone again",
            lease_expires_at=T0 - timedelta(seconds=1)))
        db.commit()
    assert world.sweep().failed == (job_id,)
    job = world.job(job_id)
    assert job.status == JobStatus.FAILED
    assert job.error == ("the job was interrupted 2 times (its worker stopped responding); "
                         "giving up")
    assert [c["kind"] for c in world.recorder.calls] == ["job_failed"]
    with world.session() as db:
        assert db.scalars(sa.select(Event.kind)).all() == ["job_failed"]
    assert world.sweep().failed == ()  # once


def test_a_pending_job_whose_message_was_lost_is_enqueued_again_once_per_lease(world):
    fresh = world.add_job(status=JobStatus.PENDING)
    world.clock.now = T0 + timedelta(seconds=31)
    assert world.sweep().requeued == (fresh,)
    assert world.sweep().requeued == ()
    world.clock.now = T0 + timedelta(seconds=62)
    assert world.sweep().requeued == (fresh,)


def test_the_secret_answers_of_a_restarted_job_are_gone_and_it_says_so(world):
    job_id = world.add_job()
    JobRunner(world.ctx).run(str(job_id), {})
    job = world.job(job_id)
    assert job.status == JobStatus.FAILED
    assert job.error.startswith("Secret answers are kept only until a worker first takes")
    assert job.artifact_key is None
    assert staged(world) == []  # the failed render's staging folder is gone too


def staged(world: World) -> list[Path]:
    staging = world.ctx.storage.root / STAGING
    return sorted(staging.iterdir()) if staging.exists() else []


def written_ago(path: Path, world: World, age: timedelta) -> None:
    written = (world.clock() - age).timestamp()
    os.utime(path, (written, written))


def store(world: World, job_id: uuid.UUID, *, age: timedelta | None = None) -> str:
    key = artifact_key(job_id, uuid.uuid4().hex[:16])
    with world.ctx.storage.staging() as staging:
        for fmt in FORMATS:
            (staging / fmt).write_bytes(b"archive")
        world.ctx.storage.save(key, {fmt: staging / fmt for fmt in FORMATS})
    if age is not None:
        written_ago(world.ctx.storage.root / key, world, age)
    return key


def store_before(world: World, job_id: uuid.UUID, *, age: timedelta) -> str:
    """An artifact as stored before both formats were kept: the zip alone."""
    key = f"{job_id}/{uuid.uuid4().hex[:16]}.zip"
    path = world.ctx.storage.root / key
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"PK")
    written_ago(path, world, age)
    return key


def test_artifacts_past_retention_of_deleted_templates_and_orphans_are_deleted(world):
    kept = world.add_job(status=JobStatus.COMPLETED, finished_at=T0 - timedelta(days=1))
    old = world.add_job(status=JobStatus.COMPLETED, finished_at=T0 - timedelta(days=8))
    old_zip = world.add_job(status=JobStatus.COMPLETED, finished_at=T0 - timedelta(days=9))
    keys = {job_id: store(world, job_id, age=timedelta(days=1)) for job_id in (kept, old)}
    keys[old_zip] = store_before(world, old_zip, age=timedelta(days=9))
    with world.session() as db:
        for job_id, key in keys.items():
            db.get(GenerationJob, job_id).artifact_key = key
        db.commit()
    orphan = store(world, uuid.uuid4(), age=timedelta(minutes=5))
    orphan_zip = store_before(world, uuid.uuid4(), age=timedelta(minutes=5))
    in_flight = store(world, uuid.uuid4(), age=timedelta(seconds=10))

    report = world.sweep()
    assert sorted(report.deleted_artifacts) == sorted(
        [keys[old], keys[old_zip], orphan, orphan_zip])
    assert world.job(old).artifact_key is None
    assert world.job(kept).artifact_key == keys[kept]
    assert {key for key, _ in world.ctx.storage.listing()} == {keys[kept], in_flight}
    root = world.ctx.storage.root
    for key in (keys[old], orphan):  # every format, and the job's folder
        assert not (root / key).exists() and not (root / key).parent.exists()
    assert sorted(p.name for p in (root / keys[kept]).iterdir()) == [
        "artifact.tar.gz", "artifact.zip"]

    with world.session() as db:  # the template is deleted: its artifacts go too
        db.execute(sa.delete(TemplateRecord))
        db.commit()
    assert world.sweep().deleted_artifacts == (keys[kept],)
    assert {key for key, _ in world.ctx.storage.listing()} == {in_flight}


def test_retention_and_orphans_work_the_same_on_a_bucket(tmp_path, bucket_env):
    """Objects cannot be backdated: the clock starts now, and moves on."""
    now = datetime.now(UTC).replace(microsecond=0)
    with make_world(tmp_path, bucket_env, start=now) as world:
        storage = world.ctx.storage
        assert isinstance(storage, S3ArtifactStorage)
        kept = world.add_job(status=JobStatus.COMPLETED, finished_at=now - timedelta(days=1))
        old = world.add_job(status=JobStatus.COMPLETED, finished_at=now - timedelta(days=8))
        keys = {job_id: store(world, job_id) for job_id in (kept, old)}
        with world.session() as db:
            for job_id, key in keys.items():
                db.get(GenerationJob, job_id).artifact_key = key
            db.commit()
        orphan = store(world, uuid.uuid4())
        half = artifact_key(uuid.uuid4(), "killedmidupload")  # one format of two made it
        legacy = f"{uuid.uuid4()}/{uuid.uuid4().hex[:16]}.zip"
        for name in (f"{half}/artifact.zip", legacy):
            storage.client.put_object(Bucket=storage.bucket, Key=name, Body=b"PK")

        assert world.sweep().deleted_artifacts == (keys[old],)  # the rest: in flight
        assert world.job(old).artifact_key is None
        assert {key for key, _ in storage.listing()} == {keys[kept], orphan, half, legacy}
        world.clock.now = now + timedelta(minutes=5)  # two leases are 60 s
        assert sorted(world.sweep().deleted_artifacts) == sorted([orphan, half, legacy])
        assert objects(storage) == {f"{keys[kept]}/artifact.{fmt}" for fmt in FORMATS}

        with world.session() as db:
            db.execute(sa.delete(TemplateRecord))
            db.commit()
        assert world.sweep().deleted_artifacts == (keys[kept],)
        assert objects(storage) == set()


def objects(storage: S3ArtifactStorage) -> set[str]:
    listed = storage.client.list_objects_v2(Bucket=storage.bucket)
    return {entry["Key"] for entry in listed.get("Contents", ())}


class SmtpHandler(socketserver.StreamRequestHandler):
    """Just enough SMTP for smtplib: every command is accepted, DATA is kept."""

    def handle(self) -> None:
        self.wfile.write(b"220 test ESMTP\r\n")
        lines: list[str] | None = None
        for raw in self.rfile:
            line = raw.decode().rstrip("\r\n")
            if lines is not None:
                if line == ".":
                    self.server.messages.append("\n".join(lines))
                    lines = None
                    self.wfile.write(b"250 queued\r\n")
                else:
                    lines.append(line)
                continue
            command = line[:4].upper()
            if command == "DATA":
                lines = []
                self.wfile.write(b"354 go on\r\n")
            elif command == "QUIT":
                self.wfile.write(b"221 bye\r\n")
                return
            else:
                self.wfile.write(b"250 ok\r\n")


@pytest.fixture
def smtp_server() -> Iterator[socketserver.ThreadingTCPServer]:
    server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), SmtpHandler)
    server.messages = []
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def test_the_built_in_notifier_sends_an_email_when_smtp_is_configured(smtp_server):
    settings = SmtpSettings(host="127.0.0.1", port=smtp_server.server_address[1],
                            sender="launchpad@example.org", starttls=False)
    email.launchpad_notify(kind="job_failed", recipient="ada@example.org",
                           subject="Your project could not be made", message="It failed.",
                           settings=settings.as_mapping())
    deadline = time.monotonic() + 5
    while not smtp_server.messages and time.monotonic() < deadline:
        time.sleep(0.01)
    [message] = smtp_server.messages
    assert "To: ada@example.org" in message
    assert "Subject: Your project could not be made" in message
    assert "X-LaunchPad-Event: job_failed" in message
    assert message.rstrip().endswith("It failed.")
    email.launchpad_notify(kind="job_failed", recipient="ada@example.org", subject="s",
                           message="m", settings=SmtpSettings().as_mapping())
    assert len(smtp_server.messages) == 1  # no host: no email


def test_staging_folders_of_killed_renders_are_purged_once_no_render_can_use_them(world):
    storage = world.ctx.storage
    # a render may last wall_seconds (120 s), and a worker holds its job two leases (60 s)
    with storage.staging() as killed, storage.staging() as running:
        for folder in (killed, running):
            (folder / "artifact.zip").write_bytes(b"PK")
        for path in (killed, killed / "artifact.zip"):
            written_ago(path, world, timedelta(seconds=181))
        for path in (running, running / "artifact.zip"):
            written_ago(path, world, timedelta(seconds=179))
        report = world.sweep()
        assert report.purged_staging == (killed.name,)
        assert staged(world) == [running]
        world.clock.now = T0 + timedelta(seconds=2)
        assert world.sweep().purged_staging == (running.name,)
    assert staged(world) == []
