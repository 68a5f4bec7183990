"""The render daemon: a background process that keeps LaunchPad loaded.

A ``launchpad render`` spends most of a small render starting up: Python,
then Jinja, attrs, the plugins. ``launchpad daemon start`` starts a process
that has loaded all of that once; while it runs, ``launchpad render``,
``validate`` and ``import`` hand their command line to it over a Unix socket
in the cache directory, with their standard input, output and error (passed
as file descriptors), working directory, environment and umask. The daemon
forks a child per command, which runs exactly what the command would have run
here, writing to the caller's terminal or pipes; its exit status comes back.
Ctrl-C and termination signals are passed on to that child.

Nothing else changes: the child reads the same environment and disk caches,
checks and renders the same way, and the output is the same.

A command is handed over only when nothing could go wrong for it there:

* the socket answers and the daemon was started from the same code (the
  interpreter, ``sys.path`` and the modification times of its folders and of
  this package's files); a daemon from other code answers "stale", exits, and
  the command runs in the calling process;
* it never asks a question on the terminal (``render`` with ``--defaults`` or
  without a terminal on standard input), since the daemon has no terminal of
  its own to turn echo off for secrets;
* ``LAUNCHPAD_NO_DAEMON`` is not set.

Security: the socket lives in ``<cache>/daemon/``, a folder of mode 0700 that
must belong to the user; the daemon and the caller each check that the other
runs as the same user (``SO_PEERCRED``) before anything is exchanged. It
exits after ``--idle-timeout`` seconds without a command (15 minutes by
default). Plugins edited in place (not reinstalled) are not noticed:
``launchpad daemon stop`` after editing one.

This module imports only the standard library's lightest parts at the top: the
launcher imports it on every run.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import struct
import sys
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

from .cachedir import cache_dir_from_env

FORWARDED = frozenset({"render", "validate", "import"})
IDLE_SECONDS = 15 * 60
MAX_HEADER = 1 << 20  # bytes: the environment of a command rarely reaches 64 KiB
PRELOAD = (
    "jinja2.sandbox", "launchpad_core.runtime", "launchpad_core.rendering",
    "launchpad_core.engine", "launchpad_core.compile_cache", "launchpad_core.validation",
    "launchpad_core.sinks", "launchpad_core.loading", "launchpad_core.serialization",
    "launchpad_core.importing", "launchpad_core.import_cache", "yaml", "pathspec",
)
_TRUE = ("1", "true", "yes")


class DaemonError(Exception):
    """The daemon cannot be started, reached or stopped (a message for the user)."""


# -- where, and from which code --------------------------------------------------------------
def socket_path(cache_dir: Path) -> Path:
    return cache_dir / "daemon" / "render.sock"


def fingerprint() -> str:
    """What a daemon must share with a caller to run its commands: the interpreter,
    ``sys.path`` with each folder's modification time (an install or uninstall
    changes it) and this package's files with theirs (an edit changes them)."""
    parts = [sys.executable, sys.version]
    # sys.path[0] is the script's folder or the working directory, which differ
    # between callers; the daemon runs with -P (safe_path), which leaves it out.
    for entry in sys.path if sys.flags.safe_path else sys.path[1:]:
        parts.append(f"{entry}@{_mtime(entry)}")
    package = Path(__file__).parent
    for folder, _, files in sorted(os.walk(package)):
        parts.extend(f"{folder}/{name}@{_mtime(os.path.join(folder, name))}"
                     for name in sorted(files) if name.endswith(".py"))
    return "\n".join(parts)


def _mtime(path: str) -> int:
    try:
        return os.stat(path).st_mtime_ns
    except OSError:
        return 0


def _private_folder(path: Path) -> None:
    """Make ``path`` (mode 0700) or accept it only if it is ours and private."""
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    info = path.stat()
    if info.st_uid != os.getuid() or info.st_mode & 0o077:
        raise DaemonError(f"{path} must belong to you and be private (mode 0700)")


# -- the caller's side --------------------------------------------------------------------------
def forward(argv: Sequence[str], env: Mapping[str, str]) -> int | None:
    """Run the command in the daemon if one runs and may take it: its exit status;
    None when the command should run in this process (it has not started)."""
    if env.get("LAUNCHPAD_NO_DAEMON", "").lower() in _TRUE or not _forwardable(argv):
        return None
    connection = _daemon_for(env)
    if connection is None:
        return None
    with connection:
        old_umask = os.umask(0o077)
        os.umask(old_umask)
        request = {"argv": list(argv), "cwd": os.getcwd(), "env": dict(env),
                   "umask": old_umask, "code": fingerprint()}
        try:
            socket.send_fds(connection, [_frame(request)], [0, 1, 2])
        except OSError:
            return None
        replies = connection.makefile("rb")
        started = replies.readline().split()
        if len(started) != 2 or started[0] != b"pid":
            return None  # stale, or gone before starting: nothing ran
        return _wait(replies, int(started[1]))


