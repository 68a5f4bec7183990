#!/usr/bin/env python3
"""The generation pipeline under load, next to the bare render-plus-archive loop.

``--config postgresql`` (the default) starts a fresh PostgreSQL database, a private
redis-server, ``launchpad serve --no-worker`` and two ``launchpad worker`` processes;
``--config sqlite`` starts the embedded default instead: one ``launchpad serve`` on
SQLite with its own consumer (SQLite queue, no Redis). Either way it submits generation jobs of
the 200-file benchmark template (bench/make_templates.py) through the HTTP API
and waits for each to complete. Two runs:

* saturated: ``--jobs`` submitted by four client threads as fast as they go;
  jobs per second = jobs / (last completion - first submission);
* unsaturated: ``--sequential`` jobs, each submitted when the previous one
  completed: the latency of one job on an idle system.

Latency is submit (client clock, before the request) to completed (the worker's
``finished_at``). In the same run, the bare loop renders the same template with
the same answers into a zip in this process, ``--jobs`` times.

Usage: python bench/jobs.py [--config postgresql|sqlite] [--jobs 200] [--sequential 40]
       (LAUNCHPAD_BENCH_DATABASE_URL: an admin URL, default the local ``test`` database)
"""

from __future__ import annotations

import argparse
import concurrent.futures
import contextlib
import http.cookiejar
import io
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import sqlalchemy as sa

from launchpad_core import default_launchpad
from launchpad_core.render.archives import ZipSink
from launchpad_web.billing.models import Plan, Subscription
from launchpad_web.db import make_engine, make_session_factory
from launchpad_web.jobs.models import GenerationJob, JobStatus
from launchpad_web.migrate import upgrade
from launchpad_web.templates.models import TemplateRecord, TemplateVersion

sys.path.insert(0, str(Path(__file__).parent))
from common import free_port, fresh_database, positive_int
from make_templates import native_definition

ADMIN_URL = os.environ.get("LAUNCHPAD_BENCH_DATABASE_URL",
                           "postgresql+psycopg://postgres@127.0.0.1:5432/test")
PASSWORD = "correct horse battery staple"
ANSWERS = {"project_name": "Rocket Service", "author": "Ada Lovelace"}
CLIENT_THREADS = 4


@contextlib.contextmanager
def processes(work: Path, database_url: str | None,
              ) -> Iterator[tuple[str, dict[str, list[int]]]]:
    """redis-server, the API and two workers (``database_url`` None: one ``launchpad
    serve`` on SQLite with its embedded consumer); yields the API's base URL and the pids
    of each part (``redis``, ``api``, ``workers``; the embedded API is ``api``)."""
    redis_port, api_port = free_port(), free_port()
    env = {**os.environ, "LAUNCHPAD_DATA_DIR": str(work / "data"),
           "LAUNCHPAD_PORT": str(api_port),
           "LAUNCHPAD_ENV": "development", "LAUNCHPAD_LOG_LEVEL": "WARNING",
           "LAUNCHPAD_EVALUATIONS_PER_USER": str(CLIENT_THREADS),  # one user submits all
           "LAUNCHPAD_PLAN_LIMITS": ",".join(
               f"{plan}.jobs_in_flight=unlimited" for plan in ("free", "pro", "team"))}
    for name in ("LAUNCHPAD_DATABASE_URL", "LAUNCHPAD_REDIS_URL"):
        env.pop(name, None)
    commands = [["launchpad", "serve"]]
    if database_url is not None:
        env["LAUNCHPAD_DATABASE_URL"] = database_url
        env["LAUNCHPAD_REDIS_URL"] = f"redis://127.0.0.1:{redis_port}/0"
        commands = [
        ["redis-server", "--port", str(redis_port), "--bind", "127.0.0.1", "--save", "",
         "--appendonly", "no", "--dir", str(work)],
        ["launchpad", "serve", "--no-worker"],
        ["launchpad", "worker"],
        ["launchpad", "worker"],
        ]
    started = []
    try:
        for index, command in enumerate(commands):
            with open(work / f"process-{index}.log", "wb") as log:
                started.append(subprocess.Popen(command, env=env, stdout=log,
                                                stderr=subprocess.STDOUT))
            time.sleep(0.3)
        base = f"http://127.0.0.1:{api_port}"
        wait_until(lambda: _answers(f"{base}/api/health"), "the API to answer", timeout=180)
        if database_url is None:
            yield base, {"api": [started[0].pid]}
        else:
            yield base, {"redis": [started[0].pid], "api": [started[1].pid],
                         "workers": [p.pid for p in started[2:]]}
    finally:
        for process in reversed(started):
            process.terminate()
        for process in started:
            try:
                process.wait(15)
            except subprocess.TimeoutExpired:
                process.kill()


TICKS = os.sysconf("SC_CLK_TCK")
BENCH_APPLICATION = "launchpad-bench"


