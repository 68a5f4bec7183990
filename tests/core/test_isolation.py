"""run_isolated against real hostile functions and real hostile templates.

The functions below are module-level so the child can import them by reference.
"""

from __future__ import annotations

import ctypes
import gc
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import attrs
import pytest

from launchpad_core import IsolationError, LaunchpadError, Problem
from launchpad_core.errors import DefinitionError, IsolationBusyError, UnsafePathError
from launchpad_core.isolation.children import MIB, IsolationLimits, IsolationPool, run_isolated
from launchpad_core.testing import launchpad_with, render_tree

QUICK = IsolationLimits(cpu_seconds=2, memory_bytes=512 * MIB, wall_seconds=20)


# -- hostile and friendly functions (run in the child) ---------------------------------------
def add(a: int, b: int, *, times: int = 1) -> int:
    return (a + b) * times


def spin() -> None:
    while True:
        pass


def sleep_forever() -> None:
    time.sleep(3600)


def allocate(n_bytes: int) -> int:
    return len(bytearray(n_bytes))


def grow_list() -> None:
    chunks = []
    while True:
        chunks.append("x" * MIB)


def exit_abruptly() -> None:
    os._exit(3)


def segfault() -> None:
    ctypes.string_at(0)


def raise_value_error() -> None:
    raise ValueError("boom")


def raise_definition_error() -> None:
    raise DefinitionError(
        "The definition is not valid.", [Problem("type", "expected string", "$.name")]
    )


def return_unpicklable() -> Any:
    return lambda: None


def start_grandchild_and_sleep(pid_file: str) -> None:
    child = subprocess.Popen(["sleep", "3600"])
    Path(pid_file).write_text(str(child.pid))
    time.sleep(3600)


def whoami() -> tuple[int, int, int]:
    import resource

    return os.getpid(), os.getpgrp(), resource.getrlimit(resource.RLIMIT_CPU)[0]


def render(definition: dict[str, Any], answers: dict[str, Any]) -> dict[str, bytes]:
    return render_tree(launchpad_with(), definition, answers)


