"""Wall-clock deadline for a render, enforced inside any thread.

Rendering is pure Python (Jinja compiles templates to Python code), so the
watchdog interrupts it by raising :class:`RenderTimeoutError` asynchronously
in the rendering thread at its next bytecode. Long single C calls cannot be
interrupted this way; the sandbox bounds those (string and number sizes),
and hosted workers add hard CPU and memory limits around the process.
"""

from __future__ import annotations

import ctypes
import threading
from collections.abc import Iterator
from contextlib import contextmanager

from ..errors import RenderTimeoutError

_set_async_exc = ctypes.pythonapi.PyThreadState_SetAsyncExc
_set_async_exc.argtypes = (ctypes.c_ulong, ctypes.py_object)


class _Expired(Exception):
    """Raised into the rendering thread; turned into RenderTimeoutError."""


@contextmanager
def deadline(seconds: float | None) -> Iterator[None]:
    """Run the body with a time limit; ``None`` or ``0`` means none."""
    if not seconds:
        yield
        return
    lock = threading.Lock()
    state = {"active": True}
    target = threading.get_ident()

    def expire() -> None:
        with lock:
            if state["active"]:
                _set_async_exc(target, ctypes.py_object(_Expired))

    timer = threading.Timer(seconds, expire)
    timer.daemon = True
    timer.start()
    try:
        try:
            yield
        finally:
            with lock:
                state["active"] = False
            timer.cancel()
    except _Expired:
        raise RenderTimeoutError(f"rendering took longer than {seconds:g} seconds") from None