def cpu_seconds(pid: int) -> float:
    """CPU time of ``pid`` plus that of the children it has reaped; 0 once it is gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    except OSError:
        return 0.0
    return sum(int(f) for f in fields[11:15]) / TICKS


def descendants(roots: list[int]) -> list[int]:
    """``roots`` and every live process below them (render children, fork servers)."""
    parents: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError):
            ppid = int(stat.read_text().rpartition(")")[2].split()[1])
            parents.setdefault(ppid, []).append(int(stat.parent.name))
    found, todo = [], list(roots)
    while todo:
        pid = todo.pop()
        found.append(pid)
        todo.extend(parents.get(pid, ()))
    return found


def cpu_sample(session_factory, parts: dict[str, list[int]]) -> dict[str, dict[int, float]]:
    """CPU seconds by process of each part and, on PostgreSQL, of the backends serving
    them (those of the benchmark's own connection left out); ``bench`` is this process
    (its client threads and queries: not counted in the pipeline's total)."""
    sample = {name: {pid: cpu_seconds(pid) for pid in descendants(roots)}
              for name, roots in parts.items()}
    sample["bench"] = {os.getpid(): time.process_time()}
    with session_factory() as db:
        if db.get_bind().dialect.name == "postgresql":
            backends = db.scalars(sa.text(
                "SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
                "AND application_name <> :bench"), {"bench": BENCH_APPLICATION}).all()
            sample["postgresql"] = {pid: cpu_seconds(pid) for pid in backends}
    return sample


def cpu_per_job(before: dict[str, dict[int, float]], after: dict[str, dict[int, float]],
                jobs: int) -> dict[str, float]:
    """Milliseconds of CPU per job by part, from two samples (processes alive at the end)."""
    return {name: sum(cpu - before[name].get(pid, 0.0) for pid, cpu in pids.items())
            * 1000 / jobs for name, pids in after.items()}


def wait_until(condition, what: str, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise SystemExit(f"timed out waiting for {what}")
        time.sleep(0.1)


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2):
            return True
    except OSError:
        return False


class Api:
    """A signed-in HTTP client (cookie session; same-origin fetch metadata for CSRF)."""

    def __init__(self, base: str):
        self.base = base
        self.opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))

    def post(self, path: str, body: dict, headers: dict[str, str] | None = None) -> dict:
        request = urllib.request.Request(
            self.base + path, data=json.dumps(body).encode(), method="POST",
            headers={"Content-Type": "application/json", "Sec-Fetch-Site": "same-origin",
                     **(headers or {})})
        try:
            with self.opener.open(request, timeout=30) as response:
                return json.load(response)
        except urllib.error.HTTPError as exc:
            raise SystemExit(f"POST {path}: {exc.code} {exc.read().decode()}") from None


def set_up(session_factory, api: Api, definition: dict) -> str:
    user = api.post("/api/auth/signup", {"email": f"bench-{uuid.uuid4().hex[:8]}@example.org",
                                         "password": PASSWORD})
    now = datetime.now(UTC)
    with session_factory() as db:
        user_id = uuid.UUID(user["id"])
        db.add(Subscription(user_id=user_id, plan=Plan.PRO, start_date=now))
        template = TemplateRecord(name="bench", definition=definition, owner_id=user_id)
        db.add(template)
        db.flush()
        db.add(TemplateVersion(template_id=template.id, number=1, definition=definition))
        db.commit()
        return str(template.id)


def submit(api: Api, template_id: str) -> tuple[str, float]:
    started = time.time()
    job = api.post("/api/generate", {"template_id": template_id, "answers": ANSWERS})
    return job["id"], started


def wait_done(session_factory, ids: list[str], timeout: float = 600.0,
              poll: float = 0.01) -> dict[str, float]:
    """Each job's ``finished_at`` (epoch seconds) once all are completed, looked at every
    ``poll`` seconds (the times are the worker's, however late they are seen)."""
    wanted = [uuid.UUID(i) for i in ids]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with session_factory() as db:
            rows = db.execute(sa.select(GenerationJob.id, GenerationJob.status,
                                        GenerationJob.finished_at, GenerationJob.error)
                              .where(GenerationJob.id.in_(wanted))).all()
        failed = [row for row in rows if row.status == JobStatus.FAILED]
        if failed:
            raise SystemExit(f"{len(failed)} jobs failed, e.g. {failed[0].error}")
        if sum(row.status == JobStatus.COMPLETED for row in rows) == len(wanted):
            return {str(row.id): row.finished_at.timestamp() for row in rows}
        time.sleep(poll)
    raise SystemExit("jobs did not complete in time")


