"""Templates written to attack a hosted service: each one ends with a clear
error within its bound, and no render sees another render's values.

The bounds are the point of each test: a result, a memory peak measured in a
child process, a count of calls, never only a wall-clock time.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import textwrap
import time
import tracemalloc
from pathlib import Path
from typing import Any

import pytest

from launchpad_core import EnvOptions, LimitExceededError, Limits
from launchpad_core.errors import (
    AnswersError,
    DefinitionError,
    LaunchpadError,
    RegexTimeoutError,
)
from launchpad_core.importers import copier_filters
from launchpad_core.render.engine import Engine
from launchpad_core.render.sandbox import LaunchpadSandbox

from .conftest import make_launchpad

MIB = 1024 * 1024
ENVOPS = EnvOptions()


def _engine(limits: Limits | None = None, **filters: Any) -> Engine:
    return Engine(limits=limits, filters={**copier_filters.FILTERS, **filters})


def _render(engine: Engine, source: str, max_chars: int | None = None, **context: Any) -> str:
    return engine.render_text(ENVOPS, source, context, "test", max_chars=max_chars)


# 1. Nothing is evaluated at compile time ---------------------------------------------


class _Calls:
    """A filter that counts its calls."""

    def __init__(self) -> None:
        self.count = 0

    def __call__(self, value: Any) -> str:
        self.count += 1
        return f"{value}{self.count}"


@pytest.mark.parametrize("source", [
    "{{ 'x'|tick }}",
    "{{ ('x'|tick) ~ 'y' }}",
    "{{ ['x', 'y']|map('tick')|join }}",
    "{% autoescape 'x'|tick %}a{% endautoescape %}",
    "{% if 'x'|tick %}a{% endif %}",
])
def test_a_filter_over_literals_runs_at_each_render_not_when_compiling(source: str) -> None:
    tick = _Calls()
    engine = _engine(tick=tick)
    engine.compile(ENVOPS, source, "test")
    engine.precompile(ENVOPS, [source, source + " "])
    assert tick.count == 0
    _render(engine, source)
    _render(engine, source)
    assert tick.count >= 2


def test_one_compiled_template_gives_each_render_its_own_random_order() -> None:
    engine = _engine()
    source = "{{ [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]|shuffle|join(',') }}"
    orders = {_render(engine, source) for _ in range(20)}
    assert len(orders) > 1  # 20 equal shuffles of 10 items: (1/10!)**19


def test_a_time_stamp_over_a_literal_is_taken_at_render_time() -> None:
    engine = _engine()
    source = "{{ '%Y-%m-%d %H:%M:%S'|strftime }}"
    code = engine.environment(ENVOPS).compile(source, raw=True)
    assert "strftime" in code  # a folded one would be a string constant in the code


def test_a_heavy_filter_over_literals_does_not_run_while_compiling() -> None:
    engine = _engine(Limits(max_string=MIB))
    source = "{{ 'x'|comment(prefix='y' * 100, prefix_count=10**7) }}"
    engine.compile(ENVOPS, source, "test")  # would take gigabytes if folded
    with pytest.raises(LaunchpadError):
        _render(engine, source)


# 2. Regular expressions from templates are bounded in time --------------------------

CATASTROPHIC = "(a|a)+$"  # backtracks 2**n ways on n a's and a mismatch
VICTIM = "a" * 40 + "!"


@pytest.mark.parametrize("source", [
    "{{ text|regex_search(pattern) }}",
    "{{ text|regex_replace(pattern, 'b') }}",
    "{{ text|regex_findall(pattern) }}",
    "{{ text|regex_search(pattern, ignorecase=True) }}",
])
def test_a_catastrophic_pattern_in_a_filter_stops_at_the_regex_limit(source: str) -> None:
    engine = _engine(Limits(regex_seconds=0.2))
    started = time.perf_counter()
    with pytest.raises(RegexTimeoutError) as info:
        _render(engine, source, text=VICTIM, pattern=CATASTROPHIC)
    assert time.perf_counter() - started < 5  # unbounded: 2**40 steps, days
    assert info.value.code == "regex_timeout"
    assert info.value.source == "test"
    assert "(a|a)+$" in str(info.value) and "0.2 seconds" in str(info.value)


def test_the_reported_pattern_and_ordinary_patterns_answer_at_once() -> None:
    engine = _engine(Limits(regex_seconds=0.2))
    # The report's own example: 15 s and doubling per 'a' with Python's re.
    assert _render(engine, "{{ ('a' * 27 ~ '!')|regex_search('(a+)+$') }}") == "None"
    assert _render(engine, "{{ 'ab12'|regex_replace('[0-9]', '#') }}") == "ab##"


def test_a_catastrophic_variable_pattern_is_an_answer_problem() -> None:
    lp = make_launchpad(Limits(regex_seconds=0.2))
    template = lp.structure({"name": "t", "files": [],
                             "variables": [{"name": "code", "pattern": CATASTROPHIC}]})
    assert lp.resolve_answers(template, {"code": "aaa"}).values == {"code": "aaa"}
    with pytest.raises(AnswersError) as info:
        lp.resolve_answers(template, {"code": VICTIM})
    [problem] = info.value.problems
    assert (problem.code, problem.path) == ("regex_timeout", "$.code")
    assert "pattern of code" in problem.message


def test_a_pattern_that_is_no_regular_expression_is_a_definition_problem() -> None:
    lp = make_launchpad()
    with pytest.raises(DefinitionError) as info:
        lp.structure({"name": "t", "variables": [{"name": "code", "pattern": "(a"}]})
    assert [p.code for p in info.value.problems] == ["invalid_pattern"]


# 3. Output is counted as it is produced --------------------------------------------

RANGE_BOMB = "{% for i in range(100000) %}{% for j in range(100000) %}x{% endfor %}{% endfor %}"


def _in_child(script: str) -> dict[str, Any]:
    """Run ``script`` in a fresh interpreter; it prints one JSON line: its error code and
    its peak resident memory (``ru_maxrss``, KiB on Linux)."""
    prelude = textwrap.dedent("""
        import json, resource
        from launchpad_core.errors import LaunchpadError
        def report(code):
            rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
            print(json.dumps({"code": code, "rss_kib": rss}))
    """)
    done = subprocess.run([sys.executable, "-c", prelude + textwrap.dedent(script)],
                          capture_output=True, text=True, timeout=120, check=True)
    return json.loads(done.stdout.splitlines()[-1])


def test_the_range_bomb_stops_at_the_file_limit_with_bounded_memory() -> None:
    result = _in_child(f"""
        from launchpad_core.testing import launchpad_with
        lp = launchpad_with()
        definition = {{"name": "t", "files": [{{"path": "a", "content": {RANGE_BOMB!r}}}]}}
        template = lp.structure(definition)
        try:
            lp.render(template, lp.resolve_answers(template, {{}}))
            report("rendered")
        except LaunchpadError as exc:
            report(exc.code)
    """)
    # Default limits: 16 MiB a file, a 60 s deadline (render_timeout were it hit).
    assert result["code"] == "limit_exceeded"
    assert result["rss_kib"] < 300 * 1024


@pytest.mark.parametrize("source", [
    RANGE_BOMB,
    "{% set s %}{% for i in range(100000) %}{% for j in range(100000) %}{{ '' }}"
    "{% endfor %}{% endfor %}{% endset %}",
    "{% for i in range(100000) %}{{ big ~ i }}{% endfor %}",
    "{% set s %}" + RANGE_BOMB + "{% endset %}{{ s|length }}",
    "{% macro m() %}" + RANGE_BOMB + "{% endmacro %}{{ m()|length }}",
    "{% filter upper %}" + RANGE_BOMB + "{% endfilter %}",
    "{% macro m() %}{{ caller() }}{% endmacro %}{% call m() %}" + RANGE_BOMB + "{% endcall %}",
])
def test_runaway_output_stops_at_its_limit(source: str) -> None:
    engine = _engine(Limits(max_string=MIB, max_file_bytes=MIB, render_seconds=30))
    with pytest.raises(LaunchpadError, match=r"limit|exceeds") as info:
        _render(engine, source, big="x" * (MIB // 2))
    assert info.value.code in ("limit_exceeded", "sandbox_violation")


def test_output_just_within_the_limit_renders() -> None:
    engine = _engine()
    assert _render(engine, "{% for i in range(1000) %}x{% endfor %}", 1000) == "x" * 1000
    with pytest.raises(LimitExceededError, match="over the limit of 1,000 characters"):
        _render(engine, "{% for i in range(1001) %}x{% endfor %}", max_chars=1000)


# 4. Sizes are counted whatever grows them, and checked before they are produced ------


@pytest.mark.parametrize("grow", [
    "{{ l.extend(range(600)) or '' }}",
    "{{ l.extend(range(600)|map('string')) or '' }}",
    "{{ s.update(range(600)) or '' }}",
    "{{ d.update(range(300)|batch(2)) or '' }}",
])
def test_what_extend_and_update_add_is_counted_item_by_item(grow: str) -> None:
    engine = _engine(Limits(max_string=1000))
    source = "{% set l = [] %}{% set d = {} %}" + grow + grow
    with pytest.raises(LaunchpadError, match="exceeds the sandbox limit"):
        _render(engine, source, s=set())
    within = "{% set l = [] %}{{ l.extend(range(100)) or '' }}{{ l|length }}"
    assert _render(engine, within) == "100"


@pytest.mark.parametrize(("source", "message"), [
    # The report's own: prefix_count=10**7 (2.3 GB); here within the size argument limit.
    ("{{ 'x'|comment(prefix='y' * 100, prefix_count=10**5) }}", "a comment of 10,100,"),
    ("{{ 'x'|comment(postfix='y' * 100, postfix_count=10**5) }}", "a comment of 10,100,"),
    ("{{ ('x' * 2000)|comment(decoration='y' * 1000, newline='') }}", "a comment of 2,"),
    ("{{ range(100000)|join('y' * 1000) }}", "joining 100,000 items"),
    ("{{ range(100000)|map('string')|join('y' * 1000) }}", "joining 100,000 items"),
    ("{{ ('x\n' * 100000)|indent(1000) }}", "indenting by 1,000"),
    ("{{ ('x\n' * 100000)|indent('y' * 1000) }}", "indenting by 1,000"),
    ("{{ [[1]]|tojson(indent=1000) }}", "an indent of 1,000"),
    ("{{ [[1]]|to_nice_json(1000) }}", "an indent of 1,000"),
    ("{{ [[1]]|to_nice_yaml(indent=1000) }}", "an indent of 1,000"),
    ("{{ lipsum(99999) }}", "lorem ipsum of"),
])
def test_filters_that_repeat_an_argument_are_refused_before_producing(
    source: str, message: str
) -> None:
    engine = _engine(Limits(max_string=MIB))
    tracemalloc.start()
    try:
        with pytest.raises(LaunchpadError, match=re.escape(message)):
            _render(engine, source)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 16 * MIB  # the comment alone would be 1 GB, the join 100 MB


def test_a_random_string_longer_than_the_limit_is_refused() -> None:
    from launchpad_core.importers.cookiecutter_ext import random_ascii_string

    assert len(random_ascii_string(12)) == 12
    with pytest.raises(Exception, match="a random string of 1,000,000,000 characters"):
        random_ascii_string(10**9)


@pytest.mark.parametrize(("source", "output"), [
    ("{{ 'one'|comment(prefix_count=2) }}", "#\n#\n# one\n#"),
    ("{{ [1, 2]|join(', ') }}", "1, 2"),
    ("{{ 'a\nb'|indent(2) }}", "a\n  b"),
    ("{{ {'a': 1}|tojson(indent=2) }}", '{\n  "a": 1\n}'),
    ("{{ lipsum(2, html=False, min=3, max=5)|wordcount > 5 }}", "True"),
])
def test_the_same_filters_within_their_limits_render(source: str, output: str) -> None:
    assert _render(_engine(), source) == output


# 5. Answers resolve in time proportional to the variables -----------------------------


def _chained(n: int) -> dict[str, Any]:
    variables = [{"name": "v0", "type": "str", "default": "x"}] + [
        {"name": f"v{i}", "type": "str", "default": f"{{{{ v{i - 1} }}}}"} for i in range(1, n)
    ]
    return {"name": "t", "variables": variables, "settings": {"context_name": "all"},
            "files": [{"path": "a", "content": f"{{{{ v{n - 1} }}}}{{{{ all.v0 }}}}"}]}


def test_chained_defaults_compile_once_and_resolve_without_copying(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    lp = make_launchpad()
    template = lp.structure(_chained(10_000))  # more sources than the engine's initial cache
    compiled: list[str] = []
    compile_source = LaunchpadSandbox.compile

    def counting(self: LaunchpadSandbox, source: Any, *args: Any, **kwargs: Any) -> Any:
        compiled.append(source)
        return compile_source(self, source, *args, **kwargs)

    monkeypatch.setattr(LaunchpadSandbox, "compile", counting)
    started = time.perf_counter()
    answers = lp.resolve_answers(template, {})
    took = time.perf_counter() - started
    assert compiled == []  # the check compiled every default once; resolving reuses them
    assert answers.values["v9999"] == "x"
    assert took < 5  # was 20 s and more: each default copied the whole context twice
    assert [f.data for f in lp.render(template, answers)] == [b"xx"]


def test_the_reported_comment_in_a_default_is_an_answer_problem_not_gigabytes() -> None:
    lp = make_launchpad()  # default limits; Copier's filters come with the built-in plugins
    default = "{{ 'x'|comment(prefix='y' * 100, prefix_count=10**7) }}"
    template = lp.structure({"name": "t", "files": [],
                             "variables": [{"name": "note", "default": default}]})
    tracemalloc.start()
    try:
        with pytest.raises(AnswersError) as info:
            lp.resolve_answers(template, {})
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    [problem] = info.value.problems
    assert (problem.code, problem.path) == ("sandbox_violation", "$.note")
    assert "a comment of 1,010,000,0" in problem.message
    assert peak < 64 * MIB  # was 2.3 GB


def test_a_copier_answers_file_path_renders_in_the_bounded_sandbox(tmp_path: Path) -> None:
    from launchpad_core.importers.importing import import_template

    lp = make_launchpad()
    (tmp_path / "copier.yml").write_text('_answers_file: "{{ lipsum(99999) }}.yml"\nname: x\n')
    (tmp_path / "README.md").write_text("hi")
    template = import_template(str(tmp_path), launchpad=lp)
    with pytest.raises(LaunchpadError, match="lorem ipsum of") as info:
        lp.render(template, lp.resolve_answers(template, {}))
    assert info.value.source == "_answers_file"
