"""Run one function in a resource-limited child process.

The sandbox (:mod:`launchpad_core.render.sandbox`) bounds what a template can ask for,
and :mod:`launchpad_core.render.deadline` interrupts long Python loops, but one long C
call or a bug in a plugin can still eat a CPU or all memory. Hosted previews
and generation jobs therefore render in a child process with hard limits::

    from launchpad_core.isolation.children import IsolationLimits, run_isolated

    files = run_isolated(
        render_to_archive, definition, answers, fmt,
        limits=IsolationLimits(cpu_seconds=30, memory_bytes=512 * MIB, wall_seconds=60),
    )

``fn`` must be a module-level function of an importable module, not of the main
script (it is pickled by reference; children do not run the script), and its
arguments and result must be picklable: pass plain data (the definition as
JSON-like data, answers as a dict) and return plain data or bytes, and let
``fn`` build its own :class:`~launchpad_core.Launchpad` in the child.

What the caller sees:

- the result of ``fn``;
- a :class:`~launchpad_core.errors.LaunchpadError` raised by ``fn``, re-raised
  as itself (same class, ``code``, ``message``, ``path``, ``source``, problems);
- :class:`~launchpad_core.errors.IsolationError` with ``code``
  ``cpu_limit`` (RLIMIT_CPU reached: SIGXCPU), ``memory_limit`` (a
  ``MemoryError`` under RLIMIT_AS/RLIMIT_DATA), ``timeout`` (wall clock
  overrun: the child and its process group are killed) or ``crashed`` (any
  other exception, a signal such as SIGSEGV, or an exit without a result).

Children are forked from a clean fork server (no threads or sockets of the
calling web or worker process), each in its own process group, with core
dumps off; every child is reaped before ``run_isolated`` returns. The fork
server imports :func:`preload`'s modules once, so a child starts in
milliseconds: call ``preload(fn.__module__)`` and ``preload_plugins(launchpad)``
at start-up, before the first call. Unlike multiprocessing's own children, a
child does not run the caller's main script again (``fn`` is a module's), and
it freezes what it inherited (:func:`gc.freeze`), so that a full collection
walks only its own objects instead of copying every page of the fork server:
a call that does nothing costs a child about 7 ms of CPU, not 15.
"""

from __future__ import annotations

import contextlib
import gc
import heapq
import io
import itertools
import math
import multiprocessing
import os
import resource
import signal
import threading
import time
import traceback
from collections import deque
from collections.abc import Callable, Iterator
from multiprocessing import forkserver as mp_forkserver
from multiprocessing import popen_forkserver, reduction, spawn, util
from multiprocessing.connection import Connection, wait
from types import ModuleType
from typing import Any, TypeVar

import attrs

from ..errors import IsolationBusyError, IsolationError, LaunchpadError
from ..launchpad import Launchpad

MIB = 1024 * 1024
T = TypeVar("T")

_CONTEXT = multiprocessing.get_context("forkserver")
# "__main__" asks for the main module once in the fork server instead of in every
# child; CPython 3.11 ignores it for scripts (it looks up the wrong key), hence the
# advice in the module docstring to keep the main script light.
_PRELOAD = ["__main__", "launchpad_core.launchpad"]
_CONTEXT.set_forkserver_preload(_PRELOAD)

#: How long a child that answered or died may take to exit before it is killed.
_EXIT_GRACE_SECONDS = 2.0


def preload(*modules: str) -> None:
    """Import ``modules`` once in the fork server, so children start with them imported
    (the module of ``fn``, plugin modules: see :func:`preload_plugins`). Takes effect
    when the fork server starts, at the process's first :func:`run_isolated`."""
    _PRELOAD.extend(m for m in modules if m not in _PRELOAD)
    _CONTEXT.set_forkserver_preload(list(_PRELOAD))


