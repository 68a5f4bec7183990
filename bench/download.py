#!/usr/bin/env python3
"""What a download costs the API process: its memory growth and the time, per format.

Starts ``launchpad serve --no-worker`` (SQLite in a temporary data directory) as
a subprocess, signs up through the HTTP API and stores a completed job of
``--mib`` MiB of incompressible files (so each archive is about that size),
written the way a render child writes it (``launchpad_worker.render.write_archives``
of the zip alone into the storage's staging folder, then ``save``). Then downloads
the tar.gz (the first time made from the zip) and the zip ``--rounds`` times each
over HTTP, reading 1 MiB at a time, and prints for
each the time and the growth of the server's resident memory: its peak during
the download (``VmHWM``, reset through ``/proc/PID/clear_refs`` before each one)
less its size before.

``--zip-only`` stores the job as jobs were stored before both formats were kept
(a zip alone): this code answers its tar.gz with 409, while older code rebuilt
the tar.gz from the zip on every request; with ``--serve-path`` set to an older
checkout's ``src`` folders (PYTHONPATH syntax), that is what gets measured.

Usage: python bench/download.py [--mib 200] [--files 20] [--rounds 2]
       [--zip-only --serve-path /old/src:/old/plugins/.../src]
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import http.cookiejar
import json
import os
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path

from launchpad_core import RenderedFile
from launchpad_core.render.archives import ZipSink
from launchpad_web.db import make_engine, make_session_factory
from launchpad_web.jobs.archives import FORMATS
from launchpad_web.jobs.models import GenerationJob, JobStatus
from launchpad_web.jobs.storage import LocalArtifactStorage, artifact_key
from launchpad_web.migrate import upgrade
from launchpad_web.templates.models import TemplateRecord
from launchpad_worker.render import write_archives

sys.path.insert(0, str(Path(__file__).parent))
from common import free_port, positive_int

MIB = 1024 * 1024
PASSWORD = "correct horse battery staple"
SERVE = "import sys; from launchpad_core.cli.main import main; sys.exit(main())"


@contextlib.contextmanager
def server(data_dir: Path, serve_path: str | None) -> Iterator[tuple[str, int]]:
    """``launchpad serve --no-worker`` on a free port; its base URL and pid."""
    port = free_port()
    env = {**os.environ, "LAUNCHPAD_DATA_DIR": str(data_dir), "LAUNCHPAD_PORT": str(port),
           "LAUNCHPAD_ENV": "development", "LAUNCHPAD_LOG_LEVEL": "WARNING"}
    env.pop("LAUNCHPAD_DATABASE_URL", None)
    if serve_path:
        env["PYTHONPATH"] = serve_path
    with open(data_dir / "serve.log", "wb") as log:
        process = subprocess.Popen([sys.executable, "-c", SERVE, "serve", "--no-worker"],
                                   env=env, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while not _answers(f"{base}/api/health"):
            if time.monotonic() > deadline or process.poll() is not None:
                raise SystemExit(f"launchpad serve did not start; see {data_dir / 'serve.log'}")
            time.sleep(0.1)
        yield base, process.pid
    finally:
        process.terminate()
        process.wait(20)


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2):
            return True
    except OSError:
        return False


def sign_up(base: str) -> tuple[urllib.request.OpenerDirector, uuid.UUID]:
    opener = urllib.request.build_opener(
        urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))
    body = {"email": f"bench-{uuid.uuid4().hex[:8]}@example.org", "password": PASSWORD}
    request = urllib.request.Request(
        f"{base}/api/auth/signup", data=json.dumps(body).encode(), method="POST",
        headers={"Content-Type": "application/json", "Sec-Fetch-Site": "same-origin"})
    with opener.open(request, timeout=30) as response:
        return opener, uuid.UUID(json.load(response)["id"])


def project(mib: int, count: int) -> list[RenderedFile]:
    """``count`` files of random bytes, ``mib`` MiB in all: archives as large as the files."""
    size = mib * MIB // count
    return [RenderedFile(f"project/data/part-{n:03d}.bin", os.urandom(size))
            for n in range(count)]


def store_job(data_dir: Path, user_id: uuid.UUID, files: list[RenderedFile],
              zip_only: bool) -> uuid.UUID:
    """A completed job of ``user_id`` whose artifact holds ``files``."""
    session_factory = make_session_factory(make_engine(
        f"sqlite:///{data_dir / 'launchpad.sqlite3'}"))
    storage = LocalArtifactStorage(data_dir / "artifacts")
    job_id, token = uuid.uuid4(), uuid.uuid4().hex[:16]
    if zip_only:
        key = f"{artifact_key(job_id, token)}.zip"
        (storage.root / key).parent.mkdir(parents=True)
        ZipSink(storage.root / key).write(files)
        size, digest = _size_and_sha256(storage.root / key)
    else:
        key = artifact_key(job_id, token)
        with storage.staging() as staging:
            targets = {FORMATS[0]: staging / f"artifact.{FORMATS[0]}"}  # a render's: the zip
            write_archives(files, {fmt: str(path) for fmt, path in targets.items()})
            stored = storage.save(key, targets)
        size, digest = stored.size, stored.sha256
    with session_factory() as db:
        template = TemplateRecord(name="bench", definition={"name": "bench", "files": []},
                                  owner_id=user_id)
        db.add(template)
        db.flush()
        db.add(GenerationJob(id=job_id, user_id=user_id, template_id=template.id,
                             template_version=1, status=JobStatus.COMPLETED, answers={}, log=[],
                             artifact_key=key, artifact_size=size, artifact_sha256=digest))
        db.commit()
    return job_id


def _size_and_sha256(path: Path) -> tuple[int, str]:
    with open(path, "rb") as stream:
        return path.stat().st_size, hashlib.file_digest(stream, "sha256").hexdigest()


def memory(pid: int) -> dict[str, int]:
    """VmRSS and VmHWM of ``pid``, in bytes."""
    fields = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        name, _, value = line.partition(":")
        if name in ("VmRSS", "VmHWM"):
            fields[name] = int(value.split()[0]) * 1024
    return fields


def download(opener: urllib.request.OpenerDirector, url: str, pid: int) -> dict[str, float]:
    Path(f"/proc/{pid}/clear_refs").write_text("5")  # the peak starts again from now
    before = memory(pid)["VmRSS"]
    started = time.perf_counter()
    received = 0
    try:
        with opener.open(url, timeout=600) as response:
            length = int(response.headers["Content-Length"] or -1)
            while chunk := response.read(MIB):
                received += len(chunk)
    except urllib.error.HTTPError as exc:
        return {"status": exc.code, "code": json.load(exc).get("code")}
    seconds = time.perf_counter() - started
    return {"status": 200, "seconds": seconds, "mib": received / MIB, "length_ok": length in
            (-1, received), "growth_mib": (memory(pid)["VmHWM"] - before) / MIB}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--mib", type=positive_int, default=200, help="project size (200)")
    parser.add_argument("--files", type=positive_int, default=20, help="files in it (20)")
    parser.add_argument("--rounds", type=positive_int, default=2, help="downloads per format")
    parser.add_argument("--zip-only", action="store_true",
                        help="store the job as before both formats were kept")
    parser.add_argument("--serve-path", help="PYTHONPATH of the served code (default: ours)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        data_dir = Path(tmp)
        upgrade(make_engine(f"sqlite:///{data_dir / 'launchpad.sqlite3'}"))
        with server(data_dir, args.serve_path) as (base, pid):
            opener, user_id = sign_up(base)
            started = time.perf_counter()
            job_id = store_job(data_dir, user_id, project(args.mib, args.files), args.zip_only)
            stored = time.perf_counter() - started
            url = f"{base}/api/generate/{job_id}/download"
            opener.open(f"{base}/api/generate/{job_id}", timeout=30).read()  # warm the route
            print(f"job of {args.mib} MiB in {args.files} random files, stored "
                  f"{'as a zip alone (before)' if args.zip_only else 'as a zip'} in "
                  f"{stored:.1f} s; server RSS {memory(pid)['VmRSS'] / MIB:.0f} MiB")
            for fmt in reversed(FORMATS):
                for _ in range(args.rounds):
                    print(f"{fmt:7} {_describe(download(opener, f'{url}?format={fmt}', pid))}")


def _describe(result: dict[str, float]) -> str:
    if result["status"] != 200:
        return f"HTTP {result['status']} {result['code']}"
    check = "" if result["length_ok"] else "  CONTENT-LENGTH MISMATCH"
    return (f"{result['mib']:7.1f} MiB in {result['seconds']:5.2f} s  "
            f"server RSS growth {result['growth_mib']:+7.1f} MiB{check}")


if __name__ == "__main__":
    main()
