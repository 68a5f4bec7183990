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
launcher imports it on every run. ``socket`` and ``signal`` come when a daemon's
socket is there to connect to.
"""

from __future__ import annotations

import contextlib
import json
import os
import struct
import sys
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from ..cachedir import cache_dir_from_env

if TYPE_CHECKING:
    import socket

FORWARDED = frozenset({"render", "validate", "import"})
IDLE_SECONDS = 15 * 60
MAX_HEADER = 1 << 20  # bytes: the environment of a command rarely reaches 64 KiB
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


def private_folder(path: Path) -> None:
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
        import socket

        try:
            socket.send_fds(connection, [frame(request)], [0, 1, 2])
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
    connection = None if cache_dir is None else connect(socket_path(cache_dir))
    if connection is not None and not same_user(connection):
        connection.close()  # never hand the environment to someone else's process
        return None
    return connection


def _forwardable(argv: Sequence[str]) -> bool:
    if not argv or argv[0] not in FORWARDED:
        return False
    may_ask = argv[0] == "render" and "--defaults" not in argv
    return not (may_ask and sys.stdin is not None and sys.stdin.isatty())


def connect(path: Path) -> socket.socket | None:
    if not path.exists():  # no daemon has listened there: nothing to import sockets for
        return None
    import socket

    connection = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        connection.connect(str(path))
    except OSError:
        connection.close()
        return None
    return connection


def _wait(replies: object, pid: int) -> int:
    """Pass signals on to the daemon's child ``pid`` until it reports its exit status."""
    import signal

    def pass_on(signum: int, frame: object) -> None:
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


def same_user(connection: socket.socket) -> bool:
    """Whether the process at the other end runs as this user (both sides ask)."""
    import socket

    if not hasattr(socket, "SO_PEERCRED"):
        return True  # the private folder alone guards the socket
    credentials = connection.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED,
                                        struct.calcsize("3i"))
    _pid, uid, _gid = struct.unpack("3i", credentials)
    return uid == os.getuid()


def frame(message: dict) -> bytes:
    body = json.dumps(message).encode()
    return struct.pack("!I", len(body)) + body


# -- start, stop, status (``launchpad daemon ...``) ----------------------------------------------
def start(cache_dir: Path, *, idle_seconds: float = IDLE_SECONDS) -> int:
    """Start a daemon in the background (a new session) and wait until it answers: its pid."""
    import subprocess

    running = status(cache_dir)
    if running is not None:
        raise DaemonError(f"a daemon already runs (pid {running})")
    private_folder(socket_path(cache_dir).parent)
    log = socket_path(cache_dir).with_suffix(".log")
    with open(log, "ab") as output:
        process = subprocess.Popen(
            [sys.executable, "-P", "-m", "launchpad_core.cli.daemon_server", str(cache_dir),
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
    connection = connect(socket_path(cache_dir))
    if connection is None:
        return None
    with connection:
        connection.settimeout(10)
        try:
            connection.sendall(frame({"command": command}))
            return connection.makefile("rb").readline().split()
        except OSError:
            return None