# -- helpers -----------------------------------------------------------------------------------
def _descendants(root: int) -> dict[int, str]:
    """pid -> state letter of every live or zombie descendant of ``root``."""
    parents: dict[int, tuple[int, str]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        fields = stat.rsplit(")", 1)[1].split()
        parents[int(entry.name)] = (int(fields[1]), fields[0])
    found: dict[int, str] = {}
    frontier = [root]
    while frontier:
        parent = frontier.pop()
        for pid, (ppid, state) in parents.items():
            if ppid == parent and pid not in found:
                found[pid] = state
                frontier.append(pid)
    return found


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def _isolation_error(fn: Any, *args: Any, limits: IsolationLimits = QUICK) -> IsolationError:
    with pytest.raises(IsolationError) as caught:
        run_isolated(fn, *args, limits=limits)
    return caught.value


# -- results and errors ------------------------------------------------------------------------
def test_returns_the_result_with_args_and_kwargs():
    assert run_isolated(add, 2, 3, times=4, limits=QUICK) == 20


def test_runs_in_another_process_group_with_the_cpu_limit():
    pid, group, cpu = run_isolated(whoami, limits=QUICK)
    assert pid != os.getpid()
    assert group == pid
    assert cpu == QUICK.cpu_seconds


def test_launchpad_errors_come_back_as_themselves():
    with pytest.raises(DefinitionError) as caught:
        run_isolated(raise_definition_error, limits=QUICK)
    assert caught.value.code == "invalid_definition"
    assert caught.value.problems == (Problem("type", "expected string", "$.name"),)


def test_other_exceptions_are_a_crash_with_the_remote_traceback():
    error = _isolation_error(raise_value_error)
    assert error.code == "crashed"
    assert "ValueError: boom" in error.message
    assert any("raise ValueError" in note for note in error.__notes__)


def test_an_unpicklable_result_is_a_crash():
    error = _isolation_error(return_unpicklable)
    assert error.code == "crashed"
    assert "pickle" in error.message.lower()


# -- hostile functions ---------------------------------------------------------------------------
def test_an_infinite_loop_hits_the_cpu_limit():
    started = time.monotonic()
    error = _isolation_error(spin, limits=IsolationLimits(cpu_seconds=1, wall_seconds=30))
    assert error.code == "cpu_limit"
    assert time.monotonic() - started < 10


def test_a_sleeping_function_hits_the_wall_clock():
    started = time.monotonic()
    error = _isolation_error(sleep_forever, limits=IsolationLimits(wall_seconds=0.5))
    assert error.code == "timeout"
    assert time.monotonic() - started < 5


@pytest.mark.parametrize("fn, args", [(allocate, (8 * 1024 * MIB,)), (grow_list, ())])
def test_huge_allocations_hit_the_memory_limit(fn, args):
    # CPU to spare: on a loaded machine, page faults up to 512 MiB took longer than
    # QUICK's two CPU seconds once, and the CPU limit struck first.
    roomy = IsolationLimits(cpu_seconds=60, memory_bytes=512 * MIB, wall_seconds=60)
    error = _isolation_error(fn, *args, limits=roomy)
    assert error.code == "memory_limit"
    assert "512 MiB" in error.message


def test_an_abrupt_exit_is_a_crash():
    error = _isolation_error(exit_abruptly)
    assert error.code == "crashed"
    assert "status 3" in error.message


def test_a_segfault_is_a_crash():
    error = _isolation_error(segfault)
    assert error.code == "crashed"
    assert "SIGSEGV" in error.message


def test_a_timeout_kills_the_processes_the_child_started(tmp_path):
    pid_file = tmp_path / "pid"
    # Room for the child to start its own under a loaded machine (failed once at 1.5 s).
    limits = IsolationLimits(wall_seconds=4)
    error = _isolation_error(start_grandchild_and_sleep, str(pid_file), limits=limits)
    assert error.code == "timeout"
    grandchild = int(pid_file.read_text())
    for _ in range(200):
        if not _alive(grandchild):
            break
        time.sleep(0.05)
    assert not _alive(grandchild)


def test_no_child_is_left_behind():
    # Processes this worker started before (another test's moto_server or redis-server
    # under xdist) are not this test's.
    before = set(_descendants(os.getpid()))
    run_isolated(add, 1, 2, limits=QUICK)
    for fn in (spin, exit_abruptly, segfault, raise_value_error, raise_definition_error):
        with pytest.raises(LaunchpadError):
            run_isolated(fn, limits=QUICK)
    time.sleep(0.2)  # the fork server reaps its children on SIGCHLD
    helpers = ("forkserver", "resource_tracker")
    leftovers = {
        pid: (state, _cmdline(pid))
        for pid, state in _descendants(os.getpid()).items()
        if (state == "Z" or not any(h in _cmdline(pid) for h in helpers)) and (
            pid not in before or state == "Z")
    }
    assert leftovers == {}


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""


MAIN_SCRIPT = """
import os, sys
from launchpad_core.isolation.children import IsolationLimits, run_isolated
if __name__ == "__main__":
    print(run_isolated(os.getpid, limits=IsolationLimits()))
else:  # multiprocessing runs a caller's script again in a child as __mp_main__
    open(os.environ["MARKER"], "a").write(__name__)
"""


def test_a_child_does_not_run_the_callers_main_script_again(tmp_path):
    script, marker = tmp_path / "main.py", tmp_path / "ran"
    script.write_text(MAIN_SCRIPT)
    done = subprocess.run([sys.executable, str(script)], capture_output=True, text=True,
                          env={**os.environ, "MARKER": str(marker)}, timeout=120, check=True)
    assert int(done.stdout) > 0
    assert not marker.exists()


def test_a_child_never_collects_what_it_inherited():
    """Objects of the fork server are frozen: a full collection in the child walks only
    its own, instead of touching (and copying) every inherited page."""
    assert run_isolated(gc.get_freeze_count, limits=IsolationLimits()) > 1000


def test_limits_must_be_positive():
    with pytest.raises(ValueError, match="wall_seconds"):
        IsolationLimits(wall_seconds=0)


# -- real renders through launchpad_core -----------------------------------------------------------
def _definition(*files: dict[str, Any]) -> dict[str, Any]:
    return {"name": "t", "variables": [{"name": "who"}], "files": list(files)}


def test_a_render_comes_back_as_files():
    definition = _definition({"path": "{{ who }}.txt", "content": "hi {{ who }}"})
    assert run_isolated(render, definition, {"who": "ada"}, limits=QUICK) == {"ada.txt": b"hi ada"}


def test_an_unsafe_path_comes_back_as_the_core_error():
    definition = _definition({"path": "../{{ who }}.txt"})
    with pytest.raises(UnsafePathError) as caught:
        run_isolated(render, definition, {"who": "x"}, limits=QUICK)
    assert caught.value.code == "unsafe_path"


def test_deeply_nested_loops_hit_the_cpu_limit():
    loops = "{% for a in range(100000) %}{% for b in range(100000) %}{% endfor %}{% endfor %}"
    definition = _definition({"path": "slow.txt", "content": loops})
    limits = IsolationLimits(cpu_seconds=1, memory_bytes=1024 * MIB, wall_seconds=30)
    error = _isolation_error(render, definition, {"who": "x"}, limits=limits)
    assert error.code == "cpu_limit"


def test_no_signal_handler_is_changed_in_the_parent():
    assert signal.getsignal(signal.SIGXCPU) == signal.SIG_DFL


def leave_a_thread_running() -> str:
    import threading

    threading.Thread(target=time.sleep, args=(3600,)).start()
    return "done"


def test_a_child_that_answered_but_does_not_exit_is_killed_soon():
    started = time.monotonic()
    assert run_isolated(leave_a_thread_running, limits=IsolationLimits(wall_seconds=60)) == "done"
    assert time.monotonic() - started < 10


def test_an_unpicklable_function_fails_in_the_caller():
    with pytest.raises((AttributeError, TypeError, ValueError)):
        run_isolated(lambda: 1, limits=QUICK)


def test_a_template_hoarding_memory_hits_the_memory_limit_with_its_source():
    bomb = (
        "{% set ns = namespace(keep=[]) %}{% for i in range(100000) %}"
        "{{ ns.keep.append(range(100000)|list) }}{% endfor %}"
    )
    definition = _definition({"path": "bomb.txt", "content": bomb})
    limits = IsolationLimits(cpu_seconds=20, memory_bytes=256 * MIB, wall_seconds=30)
    error = _isolation_error(render, definition, {"who": "x"}, limits=limits)
    assert error.code == "memory_limit"
    assert error.source == "bomb.txt"


# -- the warm pool -----------------------------------------------------------------------------
def nap(seconds: float) -> int:
    time.sleep(seconds)
    return os.getpid()


@pytest.fixture
def pool():
    pool = IsolationPool(warm=2, slots=2, per_owner=1, queue_seconds=0.3)
    yield pool
    pool.close()


def _waiting_children(count: int) -> set[int]:
    """The pids of the fork server's children once ``count`` of them wait."""
    from multiprocessing import forkserver

    for _ in range(200):
        waiting = set(_descendants(forkserver._forkserver._forkserver_pid))
        if len(waiting) >= count:
            return waiting
        time.sleep(0.05)
    raise AssertionError(f"fewer than {count} children are waiting: {waiting}")


def test_a_pool_call_runs_in_a_child_forked_before_it_and_used_once(pool):
    assert pool.run(add, 1, 2, limits=QUICK) == 3
    waiting = _waiting_children(2)
    first = pool.run(whoami, limits=QUICK)[0]
    second = pool.run(whoami, limits=QUICK)[0]
    assert first in waiting
    assert first != second != os.getpid()
    assert not _alive(first)


def test_a_pool_call_has_its_own_limits(pool):
    with pytest.raises(IsolationError) as caught:
        pool.run(spin, limits=IsolationLimits(cpu_seconds=1, wall_seconds=30))
    assert caught.value.code == "cpu_limit"
    with pytest.raises(IsolationError) as caught:
        pool.run(nap, 30, limits=IsolationLimits(wall_seconds=0.5))
    assert caught.value.code == "timeout"
    with pytest.raises(DefinitionError):
        pool.run(raise_definition_error, limits=QUICK)
    assert pool.run(add, 2, 2, limits=QUICK) == 4


def _in_background(fn, *args, **kwargs):
    import threading

    done: list[Any] = []
    thread = threading.Thread(target=lambda: done.append(fn(*args, **kwargs)))
    thread.start()
    return thread, done


def test_one_owner_cannot_run_more_than_its_share(pool):
    thread, done = _in_background(pool.run, nap, 1.5, limits=QUICK, owner="ada")
    time.sleep(0.3)
    with pytest.raises(IsolationBusyError) as caught:
        pool.run(add, 1, 1, limits=QUICK, owner="ada")
    assert caught.value.code == "owner_busy"
    assert pool.run(add, 1, 1, limits=QUICK, owner="bob") == 2
    thread.join()
    assert done and pool.run(add, 1, 1, limits=QUICK, owner="ada") == 2


def test_one_group_cannot_run_more_than_its_share_across_owners():
    """Several accounts of one person (one address: one group) share its bound; another
    address's first call still runs at once, and goes first when calls wait."""
    pool = IsolationPool(warm=1, slots=3, per_owner=2, per_group=2, queue_seconds=0.3)
    try:
        busy = [_in_background(pool.run, nap, 1.5, limits=QUICK, owner=who, group="10.0.0.9")
                for who in ("eve", "mallory")]
        time.sleep(0.3)
        with pytest.raises(IsolationBusyError) as caught:
            pool.run(add, 1, 1, limits=QUICK, owner="trent", group="10.0.0.9")
        assert caught.value.code == "group_busy"
        assert pool.run(add, 2, 2, limits=QUICK, owner="bob", group="10.0.0.2") == 4
        for thread, done in busy:
            thread.join()
            assert done
        assert pool.run(add, 1, 1, limits=QUICK, owner="trent", group="10.0.0.9") == 2
    finally:
        pool.close()


def test_a_full_pool_answers_busy_after_the_queue_wait(pool):
    threads = [_in_background(pool.run, nap, 1.5, limits=QUICK, owner=who)[0]
               for who in ("ada", "bob")]
    time.sleep(0.3)
    started = time.monotonic()
    with pytest.raises(IsolationBusyError) as caught:
        pool.run(add, 1, 1, limits=QUICK, owner="eve")
    assert caught.value.code == "busy"
    assert caught.value.retry_after >= 1
    assert 0.25 < time.monotonic() - started < 1.2
    for thread in threads:
        thread.join()


def test_a_waiting_child_that_died_is_replaced(pool):
    pool.run(add, 1, 2, limits=QUICK)  # children are forked in advance from the first call on
    for pid in _waiting_children(2):
        os.kill(pid, signal.SIGKILL)
    assert pool.run(add, 3, 4, limits=QUICK) == 7


def test_an_unpicklable_argument_fails_in_the_caller_and_runs_nothing(pool):
    with pytest.raises((AttributeError, TypeError, ValueError)):
        pool.run(add, lambda: 1, 2, limits=QUICK)
    assert pool.run(add, 1, 2, limits=QUICK) == 3


def test_a_closed_pool_leaves_no_child_behind(pool):
    before = set(_descendants(os.getpid()))  # not this test's (see above)
    pool.run(add, 1, 2, limits=QUICK)
    _waiting_children(2)
    pool.close()
    time.sleep(0.3)
    helpers = ("forkserver", "resource_tracker")
    leftovers = [pid for pid in _descendants(os.getpid())
                 if not any(h in _cmdline(pid) for h in helpers) and pid not in before]
    assert leftovers == []


def test_a_child_runs_at_the_niceness_it_is_given():
    assert run_isolated(os.nice, 0, limits=attrs.evolve(QUICK, nice=7)) == os.nice(0) + 7


def started_after(seconds: float) -> float:
    started = time.monotonic()
    time.sleep(seconds)
    return started


def test_waiting_calls_go_fewest_calls_of_their_owner_first():
    """One slot: A holds it and queues two more; B, queued after them, runs next."""
    import concurrent.futures

    pool = IsolationPool(warm=0, slots=1, queue_seconds=30)
    try:
        with concurrent.futures.ThreadPoolExecutor(4) as threads:
            holding = threads.submit(pool.run, started_after, 0.8, limits=QUICK, owner="a")
            time.sleep(0.3)
            queued_a = [threads.submit(pool.run, started_after, 0.2, limits=QUICK, owner="a")
                        for _ in range(2)]
            time.sleep(0.2)
            queued_b = threads.submit(pool.run, started_after, 0.2, limits=QUICK, owner="b")
            starts = [f.result() for f in (holding, *queued_a, queued_b)]
    finally:
        pool.close()
    assert starts[0] < starts[3] < min(starts[1:3])
