"""Limits: each one exceeded gives a clear LimitExceededError or SecurityError."""

from __future__ import annotations

import concurrent.futures
import signal
import time
from collections.abc import Callable
from typing import Any

import pytest

from launchpad_core import LimitExceededError, Limits, SecurityError
from launchpad_core.errors import LaunchpadError, RenderTimeoutError
from launchpad_core.render.deadline import deadline

from .conftest import definition, make_launchpad, render


def render_with(limits: Limits, *files: Any, **fields: Any) -> list[str]:
    return [f.path for f in render(make_launchpad(limits), definition(*files, **fields))]


def test_max_files() -> None:
    assert render_with(Limits(max_files=2), "a", "b") == ["a", "b"]
    with pytest.raises(LimitExceededError, match="the output has more than 2 files"):
        render_with(Limits(max_files=2), "a", "b", "c")


def test_empty_folders_count_as_files_and_implied_ones_do_not() -> None:
    assert render_with(Limits(max_files=2), "a/", "a/x", "b/") == ["a/x", "b"]
    with pytest.raises(LimitExceededError, match="the output has more than 2 files"):
        render_with(Limits(max_files=2), "a/", "b/", "c")


def test_the_answers_file_counts_as_a_file() -> None:
    with pytest.raises(LimitExceededError, match="more than 2 files"):
        render_with(Limits(max_files=2), "a", "b", settings={"answers_file": "x.yml"})


@pytest.mark.parametrize(("content", "message"), [
    ("x" * 11, "the file is 11 bytes, over the limit of 10"),
    # Rendered text is stopped as it passes the limit, before its size is known.
    ("{{ 'x' * 11 }}", "the rendered text is over the limit of 10 characters"),
    ("{{ 'x' * 6 }}{{ 'x' * 5 }}", "the rendered text is over the limit of 10 characters"),
])
def test_max_file_bytes(content: str, message: str) -> None:
    assert render_with(Limits(max_file_bytes=10), {"path": "a", "content": "x" * 10}) == ["a"]
    with pytest.raises(LimitExceededError) as info:
        render_with(Limits(max_file_bytes=10), {"path": "a", "content": content})
    assert info.value.message == message
    assert info.value.source == "a"


@pytest.mark.parametrize("second", ["x" * 10, "{{ 'x' * 10 }}"])
def test_max_total_bytes(second: str) -> None:
    files = [{"path": "a", "content": "x" * 10}, {"path": "b", "content": second}]
    assert render_with(Limits(max_total_bytes=20), *files) == ["a", "b"]
    with pytest.raises(LimitExceededError, match="over the limit of 15 bytes in all"):
        render_with(Limits(max_total_bytes=15), *files)


@pytest.mark.parametrize(("limits", "content", "message"), [
    (Limits(max_string=100), "{{ 'x' * 101 }}", "repeating 1 items 101 times"),
    (Limits(max_string=100), "{{ 'x' * 60 ~ 'y' * 60 }}", "a concatenation"),
    (Limits(max_string=100), "{{ ('x' * 60)|replace('x', 'yy') }}", "the result of replace"),
    (Limits(max_string=100), "{{ 'x'|center(101) }}", "a size argument of 101"),
    (Limits(max_string=100), "{{ ['x' * 60, 'y' * 60] }}", "a value of 122 items"),
    (Limits(max_range=10), "{{ range(11)|list }}", "a range of 11 items"),
    (Limits(max_int_bits=64), "{{ 2 ** 65 }}", "2 ** 65"),
    (Limits(max_int_bits=64), "{{ 2 ** 40 * 2 ** 40 }}", "a product"),
    (Limits(max_int_bits=64), "{{ 2 ** 63 + 2 ** 63 }}", "a 65-bit number"),
])
def test_sandbox_limits(limits: Limits, content: str, message: str) -> None:
    with pytest.raises(SecurityError) as info:
        render_with(limits, {"path": "a", "content": content})
    assert info.value.message == f"{message} exceeds the sandbox limit"
    assert info.value.source == "a"


