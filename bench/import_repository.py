#!/usr/bin/env python3
"""Time from "import from a repository" to a saved template, for the 200-file benchmark
Copier template in a private repository, beside the floor: ``git clone --depth 1`` of
the same repository.

Runs the hosted service in this process on a fresh SQLite database with a real Huey
consumer (SQLite queue, worker threads) and the stand-in forge of the tests on
loopback (Authlib's OAuth server, repositories served by ``git http-backend``). A
person signs up and links GitHub (a token from the stand-in's OAuth flow, stored
encrypted); the Copier template of bench/make_templates.py is pushed to a private
repository and tagged 1.0.0. Each run is timed from the client's
``POST /api/templates/imports`` to the import job read back as completed (polled every
20 ms); the worker's own split (refs listed and commit fetched; imported in an
evaluator child and saved) is taken from the job's log. Each clone is timed from
``git clone --depth 1`` started to ended, with the same token (in git's environment).

Usage: python bench/import_repository.py [--runs 10] [--files 200]
"""

from __future__ import annotations

import argparse
import base64
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).parent))

from common import positive_int  # noqa: E402
from make_templates import write_copier  # noqa: E402
from publish import POLL_SECONDS, prepared_person, service, wait  # noqa: E402

from launchpad_worker.queue import running_consumer  # noqa: E402
from tests.web.forge_standin import StandinForge, running  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=positive_int, default=10)
    parser.add_argument("--files", type=positive_int, default=200)
    options = parser.parse_args()
    forge = StandinForge()
    with tempfile.TemporaryDirectory(prefix="lp-bench-import-") as folder, running(forge):
        client, session_factory, queue = service(Path(folder), forge)
        with running_consumer(queue, enabled=True):
            login, token = prepared_person(client, session_factory, forge, queue)
            files = {
                p.relative_to(root).as_posix(): p.read_text()
                for root in [write_copier(Path(folder) / "tpl", options.files)]
                for p in root.rglob("*")
                if p.is_file()
            }
            forge.add_repository(login, "starter", files, private=True, tag="1.0.0")
            imports = [import_once(client, login) for _ in range(options.runs)]
            clones = [
                clone_once(forge, login, token, Path(folder) / f"clone-{n}")
                for n in range(options.runs)
            ]
    report(imports, clones, options)


def import_once(client, login: str) -> tuple[float, float, float]:
    started = time.perf_counter()
    answer = client.post("/api/templates/imports", json={"source": f"gh:{login}/starter"})
    assert answer.status_code == 202, answer.text
    done = wait(client, answer.headers["location"])
    total = time.perf_counter() - started
    assert done["status"] == "completed" and done["version"] == 1, done
    at = {step["step"]: datetime.fromisoformat(step["at"]) for step in done["log"]}
    return (
        total,
        (at["importing"] - at["started"]).total_seconds(),
        (at["saved"] - at["importing"]).total_seconds(),
    )


def clone_once(forge: StandinForge, login: str, token: str, dest: Path) -> float:
    header = "Authorization: Basic " + base64.b64encode(f"x:{token}".encode()).decode()
    started = time.perf_counter()
    subprocess.run(
        ["git", "clone", "-q", "--depth", "1", f"{forge.url}/{login}/starter.git", str(dest)],
        check=True,
        capture_output=True,
        env={
            "GIT_CONFIG_COUNT": "1",
            "GIT_CONFIG_KEY_0": "http.extraHeader",
            "GIT_CONFIG_VALUE_0": header,
            "PATH": "/usr/bin:/bin",
        },
    )
    return time.perf_counter() - started


def report(
    imports: list[tuple[float, float, float]], clones: list[float], options: argparse.Namespace
) -> None:
    total = statistics.median(t for t, _, _ in imports)
    clone = statistics.median(clones)
    print(
        f"import from a repository, {options.files}-file Copier template, {options.runs} "
        f"runs (private stand-in GitHub on loopback, SQLite, Huey consumer threads, "
        f"polled every {POLL_SECONDS * 1000:.0f} ms):"
    )
    print(
        f"  LaunchPad import   median {total * 1000:.0f} ms "
        f"(min {min(t for t, _, _ in imports) * 1000:.0f}, "
        f"max {max(t for t, _, _ in imports) * 1000:.0f})"
    )
    print(
        f"  git clone --depth 1 median {clone * 1000:.0f} ms  -> import/clone {total / clone:.1f}x"
    )
    fetch = statistics.median(f for _, f, _ in imports) * 1000
    save = statistics.median(s for _, _, s in imports) * 1000
    print(
        f"  worker: refs listed and commit fetched in {fetch:.0f} ms, imported in a child "
        f"and saved in {save:.0f} ms (medians)"
    )


if __name__ == "__main__":
    main()
