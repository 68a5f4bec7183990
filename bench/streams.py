#!/usr/bin/env python3
"""Do progress streams leave the API threads for other requests?

Serves the app with waitress (8 threads, SQLite in a temporary folder, streams of
15 s), signs up five users with one pending job each, asks ten progress streams
at once (two per user) and then times ``GET /api/health`` while they stream.
Before streams were bounded the ten held all eight threads, so the health check
waited for one to end; with the defaults (4 per process, 2 per user) six are
refused with 429 and the check answers at once. Run it against an older checkout
by putting its ``src`` folders first on ``PYTHONPATH``.

Usage: python bench/streams.py
"""

from __future__ import annotations

import http.client
import json
import tempfile
import threading
import time
import uuid
from pathlib import Path

import attrs
import waitress

from launchpad_web.db import make_engine, make_session_factory
from launchpad_web.jobs.models import GenerationJob, JobStatus
from launchpad_web.migrate import upgrade
from launchpad_web.settings import PasswordHashing, WebSettings
from launchpad_web.templates.models import TemplateRecord
from launchpad_worker.compose import service_app

PASSWORD = "correct horse battery staple"
QUEUED = {"at": "2030-01-01T00:00:00+00:00", "step": "queued", "message": "waiting"}


def call(port: int, path: str, body: object = None, cookie: str | None = None) -> tuple:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    headers = {"Content-Type": "application/json", "Sec-Fetch-Site": "same-origin"}
    if cookie:
        headers["Cookie"] = cookie
    connection.request("POST" if body else "GET", path,
                       body=json.dumps(body) if body else None, headers=headers)
    return connection, connection.getresponse()


def main() -> None:
    work = Path(tempfile.mkdtemp(prefix="lp-streams-"))
    settings = attrs.evolve(WebSettings.from_env({
        "LAUNCHPAD_DATA_DIR": str(work), "LAUNCHPAD_ENV": "development",
        "LAUNCHPAD_SIGNUPS_PER_ADDRESS": "100", "LAUNCHPAD_EVENT_STREAM_SECONDS": "15"}),
        password_hashing=PasswordHashing(1, 8, 1))
    engine = make_engine(settings.database_url)
    upgrade(engine)
    factory = make_session_factory(engine)
    server = waitress.create_server(service_app(settings, session_factory=factory),
                                    host="127.0.0.1", port=0, threads=8)
    threading.Thread(target=server.run, daemon=True).start()
    port = server.effective_port
    jobs = []
    for _ in range(5):
        _connection, response = call(port, "/api/auth/signup", {
            "email": f"{uuid.uuid4().hex[:8]}@example.org", "password": PASSWORD})
        user_id = uuid.UUID(json.loads(response.read())["id"])
        with factory() as session:
            template = TemplateRecord(name="t", definition={}, owner_id=user_id)
            session.add(template)
            session.flush()
            job = GenerationJob(user_id=user_id, template_id=template.id, answers={},
                                status=JobStatus.PENDING, log=[QUEUED])
            session.add(job)
            session.commit()
            jobs.append((str(job.id), response.getheader("Set-Cookie").split(";")[0]))
    statuses, held = [], []

    def open_stream(job_id: str, cookie: str) -> None:
        connection, response = call(port, f"/api/generate/{job_id}/events", cookie=cookie)
        statuses.append(response.status)
        held.append(connection)

    for job_id, cookie in jobs * 2:
        threading.Thread(target=open_stream, args=(job_id, cookie), daemon=True).start()
    time.sleep(1)
    start = time.perf_counter()
    _connection, response = call(port, "/api/health")
    response.read()
    took = time.perf_counter() - start
    print(f"10 streams asked at once; /api/health {response.status} in {took * 1000:.0f} ms "
          f"while they stream; then {statuses.count(200)} streams had opened, "
          f"{statuses.count(429)} were refused (429)")


if __name__ == "__main__":
    main()
