#!/usr/bin/env python3
"""Generation jobs through worker kill -9, queue loss and API restarts: none lost, none
run to completion twice.

``--config postgresql`` (the default) starts a fresh PostgreSQL database, a private
redis-server, ``launchpad serve --no-worker`` and two ``launchpad worker`` processes;
``--config sqlite`` the embedded default (``launchpad serve`` on SQLite with its own
consumer, Huey's SQLite queue) plus two ``launchpad worker`` processes on the same data
directory. Every service process is this checkout's code (``python -m
launchpad_core.cli``), in a process group of its own.

One user submits ``--jobs`` generation jobs of the benchmark template
(bench/make_templates.py) through the HTTP API at ``--rate`` jobs a second (a refused
connection, the API being down, is tried again; an answer lost mid-request is not: the
job may exist, and is counted from the database). Meanwhile, spread over the submission:

* a worker killed with SIGKILL (its whole group) while it holds the lease of a job on
  its first attempt, and started again; four times, the two workers in turn;
* the queue lost: a burst of 20 more jobs submitted at once, and as soon as the queue
  holds five messages, FLUSHDB of the private Redis, or the messages deleted from
  Huey's SQLite ``task`` table;
* the API killed with SIGKILL and started again (on SQLite with its embedded consumer).

Then it waits (``--timeout``) for every job of the user to finish, and prints: jobs
submitted (acknowledged) and in the database, completed, failed (by reason), lost (not
finished in time, or acknowledged and missing), duplicated (a job with more than one
``completed`` log step, ``job_completed`` notification or recorded project: the three
things only the lease holder's completion writes), jobs no answer named (a submission
whose answer the API's death cut off is sent again under its ``Idempotency-Key``, which
answers the job it made: goal 0), attempts beyond the first, archives
left beside the ones the jobs name (a killed worker's, removed by the sweep after two
leases), and per fault the time to recover: until every job it touched (held by the
killed worker; pending when the queue went; pending or held by the embedded consumer when
the API went) completed, and for the API until it answered again.

The lease (``--lease``, heartbeats every third of it) and the sweep interval
(``--sweep``) are shortened from the service's 30 s each, so that recovery takes seconds;
``LAUNCHPAD_JOB_MAX_ATTEMPTS`` keeps its default (3).

Usage: python bench/faults.py [--config postgresql|sqlite] [--jobs 200] [--rate 10]
       [--files 200] [--lease 5] [--sweep 2] [--timeout 300]
       (LAUNCHPAD_BENCH_DATABASE_URL: an admin URL, default the local ``test`` database)
"""

from __future__ import annotations

import argparse
import concurrent.futures
import contextlib
import os
import signal
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path

import attrs
import sqlalchemy as sa

from launchpad_web.db import make_engine, make_session_factory
from launchpad_web.jobs.models import Event, EventKind, GenerationJob, JobStatus
from launchpad_web.migrate import upgrade
from launchpad_web.projects.models import Project
from launchpad_web.templates.models import TemplateRecord

sys.path.insert(0, str(Path(__file__).parent))
from common import free_port, positive_int
from jobs import ANSWERS, BENCH_APPLICATION, Api, database, set_up, wait_until
from make_templates import native_definition

LAUNCHPAD = [sys.executable, "-m", "launchpad_core.cli"]
WORKER_KILLS = 4
BURST = 20  # jobs submitted at once just before the queue is lost
BACKLOG = 5  # messages the queue holds when it is lost
REDIS_QUEUE = "huey.redis.launchpad"  # Huey's list of the queue named "launchpad"
FINISHED = (JobStatus.COMPLETED, JobStatus.FAILED)


