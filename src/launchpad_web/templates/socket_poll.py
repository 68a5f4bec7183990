"""``readable_now``: whether a socket has bytes waiting, asked without giving up the GIL.

``select.poll`` releases the GIL around its system call, as every Python wrapper
does. A zero-timeout poll never blocks, so the release buys nothing, and under
load it costs a round of futex hand-offs between waitress's threads: measured
with ``bench/api.py``, 5 to 7 points of the cached list's throughput. ``poll(2)``
called through ``ctypes.PyDLL`` keeps the GIL. Where libc offers no ``poll``
(Windows), ``select.poll``'s is used, or the answer is "maybe" (True).
"""

from __future__ import annotations

import ctypes
import select
import socket
from collections.abc import Callable


class _PollFd(ctypes.Structure):  # struct pollfd, as POSIX defines it
    _fields_ = [("fd", ctypes.c_int), ("events", ctypes.c_short), ("revents", ctypes.c_short)]


def _libc_poll() -> Callable[[socket.socket], bool] | None:
    try:
        poll = ctypes.PyDLL(None).poll
    except (AttributeError, OSError, TypeError):
        return None
    poll.argtypes = [ctypes.POINTER(_PollFd), ctypes.c_ulong, ctypes.c_int]
    poll.restype = ctypes.c_int

    def readable(sock: socket.socket) -> bool:
        entry = _PollFd(sock.fileno(), select.POLLIN, 0)
        return poll(ctypes.byref(entry), 1, 0) != 0  # -1 (an error): let the reader find out

    return readable


def _select_poll(sock: socket.socket) -> bool:
    if not hasattr(select, "poll"):
        return True
    poller = select.poll()
    poller.register(sock, select.POLLIN)
    return bool(poller.poll(0))


readable_now: Callable[[socket.socket], bool] = _libc_poll() or _select_poll
