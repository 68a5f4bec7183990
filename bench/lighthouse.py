#!/usr/bin/env python3
"""Lighthouse on the landing page, the dashboard and the builder, with the JavaScript
each ships, against the issue's budgets.

Starts ``launchpad serve`` on the embedded default (SQLite in a temporary data
directory) on a free loopback port, signs a user up, adds 20 templates, then runs
Lighthouse (npm ``lighthouse@12.2.3``, through ``npx``; it runs on Node 20) with
Debian's Chromium on each page, signed in through the session cookie for the
dashboard and the builder. Prints performance, accessibility and best practices
(goal: each at least 95) and the JavaScript transferred, compressed as served
(goal: at most 150 KB on the builder, 30 KB elsewhere), then the dashboard's server
time over HTTP with 20 templates (goal: p50 under 20 ms; bench/pages.py measures it
in-process).

Usage: python bench/lighthouse.py [--chromium /usr/bin/chromium] [--form-factor mobile|desktop]
       [--keep DIR] (DIR: the Lighthouse JSON and HTML reports are kept there)
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from common import free_port

LIGHTHOUSE = "lighthouse@12.2.3"
PASSWORD = "correct horse battery staple"
CATEGORIES = ("performance", "accessibility", "best-practices")
BUDGET_KB = {"landing": 30, "dashboard": 30, "builder": 150, "api docs": 30}
GOAL_SCORE = 95


@contextlib.contextmanager
def served(work: Path) -> Iterator[int]:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("LAUNCHPAD_")}
    env.update(LAUNCHPAD_DATA_DIR=str(work / "data"), LAUNCHPAD_PORT=str(port),
               LAUNCHPAD_LOG_LEVEL="WARNING")
    subprocess.run(["launchpad", "db", "upgrade"], env=env, check=True, capture_output=True)
    with open(work / "serve.log", "wb") as log:
        server = subprocess.Popen(["launchpad", "serve"], env=env, stdout=log,
                                  stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 60
        while not _answers(port):
            if server.poll() is not None or time.monotonic() > deadline:
                sys.exit(f"launchpad serve did not start:\n{(work / 'serve.log').read_text()}")
            time.sleep(0.2)
        yield port
    finally:
        server.terminate()
        server.wait(15)


def _answers(port: int) -> bool:
    with contextlib.suppress(OSError):
        return call(port, "GET", "/api/health")[0] == 200
    return False


def call(port: int, method: str, path: str, body: object = None, *,
         headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], bytes]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        connection.request(method, path, json.dumps(body) if body is not None else None,
                           {"Content-Type": "application/json", **(headers or {})})
        response = connection.getresponse()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()
    finally:
        connection.close()


def signed_in_with_templates(port: int, count: int) -> tuple[str, str]:
    """A new user's session cookie and the id of one of its ``count`` templates."""
    status, headers, body = call(port, "POST", "/api/auth/signup", {
        "email": f"bench-{uuid.uuid4().hex[:8]}@example.org", "password": PASSWORD})
    assert status == 201, body
    cookie = headers["set-cookie"].split(";")[0]
    auth = {"Cookie": cookie, "X-CSRF-Token": headers["x-csrf-token"],
            "Sec-Fetch-Site": "same-origin"}
    template_id = ""
    for number in range(count):
        definition = {
            "name": f"service-{number}",
            "variables": [{"name": "project_name", "default": "rocket", "help": "Name"},
                          {"name": "license", "choices": ["MIT", "Apache-2.0"]}],
            "files": [{"path": "{{ project_name }}/README.md",
                       "content": "# {{ project_name }}\n\nLicensed {{ license }}.\n"},
                      {"path": "{{ project_name }}/setup.cfg", "content": "[metadata]\n"}],
        }
        status, _, body = call(port, "POST", "/api/templates",
                               {"name": f"Service {number:02}", "definition": definition},
                               headers=auth)
        assert status == 201, body
        template_id = json.loads(body)["id"]
    return cookie, template_id


