"""The render daemon: real ``launchpad`` processes talking to a real daemon process."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import sysconfig
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from launchpad_core.cli import daemon

EXAMPLE = Path(__file__).parents[2] / "examples" / "hello"
SCRIPT = Path(sysconfig.get_path("scripts")) / "launchpad"

pytestmark = pytest.mark.skipif(not hasattr(os, "fork"), reason="the daemon forks")


@pytest.fixture
def home() -> Iterator[Path]:
    """A short folder: a Unix socket's path has at most 107 bytes."""
    folder = Path(tempfile.mkdtemp(prefix="lpd", dir="/tmp"))
    yield folder
    daemon.stop(folder / "cache")
    shutil.rmtree(folder, ignore_errors=True)


def env_for(home: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LAUNCHPAD_")}
    return {**env, "LAUNCHPAD_CACHE_DIR": str(home / "cache"), **extra}


def launchpad(home: Path, *args: str, env: dict[str, str] | None = None,
              **options: object) -> subprocess.CompletedProcess:
    return subprocess.run([str(SCRIPT), *args], env=env or env_for(home), capture_output=True,
                          text=True, timeout=60, cwd=home, check=False, **options)


@pytest.fixture
def running(home: Path) -> Path:
    started = launchpad(home, "daemon", "start")
    assert started.returncode == 0, started.stderr
    assert "daemon started" in started.stdout
    return home


def ran_here(result: subprocess.CompletedProcess) -> bool:
    """Whether the command's own process imported the CLI (with -X importtime on)."""
    return "launchpad_core.cli.main" in result.stderr


def test_a_forwarded_render_writes_what_a_local_one_writes(running):
    traced = env_for(running, PYTHONPROFILEIMPORTTIME="1")
    there = launchpad(running, "render", str(EXAMPLE), "there", "--defaults", env=traced)
    assert there.returncode == 0, there.stderr
    assert there.stdout == "Wrote 5 files to there.\n"  # through the caller's stdout
    assert not ran_here(there)
    local = env_for(running, LAUNCHPAD_NO_DAEMON="1", PYTHONPROFILEIMPORTTIME="1")
    here = launchpad(running, "render", str(EXAMPLE), "here", "--defaults", env=local)
    assert here.returncode == 0 and ran_here(here)
    assert tree(running / "there") == tree(running / "here")


def tree(root: Path) -> dict[str, tuple[bytes, int]]:
    return {str(p.relative_to(root)): (p.read_bytes(), p.stat().st_mode)
            for p in sorted(root.rglob("*")) if p.is_file()}


def test_errors_and_exit_statuses_come_back(running):
    missing = launchpad(running, "render", "nowhere", "out", "--defaults")
    assert missing.returncode == 1
    assert missing.stderr.strip() == "launchpad: error: not found: nowhere"
    usage = launchpad(running, "render", "--defaults")
    assert usage.returncode == 2 and "required: source, dest" in usage.stderr
    listed = launchpad(running, "validate", str(EXAMPLE))
    assert (listed.returncode, listed.stdout) == (0, f"{EXAMPLE}: valid (5 variables, 4 files)\n")


def test_the_caller_s_directory_environment_and_umask_apply(running):
    answers = running / "answers.json"
    answers.write_text(json.dumps({"project_name": "Rocket"}))
    result = launchpad(running, "render", str(EXAMPLE), "rocket", "--defaults",
                       "--answers-file", "answers.json", preexec_fn=lambda: os.umask(0o027))
    assert result.returncode == 0, result.stderr
    readme = running / "rocket" / "README.md"
    assert "Rocket" in readme.read_text()
    assert readme.stat().st_mode & 0o777 == 0o640


def test_code_the_daemon_does_not_share_runs_here_and_stops_it(running):
    other_code = env_for(running, PYTHONPATH=str(running), PYTHONPROFILEIMPORTTIME="1")
    result = launchpad(running, "render", str(EXAMPLE), "out", "--defaults", env=other_code)
    assert result.returncode == 0 and ran_here(result)
    assert daemon.status(running / "cache") is None


def test_a_render_that_may_ask_is_not_forwarded(monkeypatch):
    monkeypatch.setattr(sys.stdin, "isatty", lambda: True, raising=False)
    assert not daemon._forwardable(["render", "src", "dest"])
    assert daemon._forwardable(["render", "src", "dest", "--defaults"])
    monkeypatch.setattr(sys.stdin, "isatty", lambda: False, raising=False)
    assert daemon._forwardable(["render", "src", "dest"])
    assert not daemon._forwardable(["daemon", "stop"])
    assert not daemon._forwardable([])


def test_ctrl_c_reaches_the_render_in_the_daemon(running):
    slow = running / "slow.json"
    slow.write_text(json.dumps({"name": "slow", "files": [{
        "path": "out.txt",
        "content": "{% for a in range(20000) %}{% for b in range(20000) %}{% endfor %}{% endfor %}",
    }]}))
    caller = subprocess.Popen([str(SCRIPT), "render", str(slow), "out", "--defaults"],
                              env=env_for(running), cwd=running, stderr=subprocess.PIPE,
                              text=True)
    time.sleep(1.5)
    caller.send_signal(signal.SIGINT)
    assert caller.wait(timeout=20) == 130
    assert "launchpad: interrupted" in caller.stderr.read()
    caller.stderr.close()
    assert not (running / "out").exists()
    assert daemon.status(running / "cache") is not None  # only the child was interrupted


def test_status_stop_and_a_second_start(running):
    pid = daemon.status(running / "cache")
    status = launchpad(running, "daemon", "status")
    assert status.stdout == f"LaunchPad daemon running (pid {pid}).\n"
    again = launchpad(running, "daemon", "start")
    assert again.returncode == 0
    assert again.stdout == f"LaunchPad daemon already running (pid {pid}).\n"
    assert launchpad(running, "daemon", "stop").stdout == "LaunchPad daemon stopped.\n"
    assert launchpad(running, "daemon", "status").stdout == "No daemon runs.\n"
    assert not daemon.socket_path(running / "cache").exists()


def test_an_idle_daemon_exits(home):
    assert launchpad(home, "daemon", "start", "--idle-timeout", "0.5").returncode == 0
    time.sleep(2)  # asking for the status is a command too: ask once, after the timeout
    assert daemon.status(home / "cache") is None
    assert not daemon.socket_path(home / "cache").exists()


def test_a_shared_socket_folder_is_refused(home):
    folder = daemon.socket_path(home / "cache").parent
    folder.mkdir(parents=True, mode=0o755)
    folder.chmod(0o755)
    result = launchpad(home, "daemon", "start")
    assert result.returncode == 1
    assert result.stderr.strip() == (
        f"launchpad: error: {folder} must belong to you and be private (mode 0700)")


def test_the_caller_s_time_zone_applies(running):
    """Cookiecutter's ``{% now 'local' %}`` shows the caller's TZ, not the daemon's."""
    template = running / "cc"
    (template / "{{cookiecutter.slug}}").mkdir(parents=True)
    (template / "cookiecutter.json").write_text(json.dumps({"slug": "out"}))
    (template / "{{cookiecutter.slug}}" / "tz.txt").write_text("{% now 'local', '%z' %}")
    for zone, offset in (("UTC0", "+0000"), ("JST-9", "+0900"), ("EST5", "-0500")):
        result = launchpad(running, "render", str(template), zone, "--defaults",
                           env=env_for(running, TZ=zone, PYTHONPROFILEIMPORTTIME="1"))
        assert result.returncode == 0 and not ran_here(result), result.stderr
        assert (running / zone / "out" / "tz.txt").read_text() == offset


IMPOSTOR = """
import os, socket, sys
sock = socket.socket(socket.AF_UNIX)
sock.bind(sys.argv[1])
os.chmod(sys.argv[1], 0o777)
os.setuid(65534)  # listen as nobody: the credentials a peer sees
sock.listen(1)
print("ready", flush=True)
sock.settimeout(10)
connection, _ = sock.accept()
connection.settimeout(2)
try:
    print(len(connection.recv(65536)))
except TimeoutError:
    print(0)
"""


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to listen as another user")
def test_a_socket_another_user_listens_on_is_told_nothing(home):
    path = daemon.socket_path(home / "cache")
    path.parent.mkdir(parents=True, mode=0o700)
    impostor = subprocess.Popen([sys.executable, "-c", IMPOSTOR, str(path)],
                                stdout=subprocess.PIPE, text=True)
    assert impostor.stdout.readline() == "ready\n"
    env = env_for(home, SECRET="do not leak")
    assert daemon.forward(["validate", str(EXAMPLE)], env) is None
    assert impostor.stdout.readline() == "0\n"  # not a byte sent
    impostor.wait(timeout=10)
    impostor.stdout.close()


@pytest.mark.parametrize("value", ["0", "-5", "soon", "nan", "inf"])
def test_a_bad_idle_timeout_is_refused_before_anything_starts(home, value):
    result = launchpad(home, "daemon", "start", "--idle-timeout", value)
    assert result.returncode == 2
    assert result.stderr.splitlines()[-1] == (
        f"launchpad daemon: error: argument --idle-timeout: {value!r} is not a positive "
        "number of seconds")
    assert daemon.status(home / "cache") is None


def test_without_the_cache_there_is_no_daemon(home):
    result = launchpad(home, "daemon", "start", env=env_for(home, LAUNCHPAD_NO_CACHE="1"))
    assert (result.returncode, result.stderr) == (
        1, "launchpad: error: the daemon needs the cache (LAUNCHPAD_NO_CACHE is set)\n")