def preload_plugins(launchpad: Launchpad) -> None:
    """:func:`preload` the modules of ``launchpad``'s plugins: a child building its own
    :class:`~launchpad_core.Launchpad` then takes milliseconds, not an import of each."""
    plugins = launchpad.hooks.pm.get_plugins()
    preload(
        *sorted({p.__name__ if isinstance(p, ModuleType) else type(p).__module__ for p in plugins})
    )


def _positive(_instance: object, attribute: attrs.Attribute, value: float) -> None:
    if value <= 0:
        raise ValueError(f"{attribute.name} must be positive, got {value!r}")


@attrs.frozen
class IsolationLimits:
    """Hard limits of one isolated call; defaults suit a large real template."""

    cpu_seconds: int = attrs.field(default=120, validator=_positive)
    memory_bytes: int = attrs.field(default=2048 * MIB, validator=_positive)
    wall_seconds: float = attrs.field(default=300.0, validator=_positive)
    #: Added to the child's niceness: a service's interactive threads go first.
    nice: int = attrs.field(default=0, validator=[attrs.validators.ge(0),
                                                   attrs.validators.le(19)])


@attrs.frozen
class _Outcome:
    """What the child sends back: ``kind`` is ok, error, memory or crash."""

    kind: str
    value: Any = None


_STARTED = _Outcome("started")


def _rebuild_error(cls: type[LaunchpadError], args: tuple, state: dict) -> LaunchpadError:
    """A LaunchpadError as it was in the child (some subclasses take other __init__ args)."""
    error = cls.__new__(cls)
    error.args = args
    error.__dict__.update(state)
    return error


