"""Fixtures of the worker tests: real processes on a real database and Redis.

* ``redis_server``: a ``redis-server`` of this test's own on a free port, nothing
  kept on disk, so a test may stop and restart it (the shared one is never touched).
* ``s3_server``: moto's S3 protocol server (``moto_server``) on a free loopback
  port, one per session; ``bucket_env`` makes a fresh bucket on it and gives the
  ``LAUNCHPAD_*``/``AWS_*`` variables that keep artifacts there.
* ``stack``: a migrated database (a fresh PostgreSQL database when
  ``LAUNCHPAD_TEST_DATABASE_URL`` is set, else a SQLite file), the API in this
  process (Falcon's test client on ``service_app``, enqueueing into that Redis)
  and ``stack.start_worker()`` to start ``launchpad worker`` processes, killed at
  the end. Leases last 2 s and consumers sweep every second.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import time
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import boto3
import pytest
import redis
from falcon import testing

from launchpad_core.testing import free_port
from launchpad_web.db import make_engine, make_session_factory
from launchpad_web.jobs.models import GenerationJob
from launchpad_web.migrate import upgrade
from launchpad_web.settings import WebSettings
from launchpad_web.testing import fresh_postgresql_database, insert_template
from launchpad_worker.compose import service_app
from launchpad_worker.context import WorkerContext
from launchpad_worker.queue import JobQueue

POSTGRESQL_URL_VARIABLE = "LAUNCHPAD_TEST_DATABASE_URL"
PASSWORD = "correct horse battery staple"
T0 = datetime(2030, 1, 1, tzinfo=UTC)
WORKER_ENV = {
    "LAUNCHPAD_JOB_LEASE_SECONDS": "2",
    "LAUNCHPAD_JOB_SWEEP_SECONDS": "1",
    "LAUNCHPAD_WORKER_THREADS": "2",
    "LAUNCHPAD_JOB_CPU_SECONDS": "20",
    "LAUNCHPAD_JOB_MEMORY_MB": "300",
    "LAUNCHPAD_ENV": "development",
    "LAUNCHPAD_PLAN_LIMITS": "free.jobs_in_flight=unlimited",
}


def wait_for(condition: Callable[[], Any], *, timeout: float = 30.0,
             what: str = "condition") -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")




# Sixty files of some 20 ms each: over a second of rendering, for progress to show.
MANY_FILES = {"name": "many", "files": [
    {"path": f"src/file{i:02}.txt",
     "content": ("{% for i in range(100) %}{% for j in range(2000) %}{% set k = j %}"
                 "{% endfor %}{% endfor %}") + str(i)}
    for i in range(60)]}
PROGRESS_MS = "50"  # how often workers store progress in these tests


def check_file_progress(stream: str, definition: dict[str, Any]) -> list[dict[str, Any]]:
    """The progress events of a job's whole event stream, checked: several, files done
    growing to the template's every file, the template path and bytes as they were, the
    last (complete, path null) just before ``completed``. Answers them."""
    messages = [dict(line.split(": ", 1) for line in m.splitlines())
                for m in stream.split("\n\n") if m]
    events = [m["event"] for m in messages]
    progress = [json.loads(m["data"]) for m in messages if m["event"] == "progress"]
    assert "id" not in [key for m in messages if m["event"] == "progress" for key in m]
    total, paths = len(definition["files"]), {f["path"] for f in definition["files"]}
    assert len(progress) >= 2, events  # at least one while it rendered, and the end
    assert all(p["total"] == total for p in progress)
    assert [p["files"] for p in progress] == sorted(p["files"] for p in progress)
    assert [p["bytes"] for p in progress] == sorted(p["bytes"] for p in progress)
    during = progress[:-1]
    assert all(0 < p["files"] < total and p["path"] in paths for p in during), during
    assert progress[-1]["files"] == total and progress[-1]["path"] is None
    assert events[-2:] == ["progress", "completed"]
    return progress


class RedisServer:
    """A private ``redis-server`` that can be stopped and started again (same port)."""

    def __init__(self, directory: Path):
        self.port = free_port()
        self.directory = directory
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.process = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--dir", str(self.directory)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        client = redis.Redis.from_url(self.url)
        wait_for(lambda: _pings(client), timeout=10, what="redis-server")

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(10)
            self.process = None

    def restart(self) -> None:
        self.stop()
        self.start()


def _pings(client: redis.Redis) -> bool:
    try:
        return bool(client.ping())
    except redis.ConnectionError:
        return False


@pytest.fixture
def redis_server(tmp_path: Path) -> Iterator[RedisServer]:
    server = RedisServer(tmp_path)
    server.start()
    yield server
    server.stop()


class S3Server:
    """``moto_server`` in a process of its own: a real S3 endpoint over HTTP."""

    def __init__(self, directory: Path):
        self.port = free_port()
        self.log = directory / "moto.log"
        with open(self.log, "wb") as log:
            self.process = subprocess.Popen(
                ["moto_server", "-H", "127.0.0.1", "-p", str(self.port)],
                stdout=log, stderr=subprocess.STDOUT)
        wait_for(self._answers, timeout=30, what="moto_server")

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _answers(self) -> bool:
        assert self.process.poll() is None, self.log.read_text()
        try:
            with urllib.request.urlopen(f"{self.url}/moto-api/data.json", timeout=2):
                return True
        except OSError:
            return False

    def env(self, bucket: str, **extra: str) -> dict[str, str]:
        return {"LAUNCHPAD_ARTIFACT_BUCKET": bucket, "LAUNCHPAD_S3_ENDPOINT_URL": self.url,
                "LAUNCHPAD_S3_REGION": "us-east-1", "AWS_ACCESS_KEY_ID": "testing",
                "AWS_SECRET_ACCESS_KEY": "testing", **extra}

    def new_bucket(self) -> str:
        name = f"lp-{uuid.uuid4().hex[:12]}"
        boto3.client("s3", endpoint_url=self.url, region_name="us-east-1",
                     aws_access_key_id="testing",
                     aws_secret_access_key="testing").create_bucket(Bucket=name)
        return name

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(10)


@pytest.fixture(scope="session")
def s3_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[S3Server]:
    server = S3Server(tmp_path_factory.mktemp("s3"))
    yield server
    server.stop()


@pytest.fixture
def bucket_env(s3_server: S3Server) -> dict[str, str]:
    return s3_server.env(s3_server.new_bucket())


@contextlib.contextmanager
def database(tmp_path: Path) -> Iterator[str]:
    admin_url = os.environ.get(POSTGRESQL_URL_VARIABLE)
    if not admin_url:
        url = f"sqlite:///{tmp_path / 'launchpad.sqlite3'}"
        upgrade(make_engine(url))
        yield url
        return
    with fresh_postgresql_database(admin_url, prefix="lp_jobs") as fresh:
        url = fresh.render_as_string(hide_password=False)
        engine = make_engine(url)
        upgrade(engine)
        engine.dispose()
        yield url

class Stack:
    """The API in-process, workers as processes, all on one database and Redis."""

    def __init__(self, tmp_path: Path, database_url: str, redis_url: str,
                 extra_env: dict[str, str] | None = None):
        self.tmp_path = tmp_path
        self.env = {**os.environ, **WORKER_ENV, "LAUNCHPAD_DATA_DIR": str(tmp_path / "data"),
                    "LAUNCHPAD_DATABASE_URL": database_url, "LAUNCHPAD_REDIS_URL": redis_url,
                    "XDG_CACHE_HOME": str(tmp_path / "xdg-cache"),  # the CLI's: unused
                    **(extra_env or {})}
        self.env.pop("LAUNCHPAD_CACHE_DIR", None)
        self.settings = WebSettings.from_env(self.env)
        self.engine = make_engine(database_url)
        self.session_factory = make_session_factory(self.engine)
        self.queue = JobQueue.from_settings(self.settings, WorkerContext.from_settings(
            self.settings, session_factory=self.session_factory))
        self.app = service_app(self.settings, session_factory=self.session_factory,
                              job_queue=self.queue)
        self.client = testing.TestClient(self.app)
        self.cookies: dict[str, str] = {}
        self.workers: list[subprocess.Popen] = []
        self.logs: dict[int, Path] = {}

    # -- the API ------------------------------------------------------------------
    def signup(self) -> str:
        email = f"user-{uuid.uuid4().hex[:8]}@example.org"
        result = self.client.simulate_post("/api/auth/signup",
                                           json={"email": email, "password": PASSWORD})
        assert result.status_code == 201, result.text
        self.cookies = {name: c.value for name, c in result.cookies.items()}
        return result.json["id"]

    def get(self, path: str, **kwargs: Any) -> testing.Result:
        return self.client.simulate_get(path, cookies=self.cookies, **kwargs)

    def generate(self, template_id: str, answers: dict[str, Any]) -> dict[str, Any]:
        result = self.client.simulate_post(
            "/api/generate", cookies=self.cookies, headers={"Sec-Fetch-Site": "same-origin"},
            json={"template_id": template_id, "answers": answers})
        assert result.status_code == 202, result.text
        return result.json

    def add_template(self, owner_id: str, definition: dict[str, Any]) -> str:
        with self.session_factory() as session:
            row = insert_template(session, owner_id=owner_id, definition=definition, at=T0)
            session.commit()
            return str(row.id)

    def job(self, job_id: str) -> GenerationJob:
        with self.session_factory() as session:
            return session.get(GenerationJob, uuid.UUID(job_id))

    def wait_status(self, job_id: str, *statuses: str, timeout: float = 60) -> GenerationJob:
        return wait_for(lambda: (job := self.job(job_id)).status in statuses and job,
                        timeout=timeout, what=f"job {job_id} to be {'/'.join(statuses)}")

    def artifacts(self, job_id: str) -> list[Path]:
        """The job's stored artifacts: one folder per key, holding every format."""
        folder = self.settings.jobs.artifact_dir / job_id
        return sorted(folder.iterdir()) if folder.exists() else []

    # -- workers ------------------------------------------------------------------
    def start_worker(self, **env: str) -> subprocess.Popen:
        path = self.tmp_path / f"worker-{len(self.workers)}.log"
        with open(path, "wb") as log:
            process = subprocess.Popen(["launchpad", "worker"], env={**self.env, **env},
                                       stdout=log, stderr=subprocess.STDOUT,
                                       start_new_session=True)
        self.workers.append(process)
        self.logs[process.pid] = path
        return process

    def worker_log(self, process: subprocess.Popen) -> str:
        return self.logs[process.pid].read_text()

    def signal_worker(self, process: subprocess.Popen, signum: int) -> None:
        """``signum`` to the worker's whole process group (the consumer and its threads;
        render children run in groups of their own)."""
        os.killpg(process.pid, signum)

    def close(self) -> None:
        for process in self.workers:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait(10)
        self.engine.dispose()


@pytest.fixture
def stack(tmp_path: Path, redis_server: RedisServer) -> Iterator[Stack]:
    with database(tmp_path) as url:
        stack = Stack(tmp_path, url, redis_server.url)
        yield stack
        stack.close()


@pytest.fixture
def s3_stack(tmp_path: Path, redis_server: RedisServer,
             bucket_env: dict[str, str]) -> Iterator[Stack]:
    """``stack`` with artifacts in a bucket of the S3 server, for the API and workers."""
    with database(tmp_path) as url:
        stack = Stack(tmp_path, url, redis_server.url, bucket_env)
        yield stack
        stack.close()