# -- the processes ----------------------------------------------------------------------
class Service:
    """The service's processes by name (``redis``, ``api``, ``worker-0``, ``worker-1``),
    each in a process group of its own so that a kill takes its children too."""

    def __init__(self, work: Path, database_url: str | None, *, lease: int, sweep: int):
        self.work = work
        self.api_port = free_port()
        self.redis_port = free_port() if database_url else None
        self.env = {**os.environ, "LAUNCHPAD_DATA_DIR": str(work / "data"),
                    "LAUNCHPAD_PORT": str(self.api_port),
                    "LAUNCHPAD_ENV": "development", "LAUNCHPAD_LOG_LEVEL": "WARNING",
                    "LAUNCHPAD_JOB_LEASE_SECONDS": str(lease),
                    "LAUNCHPAD_JOB_SWEEP_SECONDS": str(sweep),
                    "LAUNCHPAD_PLAN_LIMITS": ",".join(
                        f"{plan}.jobs_in_flight=unlimited" for plan in ("free", "pro", "team"))}
        for name in ("LAUNCHPAD_DATABASE_URL", "LAUNCHPAD_REDIS_URL",
                     "LAUNCHPAD_JOB_MAX_ATTEMPTS"):
            self.env.pop(name, None)
        self.commands = {"api": [*LAUNCHPAD, "serve"], "worker-0": [*LAUNCHPAD, "worker"],
                         "worker-1": [*LAUNCHPAD, "worker"]}
        if database_url:
            self.env["LAUNCHPAD_DATABASE_URL"] = database_url
            self.env["LAUNCHPAD_REDIS_URL"] = self.redis_url
            self.commands = {
                "redis": ["redis-server", "--port", str(self.redis_port), "--bind", "127.0.0.1",
                          "--save", "", "--appendonly", "no", "--dir", str(work)],
                **self.commands, "api": [*LAUNCHPAD, "serve", "--no-worker"]}
        self.processes: dict[str, subprocess.Popen] = {}

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.api_port}"

    @property
    def redis_url(self) -> str:
        return f"redis://127.0.0.1:{self.redis_port}/0"

    def start(self, name: str) -> None:
        with open(self.work / f"{name}.log", "ab") as log:
            self.processes[name] = subprocess.Popen(
                self.commands[name], env=self.env, stdout=log, stderr=subprocess.STDOUT,
                start_new_session=True)

    def start_all(self) -> None:
        for name in self.commands:
            self.start(name)
            time.sleep(0.3)
        wait_until(self.answers, "the API to answer", timeout=180)

    def kill(self, name: str) -> None:
        """SIGKILL to the process group of ``name``; returns once it is gone."""
        process = self.processes[name]
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(30)

    def pid(self, name: str) -> int:
        return self.processes[name].pid

    def answers(self) -> bool:
        try:
            with urllib.request.urlopen(f"{self.base}/api/health", timeout=2):
                return True
        except OSError:
            return False

    def stop(self) -> None:
        for process in reversed(self.processes.values()):
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGTERM)
        for name, process in self.processes.items():
            try:
                process.wait(15)
            except subprocess.TimeoutExpired:
                self.kill(name)


# -- the faults -------------------------------------------------------------------------
@attrs.define
class Fault:
    kind: str
    at: float  # epoch seconds
    touched: list[uuid.UUID]
    back_after: float | None = None  # the API: seconds until it answered again
    detail: str = ""


def pending(session_factory) -> list[uuid.UUID]:
    with session_factory() as db:
        return list(db.scalars(sa.select(GenerationJob.id).where(
            GenerationJob.status == JobStatus.PENDING)))


def held_by(session_factory, pid: int, *, first_attempts: bool = False) -> list[uuid.UUID]:
    """Jobs whose lease the process ``pid`` holds (``lease_owner`` is host/pid/token);
    with ``first_attempts``, none unless every one of them is on its first attempt."""
    with session_factory() as db:
        rows = db.execute(sa.select(GenerationJob.id, GenerationJob.lease_owner,
                                    GenerationJob.attempts).where(
            GenerationJob.status == JobStatus.PROCESSING)).all()
    held = [row for row in rows if row.lease_owner and row.lease_owner.split("/")[1] == str(pid)]
    if first_attempts and any(row.attempts > 1 for row in held):
        return []
    return [row.id for row in held]


