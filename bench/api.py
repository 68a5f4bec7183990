#!/usr/bin/env python3
"""API throughput: LaunchPad's endpoints next to a bare Falcon hello-world, both on waitress.

Creates a fresh PostgreSQL database (or uses ``--database-url``), migrates it,
starts ``launchpad``'s app and a one-route Falcon app in two server processes with
the same waitress settings, signs a user up and creates an API token over HTTP,
creates 20 templates, then measures each endpoint with ``wrk`` (``apt-get install -y wrk``):

* ``hello``      GET /hello on the bare Falcon app (the reference)
* ``templates``  GET /api/templates with ``Authorization: Bearer lp_...`` (the issue's
                 target), served by an API process without Redis (every list from
                 PostgreSQL) ...
* ``tpl+redis``  ... and by a second API process with ``LAUNCHPAD_REDIS_URL`` (the list
                 cache: after the first request each page is served from the process's
                 near tier, see launchpad_web/templates/process_pages.py)
* ``tpl-sqlite`` GET /api/templates served by a third API process on the embedded
                 default (SQLite in the data directory, no Redis)
* ``me``         GET /api/me with the token (token lookup, user, JSON)
* ``health``     GET /api/health (database and queue round trips, schema revision)

and prints requests/s, latency percentiles and each endpoint's ratio to hello
(the issue's target is at least 50%).

Usage: python bench/api.py [--duration 10] [--rounds 3] [--connections 16] [--threads 8]
                           [--admin-url postgresql+psycopg://postgres@127.0.0.1:5432/postgres]
                           [--database-url URL] [--redis-url redis://127.0.0.1:6379/7]
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import json
import logging
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from common import free_port, fresh_database, positive_int

ADMIN_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
PASSWORD = "bench password, long enough"
WRK_RATE = re.compile(r"Requests/sec:\s+([\d.]+)")
WRK_PERCENTILE = re.compile(r"^\s+(50|90|99)%\s+([\d.]+)(us|ms|s)\s*$", re.MULTILINE)
WRK_ERRORS = re.compile(r"Non-2xx or 3xx responses: (\d+)")
UNIT_MS = {"us": 0.001, "ms": 1.0, "s": 1000.0}


# -- the two servers (run as subprocesses of this script) ---------------------------
def hello_app():
    import falcon

    class Hello:
        def on_get(self, req, resp):
            resp.media = {"message": "hello"}

    app = falcon.App()
    app.add_route("/hello", Hello())
    return app


def launchpad_app(threads: int):
    from launchpad_web.db import make_engine, make_session_factory
    from launchpad_web.logs import configure_logging
    from launchpad_web.migrate import require_current
    from launchpad_web.settings import WebSettings
    from launchpad_worker.compose import service_app

    settings = WebSettings.from_env()
    configure_logging(settings.log_level)  # as `launchpad serve`: one JSON line per request
    engine = make_engine(settings.database_url, pool_size=threads)
    require_current(engine)
    return service_app(settings, session_factory=make_session_factory(engine))


def serve(which: str, port: int, threads: int) -> None:
    import waitress

    app = hello_app() if which == "hello" else launchpad_app(threads)
    logging.getLogger("waitress.queue").setLevel(logging.ERROR)
    waitress.serve(app, host="127.0.0.1", port=port, threads=threads,
                   max_request_body_size=4 * 1024 * 1024, ident="launchpad")


# -- the driver -------------------------------------------------------------------------
def call(port: int, method: str, path: str, body: dict | None = None,
         headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], object]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    all_headers = {"Content-Type": "application/json", **(headers or {})}
    connection.request(method, path, json.dumps(body) if body is not None else None, all_headers)
    response = connection.getresponse()
    data = response.read()
    connection.close()
    headers = {name.lower(): value for name, value in response.getheaders()}
    return response.status, headers, json.loads(data) if data else None


def wait_until_up(port: int, path: str, server: subprocess.Popen) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if server.poll() is not None:
            sys.exit(f"server on {port} exited with {server.returncode}")
        with contextlib.suppress(OSError):
            if call(port, "GET", path)[0] == 200:
                return
        time.sleep(0.1)
    sys.exit(f"server on {port} did not answer {path} within 30 s")


@contextlib.contextmanager
def started(which: str, port: int, threads: int, env: dict[str, str]) -> Iterator[None]:
    server = subprocess.Popen(
        [sys.executable, __file__, "serve", which, "--port", str(port), "--threads", str(threads)],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_until_up(port, "/hello" if which == "hello" else "/api/health", server)
        yield
    finally:
        server.terminate()
        server.wait(timeout=10)


def create_templates(port: int, token: str, count: int) -> None:
    for n in range(count):
        definition = {
            "name": f"bench-{n}",
            "variables": [{"name": "project", "default": "demo"}],
            "files": [{"path": "{{ project }}/README.md", "content": "# {{ project }}\n"}],
        }
        status, _, body = call(port, "POST", "/api/templates",
                               {"name": f"bench {n:02d}", "definition": definition},
                               {"Authorization": f"Bearer {token}"})
        assert status == 201, (status, body)


def api_token(port: int) -> str:
    """Sign a user up (as a script) and create a token with the session's CSRF token."""
    status, headers, _ = call(port, "POST", "/api/auth/signup",
                              {"email": "bench@example.org", "password": PASSWORD})
    assert status == 201, status
    cookie = headers["set-cookie"].split(";")[0]
    status, _, body = call(port, "POST", "/api/tokens", {"name": "bench"},
                           {"Cookie": cookie, "X-CSRF-Token": headers["x-csrf-token"]})
    assert status == 201, (status, body)
    return body["token"]