class IsolationPool:
    """Isolated calls served by pre-forked, one-shot children (the module doc says what
    a call returns and raises).

    ``warm`` children wait, already forked and with every preloaded module imported,
    for one call each; a call takes one, so it pays no fork, and a background thread
    forks its replacement. A child serves exactly one call and exits, so nothing of one
    call (memory, module state, a thread left running) reaches the next, and its CPU
    limit counts that call alone. ``slots`` bounds the calls running at once (a call
    waits up to ``queue_seconds`` for one, then :class:`IsolationBusyError` ``busy``;
    waiting calls are served fewest-calls-of-their-owner first);
    ``per_owner`` bounds those of one ``owner`` (a user: ``owner_busy`` at once, no
    waiting), so one user cannot take every slot, and ``per_group`` those of one
    ``group`` (the client's address: ``group_busy``), so neither can one person with
    several accounts. ``warm=0`` forks on demand.
    """

    def __init__(
        self,
        *,
        warm: int = 2,
        slots: int | None = None,
        per_owner: int | None = None,
        per_group: int | None = None,
        queue_seconds: float = 5.0,
    ):
        self.warm = warm
        self.per_owner = per_owner
        self.per_group = per_group
        self.queue_seconds = queue_seconds
        self._slot_count = slots or None
        self._slots_used = 0
        self._waiting: list[tuple[int, int]] = []  # (owner's calls, arrival): a heap
        self._tickets = itertools.count()
        self._idle: deque[_Child] = deque()
        self._running: dict[Any, int] = {}  # calls by owner
        self._grouped: dict[Any, int] = {}  # calls by group
        self._lock = threading.Lock()
        self._wanted = threading.Condition(self._lock)
        self._freed = threading.Condition(self._lock)
        self._refiller: threading.Thread | None = None
        self._closed = False

    def run(self, fn: Callable[..., T], /, *args: Any, limits: IsolationLimits,
            owner: Any = None, group: Any = None, **kwargs: Any) -> T:
        """``fn(*args, **kwargs)`` in a child under ``limits``, on behalf of ``owner``
        (of ``group``)."""
        task = (fn, args, kwargs)
        with self._owner_slot(owner, group), self._slot(owner, group):
            deadline = time.monotonic() + limits.wall_seconds
            child = self._sent(limits, task, self._take())
            if not _started(child, deadline, limits):
                # It died waiting (after the liveness check): the call never began.
                child.discard()
                child = self._sent(limits, task, _Child.fork())
                if not _started(child, deadline, limits):
                    raise _death_error(child.discard(), limits)
            return self._call(child, deadline, limits)

    def close(self) -> None:
        """Stop the refill thread and end the idle children (running calls finish)."""
        with self._lock:
            self._closed = True
            idle, self._idle = list(self._idle), deque()
            self._wanted.notify_all()
        for child in idle:
            child.discard()

    # -- slots ---------------------------------------------------------------------------
    @contextlib.contextmanager
    def _owner_slot(self, owner: Any, group: Any = None) -> Iterator[None]:
        counted = [(counts, key) for counts, key in ((self._running, owner),
                                                     (self._grouped, group)) if key is not None]
        with self._lock:
            if owner is not None and self.per_owner is not None \
                    and self._running.get(owner, 0) >= self.per_owner:
                raise IsolationBusyError(
                    f"at most {self.per_owner} evaluations may run at once for one account",
                    code="owner_busy",
                )
            if group is not None and self.per_group is not None \
                    and self._grouped.get(group, 0) >= self.per_group:
                raise IsolationBusyError(
                    f"at most {self.per_group} evaluations may run at once from one address",
                    code="group_busy",
                )
            for counts, key in counted:
                counts[key] = counts.get(key, 0) + 1
        try:
            yield
        finally:
            with self._lock:
                for counts, key in counted:
                    counts[key] -= 1
                    if not counts[key]:
                        del counts[key]

    @contextlib.contextmanager
    def _slot(self, owner: Any, group: Any = None) -> Iterator[None]:
        """One of ``slots``. Waiting calls are served fairly, not first come first served:
        the call whose owner (or group) runs the fewest calls goes first (then the
        oldest), so an account or an address with many calls in flight cannot keep
        another's first call waiting."""
        if self._slot_count is None:
            yield
            return
        with self._lock:
            ticket = (max(self._running.get(owner, 1) if owner is not None else 1,
                          self._grouped.get(group, 1) if group is not None else 1),
                      next(self._tickets))
            heapq.heappush(self._waiting, ticket)
            deadline = time.monotonic() + self.queue_seconds
            while self._slots_used >= self._slot_count or self._waiting[0] != ticket:
                left = deadline - time.monotonic()
                if left <= 0:
                    self._waiting.remove(ticket)
                    heapq.heapify(self._waiting)
                    self._freed.notify_all()
                    raise IsolationBusyError("every evaluator is busy; try again shortly",
                                             retry_after=max(1, math.ceil(self.queue_seconds)))
                self._freed.wait(left)
            heapq.heappop(self._waiting)
            self._slots_used += 1
            self._freed.notify_all()  # the next in line may take a slot still free
        try:
            yield
        finally:
            with self._lock:
                self._slots_used -= 1
                self._freed.notify_all()

    # -- children ------------------------------------------------------------------------
    def _take(self) -> _Child:
        """A waiting child, or a new one when none is waiting (or the pool keeps none)."""
        with self._lock:
            child = self._idle.popleft() if self._idle else None
            if self.warm and not self._closed:
                self._start_refiller()
                self._wanted.notify()
        return child if child is not None and child.alive() else _Child.fork()

    def _start_refiller(self) -> None:
        if self._refiller is None or not self._refiller.is_alive():
            self._refiller = threading.Thread(
                target=self._refill, name="launchpad-isolation-refill", daemon=True
            )
            self._refiller.start()

    def _refill(self) -> None:
        """Keep ``warm`` children waiting: fork outside the lock, wait when enough are."""
        while True:
            with self._lock:
                while len(self._idle) >= self.warm and not self._closed:
                    self._wanted.wait()
                if self._closed:
                    return
            child = _Child.fork()
            with self._lock:
                if self._closed:
                    child.discard()
                    return
                self._idle.append(child)

    @staticmethod
    def _sent(limits: IsolationLimits, task: tuple, child: _Child) -> _Child:
        """``child`` (or, when its pipe is broken, a new one) once ``task`` is sent."""
        try:
            try:
                child.conn.send((limits, *task))
            except (BrokenPipeError, ConnectionResetError):
                child.discard()
                child = _Child.fork()
                child.conn.send((limits, *task))
        except BaseException:  # e.g. an argument that cannot be pickled: nothing ran
            child.discard()
            raise
        return child

    @staticmethod
    def _call(child: _Child, deadline: float, limits: IsolationLimits) -> Any:
        try:
            outcome = _await_outcome(child, deadline, limits)
        finally:
            exitcode = child.discard()
        if outcome is None:
            raise _death_error(exitcode, limits)
        return _result(outcome)


