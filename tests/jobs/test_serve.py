"""The embedded default: ``launchpad serve`` on SQLite runs jobs itself from Huey's SQLite
queue, unless told ``--no-worker``; ``launchpad worker`` processes can share that queue,
and its jobs survive a killed worker and lost messages; real processes over real HTTP."""

from __future__ import annotations

import http.cookiejar
import json
import os
import signal
import sqlite3
import subprocess
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from launchpad_web.db import make_engine, make_session_factory
from launchpad_web.jobs.models import Event, GenerationJob
from launchpad_web.projects.models import Project
from launchpad_web.settings import WebSettings
from launchpad_web.testing import insert_template
from launchpad_worker.context import WorkerContext
from launchpad_worker.queue import JobQueue

from .conftest import MANY_FILES, PASSWORD, PROGRESS_MS, check_file_progress, free_port, wait_for

pytestmark = pytest.mark.slow

HELLO = {"name": "hello", "files": [{"path": "README.md", "content": "# {{ 'hi' }}"}]}


class Server:
    def __init__(self, tmp_path: Path, *options: str, env: dict[str, str] | None = None):
        self.port = free_port()
        self.env = {**os.environ, "LAUNCHPAD_DATA_DIR": str(tmp_path), "LAUNCHPAD_ENV":
                    "development", "LAUNCHPAD_PORT": str(self.port),
                    "LAUNCHPAD_JOB_PROGRESS_MS": PROGRESS_MS, **(env or {})}
        self.env.pop("LAUNCHPAD_DATABASE_URL", None)
        self.env.pop("LAUNCHPAD_REDIS_URL", None)
        self.env.pop("LAUNCHPAD_CACHE_DIR", None)
        self.cli_cache = tmp_path / "xdg-cache"  # the CLI's cache: serve never writes there
        self.env["XDG_CACHE_HOME"] = str(self.cli_cache)
        subprocess.run(["launchpad", "db", "upgrade"], env=self.env, check=True,
                       capture_output=True)
        self.database_url = f"sqlite:///{tmp_path / 'launchpad.sqlite3'}"
        self.tmp_path = tmp_path
        self.workers: list[subprocess.Popen] = []
        with open(tmp_path / "serve.log", "wb") as log:
            self.process = subprocess.Popen(["launchpad", "serve", *options], env=self.env,
                                            stdout=log, stderr=subprocess.STDOUT)
        self.base = f"http://127.0.0.1:{self.port}"
        self.opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))
        wait_for(self._up, timeout=30, what="launchpad serve")

    def _up(self) -> bool:
        try:
            return self.call("GET", "/api/health")["status"] is not None
        except OSError:
            return False

    def call(self, method: str, path: str, body: dict | None = None) -> dict:
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(self.base + path, data=data, method=method, headers={
            "Content-Type": "application/json", "Sec-Fetch-Site": "same-origin"})
        with self.opener.open(request, timeout=10) as response:
            return json.load(response)

    def submit(self, definition: dict = HELLO) -> str:
        user = self.call("POST", "/api/auth/signup", {
            "email": f"u-{uuid.uuid4().hex[:8]}@example.org", "password": PASSWORD})
        engine = make_engine(self.database_url)
        with make_session_factory(engine)() as session:
            row = insert_template(session, owner_id=user["id"], definition=definition)
            session.commit()
            template_id = str(row.id)
        engine.dispose()
        return self.call("POST", "/api/generate", {"template_id": template_id,
                                                   "answers": {}})["id"]

    def events(self, job_id: str) -> str:
        """The job's event stream, read to its end."""
        with self.opener.open(f"{self.base}/api/generate/{job_id}/events", timeout=30) as got:
            return got.read().decode()

    def status(self, job_id: str) -> str:
        return self.call("GET", f"/api/generate/{job_id}")["status"]

    def job(self, job_id: str) -> tuple[GenerationJob, int, int]:
        """The job's row, and how many completion events and projects it made."""
        engine = make_engine(self.database_url)
        with make_session_factory(engine)() as session:
            job = session.get(GenerationJob, uuid.UUID(job_id))
            made = [session.scalar(sa.select(sa.func.count()).select_from(table).where(
                table.job_id == job.id)) for table in (Event, Project)]
        engine.dispose()
        return job, *made

    def start_worker(self) -> subprocess.Popen:
        """``launchpad worker`` on the same data directory (the SQLite queue), in a process
        group of its own."""
        with open(self.tmp_path / f"worker-{len(self.workers)}.log", "wb") as log:
            self.workers.append(subprocess.Popen(
                ["launchpad", "worker"], env=self.env, stdout=log, stderr=subprocess.STDOUT,
                start_new_session=True))
        return self.workers[-1]

    def stop(self) -> None:
        for worker in self.workers:
            if worker.poll() is None:
                os.killpg(worker.pid, signal.SIGKILL)
            worker.wait(10)
        self.process.terminate()
        self.process.wait(20)


