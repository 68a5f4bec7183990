#!/usr/bin/env python3
"""The fleet endpoint for 1,000 projects of one template (issue 14: p50 under 50 ms
with the cache warm).

Migrates a throw-away database (a SQLite file, or with ``--postgresql`` a fresh
PostgreSQL database next to ``--admin-url``), signs a user up and creates a
template with five versions, records ``--projects`` projects of it
(spread over the versions, as completed jobs would have; the template and the
projects are inserted as rows: no evaluation or render is what is measured), then calls
``GET /api/templates/{id}/fleet?limit=1000`` ``--warmup`` times (the warm cache:
SQLAlchemy's compiled statements, the database's pages) and ``--requests`` times
more, timed, through the WSGI app in this process (Falcon's test client: the
request's whole work, no HTTP socket), and prints p50/p95/max in milliseconds;
then the same with the fleet cache keeping nothing (every answer rebuilt, as the
first request after a change is).

Usage: python bench/fleet.py [--projects 1000] [--requests 200] [--warmup 20]
                             [--postgresql] [--admin-url URL]
"""

from __future__ import annotations

import argparse
import contextlib
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from common import fresh_database, positive_int

ADMIN_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
PASSWORD = "bench password, long enough"
VERSIONS = 5
DEFINITION = {
    "name": "fleet",
    "variables": [{"name": "project_name", "type": "str", "default": "rocket"},
                  {"name": "token", "type": "str", "secret": True, "default": ""}],
    "files": [{"path": "{{ project_name }}/README.md", "content": "# {{ project_name }}"}],
}


@contextlib.contextmanager
def database(args: argparse.Namespace, folder: Path) -> Iterator[str]:
    if args.postgresql:
        with fresh_database(args.admin_url) as url:
            yield url
    else:
        yield f"sqlite:///{folder / 'fleet.sqlite3'}"


def build(url: str, folder: Path):
    """The app on a migrated ``url``, its session factory and engine."""
    import attrs

    from launchpad_web.db import make_engine, make_session_factory
    from launchpad_web.migrate import upgrade
    from launchpad_web.settings import PasswordHashing, WebSettings
    from launchpad_worker.compose import service_app

    engine = make_engine(url)
    upgrade(engine)
    factory = make_session_factory(engine)
    settings = attrs.evolve(WebSettings.from_env({
        "LAUNCHPAD_DATA_DIR": str(folder), "LAUNCHPAD_DATABASE_URL": url,
        "LAUNCHPAD_ENV": "development"}), password_hashing=PasswordHashing(
            time_cost=1, memory_kib=8, parallelism=1))
    return service_app(settings, session_factory=factory), factory, engine


class Browser:
    """Falcon's test client keeping the session cookie, on this site (Sec-Fetch-Site)."""

    def __init__(self, app):
        from falcon import testing

        self.client = testing.TestClient(app)
        self.cookies: dict[str, str] = {}

    def request(self, method: str, path: str, **kwargs):
        result = self.client.simulate_request(method, path, cookies=self.cookies,
                                              headers={"Sec-Fetch-Site": "same-origin"},
                                              **kwargs)
        self.cookies.update({n: c.value for n, c in result.cookies.items() if c.value})
        assert result.status_code < 300, result.text
        return result


def seed(browser: Browser, factory, count: int) -> str:
    """A user (signed up over the API), a template with :data:`VERSIONS` versions and
    ``count`` projects of it (rows: no evaluation or render is measured), half of those
    behind with their "would it conflict" answer known (as the workers' checks leave
    them); its id."""
    from launchpad_web.projects.models import Project
    from launchpad_web.templates.models import TemplateRecord, TemplateVersion
    from launchpad_web.updates.models import ProjectCheck

    user = browser.request("POST", "/api/auth/signup", json={
        "email": "fleet@example.org", "password": PASSWORD}).json
    owner, start = uuid.UUID(user["id"]), datetime(2030, 1, 1, tzinfo=UTC)
    with factory() as db:
        template = TemplateRecord(name="fleet", definition=DEFINITION, version=VERSIONS,
                                  owner_id=owner, created_at=start, updated_at=start)
        db.add(template)
        db.flush()
        db.add_all(TemplateVersion(template_id=template.id, number=number,
                                   definition=DEFINITION, created_at=start)
                   for number in range(1, VERSIONS + 1))
        projects = [Project(
            id=uuid.uuid4(), user_id=owner, template_id=template.id, template_name="fleet",
            template_version=1 + n % VERSIONS,
            answers={"project_name": f"project-{n}", "token": "***"},
            created_at=start + timedelta(minutes=n)) for n in range(count)]
        db.add_all(projects)
        db.flush()
        db.add_all(ProjectCheck(project_id=p.id, target_version=VERSIONS,
                                would_conflict=n % 3 == 0, created_at=start, checked_at=start)
                   for n, p in enumerate(projects)
                   if p.template_version < VERSIONS and n % 2 == 0)
        db.commit()
        return str(template.id)


def measure(browser: Browser, path: str, *, warmup: int, requests: int) -> list[float]:
    for _ in range(warmup):
        browser.request("GET", path)
    times = []
    for _ in range(requests):
        started = time.perf_counter()
        browser.request("GET", path)
        times.append((time.perf_counter() - started) * 1000)
    return sorted(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--projects", type=positive_int, default=1000)
    parser.add_argument("--requests", type=positive_int, default=200)
    parser.add_argument("--warmup", type=positive_int, default=20)
    parser.add_argument("--postgresql", action="store_true",
                        help="a fresh PostgreSQL database next to --admin-url")
    parser.add_argument("--admin-url", default=ADMIN_URL)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder, database(args, Path(folder)) as url:
        app, factory, engine = build(url, Path(folder))
        try:
            browser = Browser(app)
            template_id = seed(browser, factory, args.projects)
            path = f"/api/templates/{template_id}/fleet?limit=1000"
            shown = browser.request("GET", path).json
            assert shown["total"] == args.projects and len(shown["projects"]) == min(
                args.projects, 1000), (shown["total"], len(shown["projects"]))
            warm = measure(browser, path, warmup=args.warmup, requests=args.requests)
            without_cache(app, path)
            cold = measure(browser, path, warmup=args.warmup, requests=args.requests)
        finally:
            engine.dispose()
    backend = "postgresql" if args.postgresql else "sqlite"
    print(f"fleet of {args.projects} projects on {backend}, {args.requests} requests each "
          "(goal: p50 under 50 ms with the cache warm)")
    for name, times in (("cache warm", warm), ("every answer rebuilt", cold)):
        cuts = statistics.quantiles(times, n=100)
        print(f"  {name:<22} p50 {cuts[49]:6.1f} ms   p95 {cuts[94]:6.1f} ms   "
              f"max {times[-1]:6.1f} ms")


def without_cache(app, path: str) -> None:
    """The fleet resource's cache swapped for one that keeps nothing (every request
    builds its answer: the first request after a change)."""
    from launchpad_web.projects.fleet_cache import FleetCache

    resource = app._router.find(path.partition("?")[0])[0]
    resource.cache = FleetCache(size=0)


if __name__ == "__main__":
    main()