def _daemon_for(env: Mapping[str, str]) -> socket.socket | None:
    """A connection to this user's daemon for the cache directory ``env`` names."""
    cache_dir = cache_dir_from_env(env)
    connection = None if cache_dir is None else _connect(socket_path(cache_dir))
    if connection is not None and not _same_user(connection):
        connection.close()  # never hand the environment to someone else's process
        return None
    return connection


def _forwardable(argv: Sequence[str]) -> bool:
    if not argv or argv[0] not in FORWARDED:
        return False
    may_ask = argv[0] == "render" and "--defaults" not in argv
    return not (may_ask and sys.stdin is not None and sys.stdin.isatty())


def _connect(path: Path) -> socket.socket | None:
    connection = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        connection.connect(str(path))
    except OSError:
        connection.close()
        return None
    return connection


def _wait(replies: object, pid: int) -> int:
    """Pass signals on to the daemon's child ``pid`` until it reports its exit status."""
    def pass_on(signum: int, _frame: object) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signum)

    for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, pass_on)
    finished = replies.readline().split()  # type: ignore[attr-defined]
    if len(finished) != 2 or finished[0] != b"exit":
        print("launchpad: error: the render daemon's worker ended without an exit status; "
              "`launchpad daemon stop` stops the daemon", file=sys.stderr)
        return 1
    return int(finished[1])


def _frame(message: dict) -> bytes:
    body = json.dumps(message).encode()
    return struct.pack("!I", len(body)) + body


# -- the daemon's side -----------------------------------------------------------------------------
def serve(cache_dir: Path, *, idle_seconds: float = IDLE_SECONDS) -> None:
    """Listen on the cache directory's socket until stopped, stale or idle."""
    path = socket_path(cache_dir)
    _private_folder(path.parent)
    listener = _listen(path)
    code = fingerprint()
    _preload()
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # children are reaped by the kernel
    listener.settimeout(idle_seconds)
    try:
        while True:
            try:
                connection, _ = listener.accept()
            except TimeoutError:
                return
            with connection:
                if not _answer(listener, connection, code):
                    return
    finally:
        listener.close()
        path.unlink(missing_ok=True)


def _listen(path: Path) -> socket.socket:
    running = _connect(path)
    if running is not None:
        running.close()
        raise DaemonError(f"a daemon already listens on {path}")
    path.unlink(missing_ok=True)  # left by a daemon that was killed
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    old_umask = os.umask(0o077)
    try:
        listener.bind(str(path))
    except OSError as exc:
        listener.close()
        raise DaemonError(f"cannot listen on {path}: {exc}") from exc
    finally:
        os.umask(old_umask)
    listener.listen(16)
    return listener


def _answer(listener: socket.socket, connection: socket.socket, code: str) -> bool:
    """Serve one connection; False when the daemon should exit."""
    connection.settimeout(10)
    fds: list[int] = []
    try:
        if not _same_user(connection):
            return True
        request, fds = _receive(connection)
        if request.get("command") == "stop":
            connection.sendall(b"stopping\n")
            return False
        if request.get("command") == "status":
            connection.sendall(f"running {os.getpid()}\n".encode())
            return True
        if request.get("code") != code or len(fds) != 3:
            connection.sendall(b"stale\n")
            return False
        if os.fork() == 0:
            _run_child(listener, connection, request, fds)
        return True
    except (OSError, ValueError, KeyError):
        return True  # a broken or foreign request: drop it, keep serving
    finally:
        for fd in fds:
            os.close(fd)


def _same_user(connection: socket.socket) -> bool:
    """Whether the process at the other end runs as this user (both sides ask)."""
    if not hasattr(socket, "SO_PEERCRED"):
        return True  # the private folder alone guards the socket
    credentials = connection.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED,
                                        struct.calcsize("3i"))
    _pid, uid, _gid = struct.unpack("3i", credentials)
    return uid == os.getuid()