def kill_worker(service: Service, session_factory, name: str) -> Fault:
    """Kill ``name`` once it holds leases of jobs on their first attempt (or after 10 s),
    then start it again. Jobs already retried are spared: a job interrupted
    ``LAUNCHPAD_JOB_MAX_ATTEMPTS`` (3) times fails by design, and with a short backlog a
    retried job is often running when the next kill comes, seconds later."""
    pid, deadline = service.pid(name), time.monotonic() + 10
    while not held_by(session_factory, pid, first_attempts=True):
        if time.monotonic() > deadline:
            break
        time.sleep(0.02)
    at = time.time()
    service.kill(name)
    service.start(name)
    # Read again once it is dead: the jobs it really held (one may have completed since).
    return Fault("worker kill -9", at, held_by(session_factory, pid), detail=name)


def queued(service: Service) -> int:
    """Messages waiting in the queue."""
    if service.redis_port:
        import redis

        with contextlib.closing(redis.Redis.from_url(service.redis_url)) as store:
            return store.llen(REDIS_QUEUE)
    with contextlib.closing(sqlite3.connect(service.work / "data" / "queue.sqlite3",
                                            timeout=30)) as queue:
        return queue.execute("SELECT count(*) FROM task").fetchone()[0]


def lose_queue(service: Service, session_factory, client: Client) -> Fault:
    """Every message waiting in the queue gone, right after a burst of :data:`BURST` jobs
    once it holds :data:`BACKLOG` (or after 10 s): FLUSHDB of the private Redis, or the
    rows of Huey's SQLite ``task`` table deleted."""
    client.burst(BURST)
    deadline = time.monotonic() + 10
    while queued(service) < BACKLOG and time.monotonic() < deadline:
        time.sleep(0.01)
    touched = pending(session_factory)
    at = time.time()
    if service.redis_port:
        import redis

        with contextlib.closing(redis.Redis.from_url(service.redis_url)) as store:
            lost = store.llen(REDIS_QUEUE)
            store.flushdb()
    else:
        with contextlib.closing(sqlite3.connect(service.work / "data" / "queue.sqlite3",
                                                timeout=30)) as queue, queue:
            lost = queue.execute("DELETE FROM task").rowcount
    return Fault("queue lost", at, touched, detail=f"{lost} messages")


def restart_api(service: Service, session_factory) -> Fault:
    pid, at = service.pid("api"), time.time()
    service.kill("api")
    touched = pending(session_factory) + held_by(session_factory, pid)
    service.start("api")
    wait_until(service.answers, "the API to answer again", timeout=180)
    return Fault("API kill -9", at, touched, back_after=time.time() - at)


def fault_plan(service: Service, session_factory, client: Client,
               ) -> list[Callable[[], Fault]]:
    """The faults in order: kills of the workers in turn, with the queue loss and the API
    restart between them."""
    def worker(index: int) -> Callable[[], Fault]:
        return lambda: kill_worker(service, session_factory, f"worker-{index % 2}")

    kills = [worker(i) for i in range(WORKER_KILLS)]
    return [kills[0], kills[1], lambda: lose_queue(service, session_factory, client), kills[2],
            lambda: restart_api(service, session_factory), kills[3]]


# -- the client -------------------------------------------------------------------------
class Client:
    """One user submitting jobs of one template; what came of the submissions."""

    def __init__(self, api: Api, template_id: str):
        self.api = api
        self.template_id = template_id
        self.lock = threading.Lock()
        self.acknowledged: list[str] = []
        self.refused = 0  # connection refused (API down), tried again
        self.unanswered = 0  # the answer was lost mid-request: sent again under its key
        self.paced_sent = 0  # of the paced submissions (the faults are spread over them)

    def submit(self) -> None:
        """One job under its own ``Idempotency-Key``: sent again under that key while the
        API refuses the connection or the answer is lost (the API stopped mid-request),
        so the job it made, if any, is the one answered."""
        key = {"Idempotency-Key": f"bench-{uuid.uuid4().hex}"}
        while True:
            try:
                job = self.api.post("/api/generate", {"template_id": self.template_id,
                                                      "answers": ANSWERS}, headers=key)
            except urllib.error.URLError as exc:
                with self.lock:
                    if isinstance(exc.reason, ConnectionRefusedError):
                        self.refused += 1
                    else:
                        self.unanswered += 1
                time.sleep(0.05)
            except OSError:
                with self.lock:
                    self.unanswered += 1
                time.sleep(0.05)
            else:
                with self.lock:
                    self.acknowledged.append(job["id"])
                return

    def paced(self, jobs: int, rate: float) -> None:
        started = time.monotonic()
        for index in range(jobs):
            time.sleep(max(0.0, started + index / rate - time.monotonic()))
            self.submit()
            self.paced_sent = index + 1

    def burst(self, jobs: int) -> None:
        """``jobs`` submitted by four threads as fast as they go."""
        with concurrent.futures.ThreadPoolExecutor(4) as pool:
            for _ in pool.map(lambda _: self.submit(), range(jobs)):
                pass


