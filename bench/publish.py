#!/usr/bin/env python3
"""Time from "publish" to pushed for the 200-file benchmark template.

Runs the hosted service in this process on a fresh SQLite database with a real Huey
consumer (SQLite queue, worker threads) and the stand-in forge of the tests on
loopback (Authlib's OAuth server, repositories served by ``git http-backend``). A
person signs up, links GitHub (a token from the stand-in's OAuth flow, stored
encrypted), generates the 200-file template (bench/make_templates.py) once, then
publishes that job ``--runs`` times, each to a new repository. Each run is timed
from the client's ``POST /api/generate/{job}/publish`` to the publish job read back
as completed (polled every 20 ms); the worker's own split (repository created,
commit pushed) is taken from the job's log. Every run's repository is checked to
hold exactly one commit.

Usage: python bench/publish.py [--runs 10] [--files 200]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import attrs
from cryptography.fernet import Fernet

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).parent))

from common import positive_int  # noqa: E402
from make_templates import native_definition  # noqa: E402

from launchpad_web.db import make_engine, make_session_factory  # noqa: E402
from launchpad_web.forges.models import ForgeAccount  # noqa: E402
from launchpad_web.migrate import upgrade  # noqa: E402
from launchpad_web.settings import WebSettings  # noqa: E402
from launchpad_web.templates.models import TemplateRecord, TemplateVersion  # noqa: E402
from launchpad_worker.compose import service_app  # noqa: E402
from launchpad_worker.context import WorkerContext  # noqa: E402
from launchpad_worker.queue import JobQueue, running_consumer  # noqa: E402
from tests.web.conftest import BrowserClient  # noqa: E402
from tests.web.forge_standin import (  # noqa: E402
    StandinForge,
    forge_settings,
    launchpad_with_forges,
    running,
)
from tests.web.test_forge_repositories import access_token  # noqa: E402

POLL_SECONDS = 0.02
ANSWERS = {"project_name": "Rocket Service", "author": "Ada Lovelace"}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=positive_int, default=10)
    parser.add_argument("--files", type=positive_int, default=200)
    options = parser.parse_args()
    forge = StandinForge()
    with tempfile.TemporaryDirectory(prefix="lp-bench-publish-") as folder, running(forge):
        client, session_factory, queue = service(Path(folder), forge)
        with running_consumer(queue, enabled=True):
            job, login = prepared(client, session_factory, forge, queue, options.files)
            timings = [publish_once(client, forge, job, login, n) for n in range(options.runs)]
    report(timings, options)


def service(folder: Path, forge: StandinForge) -> tuple[BrowserClient, Any, JobQueue]:
    key = Fernet.generate_key().decode()
    forge.register_clients("http://127.0.0.1:8000")
    settings = WebSettings.from_env({"LAUNCHPAD_DATA_DIR": str(folder),
                                     "LAUNCHPAD_ENV": "development",
                                     "LAUNCHPAD_LOG_LEVEL": "WARNING"})
    settings = attrs.evolve(settings, forges=forge_settings(forge.url, key),
                            jobs=attrs.evolve(settings.jobs, worker_threads=2))
    engine = make_engine(f"sqlite:///{folder / 'bench.sqlite3'}")
    upgrade(engine)
    session_factory = make_session_factory(engine)
    launchpad = launchpad_with_forges()
    queue = JobQueue.from_settings(settings, WorkerContext.from_settings(
        settings, session_factory=session_factory, launchpad=launchpad))
    app = service_app(settings, session_factory=session_factory, launchpad=launchpad,
                      job_queue=queue)
    return BrowserClient(app), session_factory, queue


def prepared_person(client: BrowserClient, session_factory: Any, forge: StandinForge,
                    queue: JobQueue) -> tuple[str, str]:
    """A person signed up here with GitHub linked: (login, access token)."""
    login = f"bench-{uuid.uuid4().hex[:6]}"
    forge.add_person(login, (f"{login}@example.org", True))
    me = client.post("/api/auth/signup", json={"email": f"{login}@example.org",
                                                "password": "correct horse battery staple"})
    assert me.status_code == 201, me.text
    assert queue.context.forges is not None
    token = access_token(forge, "github", login)
    with session_factory() as db:
        now = datetime.now(UTC)
        db.add(ForgeAccount(user_id=uuid.UUID(me.json["id"]), forge="github",
                            forge_user_id=login, login=login,
                            access_token=queue.context.forges.cipher.encrypt(token),
                            created_at=now, updated_at=now))
        db.commit()
    return login, token


def prepared(client: BrowserClient, session_factory: Any, forge: StandinForge,
             queue: JobQueue, files: int) -> tuple[str, str]:
    """A person with GitHub linked and a completed job of the template: (job id, login)."""
    login, _token = prepared_person(client, session_factory, forge, queue)
    user_id = uuid.UUID(client.get("/api/me").json["id"])
    definition = native_definition(files)
    with session_factory() as db:
        now = datetime.now(UTC)
        row = TemplateRecord(name="bench", definition=definition, version=1, owner_id=user_id,
                             created_at=now, updated_at=now)
        db.add(row)
        db.flush()
        db.add(TemplateVersion(template_id=row.id, number=1, definition=definition,
                               created_at=now))
        db.commit()
        template_id = str(row.id)
    job = client.post("/api/generate", json={"template_id": template_id, "answers": ANSWERS})
    assert job.status_code == 202, job.text
    found = wait(client, f"/api/generate/{job.json['id']}")
    assert found["status"] == "completed" and found["files"] == files, found
    return found["id"], login


def wait(client: BrowserClient, path: str) -> dict[str, Any]:
    while True:
        found = client.get(path).json
        if found["status"] in ("completed", "failed"):
            return found
        time.sleep(POLL_SECONDS)


@attrs.frozen
class Timing:
    total: float
    create: float
    push: float


def publish_once(client: BrowserClient, forge: StandinForge, job: str, login: str,
                 number: int) -> Timing:
    name = f"bench-{number}"
    started = time.perf_counter()
    answer = client.post(f"/api/generate/{job}/publish", json={"forge": "github", "name": name})
    assert answer.status_code == 202, answer.text
    done = wait(client, answer.headers["location"])
    total = time.perf_counter() - started
    assert done["status"] == "completed", done
    assert len(forge.commits(f"{login}/{name}")) == 1
    at = {step["step"]: datetime.fromisoformat(step["at"]) for step in done["log"]}
    return Timing(total=total, create=(at["created"] - at["started"]).total_seconds(),
                  push=(at["pushed"] - at["created"]).total_seconds())


def report(timings: list[Timing], options: argparse.Namespace) -> None:
    totals = [t.total for t in timings]
    print(f"publish to pushed, {options.files}-file template, {options.runs} runs "
          "(stand-in GitHub on loopback, SQLite, Huey consumer threads):")
    print(f"  total   median {statistics.median(totals) * 1000:.0f} ms, "
          f"min {min(totals) * 1000:.0f} ms, max {max(totals) * 1000:.0f} ms")
    create = statistics.median(t.create for t in timings) * 1000
    push = statistics.median(t.push for t in timings) * 1000
    print(f"  worker: repository created in {create:.0f} ms, commit built and pushed in "
          f"{push:.0f} ms (medians)")


if __name__ == "__main__":
    main()