def lighthouse(url: str, cookie: str | None, args: argparse.Namespace, out: Path) -> dict:
    command = [
        "npx", "--yes", LIGHTHOUSE, url, "--quiet", "--output=json", "--output=html",
        f"--output-path={out}", f"--chrome-path={args.chromium}",
        "--chrome-flags=--headless=new --no-sandbox --disable-gpu",
        f"--only-categories={','.join(CATEGORIES)}",
    ]
    if args.form_factor == "desktop":
        command.append("--preset=desktop")
    if cookie:
        command.append(f"--extra-headers={json.dumps({'Cookie': cookie})}")
    for _attempt in range(3):  # Lighthouse 12.2.3 on Chromium 156 sometimes loses the trace
        ran = subprocess.run(command, check=False, capture_output=True, text=True)
        if ran.returncode == 0:
            break
    else:
        sys.exit(f"lighthouse failed three times on {url}:\n{ran.stderr[-2000:]}")
    report = json.loads(out.with_suffix(".report.json").read_text())
    scores = {c: round(report["categories"][c]["score"] * 100) for c in CATEGORIES}
    scripts = [item for item in report["audits"]["network-requests"]["details"]["items"]
               if item.get("resourceType") == "Script"]
    return {**scores, "js_kb": sum(i.get("transferSize", 0) for i in scripts) / 1000,
            "scripts": [i["url"].rsplit("/", 1)[-1] for i in scripts]}


def server_time(port: int, cookie: str, requests: int = 200) -> tuple[float, float]:
    times = []
    for _ in range(requests + 20):
        started = time.perf_counter()
        status, _, _ = call(port, "GET", "/dashboard", headers={"Cookie": cookie})
        times.append((time.perf_counter() - started) * 1000)
        assert status == 200, status
    times = sorted(times[20:])
    return statistics.median(times), times[int(len(times) * 0.95) - 1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--chromium", default="/usr/bin/chromium")
    parser.add_argument("--form-factor", choices=["mobile", "desktop"], default="mobile")
    parser.add_argument("--keep", type=Path, help="keep the Lighthouse reports in this folder")
    args = parser.parse_args()
    if not Path(args.chromium).exists() or shutil.which("npx") is None:
        sys.exit("needs Chromium (apt-get install -y chromium) and Node's npx")
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        reports = args.keep or work / "reports"
        reports.mkdir(parents=True, exist_ok=True)
        with served(work) as port:
            cookie, template_id = signed_in_with_templates(port, 20)
            base = f"http://127.0.0.1:{port}"
            pages = {"landing": (f"{base}/", None),
                     "dashboard": (f"{base}/dashboard", cookie),
                     "builder": (f"{base}/templates/{template_id}/edit", cookie),
                     "api docs": (f"{base}/docs/api", None)}
            results = {name: lighthouse(url, who, args, reports / name.replace(" ", "-"))
                       for name, (url, who) in pages.items()}
            p50, p95 = server_time(port, cookie)
    print(f"Lighthouse {LIGHTHOUSE.split('@')[1]}, {args.form_factor}, Chromium "
          f"{args.chromium}; goals: scores >= {GOAL_SCORE}, JS within budget")
    print(f"{'page':<10} {'perf':>5} {'a11y':>5} {'best':>5} {'JS KB':>7} {'budget':>7}  "
          "met  scripts")
    for name, r in results.items():
        met = (r["js_kb"] <= BUDGET_KB[name]
               and all(r[c] >= GOAL_SCORE for c in CATEGORIES))
        print(f"{name:<10} {r['performance']:>5} {r['accessibility']:>5} "
              f"{r['best-practices']:>5} {r['js_kb']:>7.1f} {BUDGET_KB[name]:>7}  "
              f"{'yes' if met else 'NO ':<4} {' '.join(r['scripts']) or '-'}")
    print(f"GET /dashboard over HTTP, 20 templates: p50 {p50:.1f} ms, p95 {p95:.1f} ms "
          f"(goal p50 < 20 ms)")


if __name__ == "__main__":
    main()
