"""Sandbox escapes and resource bombs: every one fails with a LaunchpadError
subclass, never succeeds and never leaks a raw Python or Jinja exception."""

from __future__ import annotations

import resource

import pytest

from launchpad_core import Launchpad, LimitExceededError, Limits, SecurityError
from launchpad_core.errors import LaunchpadError, TemplateSourceError

from .conftest import definition, make_launchpad, render, render_text

# Deep doubling: each pass doubles what repr, == or hash would walk in one C call.
_DOUBLE = "{% set ns = namespace(s=[0]) %}{% for i in range(64) %}{% set ns.s = EXPR %}{% endfor %}"

ESCAPES = {
    # Attribute access to Python internals.
    "dunder class": "{{ ''.__class__.__mro__ }}",
    "attr filter dunder": "{{ ''|attr('__class__') }}",
    "subscript dunder": "{{ x['__class__'] }}",
    "dunder on a context value": "{{ x.__class__ }}",
    "dunder on a context value, deeper": "{{ x.__class__.__base__.__subclasses__() }}",
    "attr format trick": "{{ ('{0.__class__}'|attr('format'))(1) }}",
    "str.format field access": "{{ '{0.__class__}'.format(1) }}",
    "str.format_map field access": "{{ '{x.__class__}'.format_map({'x': 1}) }}",
    "format of a context value": "{{ '{0.__class__.__init__}'.format(x) }}",
    "cycler globals": "{{ cycler.__init__.__globals__ }}",
    "lipsum globals": "{{ lipsum.__globals__['os'] }}",
    "lipsum code": "{{ lipsum.__code__ }}",
    "joiner init": "{{ joiner.__init__ }}",
    "namespace init": "{{ namespace.__init__ }}",
    "self dict": "{{ self.__dict__ }}",
    "self private context": "{{ self._TemplateReference__context }}",
    "range self": "{{ range.__self__ }}",
    "dict base": "{{ dict.__base__ }}",
    "subclasses loop": "{% for x in ().__class__.__base__.__subclasses__() %}{% endfor %}",
    "generator frame": "{{ ([1]|map('abs')).gi_frame }}",
    "generator frame globals": "{% set g = [1]|select %}{{ g.gi_frame.f_globals }}",
    "generator code": "{{ ([1]|map('abs')).gi_code }}",
    "generator expression": "{{ (c for c in 'ab').gi_frame }}",  # not Jinja syntax
    "private attribute": "{{ x._private }}",
    # Sizes that one long C call would reach.
    "huge range": "{{ range(10**9)|list }}",
    "huge range length": "{{ range(0, 10**18, 10**9)|length }}",
    "range past ssize_t": "{{ range(2**70) }}",
    "string times huge": "{{ 'x' * 10**9 }}",
    "huge times string": "{{ 999999999 * 'a' }}",
    "list times huge": "{{ [1] * 10**9 }}",
    "tuple times huge": "{{ (1,) * 10**9 }}",
    "power folded at compile time": "{{ 7 ** 30000000 }}",
    "nested power": "{{ 9 ** (9 ** 9) }}",
    "power of a negative base": "{{ (-3) ** 5000 }}",
    "product of big numbers": "{{ 2 ** 4000 * 2 ** 4000 }}",
    "sum of big numbers": "{{ 2 ** 4096 + 2 ** 4096 }}",
    "float overflow": "{{ 2.0 ** 5000 }}",
    "percent width": "{{ '%0999999999d' % 1 }}",
    "percent precision": "{{ '%.999999999s' % 'a' }}",
    "percent star width": "{{ '%*d' % (999999999, 1) }}",
    "percent star precision": "{{ '%.*f' % (999999999, 1.0) }}",
    "percent mapping width": "{{ '%(a)999999999s' % {'a': 1} }}",
    "format filter width": "{{ '%0999999999d'|format(1) }}",
    "format filter star": "{{ '%*d'|format(999999999, 3) }}",
    "str.format width": "{{ '{0:>999999999}'.format(1) }}",
    "str.format nested width": "{{ '{0:>{1}}'.format(1, 999999999) }}",
    "str.format nested precision": "{{ '{0:.{1}f}'.format(1.0, 999999999) }}",
    "format_map nested width": "{{ '{x:>{w}}'.format_map({'x': 1, 'w': 99999999}) }}",
    "safe string format width": "{{ ('{0:>999999999}'|safe).format(1) }}",
    "center filter": "{{ 'a'|center(999999999) }}",
    "indent filter": "{{ 'a'|indent(999999999, true) }}",
    "wordwrap filter": "{{ 'ab'|wordwrap(999999999) }}",
    "truncate filter": "{{ 'a'|truncate(999999999) }}",
    "batch filter": "{{ [1, 2]|batch(999999999)|list }}",
    "urlize filter": "{{ 'x'|urlize(999999999) }}",
    "str methods": "{{ 'a'.ljust(999999999) }}",
    "zfill": "{{ 'a'.zfill(999999999) }}",
    "expandtabs": "{{ 'a\tb'.expandtabs(999999999) }}",
    "replace filter chain": "{{ ('a' * 1000)|replace('a', 'a' * 1000)|replace('a', 'a' * 1000) }}",
    "replace method chain": "{{ ('a' * 1000).replace('a', 'a' * 1000).replace('a', 'a' * 1000) }}",
    "replace of empty": "{{ 'a'|replace('', 'b' * 1000)|replace('', 'c' * 1000) }}",
    "replace count": "{{ 'aaaa'|replace('a', 'aaaa' * 1000, 999999999) }}",
    "join separator": "{{ ['a', 'b']|join('x' * 99999999) }}",
    "tilde doubling": _DOUBLE.replace("EXPR", "ns.s ~ ns.s").replace("[0]", "'x'"),
    "plus doubling": _DOUBLE.replace("EXPR", "ns.s + ns.s").replace("[0]", "'x'"),
    "list plus doubling": _DOUBLE.replace("EXPR", "ns.s + ns.s"),
    "list literal doubling": _DOUBLE.replace("EXPR", "[ns.s, ns.s]") + "{{ ns.s }}",
    "tuple literal doubling": _DOUBLE.replace("EXPR", "(ns.s, ns.s)") + "{{ ns.s == ns.s }}",
    "dict literal doubling": _DOUBLE.replace("EXPR", "{'a': ns.s, 'b': ns.s}"),
    "dict call doubling": _DOUBLE.replace("EXPR", "dict(a=ns.s, b=ns.s)"),
    "cycler doubling": _DOUBLE.replace("EXPR", "cycler(ns.s, ns.s).items"),
    "repeat doubling": _DOUBLE.replace("EXPR", "[ns.s] * 2"),
    "strings in a list": "{% set s = 'x' * 1000000 %}{{ [s] * 100 }}",
    # Recursion and bad templates.
    "recursive macro": "{% macro f() %}{{ f() }}{% endmacro %}{{ f() }}",
    "undefined name": "{{ os.system('id') }}",
    "import": "{% import 'os' as os %}",
    "include": "{% include '/etc/passwd' %}",
    "syntax error": "{{ ",
    "unknown filter": "{{ x|no_such_filter }}",
    "division by zero": "{{ 1 // 0 }}",
}

