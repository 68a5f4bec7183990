"""The render daemon's own process: it keeps LaunchPad loaded and runs forwarded commands.

Started by :func:`launchpad_core.cli.daemon.start` as
``python -m launchpad_core.cli.daemon_server CACHE IDLE``; the protocol, the checks
and what is forwarded are described in :mod:`launchpad_core.cli.daemon`, the
caller's side, which the launcher imports on every run. This side imports the
command line itself (:mod:`launchpad_core.cli.main`), so the two never import
each other.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import struct
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from .daemon import (
    IDLE_SECONDS,
    MAX_HEADER,
    DaemonError,
    connect,
    fingerprint,
    private_folder,
    same_user,
    socket_path,
)

PRELOAD = (
    "jinja2.sandbox", "launchpad_core.launchpad", "launchpad_core.render.rendering",
    "launchpad_core.render.engine", "launchpad_core.render.compile_cache",
    "launchpad_core.render.validation", "launchpad_core.render.sinks",
    "launchpad_core.sources.loading", "launchpad_core.model.serialization",
    "launchpad_core.importers.importing", "launchpad_core.importers.cache", "yaml", "pathspec",
)


# -- the daemon's side -----------------------------------------------------------------------------
def serve(cache_dir: Path, *, idle_seconds: float = IDLE_SECONDS) -> None:
    """Listen on the cache directory's socket until stopped, stale or idle."""
    path = socket_path(cache_dir)
    private_folder(path.parent)
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
    running = connect(path)
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
        if not same_user(connection):
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
    from .main import main

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

    from ..plugins.manager import make_plugin_manager

    make_plugin_manager()
    for name in PRELOAD:
        importlib.import_module(name)


if __name__ == "__main__":  # started by start(): python -m launchpad_core.cli.daemon CACHE IDLE
    serve(Path(sys.argv[1]), idle_seconds=float(sys.argv[2]))
