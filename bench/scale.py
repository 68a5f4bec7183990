#!/usr/bin/env python3
"""The scaled-out service under a realistic mix, for minutes: throughput, latency,
errors and every process's memory.

Starts, all on loopback: a fresh PostgreSQL database, a private redis-server,
moto's S3 server with a new bucket, two ``launchpad serve --no-worker`` API
processes and three ``launchpad worker`` processes sharing nothing but the
database, Redis and the bucket (``LAUNCHPAD_ARTIFACT_BUCKET``: archives in S3,
downloads streamed through the API). Signs up ``--users`` people with API tokens,
each with a 20-file template, then runs ``--clients`` client threads for
``--duration`` seconds, each sending its requests to the two APIs in turn, a mix of:

* browse   GET /api/templates (45%), GET /api/templates/{id} (15%)
* preview  POST /api/templates/{id}/preview with answers (15%)
* generate POST /api/generate (10%), then poll GET /api/generate/{id} every 50 ms
           until completed and download the zip (GET .../download)
* poll     GET /api/generate/{id} of the client's latest job (15%)

and prints requests/s, p50/p95/p99 per kind, every non-2xx answer or connection
error (the goal is 0), and each process's resident memory (VmRSS) after the warm-up
and at the end (the goal: flat).

Usage: python bench/scale.py [--duration 180] [--clients 12] [--users 4] [--warmup 20]
       (LAUNCHPAD_BENCH_DATABASE_URL: an admin URL, default the local ``test`` database)
"""

from __future__ import annotations

import argparse
import collections
import contextlib
import http.client
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from common import free_port, fresh_database, positive_int
from make_templates import native_definition

ADMIN_URL = os.environ.get("LAUNCHPAD_BENCH_DATABASE_URL",
                           "postgresql+psycopg://postgres@127.0.0.1:5432/test")
PASSWORD = "correct horse battery staple"
ANSWERS = {"project_name": "Rocket Service", "author": "Ada Lovelace"}
MIX = [("list", 45), ("get", 15), ("preview", 15), ("generate", 10), ("poll", 15)]


# -- the processes ----------------------------------------------------------------------
@contextlib.contextmanager
def service(work: Path, database_url: str, apis: int, workers: int) -> Iterator[dict]:
    """redis-server, moto_server, the APIs and the workers; yields their ports and pids."""
    redis_port, s3_port = free_port(), free_port()
    api_ports = [free_port() for _ in range(apis)]
    bucket = f"lp-bench-{uuid.uuid4().hex[:8]}"
    env = {**os.environ, "LAUNCHPAD_DATABASE_URL": database_url,
           "LAUNCHPAD_REDIS_URL": f"redis://127.0.0.1:{redis_port}/0",
           "LAUNCHPAD_DATA_DIR": str(work / "data"), "LAUNCHPAD_LOG_LEVEL": "WARNING",
           "LAUNCHPAD_ENV": "development", "LAUNCHPAD_ARTIFACT_BUCKET": bucket,
           "LAUNCHPAD_S3_ENDPOINT_URL": f"http://127.0.0.1:{s3_port}",
           "LAUNCHPAD_S3_REGION": "us-east-1", "AWS_ACCESS_KEY_ID": "bench",
           "AWS_SECRET_ACCESS_KEY": "bench",
           "LAUNCHPAD_EVALUATIONS_PER_USER": "8"}
    started: dict[str, subprocess.Popen] = {}

    def start(name: str, command: list[str], **extra: str) -> None:
        with open(work / f"{name}.log", "wb") as log:
            started[name] = subprocess.Popen(command, env={**env, **extra}, stdout=log,
                                             stderr=subprocess.STDOUT)

    try:
        start("redis", ["redis-server", "--port", str(redis_port), "--bind", "127.0.0.1",
                        "--save", "", "--appendonly", "no", "--dir", str(work)])
        start("s3", ["moto_server", "-H", "127.0.0.1", "-p", str(s3_port)])
        wait_until(lambda: answers(s3_port, "/moto-api/data.json"), "moto_server")
        import boto3

        boto3.client("s3", endpoint_url=f"http://127.0.0.1:{s3_port}", region_name="us-east-1",
                     aws_access_key_id="bench", aws_secret_access_key="bench",
                     ).create_bucket(Bucket=bucket)
        for index, port in enumerate(api_ports):
            start(f"api-{index + 1}", ["launchpad", "serve", "--no-worker"],
                  LAUNCHPAD_PORT=str(port))
        for index in range(workers):
            start(f"worker-{index + 1}", ["launchpad", "worker"])
        for port in api_ports:
            wait_until(lambda port=port: answers(port, "/api/health"), f"the API on {port}")
        yield {"api_ports": api_ports, "processes": started}
    finally:
        for process in reversed(started.values()):
            process.terminate()
        for process in started.values():
            try:
                process.wait(15)
            except subprocess.TimeoutExpired:
                process.kill()