#: Payloads the issue listed that are harmless as written, with what they render.
HARMLESS = {
    # Formats the empty string: the first argument is never a format string.
    "{{ (''|attr('format'))('{0.__class__}', 1) }}": "",
    # No replacement fields, so the mapping is never read.
    "{{ 'a'.format_map({}) }}": "a",
    # Jinja's ** is left-associative: (9**9)**9 has 78 digits.
    "{{ (9**9**9)|string|length }}": "78",
}


@pytest.fixture(scope="module")
def guarded() -> Launchpad:
    return make_launchpad(Limits(render_seconds=5, max_string=1_000_000))


def _peak_memory_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB


@pytest.mark.parametrize("payload", ESCAPES.values(), ids=ESCAPES.keys())
def test_an_escape_fails_cleanly(guarded: Launchpad, payload: str) -> None:
    peak = _peak_memory_mib()
    with pytest.raises(LaunchpadError) as info:
        render_text(guarded, payload, x="hello")
    assert isinstance(info.value, SecurityError | TemplateSourceError | LimitExceededError)
    assert info.value.source == "test"
    # Refused before the big allocation, not after it (the peak only ever grows).
    assert _peak_memory_mib() - peak < 200


@pytest.mark.parametrize("payload", ESCAPES.values(), ids=ESCAPES.keys())
def test_an_escape_in_a_file_path_fails_cleanly(guarded: Launchpad, payload: str) -> None:
    data = definition({"path": "a.txt", "content": payload})
    with pytest.raises(LaunchpadError):
        render(guarded, data, {})