# About three seconds of rendering: long enough to kill a worker mid-render.
SLOW = {"name": "slow", "files": [{"path": "slow.txt", "content": (
    "{% for i in range(100000) %}{% for j in range(60) %}{% set k = i + j %}{% endfor %}"
    "{% endfor %}done")}]}
SHORT_LEASES = {"LAUNCHPAD_JOB_LEASE_SECONDS": "2", "LAUNCHPAD_JOB_SWEEP_SECONDS": "1"}


@pytest.fixture
def server(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Server]:
    running = Server(tmp_path, *request.param)
    yield running
    running.stop()


@pytest.fixture
def no_worker(tmp_path: Path) -> Iterator[Server]:
    """``launchpad serve --no-worker`` on SQLite with two-second leases, swept every second;
    its tests start ``launchpad worker`` processes on its queue."""
    running = Server(tmp_path, "--no-worker", env=SHORT_LEASES)
    yield running
    running.stop()


@pytest.mark.parametrize("server", [()], indirect=True)
def test_serve_runs_jobs_itself_by_default(server):
    job_id = server.submit()
    wait_for(lambda: server.status(job_id) == "completed", what="the embedded consumer")
    data_dir = Path(server.env["LAUNCHPAD_DATA_DIR"])
    assert (data_dir / "queue.sqlite3").exists()
    assert list((data_dir / "compiled").glob("*.pack"))
    assert not server.cli_cache.exists()


@pytest.mark.parametrize("server", [()], indirect=True)
def test_the_embedded_consumer_reports_each_files_progress_on_the_event_stream(server):
    job_id = server.submit(MANY_FILES)
    check_file_progress(server.events(job_id), MANY_FILES)
    assert server.status(job_id) == "completed"


def test_an_idle_consumer_looks_at_the_sqlite_queue_every_quarter_second(tmp_path):
    """Huey backs off to a look every 10 s on an empty queue it polls; Redis blocks
    instead, and keeps Huey's backoff for its errors."""
    sqlite = WebSettings.from_env({"LAUNCHPAD_DATA_DIR": str(tmp_path)})
    on_redis = WebSettings.from_env({"LAUNCHPAD_DATA_DIR": str(tmp_path),
                                     "LAUNCHPAD_REDIS_URL": "redis://127.0.0.1:1/0"})
    looks = {}
    for name, settings in (("sqlite", sqlite), ("redis", on_redis)):
        queue = JobQueue.from_settings(settings, WorkerContext.from_settings(settings))
        consumer = queue.consumer()
        looks[name] = (queue.backend, consumer.default_delay, consumer.max_delay)
    assert looks == {"sqlite": ("sqlite", 0.05, 0.25), "redis": ("redis", 0.1, 10.0)}


@pytest.mark.parametrize("server", [("--no-worker",)], indirect=True)
def test_serve_with_no_worker_leaves_jobs_queued(server):
    job_id = server.submit()
    with pytest.raises(AssertionError, match="timed out"):
        wait_for(lambda: server.status(job_id) != "pending", timeout=3)


def test_a_worker_killed_mid_render_on_the_sqlite_queue_is_replaced_and_the_job_completes_once(
        no_worker):
    server = no_worker
    first = server.start_worker()
    job_id = server.submit(SLOW)
    wait_for(lambda: server.status(job_id) == "processing", what="the render to start")
    os.killpg(first.pid, signal.SIGKILL)
    first.wait(10)
    server.start_worker()
    wait_for(lambda: server.status(job_id) in ("completed", "failed"), timeout=60,
             what="the job to finish")
    job, completions, projects = server.job(job_id)
    assert (job.status, job.attempts, completions, projects) == ("completed", 2, 1, 1)


def test_jobs_whose_sqlite_queue_messages_were_deleted_are_run_once(no_worker):
    server = no_worker
    jobs = [server.submit() for _ in range(3)]
    with sqlite3.connect(Path(server.env["LAUNCHPAD_DATA_DIR"]) / "queue.sqlite3") as queue:
        assert queue.execute("DELETE FROM task").rowcount == 3
    server.start_worker()
    for job_id in jobs:  # each of another user's: read from the database
        wait_for(lambda job_id=job_id: server.job(job_id)[0].status == "completed",
                 timeout=30, what="the sweep to queue the job again")
        job, completions, projects = server.job(job_id)
        assert (job.attempts, completions, projects) == (1, 1, 1)