def wait_until(condition, what: str, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise SystemExit(f"timed out waiting for {what}")
        time.sleep(0.1)


def answers(port: int, path: str) -> bool:
    with contextlib.suppress(OSError):
        return call(port, "GET", path)[0] == 200
    return False


def rss_mib(pid: int) -> float:
    """The process's resident memory with its children (render children included)."""
    total = 0
    for task in [pid, *children(pid)]:
        with contextlib.suppress(OSError):
            for line in Path(f"/proc/{task}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
    return total / 1024


def children(pid: int) -> list[int]:
    with contextlib.suppress(OSError):
        found = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
        return [int(c) for c in found] + [g for c in found for g in children(int(c))]
    return []


# -- HTTP ----------------------------------------------------------------------------------
def call(port: int, method: str, path: str, body: object = None, *,
         headers: dict[str, str] | None = None,
         connection: http.client.HTTPConnection | None = None) -> tuple[int, dict, bytes]:
    own = connection is None
    connection = connection or http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        connection.request(method, path, json.dumps(body) if body is not None else None,
                           {"Content-Type": "application/json", **(headers or {})})
        response = connection.getresponse()
        data = response.read()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, data
    finally:
        if own:
            connection.close()


def person(port: int, definition: dict) -> tuple[str, str]:
    """A new user with an API token and a template: (token, template id)."""
    status, headers, body = call(port, "POST", "/api/auth/signup", {
        "email": f"bench-{uuid.uuid4().hex[:8]}@example.org", "password": PASSWORD})
    assert status == 201, body
    cookie = headers["set-cookie"].split(";")[0]
    status, _, body = call(port, "POST", "/api/tokens", {"name": "bench"},
                           headers={"Cookie": cookie, "X-CSRF-Token": headers["x-csrf-token"]})
    assert status == 201, body
    token = json.loads(body)["token"]
    status, _, body = call(port, "POST", "/api/templates",
                           {"name": "bench", "definition": definition},
                           headers={"Authorization": f"Bearer {token}"})
    assert status == 201, body
    return token, json.loads(body)["id"]


# -- the clients ---------------------------------------------------------------------------
class Client(threading.Thread):
    def __init__(self, ports: list[int], token: str, template_id: str, *, until: float,
                 record: collections.defaultdict, errors: list[str], seed: int):
        super().__init__(daemon=True)
        self.ports, self.template_id, self.until = ports, template_id, until
        self.headers = {"Authorization": f"Bearer {token}"}
        self.record, self.errors = record, errors
        self.random = random.Random(seed)
        self.connections = {p: http.client.HTTPConnection("127.0.0.1", p, timeout=60)
                            for p in ports}
        self.turn = seed
        self.last_job: str | None = None

    def request(self, kind: str, method: str, path: str, body: object = None) -> bytes | None:
        self.turn += 1
        port = self.ports[self.turn % len(self.ports)]
        started = time.perf_counter()
        try:
            status, _, data = call(port, method, path, body, headers=self.headers,
                                   connection=self.connections[port])
        except (OSError, http.client.HTTPException) as exc:
            self.errors.append(f"{kind} {path}: {exc!r}")
            self.connections[port].close()
            self.connections[port] = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
            return None
        self.record[kind].append(time.perf_counter() - started)
        if not 200 <= status < 300:
            self.errors.append(f"{kind} {path}: {status} {data[:200]!r}")
            return None
        return data

    def run(self) -> None:
        kinds, weights = zip(*MIX, strict=True)
        template = f"/api/templates/{self.template_id}"
        while time.monotonic() < self.until:
            kind = self.random.choices(kinds, weights)[0]
            if kind == "list":
                self.request(kind, "GET", "/api/templates")
            elif kind == "get":
                self.request(kind, "GET", template)
            elif kind == "preview":
                self.request(kind, "POST", f"{template}/preview", {"answers": ANSWERS})
            elif kind == "poll" and self.last_job:
                self.request(kind, "GET", f"/api/generate/{self.last_job}")
            elif kind == "generate":
                self.generate()

    def generate(self) -> None:
        data = self.request("generate", "POST", "/api/generate",
                            {"template_id": self.template_id, "answers": ANSWERS})
        if data is None:
            return
        job = json.loads(data)["id"]
        self.last_job = job
        started = time.perf_counter()
        while time.monotonic() < self.until + 60:
            polled = self.request("poll", "GET", f"/api/generate/{job}")
            if polled is None:
                return
            status = json.loads(polled)["status"]
            if status == "completed":
                break
            if status == "failed":
                self.errors.append(f"job {job} failed: {polled[:200]!r}")
                return
            time.sleep(0.05)
        self.record["job done"].append(time.perf_counter() - started)
        self.request("download", "GET", f"/api/generate/{job}/download?format=zip")


# -- the run -------------------------------------------------------------------------------
def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=positive_int, default=180)
    parser.add_argument("--warmup", type=positive_int, default=20)
    parser.add_argument("--clients", type=positive_int, default=12)
    parser.add_argument("--users", type=positive_int, default=4)
    parser.add_argument("--apis", type=positive_int, default=2)
    parser.add_argument("--workers", type=positive_int, default=3)
    args = parser.parse_args()
    definition = native_definition(20)
    with tempfile.TemporaryDirectory() as tmp, fresh_database(ADMIN_URL) as database_url:
        subprocess.run(["launchpad", "db", "upgrade"], check=True, capture_output=True,
                       env={**os.environ, "LAUNCHPAD_DATABASE_URL": database_url})
        with service(Path(tmp), database_url, args.apis, args.workers) as running:
            ports = running["api_ports"]
            people = [person(ports[n % len(ports)], definition) for n in range(args.users)]
            results = drive(args, ports, people, args.warmup)  # warm: caches, children
            memory_before = {n: rss_mib(p.pid) for n, p in running["processes"].items()}
            results = drive(args, ports, people, args.duration)
            memory_after = {n: rss_mib(p.pid) for n, p in running["processes"].items()}
    report(args, results, memory_before, memory_after)


def drive(args: argparse.Namespace, ports: list[int], people: list[tuple[str, str]],
          seconds: int) -> dict:
    record: collections.defaultdict = collections.defaultdict(list)
    errors: list[str] = []
    until = time.monotonic() + seconds
    clients = [Client(ports, *people[n % len(people)], until=until, record=record,
                      errors=errors, seed=n)
               for n in range(args.clients)]
    started = time.monotonic()
    for client in clients:
        client.start()
    for client in clients:
        client.join()
    return {"record": record, "errors": errors, "seconds": time.monotonic() - started}


def report(args: argparse.Namespace, results: dict, before: dict, after: dict) -> None:
    record, errors, seconds = results["record"], results["errors"], results["seconds"]
    requests = sum(len(v) for k, v in record.items() if k != "job done")
    print(f"{args.apis} APIs, {args.workers} workers, PostgreSQL, Redis, S3 (moto); "
          f"{args.clients} clients for {seconds:.0f} s; {os.cpu_count()} CPUs")
    print(f"{requests / seconds:.0f} requests/s in all, {len(errors)} errors")
    print(f"{'kind':<10} {'count':>7} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8}")
    for kind, times in sorted(record.items()):
        cuts = statistics.quantiles(times, n=100) if len(times) > 1 else times * 99
        print(f"{kind:<10} {len(times):>7} {statistics.median(times) * 1000:>8.1f} "
              f"{cuts[94] * 1000:>8.1f} {cuts[98] * 1000:>8.1f}")
    print("resident memory, MiB (with children): after warm-up -> end")
    for name, start in before.items():
        print(f"  {name:<10} {start:7.1f} -> {after[name]:7.1f}")
    for error in errors[:10]:
        print("error:", error)


if __name__ == "__main__":
    main()