@pytest.mark.parametrize(("limits", "content"), [
    (Limits(max_string=100), "{{ 'x' * 100 }}"),
    (Limits(max_range=10), "{{ range(10)|list }}"),
    (Limits(max_int_bits=64), "{{ 2 ** 63 }}"),  # 64 bits exactly
    (Limits(max_int_bits=64), "{{ 10 ** 19 }}"),
])
def test_values_at_a_limit_are_allowed(limits: Limits, content: str) -> None:
    assert render_with(limits, {"path": "a", "content": content}) == ["a"]


@pytest.mark.parametrize("content", [
    "{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}",
    # lipsum(99999) is refused at once now (too long); many small ones run out of time.
    "{% for i in range(100000) %}{{ lipsum(100)|length }}{% endfor %}",
])
def test_a_render_that_runs_forever_times_out(content: str) -> None:
    lp = make_launchpad(Limits(render_seconds=0.5))
    started = time.monotonic()
    with pytest.raises(RenderTimeoutError) as info:
        render(lp, definition({"path": "a", "content": content}))
    assert time.monotonic() - started < 10
    assert info.value.message == "rendering took longer than 0.5 seconds"
    assert isinstance(info.value, LimitExceededError)


def test_a_loop_in_a_path_times_out_too() -> None:
    lp = make_launchpad(Limits(render_seconds=0.5))
    path = "{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}x"
    with pytest.raises(RenderTimeoutError):
        render(lp, definition(path))


def _in_a_thread(body: Callable[[], Any]) -> Any:
    """What ``body`` returns or raises, run in a thread that is not the main one (where a
    deadline is kept by a watchdog thread, not by ``SIGALRM``)."""
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        return pool.submit(body).result()


def test_the_deadline_does_not_fire_after_the_render() -> None:
    def quick() -> None:
        with deadline(0.2):
            pass
        time.sleep(0.4)  # an expired timer must not raise into this thread now

    quick()
    _in_a_thread(quick)
    assert signal.getsignal(signal.SIGALRM) is signal.SIG_DFL
    assert signal.getitimer(signal.ITIMER_REAL) == (0.0, 0.0)


def test_a_render_in_another_thread_or_beside_another_alarm_times_out_too() -> None:
    lp = make_launchpad(Limits(render_seconds=0.5))
    content = "{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}"
    with pytest.raises(RenderTimeoutError):
        _in_a_thread(lambda: render(lp, definition({"path": "a", "content": content})))
    previous = signal.signal(signal.SIGALRM, lambda *_: None)  # someone else's alarm
    try:
        with pytest.raises(RenderTimeoutError):
            render(lp, definition({"path": "a", "content": content}))
        assert signal.getsignal(signal.SIGALRM) is not signal.SIG_DFL
    finally:
        signal.signal(signal.SIGALRM, previous)


def test_a_render_within_time_succeeds() -> None:
    lp = make_launchpad(Limits(render_seconds=5))
    assert [f.data for f in render(lp, definition({"path": "a", "content": "{{ 1 + 1 }}"}))] == [
        b"2"
    ]


@pytest.mark.parametrize("content", [
    "{% macro f() %}{{ f() }}{% endmacro %}{{ f() }}",
    "{% macro f(n) %}{{ f(n + 1) }}{% endmacro %}{{ f(0) }}",
])
def test_recursion_is_a_limit_not_a_crash(content: str) -> None:
    with pytest.raises(LimitExceededError) as info:
        render_with(Limits(), {"path": "a", "content": content})
    assert info.value.message == "templates nest or recurse too deeply"
    assert info.value.code == "limit_exceeded"


def test_every_limit_error_is_a_launchpad_error() -> None:
    for error in (LimitExceededError, RenderTimeoutError, SecurityError):
        assert issubclass(error, LaunchpadError)