@attrs.define
class _Child:
    """A forked child waiting for its one call on ``conn`` (the parent's end)."""

    process: Any
    conn: Connection

    @classmethod
    def fork(cls) -> _Child:
        conn, child_end = _CONTEXT.Pipe(duplex=True)
        process = _ChildProcess(target=_child_main, args=(child_end,), daemon=True)
        process.start()
        child_end.close()
        return cls(process, conn)

    def alive(self) -> bool:
        return self.process.is_alive()

    def discard(self) -> int | None:
        """Close the pipe (a waiting child then exits), reap the child; its exit code."""
        self.conn.close()
        return _reap(self.process)


class _Popen(popen_forkserver.Popen):
    """Multiprocessing's fork-server start, except that the child does not run the
    caller's main script again as ``__mp_main__`` (a third of a small call's CPU):
    ``_child_main`` and the functions it runs belong to modules, never to a script."""

    def _launch(self, process_obj: Any) -> None:
        prep_data = spawn.get_preparation_data(process_obj._name)
        prep_data.pop("init_main_from_path", None)
        prep_data.pop("init_main_from_name", None)
        buf = io.BytesIO()
        popen_forkserver.set_spawning_popen(self)
        try:
            reduction.dump(prep_data, buf)
            reduction.dump(process_obj, buf)
        finally:
            popen_forkserver.set_spawning_popen(None)
        self.sentinel, w = mp_forkserver.connect_to_new_process(self._fds)
        parent_w = os.dup(w)  # the child's sentinel of its parent, as multiprocessing keeps
        self.finalizer = util.Finalize(self, util.close_fds, (parent_w, self.sentinel))
        with open(w, "wb", closefd=True) as f:
            f.write(buf.getbuffer())
        self.pid = mp_forkserver.read_signed(self.sentinel)


class _ChildProcess(_CONTEXT.Process):  # type: ignore[name-defined,misc]
    @staticmethod
    def _Popen(process_obj: Any) -> _Popen:
        return _Popen(process_obj)


_ONE_SHOT = IsolationPool(warm=0)


def run_isolated(fn: Callable[..., T], /, *args: Any, limits: IsolationLimits, **kwargs: Any) -> T:
    """``fn(*args, **kwargs)`` in a freshly forked child under ``limits`` (see the module
    doc); :class:`IsolationPool` serves the same calls from children forked in advance."""
    return _ONE_SHOT.run(fn, *args, limits=limits, **kwargs)


def _started(child: _Child, deadline: float, limits: IsolationLimits) -> bool:
    """True once the child says it has the call; False if it died before that."""
    outcome = _await_outcome(child, deadline, limits)
    return outcome is not None and outcome.kind == "started"


def _await_outcome(child: _Child, deadline: float, limits: IsolationLimits) -> _Outcome | None:
    """The child's answer, or None if it died without one; kills it at the deadline."""
    if not wait([child.conn], timeout=max(deadline - time.monotonic(), 0)):
        _kill_group(child.process)
        raise IsolationError(
            f"the isolated run took longer than {limits.wall_seconds:g} seconds",
            code="timeout",
        )
    try:
        return child.conn.recv()
    except (EOFError, OSError):
        return None


