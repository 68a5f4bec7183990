#!/usr/bin/env python3
"""A hostile user against a running service, and what another user sees meanwhile.

Starts ``launchpad serve`` (embedded SQLite, Huey on SQLite and a worker in the
same process, a fresh data directory; or ``--database-url`` / ``--redis-url``),
signs up an attacker and a bystander, then, for ``--seconds``, at once:

* the attacker, from one address and four accounts, sends every hostile case below
  (templates that loop, allocate, backtrack, chain 20,000 defaults, try to leave the
  sandbox or the destination; request bodies a JSON parser or a database chokes on)
  through saving, previewing and generating, and a fifth account of theirs (five:
  the sign-ups one address may make an hour) keeps ten slow previews going;
* the bystander, from another address, lists templates, reads its account, previews a
  small template;
* a probe calls ``/api/health``.

The bench is the service's trusted proxy (``LAUNCHPAD_TRUSTED_PROXY``): each client
sends its own address in ``X-Forwarded-For``, as a load balancer would.

Prints: hostile requests sent, answers by status, 5xx (goal 0), escapes (goal
0: a sandbox escape marker in any answer or archive, a file outside the
destination), the API's RSS before and after (flat), and p50/p99/errors of the
bystander and of the health probe (goal p99 < 200 ms, 0 errors).

With ``--faults``, then runs bench/faults.py (generation jobs through worker kill -9,
queue loss and API kill -9; lost and duplicated jobs, time to recover) on the same kind
of database: PostgreSQL + Redis with ``--database-url``, else the embedded SQLite.

Usage: python bench/stress.py [--seconds 30] [--database-url URL] [--redis-url URL]
                              [--attackers 0-4] [--faults]
"""

from __future__ import annotations

import argparse
import concurrent.futures
import contextlib
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))
from common import free_port, positive_int

PASSWORD = "bench password, long enough"
ATTACKERS = 4  # accounts of the attacker's, each sending a slice of the cases
ATTACKER, BYSTANDER, PROBE = "198.51.100.66", "203.0.113.7", "203.0.113.200"  # (RFC 5737)
LOOPS = "{% for a in range(100000) %}{% for b in range(100000) %}{% endfor %}{% endfor %}"
RANGE_BOMB = "{% for a in range(100000) %}{% for b in range(100000) %}x{% endfor %}{% endfor %}"
ESCAPE_MARKERS = ("uid=", "root:x:0:0", "<class 'subprocess.Popen'>", "SECRET_KEY")
ESCAPES = [
    "{{ ''.__class__.__mro__[1].__subclasses__() }}",
    "{{ cycler.__init__.__globals__.os.popen('id').read() }}",
    "{{ lipsum.__globals__['os'].popen('id').read() }}",
    "{{ joiner.__init__.__globals__['os'].environ }}",
    "{{ self._TemplateReference__context }}",
    "{{ namespace.__init__.__globals__['sys'].modules['os'].popen('id').read() }}",
    "{{ ().__class__.__base__.__subclasses__() }}",
    "{% set x = [].__class__ %}{{ x.__base__.__subclasses__() }}",
    "{{ range.__self__ }}",
    "{{ ''|attr('__class__')|attr('__mro__') }}",
    "{% include '/etc/passwd' %}",
    "{% import '../../../../etc/passwd' as p %}",
]
PATHS = ["../outside.txt", "/tmp/lp-stress-outside.txt", "{{ '../' * 8 }}etc/x", "a/../../b",
         "..\\\\x", "C:/x", "con.txt", "x\u0000y"]


def definition(name: str, *, files: list | None = None, variables: list | None = None) -> dict:
    return {"name": name, "variables": variables or [],
            "files": files or [{"path": "a.txt", "content": "x"}]}