# -- the figures ------------------------------------------------------------------------
def wait_finished(session_factory, user_id: uuid.UUID, timeout: float) -> float:
    """Seconds until every job of the user finished (or the timeout passed)."""
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        with session_factory() as db:
            open_jobs = db.scalar(sa.select(sa.func.count()).select_from(GenerationJob).where(
                GenerationJob.user_id == user_id, GenerationJob.status.not_in(FINISHED)))
        if not open_jobs:
            break
        time.sleep(0.25)
    return time.monotonic() - started


def tally(session_factory, user_id: uuid.UUID, submitted: Client,
          artifact_dir: Path) -> dict:
    with session_factory() as db:
        jobs = db.execute(sa.select(GenerationJob).where(
            GenerationJob.user_id == user_id)).scalars().all()
        completions = Counter(db.scalars(sa.select(Event.job_id).where(
            Event.user_id == user_id, Event.kind == EventKind.JOB_COMPLETED)))
        projects = Counter(db.scalars(sa.select(Project.job_id).where(
            Project.job_id.in_([job.id for job in jobs]))))
    found = {str(job.id) for job in jobs}
    duplicated = [job.id for job in jobs if max(
        sum(step["step"] == "completed" for step in job.log),
        completions[job.id], projects[job.id]) > 1]
    named = {job.artifact_key for job in jobs if job.artifact_key}
    stored = {f"{folder.parent.name}/{folder.name}" for folder in artifact_dir.glob("*/*")
              if folder.parent.name in found}
    return {
        "jobs": jobs,
        "in_database": len(jobs),
        "completed": sum(job.status == JobStatus.COMPLETED for job in jobs),
        "failed": Counter(job.error for job in jobs if job.status == JobStatus.FAILED),
        "lost": [job.id for job in jobs if job.status not in FINISHED]
                + [job_id for job_id in submitted.acknowledged if job_id not in found],
        "duplicated": duplicated,
        "retries": sum(max(job.attempts - 1, 0) for job in jobs),
        # a job no answer named: its client cannot know it exists (goal 0)
        "unknown": len(found - set(submitted.acknowledged)),
        "stray_archives": len(stored - named),
    }


def recovery(fault: Fault, finished_at: dict[uuid.UUID, float | None]) -> float | None:
    """Seconds from the fault until the last job it touched completed (None: one never did)."""
    ends = [finished_at.get(job_id) for job_id in fault.touched]
    if any(end is None for end in ends):
        return None
    return max([end - fault.at for end in ends], default=0.0)


# -- the run ----------------------------------------------------------------------------
@contextlib.contextmanager
def running(config: str, work: Path, *, lease: int, sweep: int,
            ) -> Iterator[tuple[Service, Callable]]:
    with database(config, work) as url:
        engine = make_engine(
            sa.make_url(url).update_query_dict({"application_name": BENCH_APPLICATION})
            .render_as_string(hide_password=False) if url
            else f"sqlite:///{work / 'data' / 'launchpad.sqlite3'}")
        upgrade(engine)
        service = Service(work, url, lease=lease, sweep=sweep)
        try:
            service.start_all()
            yield service, make_session_factory(engine)
        finally:
            service.stop()
            engine.dispose()


def inject(plan: list[Callable[[], Fault]], jobs: int, client: Client,
           faults: list[Fault]) -> None:
    """The faults of ``plan`` in turn, spread evenly over the paced submissions."""
    for index, fault in enumerate(plan):
        due = round(jobs * (index + 1) / (len(plan) + 1))
        while client.paced_sent < due:
            time.sleep(0.02)
        faults.append(fault())


