"""What the benchmark scripts share: a free loopback port, a throw-away database,
a positive count for their options, and how a tool's process is started (its console
script, from compiled bytecode)."""

from __future__ import annotations

import argparse
import contextlib
import http.client
import json
import os
import shutil
import subprocess
import sys
import sysconfig
import tempfile
from collections.abc import Iterator
from pathlib import Path

from launchpad_core.testing import free_port

__all__ = ["compile_bytecode", "default_workdir", "free_port", "fresh_database", "http_call",
           "positive_int", "tool", "tool_env", "work_folder"]

PROJECT = Path(__file__).resolve().parent.parent


@contextlib.contextmanager
def fresh_database(admin_url: str) -> Iterator[str]:
    """A new PostgreSQL database next to ``admin_url``'s, dropped afterwards; its URL."""
    from launchpad_web.testing import fresh_postgresql_database

    with fresh_postgresql_database(admin_url, prefix="lp_bench") as url:
        yield url.render_as_string(hide_password=False)


def positive_int(text: str) -> int:
    """An argparse type: a whole number of at least 1."""
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number of at least 1")
    return value


def http_call(port: int, method: str, path: str, body: object = None, *,
              headers: dict[str, str] | None = None,
              connection: http.client.HTTPConnection | None = None,
              ) -> tuple[int, dict[str, str], bytes]:
    """One request to ``127.0.0.1:port`` (``body`` sent as JSON): status, headers (lower
    case) and the body's bytes. On ``connection`` when given (kept open), else a new one."""
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


def tool(name: str) -> str:
    """The console script installed beside this Python, not a version manager's shim.

    A pyenv shim is a bash script that costs 50 to 90 ms per call here; it would
    add the same constant to every tool and blur the ratios.
    """
    script = Path(sysconfig.get_path("scripts")) / name
    return str(script) if script.exists() else (shutil.which(name) or name)


def tool_env() -> dict[str, str]:
    """This environment without PYTHONDONTWRITEBYTECODE, which sessions here may set:
    every tool runs from compiled bytecode, as a pip install leaves it (see
    :func:`compile_bytecode`)."""
    return {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}


def compile_bytecode(checkout: Path) -> None:
    """Write the .pyc files of a LaunchPad checkout (its ``src`` and ``plugins``), as pip
    did for Copier's and Cookiecutter's: an editable install under PYTHONDONTWRITEBYTECODE
    would otherwise compile LaunchPad's own modules from source on every run (50 ms)."""
    subprocess.run(
        [sys.executable, "-m", "compileall", "-q", str(checkout / "src"),
         str(checkout / "plugins")],
        check=True, stdout=subprocess.DEVNULL,
    )


def default_workdir() -> Path:
    """Where the renders of a timing go: ``/dev/shm/launchpad-bench`` (tmpfs) where it
    exists, else ``bench/.work``. Creating a file on these sandboxes' disk costs 0.02 to
    0.8 ms, at random: at a few hundred files, more than a whole LaunchPad render."""
    shm = Path("/dev/shm")
    return shm / "launchpad-bench" if shm.is_dir() else PROJECT / "bench" / ".work"


@contextlib.contextmanager
def work_folder(workdir: Path, prefix: str) -> Iterator[Path]:
    """A new folder in ``workdir``, removed afterwards (and ``workdir`` if left empty)."""
    workdir.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=prefix, dir=workdir))
    try:
        yield work
    finally:
        shutil.rmtree(work)
        with contextlib.suppress(OSError):
            workdir.rmdir()  # only if nothing else is left in it