def hostile_templates() -> list[tuple[str, dict, dict]]:
    """(case, definition, answers) to save, preview and generate."""
    cases = [
        ("loops in a file", definition("loops", files=[{"path": "a", "content": LOOPS}]), {}),
        ("range bomb output", definition("bomb", files=[{"path": "a", "content": RANGE_BOMB}]),
         {}),
        ("loops in a default", definition("d", variables=[{"name": "v", "default": LOOPS}]), {}),
        ("loops in a validator", definition("v", variables=[
            {"name": "v", "default": "x", "validator": LOOPS}]), {}),
        ("loops in when", definition("w", variables=[
            {"name": "v", "default": "x", "when": LOOPS}]), {}),
        ("backtracking pattern", definition("p", variables=[
            {"name": "v", "pattern": "(a+)+$"}]), {"v": "a" * 40 + "!"}),
        ("backtracking regex filter", definition("r", files=[{"path": "a", "content":
            "{{ '" + "a" * 40 + "!' | regex_search('(a+)+$') }}"}]), {}),
        ("comment prefix bomb", definition("c", variables=[{"name": "v", "default":
            "{{ 'x' | comment(prefix='y' * 100, prefix_count=10**7) }}"}]), {}),
        ("extend(range)", definition("e", files=[{"path": "a", "content":
            "{% set l = [] %}{% for i in range(1000) %}{{ l.extend(range(100000)) }}"
            "{% endfor %}{{ l | length }}"}]), {}),
        ("memory bomb", definition("m", variables=[
            {"name": "v", "default": "{{ 'x' * 10**9 }}"}]), {}),
        ("20,000 chained defaults", definition("chain", variables=[
            {"name": "v0", "default": "x"},
            *({"name": f"v{i}", "default": f"{{{{ v{i - 1} }}}}"} for i in range(1, 20000))]),
         {}),
        ("random folded once", definition("rnd", files=[{"path": "a", "content":
            "{{ range(10**6) | random }}"}]), {}),
    ]
    cases += [(f"escape {i}", definition(f"x{i}", files=[{"path": "a", "content": text}]), {})
              for i, text in enumerate(ESCAPES)]
    cases += [(f"path {i}", definition(f"p{i}", files=[{"path": path, "content": "x"}]), {})
              for i, path in enumerate(PATHS)]
    return cases


def hostile_bodies() -> list[tuple[str, str, str, bytes, dict]]:
    """(case, method, path, raw body, headers) that a JSON parser or database chokes on."""
    deep = b"[" * 100_000 + b"]" * 100_000
    return [
        ("deep JSON", "POST", "/api/templates", b'{"name": "x", "definition": ' + deep + b"}", {}),
        ("huge integer", "POST", "/api/templates",
         b'{"name": "x", "definition": {"name": "x", "files": [], "n": ' + b"9" * 5000 + b"}}",
         {}),
        ("lone surrogate", "POST", "/api/templates",
         b'{"name": "x", "definition": {"name": "x", "variables": [{"name": "v", "help": '
         b'"\\ud800"}], "files": []}}', {}),
        ("NaN", "POST", "/api/templates",
         b'{"name": "x", "definition": {"name": "x", "files": [], "n": NaN}}', {}),
        ("NUL", "POST", "/api/templates",
         b'{"name": "x\\u0000", "definition": {"name": "x", "files": []}}', {}),
        ("version 2^31", "POST", "/api/generate",
         b'{"template_id": "00000000-0000-0000-0000-000000000000", "version": 2147483648, '
         b'"answers": {}}', {}),
    ]


# -- HTTP ----------------------------------------------------------------------------------
class Client:
    """One client of the service; ``address`` is the one it comes from (the service
    trusts the bench as its proxy, so ``X-Forwarded-For`` says it)."""

    def __init__(self, base: str, address: str = BYSTANDER):
        self.base = base
        self.address = address
        self.cookie: str | None = None

    def request(self, method: str, path: str, body: Any = None, *, raw: bytes | None = None,
                headers: dict | None = None, timeout: float = 120) -> tuple[int, Any]:
        sent = {"Content-Type": "application/json", "Sec-Fetch-Site": "same-origin",
                "X-Forwarded-For": self.address, **(headers or {})}
        if self.cookie:
            sent["Cookie"] = self.cookie
        data = raw if raw is not None else (json.dumps(body).encode() if body is not None
                                             else None)
        request = urllib.request.Request(self.base + path, data=data, method=method,
                                         headers=sent)
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:
                if response.headers.get("Set-Cookie"):
                    self.cookie = response.headers["Set-Cookie"].split(";")[0]
                return response.status, _json(response.read())
        except urllib.error.HTTPError as exc:
            return exc.code, _json(exc.read())
        except (OSError, urllib.error.URLError) as exc:
            return 599, {"error": str(exc)}

    def signup(self) -> None:
        email = f"{os.urandom(5).hex()}@example.org"
        status, body = self.request("POST", "/api/auth/signup",
                                    {"email": email, "password": PASSWORD})
        assert status == 201, body