def wrk(url: str, args: argparse.Namespace, headers: dict[str, str], seconds: int) -> dict:
    cmd = ["wrk", "-t2", f"-c{args.connections}", f"-d{seconds}s", "--latency"]
    for name, value in headers.items():
        cmd += ["-H", f"{name}: {value}"]
    out = subprocess.run([*cmd, url], check=True, capture_output=True, text=True).stdout
    errors = WRK_ERRORS.search(out)
    if errors:
        sys.exit(f"{url}: {errors.group(1)} responses were not 2xx\n{out}")
    latency = {f"p{p}": float(v) * UNIT_MS[unit] for p, v, unit in WRK_PERCENTILE.findall(out)}
    return {"rps": float(WRK_RATE.search(out).group(1)), **latency}


def median_run(runs: list[dict]) -> dict:
    """The run with the median requests/s (its latencies with it)."""
    return sorted(runs, key=lambda r: r["rps"])[len(runs) // 2]


def measure(args: argparse.Namespace, database_url: str) -> dict[str, dict]:
    from launchpad_web.db import make_engine
    from launchpad_web.migrate import upgrade

    engine = make_engine(database_url)
    upgrade(engine)
    engine.dispose()
    data_dir = Path(tempfile.mkdtemp(prefix="lp_bench_"))
    env = {k: v for k, v in os.environ.items() if not k.startswith("LAUNCHPAD_")}
    env.update(LAUNCHPAD_DATABASE_URL=database_url, LAUNCHPAD_DATA_DIR=str(data_dir),
               LAUNCHPAD_THREADS=str(args.threads),
               LAUNCHPAD_PLAN_LIMITS="free.templates=unlimited")
    cached_env = {**env, "LAUNCHPAD_REDIS_URL": args.redis_url}
    sqlite_url = f"sqlite:///{data_dir / 'embedded.db'}"
    engine = make_engine(sqlite_url)
    upgrade(engine)
    engine.dispose()
    sqlite_env = {**env, "LAUNCHPAD_DATABASE_URL": sqlite_url}
    hello_port, api_port, cached_port = free_port(), free_port(), free_port()
    sqlite_port = free_port()
    try:
        with started("hello", hello_port, args.threads, env), \
                started("launchpad", api_port, args.threads, env), \
                started("launchpad", cached_port, args.threads, cached_env), \
                started("launchpad", sqlite_port, args.threads, sqlite_env):
            token = api_token(api_port)
            create_templates(api_port, token, 20)
            bearer = {"Authorization": f"Bearer {token}"}
            sqlite_token = api_token(sqlite_port)
            create_templates(sqlite_port, sqlite_token, 20)
            targets = {
                "hello": (f"http://127.0.0.1:{hello_port}/hello", {}),
                "templates": (f"http://127.0.0.1:{api_port}/api/templates", bearer),
                "tpl+redis": (f"http://127.0.0.1:{cached_port}/api/templates", bearer),
                "tpl-sqlite": (f"http://127.0.0.1:{sqlite_port}/api/templates",
                               {"Authorization": f"Bearer {sqlite_token}"}),
                "me": (f"http://127.0.0.1:{api_port}/api/me", bearer),
                "health": (f"http://127.0.0.1:{api_port}/api/health", {}),
            }
            for url, headers in targets.values():
                wrk(url, args, headers, 1)  # warm up: connections, caches, JIT-less paths
            runs: dict[str, list[dict]] = {name: [] for name in targets}
            for _ in range(args.rounds):  # interleaved: a disturbance hits every endpoint
                for name, (url, headers) in targets.items():
                    runs[name].append(wrk(url, args, headers, args.duration))
            return {name: median_run(r) for name, r in runs.items()}
    finally:
        shutil.rmtree(data_dir, ignore_errors=True)


def report(results: dict[str, dict], args: argparse.Namespace) -> None:
    print(f"wrk -t2 -c{args.connections} -d{args.duration}s, median of {args.rounds} interleaved "
          f"rounds; waitress threads={args.threads}; {os.cpu_count()} CPUs")
    print(f"{'endpoint':<10} {'req/s':>9} {'p50 ms':>8} {'p99 ms':>8} {'vs hello':>9}")
    hello = results["hello"]["rps"]
    for name, r in results.items():
        print(f"{name:<10} {r['rps']:>9.0f} {r.get('p50', 0):>8.2f} {r.get('p99', 0):>8.2f} "
              f"{r['rps'] / hello:>8.0%}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command")
    server = sub.add_parser("serve")
    server.add_argument("which", choices=["hello", "launchpad"])
    server.add_argument("--port", type=int, required=True)
    server.add_argument("--threads", type=int, required=True)
    parser.add_argument("--duration", type=positive_int, default=10, help="seconds per wrk run")
    parser.add_argument("--rounds", type=positive_int, default=3,
                        help="runs per endpoint, interleaved; the median is reported")
    parser.add_argument("--connections", type=positive_int, default=16)
    parser.add_argument("--threads", type=positive_int, default=8)
    parser.add_argument("--admin-url", default=ADMIN_URL)
    parser.add_argument("--database-url")
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/7",
                        help="Redis for the cached API process (its list cache)")
    args = parser.parse_args()
    if args.command == "serve":
        serve(args.which, args.port, args.threads)
        return
    if shutil.which("wrk") is None:
        sys.exit("wrk is missing: apt-get install -y wrk")
    if args.database_url:
        results = measure(args, args.database_url)
    else:
        with fresh_database(args.admin_url) as url:
            results = measure(args, url)
    report(results, args)


if __name__ == "__main__":
    main()