def saturated(api: Api, session_factory, template_id: str, jobs: int,
              parts: dict[str, list[int]]) -> dict[str, float]:
    before = cpu_sample(session_factory, parts)
    with concurrent.futures.ThreadPoolExecutor(CLIENT_THREADS) as pool:
        submitted = list(pool.map(lambda _: submit(api, template_id), range(jobs)))
    # Looked at twice a second: the bench's own queries must not take the CPU it measures.
    finished = wait_done(session_factory, [job_id for job_id, _ in submitted], poll=0.5)
    cpu = cpu_per_job(before, cpu_sample(session_factory, parts), jobs)
    first = min(started for _, started in submitted)
    latencies = [finished[job_id] - started for job_id, started in submitted]
    return {"jobs_per_second": jobs / (max(finished.values()) - first), **percentiles(latencies),
            "cpu_ms": cpu}


def sequential(api: Api, session_factory, template_id: str, jobs: int) -> dict[str, float]:
    latencies = []
    for _ in range(jobs):
        job_id, started = submit(api, template_id)
        finished = wait_done(session_factory, [job_id])
        latencies.append(finished[job_id] - started)
    return percentiles(latencies)


def percentiles(latencies: list[float]) -> dict[str, float]:
    cuts = statistics.quantiles(latencies, n=20)
    return {"p50_ms": statistics.median(latencies) * 1000, "p95_ms": cuts[18] * 1000}


def bare_loop(definition: dict, jobs: int) -> dict[str, float]:
    launchpad = default_launchpad()
    template = launchpad.structure(definition)
    times, cpu = [], 0.0
    for index in range(jobs + 3):
        cpu_started = time.process_time()
        started = time.perf_counter()
        files = launchpad.render(template, launchpad.resolve_answers(template, ANSWERS))
        ZipSink(io.BytesIO()).write(files)
        times.append(time.perf_counter() - started)
        if index >= 3:  # the first renders compile the sources
            cpu += time.process_time() - cpu_started
    times = times[3:]
    return {"jobs_per_second": jobs / sum(times), **percentiles(times), "cpu_ms": cpu * 1000 / jobs}


@contextlib.contextmanager
def database(config: str, work: Path) -> Iterator[str | None]:
    """The URL the bench reads jobs through, and the one the service is given (None: the
    embedded default, SQLite in the data folder)."""
    if config == "sqlite":
        (work / "data").mkdir()
        yield None
        return
    with fresh_database(ADMIN_URL) as url:
        yield url


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--config", choices=("postgresql", "sqlite"), default="postgresql",
                        help="PostgreSQL + Redis + 2 workers, or the embedded SQLite default")
    parser.add_argument("--jobs", type=positive_int, default=200)
    parser.add_argument("--sequential", type=positive_int, default=40)
    args = parser.parse_args()
    definition = native_definition(200)
    with tempfile.TemporaryDirectory() as tmp, database(args.config, Path(tmp)) as url:
        work = Path(tmp)
        engine = make_engine(
            sa.make_url(url).update_query_dict({"application_name": BENCH_APPLICATION})
            .render_as_string(hide_password=False) if url
            else f"sqlite:///{work / 'data' / 'launchpad.sqlite3'}")
        upgrade(engine)
        session_factory = make_session_factory(engine)
        with processes(work, url) as (base, parts):
            api = Api(base)
            template_id = set_up(session_factory, api, definition)
            sequential(api, session_factory, template_id, 6)  # warm: caches, fork servers
            loaded = saturated(api, session_factory, template_id, args.jobs, parts)
            idle = sequential(api, session_factory, template_id, args.sequential)
        engine.dispose()
    bare = bare_loop(definition, args.jobs)
    ratio = loaded["jobs_per_second"] / bare["jobs_per_second"]
    shape = ("embedded: SQLite, one `launchpad serve`" if args.config == "sqlite"
             else "PostgreSQL + Redis, 2 workers x 2 threads")
    print(f"200-file template, {args.jobs} jobs, {shape}, {os.cpu_count()} CPUs")
    print(f"bare render+zip loop   {bare['jobs_per_second']:7.1f} jobs/s  "
          f"p50 {bare['p50_ms']:6.1f} ms  p95 {bare['p95_ms']:6.1f} ms")
    print(f"pipeline, saturated    {loaded['jobs_per_second']:7.1f} jobs/s  "
          f"p50 {loaded['p50_ms']:6.1f} ms  p95 {loaded['p95_ms']:6.1f} ms  "
          f"({ratio:.0%} of bare; target >= 75%)")
    print(f"pipeline, one at once  {'':13} p50 {idle['p50_ms']:6.1f} ms  "
          f"p95 {idle['p95_ms']:6.1f} ms  (target p50 < 250 ms)")
    cpu = loaded["cpu_ms"]
    bench = cpu.pop("bench")
    print(f"CPU per job: bare loop {bare['cpu_ms']:.1f} ms; bench client {bench:.1f} ms; "
          f"pipeline {sum(cpu.values()):.1f} ms "
          f"({', '.join(f'{name} {ms:.1f}' for name, ms in cpu.items())})")


if __name__ == "__main__":
    main()