def _json(data: bytes) -> Any:
    try:
        return json.loads(data or b"null")
    except ValueError:
        return data.decode("utf-8", "replace")


# -- the service ----------------------------------------------------------------------------
@contextlib.contextmanager
def service(args: argparse.Namespace) -> Iterator[tuple[str, int, Path]]:
    with tempfile.TemporaryDirectory(prefix="lp-stress-") as tmp:
        port = free_port()
        env = {**os.environ, "LAUNCHPAD_DATA_DIR": tmp, "LAUNCHPAD_PORT": str(port),
               "LAUNCHPAD_ENV": "development", "LAUNCHPAD_LOG_LEVEL": "WARNING",
               # the bench is the service's proxy: each client says its own address
               # (the attacker's five accounts are the five sign-ups an address may make)
               "LAUNCHPAD_TRUSTED_PROXY": "127.0.0.1",
               "LAUNCHPAD_PLAN_LIMITS": "free.templates=unlimited,"
                                        "free.generations=unlimited"}
        if args.database_url:
            env["LAUNCHPAD_DATABASE_URL"] = args.database_url
        if args.redis_url:
            env["LAUNCHPAD_REDIS_URL"] = args.redis_url
        launchpad = str(Path(sys.executable).with_name("launchpad"))
        subprocess.run([launchpad, "db", "upgrade"], env=env, check=True,
                       stdout=subprocess.DEVNULL)
        server = subprocess.Popen([launchpad, "serve"], env=env, stderr=subprocess.DEVNULL)
        base = f"http://127.0.0.1:{port}"
        try:
            for _ in range(300):
                if Client(base).request("GET", "/api/health", timeout=2)[0] == 200:
                    break
                time.sleep(0.1)
            yield base, server.pid, Path(tmp)
        finally:
            server.terminate()
            server.wait(30)


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


# -- the runs ----------------------------------------------------------------------------
class Tally:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.statuses: Counter[int] = Counter()
        self.escapes: list[str] = []
        self.failed: Counter[str] = Counter()
        self.sent = 0

    def record(self, case: str, status: int, body: Any) -> None:
        text = json.dumps(body) if not isinstance(body, str) else body
        with self.lock:
            self.sent += 1
            self.statuses[status] += 1
            if status >= 500 and status != 503:
                self.failed[case] += 1
            if any(marker in text for marker in ESCAPE_MARKERS):
                self.escapes.append(case)


def attack(client: Client, share: int, of: int, tally: Tally, stop: threading.Event) -> None:
    """The ``share``-th of ``of`` slices of the hostile cases, again and again."""
    while not stop.is_set():
        for case, method, path, raw, headers in hostile_bodies()[share::of]:
            tally.record(case, *client.request(method, path, raw=raw, headers=headers))
        for case, body_definition, answers in hostile_templates()[share::of]:
            if stop.is_set():
                return
            status, body = client.request("POST", "/api/templates", {
                "name": body_definition["name"], "definition": body_definition})
            tally.record(case, status, body)
            if status != 201:
                continue
            template_id = body["id"]
            status, body = client.request("POST", f"/api/templates/{template_id}/preview",
                                          {"answers": answers})
            tally.record(case, status, body)
            status, body = client.request("POST", "/api/generate",
                                          {"template_id": template_id, "answers": answers})
            tally.record(case, status, body)


def slow_previews(client: Client, template_id: str, tally: Tally, stop: threading.Event) -> None:
    while not stop.is_set():
        status, body = client.request("POST", f"/api/templates/{template_id}/preview",
                                      {"answers": {}})
        tally.record("slow preview", status, body)
        if status == 429:
            time.sleep(0.2)