def _receive(connection: socket.socket) -> tuple[dict, list[int]]:
    data, fds, _flags, _address = socket.recv_fds(connection, 65536, 3)
    if len(data) < 4:
        raise ValueError("short request")
    size = struct.unpack("!I", data[:4])[0]
    if size > MAX_HEADER:
        raise ValueError("request too large")
    body = bytearray(data[4:])
    while len(body) < size:
        chunk = connection.recv(size - len(body))
        if not chunk:
            raise ValueError("request cut short")
        body += chunk
    return json.loads(body), list(fds)


def _run_child(listener: socket.socket, connection: socket.socket, request: dict,
               fds: list[int]) -> None:
    """In the forked child: become the caller's process, run its command, report, exit."""
    status = 1
    try:
        listener.close()
        for signum in (signal.SIGCHLD, signal.SIGTERM, signal.SIGHUP):
            signal.signal(signum, signal.SIG_DFL)
        signal.signal(signal.SIGINT, signal.default_int_handler)
        for target, fd in zip((0, 1, 2), fds, strict=True):
            os.dup2(fd, target)
            os.close(fd)
        fds.clear()
        _reopen_standard_streams()
        os.chdir(request["cwd"])
        os.environ.clear()
        os.environ.update(request["env"])
        time.tzset()  # the caller's TZ for local times
        os.umask(request["umask"])
        connection.settimeout(None)
        connection.sendall(f"pid {os.getpid()}\n".encode())
        status = _run_cli(request["argv"])
    except BaseException:
        import traceback

        traceback.print_exc()
    finally:
        try:
            sys.stdout.flush()
            sys.stderr.flush()
            connection.sendall(f"exit {status}\n".encode())
        finally:
            os._exit(0)


def _reopen_standard_streams() -> None:
    """Streams on the caller's descriptors, buffered as Python buffers them for it."""
    sys.stdin = open(0, encoding=sys.stdin.encoding, closefd=False)  # noqa: SIM115
    sys.stdout = open(1, "w", buffering=1 if os.isatty(1) else -1,  # noqa: SIM115
                      encoding=sys.stdout.encoding, closefd=False)
    sys.stderr = open(2, "w", buffering=1, encoding=sys.stderr.encoding,  # noqa: SIM115
                      errors="backslashreplace", closefd=False)


def _run_cli(argv: Sequence[str]) -> int:
    from .cli import main

    try:
        return main(argv)
    except SystemExit as exc:  # argparse: --help, usage errors
        return exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    except BaseException:
        import traceback

        traceback.print_exc()
        return 1


def _preload() -> None:
    """Import what commands use and load the plugins, so that children start warm."""
    import importlib

    from .plugins import make_plugin_manager

    make_plugin_manager()
    for name in PRELOAD:
        importlib.import_module(name)


# -- start, stop, status (``launchpad daemon ...``) ----------------------------------------------
def start(cache_dir: Path, *, idle_seconds: float = IDLE_SECONDS) -> int:
    """Start a daemon in the background (a new session) and wait until it answers: its pid."""
    import subprocess

    running = status(cache_dir)
    if running is not None:
        raise DaemonError(f"a daemon already runs (pid {running})")
    _private_folder(socket_path(cache_dir).parent)
    log = socket_path(cache_dir).with_suffix(".log")
    with open(log, "ab") as output:
        process = subprocess.Popen(
            [sys.executable, "-P", "-m", "launchpad_core.daemon", str(cache_dir),
             str(idle_seconds)],
            stdin=subprocess.DEVNULL, stdout=output, stderr=output, start_new_session=True,
            cwd="/")
    deadline = time.monotonic() + 30
    while (pid := status(cache_dir)) is None:
        if process.poll() is not None or time.monotonic() > deadline:
            raise DaemonError(f"the daemon did not start; see {log}")
        time.sleep(0.02)
    return pid


def status(cache_dir: Path) -> int | None:
    """The pid of the daemon listening for ``cache_dir``, or None."""
    reply = _command(cache_dir, "status")
    return int(reply[1]) if reply and reply[0] == b"running" else None


def stop(cache_dir: Path) -> bool:
    """Ask the daemon to exit; False if none was running."""
    return _command(cache_dir, "stop") == [b"stopping"]


def _command(cache_dir: Path, command: str) -> list[bytes] | None:
    connection = _connect(socket_path(cache_dir))
    if connection is None:
        return None
    with connection:
        connection.settimeout(10)
        try:
            connection.sendall(_frame({"command": command}))
            return connection.makefile("rb").readline().split()
        except OSError:
            return None


if __name__ == "__main__":  # started by start(): python -m launchpad_core.daemon CACHE IDLE
    serve(Path(sys.argv[1]), idle_seconds=float(sys.argv[2]))
