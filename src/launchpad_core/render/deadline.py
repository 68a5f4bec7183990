"""Wall-clock deadline for a render, enforced inside any thread.

Rendering is pure Python (Jinja compiles templates to Python code), so the
deadline interrupts it by raising into the rendering thread at its next
bytecode. Long single C calls cannot be interrupted this way; the sandbox
bounds those (string and number sizes), and hosted workers add hard CPU and
memory limits around the process.

In the main thread, while nothing else uses ``SIGALRM``, a real-time interval
timer raises there (what a command-line render does: no thread to start, no
``ctypes``); elsewhere a watchdog thread raises :class:`_Expired` asynchronously
in the rendering thread.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from ..errors import RenderTimeoutError


class _Expired(Exception):
    """Raised into the rendering thread; turned into RenderTimeoutError."""


@contextmanager
def deadline(seconds: float | None) -> Iterator[None]:
    """Run the body with a time limit; ``None`` or ``0`` means none."""
    if not seconds:
        yield
        return
    watch = _alarm if _alarm_is_free() else _watchdog
    try:
        with watch(seconds):
            yield
    except _Expired:
        raise RenderTimeoutError(f"rendering took longer than {seconds:g} seconds") from None


def _alarm_is_free() -> bool:
    """Whether this is the main thread and no one else has a ``SIGALRM`` handler or a
    real-time timer running (a nested deadline, a test runner's timeout)."""
    return (
        threading.current_thread() is threading.main_thread()
        and signal.getsignal(signal.SIGALRM) is signal.SIG_DFL
        and signal.getitimer(signal.ITIMER_REAL) == (0.0, 0.0)
    )


def _raise_expired(_signum: int, _frame: Any) -> None:
    raise _Expired


@contextmanager
def _alarm(seconds: float) -> Iterator[None]:
    signal.signal(signal.SIGALRM, _raise_expired)
    try:
        signal.setitimer(signal.ITIMER_REAL, seconds)
        try:
            yield
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
    finally:
        signal.signal(signal.SIGALRM, signal.SIG_DFL)


@contextmanager
def _watchdog(seconds: float) -> Iterator[None]:
    lock = threading.Lock()
    state = {"active": True}
    target = threading.get_ident()

    def expire() -> None:
        import ctypes  # only when a render in another thread runs out of time

        with lock:
            if state["active"]:
                ctypes.pythonapi.PyThreadState_SetAsyncExc(
                    ctypes.c_ulong(target), ctypes.py_object(_Expired))

    timer = threading.Timer(seconds, expire)
    timer.daemon = True
    timer.start()
    try:
        yield
    finally:
        with lock:
            state["active"] = False
        timer.cancel()