def timed(call: Callable[[], tuple[int, Any]], stop: threading.Event,
          pause: float) -> tuple[list[float], int]:
    latencies, errors = [], 0
    while not stop.is_set():
        started = time.perf_counter()
        status, _ = call()
        latencies.append((time.perf_counter() - started) * 1000)
        errors += status >= 400
        time.sleep(pause)
    return latencies, errors


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    return statistics.quantiles(values, n=100, method="inclusive")[q - 1] if len(values) > 1 \
        else values[0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=positive_int, default=30)
    parser.add_argument("--database-url")
    parser.add_argument("--redis-url")
    parser.add_argument("--attackers", type=int, choices=range(ATTACKERS + 1), default=ATTACKERS,
                        help="accounts sending the hostile cases (0: only the ten slow "
                             "previews of one account)")
    parser.add_argument("--faults", action="store_true",
                        help="then bench/faults.py (worker kill -9, queue loss, API kill -9) "
                             "on the same kind of database, a fresh one")
    args = parser.parse_args()

    with service(args) as (base, pid, data_dir):
        attackers = [Client(base, ATTACKER) for _ in range(args.attackers)]
        slow_account, bystander = Client(base, ATTACKER), Client(base, BYSTANDER)
        for client in (*attackers, slow_account, bystander):
            client.signup()
        _status, body = slow_account.request("POST", "/api/templates", {
            "name": "slow", "definition": definition("slow", files=[
                {"path": "a", "content": LOOPS}])})
        slow_id = body["id"]
        _status, body = bystander.request("POST", "/api/templates", {
            "name": "small", "definition": definition("small", variables=[
                {"name": "who", "default": "{{ 'x' | upper }}"}], files=[
                {"path": "{{ who }}.txt", "content": "{{ who }}"}])})
        small_id = body["id"]
        for _ in range(20):  # warm: the first requests pay for imports and forks
            bystander.request("GET", "/api/templates")
            bystander.request("POST", f"/api/templates/{small_id}/preview", {"answers": {}})
        rss_before = rss_mib(pid)

        tally, stop = Tally(), threading.Event()
        with concurrent.futures.ThreadPoolExecutor(24) as pool:
            running = [pool.submit(attack, client, index, len(attackers), tally, stop)
                       for index, client in enumerate(attackers)]
            for _ in range(10):  # ten slow previews of the attacker's at once
                slow = Client(base, ATTACKER)
                slow.cookie = slow_account.cookie
                running.append(pool.submit(slow_previews, slow, slow_id, tally, stop))
            reads = pool.submit(timed, lambda: bystander.request("GET", "/api/templates"),
                                stop, 0.02)
            previews = pool.submit(timed, lambda: bystander.request(
                "POST", f"/api/templates/{small_id}/preview", {"answers": {}}), stop, 0.05)
            health = pool.submit(timed, lambda: Client(base, PROBE).request("GET", "/api/health"),
                                 stop, 0.05)
            time.sleep(args.seconds)
            stop.set()
            read_latency, read_errors = reads.result()
            preview_latency, preview_errors = previews.result()
            health_latency, health_errors = health.result()
            for future in running:
                future.result()
        time.sleep(2)
        rss_after = rss_mib(pid)
        outside = [p for p in (Path("/tmp/lp-stress-outside.txt"), data_dir.parent / "outside.txt")
                   if p.exists()]

    database = "PostgreSQL" if args.database_url else "SQLite"
    print(f"configuration: {database}{' + Redis' if args.redis_url else ''}, "
          f"{args.seconds} s of attack")
    print(f"hostile requests: {tally.sent}  answers: "
          + ", ".join(f"{s}: {n}" for s, n in sorted(tally.statuses.items())))
    print(f"5xx answers: {sum(n for s, n in tally.statuses.items() if s >= 500 and s != 503)}"
          f" (+ {tally.statuses.get(503, 0)} x 503 evaluators_busy with Retry-After)")
    if tally.failed:
        print("  5xx by case: " + ", ".join(f"{c}: {n}" for c, n in tally.failed.items()))
    print(f"escapes: {len(tally.escapes) + len(outside)} {tally.escapes + outside}")
    print(f"API RSS: {rss_before:.0f} MiB before, {rss_after:.0f} MiB after")
    for name, latencies, errors in (
        ("bystander GET /api/templates", read_latency, read_errors),
        ("bystander preview", preview_latency, preview_errors),
        ("GET /api/health", health_latency, health_errors),
    ):
        print(f"{name:30} n={len(latencies):5}  p50 {percentile(latencies, 50):7.1f} ms  "
              f"p99 {percentile(latencies, 99):7.1f} ms  errors {errors}")
    if args.faults:
        import faults

        print("faults:", flush=True)
        faults.main(["--config", "postgresql" if args.database_url else "sqlite"])


if __name__ == "__main__":
    main()
