#!/usr/bin/env python3
"""Server time of the dashboard page with 20 templates (the issue's target: p50 < 20 ms).

Builds the app on a fresh SQLite database in a temporary directory, signs a user
up, adds 20 templates, then renders ``GET /dashboard``
(templates page, recent jobs, plan and usage) ``--requests`` times in this
process through Falcon's test client, with no network in between, and prints
p50 and p95. Lighthouse figures: bench/lighthouse.py.

Usage: python bench/pages.py [--requests 300]
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

import attrs
from falcon import testing

sys.path.insert(0, str(Path(__file__).parent))
from common import positive_int

from launchpad_web.db import make_engine, make_session_factory
from launchpad_web.migrate import upgrade
from launchpad_web.settings import PasswordHashing, WebSettings
from launchpad_web.templates.models import TemplateRecord, TemplateVersion
from launchpad_worker.compose import service_app

TEMPLATES = 20
WARM_UP = 20


def add_templates(factory, owner_id: uuid.UUID) -> None:
    now = datetime.now(UTC)
    with factory() as session:
        for number in range(TEMPLATES):
            definition = {"name": f"t{number}", "files": [{"path": "a", "content": "x"}]}
            row = TemplateRecord(name=f"t{number:02}", definition=definition, version=1,
                                 owner_id=owner_id, created_at=now, updated_at=now)
            session.add(row)
            session.flush()
            session.add(TemplateVersion(template_id=row.id, number=1, definition=definition,
                                        created_at=now))
        session.commit()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=positive_int, default=300)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        env = {"LAUNCHPAD_DATA_DIR": tmp, "LAUNCHPAD_ENV": "development"}
        settings = attrs.evolve(WebSettings.from_env(env), password_hashing=PasswordHashing(
            time_cost=1, memory_kib=8, parallelism=1))
        engine = make_engine(f"sqlite:///{Path(tmp) / 'bench.sqlite3'}")
        upgrade(engine)
        factory = make_session_factory(engine)
        client = testing.TestClient(service_app(settings, session_factory=factory))
        signed = client.simulate_post("/api/auth/signup", json={
            "email": "bench@example.com", "password": "correct horse battery staple"})
        cookies = {name: cookie.value for name, cookie in signed.cookies.items()}
        add_templates(factory, uuid.UUID(signed.json["id"]))
        times = []
        for _ in range(args.requests + WARM_UP):
            started = time.perf_counter()
            result = client.simulate_get("/dashboard", cookies=cookies)
            times.append((time.perf_counter() - started) * 1000)
            assert result.status_code == 200, result.status
        times = sorted(times[WARM_UP:])
        p95 = times[int(len(times) * 0.95) - 1]
        print(f"GET /dashboard, {TEMPLATES} templates, SQLite, {args.requests} requests: "
              f"p50 {statistics.median(times):.2f} ms, p95 {p95:.2f} ms")
        engine.dispose()


if __name__ == "__main__":
    main()