def _reap(child: Any) -> int | None:
    """Give the child (which answered, died or was killed) a moment to exit, kill it if
    it does not (e.g. threads it left running), reap it and release its resources;
    answers its exit code."""
    if child.pid is not None:
        child.join(_EXIT_GRACE_SECONDS)
        if child.exitcode is None:
            _kill_group(child)
            child.join()
    exitcode = child.exitcode if child.pid is not None else None
    child.close()
    return exitcode


def _kill_group(child: Any) -> None:
    """SIGKILL the child's process group (it may have started processes of its own)."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(child.pid, signal.SIGKILL)
    child.kill()


def _death_error(exitcode: int | None, limits: IsolationLimits) -> IsolationError:
    if exitcode == -signal.SIGXCPU:
        return IsolationError(
            f"the isolated run used more than {limits.cpu_seconds} CPU seconds", code="cpu_limit"
        )
    if exitcode is not None and exitcode < 0:
        name = signal.Signals(-exitcode).name
        return IsolationError(f"the isolated run was killed by {name}", code="crashed")
    return IsolationError(
        f"the isolated run exited with status {exitcode} without a result", code="crashed"
    )


def _result(outcome: _Outcome) -> Any:
    match outcome.kind:
        case "ok":
            return outcome.value
        case "error":
            raise _rebuild_error(*outcome.value)
        case "memory":
            limit, source = outcome.value
            raise IsolationError(
                f"the isolated run needed more than {limit // MIB} MiB of memory",
                code="memory_limit",
                source=source,
            )
        case _:
            summary, remote_traceback = outcome.value
            error = IsolationError(f"the isolated run failed: {summary}", code="crashed")
            error.add_note(remote_traceback)
            raise error


# -- in the child ------------------------------------------------------------------------
def _apply_limits(limits: IsolationLimits) -> None:
    if limits.nice:
        os.nice(limits.nice)
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    cpu = max(int(limits.cpu_seconds), 1)
    resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 1))
    for kind in (resource.RLIMIT_AS, resource.RLIMIT_DATA):
        _, hard = resource.getrlimit(kind)
        memory = (
            limits.memory_bytes
            if hard == resource.RLIM_INFINITY
            else min(limits.memory_bytes, hard)
        )
        resource.setrlimit(kind, (memory, memory))


def _child_main(conn: Connection) -> None:
    """Wait for one call, run it under its limits, answer, exit. A parent that closes
    the pipe first (a pool closing, a caller gone) ends the child."""
    os.setpgrp()
    gc.freeze()
    try:
        limits, fn, args, kwargs = conn.recv()
    except (EOFError, OSError):
        return
    conn.send(_STARTED)
    _apply_limits(limits)
    try:
        outcome = _Outcome("ok", fn(*args, **kwargs))
    except BaseException as exc:  # every failure goes back to the parent, classified
        outcome = _classify(exc, limits)
    try:
        conn.send(outcome)
    except MemoryError:
        conn.send(_Outcome("memory", (limits.memory_bytes, None)))
    except Exception as exc:  # e.g. an unpicklable result
        conn.send(_classify(exc, limits))
    finally:
        conn.close()


def _classify(exc: BaseException, limits: IsolationLimits) -> _Outcome:
    if _caused_by_memory_error(exc):
        return _Outcome("memory", (limits.memory_bytes, getattr(exc, "source", None)))
    if isinstance(exc, LaunchpadError):
        return _Outcome("error", (type(exc), exc.args, dict(exc.__dict__)))
    summary = f"{type(exc).__name__}: {exc}"
    return _Outcome("crash", (summary, "".join(traceback.format_exception(exc))))


def _caused_by_memory_error(exc: BaseException | None) -> bool:
    """True for a MemoryError, also one the core wrapped in its own error."""
    seen = set()
    while exc is not None and id(exc) not in seen:
        if isinstance(exc, MemoryError):
            return True
        seen.add(id(exc))
        exc = exc.__cause__ or exc.__context__
    return False