def test_the_payload_table_is_big_enough() -> None:
    assert len(ESCAPES) >= 25


@pytest.mark.parametrize(("payload", "output"), HARMLESS.items())
def test_harmless_lookalikes_render_their_plain_result(
    guarded: Launchpad, payload: str, output: str
) -> None:
    assert render_text(guarded, payload) == output


@pytest.mark.parametrize("payload", [
    "{{ ''.__class__ }}", "{{ 7 ** 30000000 }}", "{{ range(10**9)|list }}",
])
def test_violations_are_security_errors_with_their_code(guarded: Launchpad, payload: str) -> None:
    with pytest.raises(SecurityError) as info:
        render_text(guarded, payload)
    assert info.value.code == "sandbox_violation"


# What the bounds still allow ------------------------------------------------------------


@pytest.mark.parametrize(("source", "output"), [
    ("{{ '%5.*f|%s' % (2, 1.23456, 'x') }}", " 1.23|x"),
    ("{{ '%*d' % (5, 123456) }}", "123456"),
    ("{{ '%%%5d%%' % 3 }}", "%    3%"),
    ("{{ '{0:08.3f}|{1!r:>6}'.format(3.14159, 'a') }}", "0003.142|   'a'"),
    ("{{ '{x:>{w}}'.format_map({'x': 1, 'w': 5}) }}", "    1"),
    ("{{ 2 ** 4000 > 0 }}", "True"),
    ("{{ (10 ** 1000)|string|length }}", "1001"),
    ("{% for a, b in [(1, 2), (3, 4)] %}{{ a + b }}{% endfor %}", "37"),
    ("{% set a, b = 1, 2 %}{{ a }}{{ b }}", "12"),
    ("{{ {'k': [1, (2, 3)]} }}", "{'k': [1, (2, 3)]}"),
    ("{% set l = [] %}{% for i in range(3) %}{{ l.append(i) or '' }}{% endfor %}{{ l }}",
     "[0, 1, 2]"),
    ("{{ cycler('a', 'b').next() }}{{ lipsum(1)|length > 10 }}", "aTrue"),
    ("{{ (['x'] * 1000)|length }}", "1000"),
])
def test_ordinary_templates_still_render(guarded: Launchpad, source: str, output: str) -> None:
    assert render_text(guarded, source) == output


def test_a_value_just_within_the_string_limit_renders(guarded: Launchpad) -> None:
    assert render_text(guarded, "{{ ('x' * 1000000)|length }}") == "1000000"
    with pytest.raises(SecurityError):
        render_text(guarded, "{{ 'x' * 1000001 }}")


@pytest.mark.parametrize(
    "grow",
    [
        "{{ l.append('x' * 100) or '' }}",
        "{{ l.extend(['x' * 100]) or '' }}",
        "{{ l.insert(0, 'x' * 100) or '' }}",
    ],
)
def test_a_list_grown_in_place_past_the_limit_is_refused(grow: str) -> None:
    lp = make_launchpad(Limits(max_string=1000))
    source = "{% set l = [] %}{% for i in range(50) %}" + grow + "{% endfor %}{{ l|length }}"
    with pytest.raises(SecurityError):
        render_text(lp, source)


def test_a_dict_grown_in_place_past_the_limit_is_refused() -> None:
    lp = make_launchpad(Limits(max_string=1000))
    source = ("{% set d = {} %}{% for i in range(50) %}{{ d.update({i: 'x' * 100}) or '' }}"
              "{% endfor %}{{ d|length }}")
    with pytest.raises(SecurityError):
        render_text(lp, source)


def test_growing_in_place_within_the_limit_renders() -> None:
    lp = make_launchpad(Limits(max_string=1000))
    source = ("{% set l = [] %}{% for i in range(80) %}{{ l.append('x' * 10) or '' }}"
              "{% endfor %}{{ l|length }} {{ l|join|length }}")
    assert render_text(lp, source) == "80 800"