def run(args: argparse.Namespace, work: Path) -> None:
    with running(args.config, work, lease=args.lease, sweep=args.sweep) as (service, sessions):
        api = Api(service.base)
        client = Client(api, set_up(sessions, api, native_definition(args.files)))
        with sessions() as db:
            user_id = db.scalar(sa.select(TemplateRecord.owner_id).where(
                TemplateRecord.id == uuid.UUID(client.template_id)))
        faults: list[Fault] = []
        injector = threading.Thread(target=inject, args=(
            fault_plan(service, sessions, client), args.jobs, client, faults), daemon=True)
        started = time.time()
        injector.start()
        client.paced(args.jobs, args.rate)
        injector.join()
        last_fault = max(fault.at for fault in faults)
        waited = wait_finished(sessions, user_id, args.timeout)
        figures = tally(sessions, user_id, client, work / "data" / "artifacts")
    report(args, client, figures, faults=faults, started=started,
           last_fault=last_fault, waited=waited)


def report(args, submitted: Client, figures: dict, *, faults: list[Fault],
           started: float, last_fault: float, waited: float) -> None:
    finished_at = {job.id: job.finished_at.timestamp()
                   if job.status == JobStatus.COMPLETED else None for job in figures["jobs"]}
    ends = [end for end in finished_at.values() if end is not None]
    shape = ("embedded SQLite (serve with its consumer) + 2 workers" if args.config == "sqlite"
             else "PostgreSQL + Redis, serve --no-worker + 2 workers")
    print(f"{args.jobs} jobs at {args.rate:g}/s, {args.files}-file template, {shape}, "
          f"lease {args.lease} s, sweep {args.sweep} s, {os.cpu_count()} CPUs, "
          f"load average {os.getloadavg()[0]:.1f}")
    for fault in faults:
        took = recovery(fault, finished_at)
        extra = f", answering again after {fault.back_after:.1f} s" if fault.back_after else ""
        print(f"  {fault.at - started:6.1f} s  {fault.kind:15} {fault.detail:12} "
              f"{len(fault.touched):3} jobs touched, all completed "
              + (f"{took:.1f} s later" if took is not None else "NEVER") + extra)
    print(f"submitted (acknowledged) {len(submitted.acknowledged)}, refused while the API "
          f"was down {submitted.refused}, answers lost {submitted.unanswered} (both sent "
          "again under their Idempotency-Key)")
    print(f"in the database {figures['in_database']}, completed {figures['completed']}, "
          f"failed {sum(figures['failed'].values())}, lost {len(figures['lost'])}, "
          f"duplicated {len(figures['duplicated'])}, unknown to their client "
          f"{figures['unknown']} (goal: 0 lost, 0 duplicated, 0 unknown)")
    for reason, count in figures["failed"].most_common():
        print(f"  failed x{count}: {reason}")
    if figures["lost"] or figures["duplicated"]:
        print(f"  lost: {figures['lost'][:5]}  duplicated: {figures['duplicated'][:5]}")
    print(f"attempts beyond the first {figures['retries']}; archives no job names "
          f"{figures['stray_archives']}; all jobs finished "
          f"{(max(ends, default=last_fault) - last_fault):.1f} s after the last fault "
          f"(waited {waited:.1f} s of {args.timeout} s)")


def parser() -> argparse.ArgumentParser:
    options = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    options.add_argument("--config", choices=("postgresql", "sqlite"), default="postgresql",
                         help="PostgreSQL + Redis, or the embedded SQLite default")
    options.add_argument("--jobs", type=positive_int, default=200)
    options.add_argument("--rate", type=positive_int, default=10, help="jobs submitted a second")
    options.add_argument("--files", type=positive_int, default=200,
                         help="files of the benchmark template")
    options.add_argument("--lease", type=positive_int, default=5, help="seconds")
    options.add_argument("--sweep", type=positive_int, default=2, help="seconds")
    options.add_argument("--timeout", type=positive_int, default=300,
                         help="seconds to wait for every job after the last submission")
    return options


def main(argv: list[str] | None = None) -> None:
    """The bench with ``argv`` (else the command line's); ``bench/stress.py --faults``
    calls it too."""
    args = parser().parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        run(args, Path(tmp))


if __name__ == "__main__":
    main()
