"""launchpad_core.model.strict_json: the standard parser with hooks, refusing what nothing
here can hold, each problem at its JSON path, without recursion."""

from __future__ import annotations

import json

import pytest

from launchpad_core.model.strict_json import MAX_PROBLEMS, JsonSyntaxError, JsonValueError, loads


def refused(raw: bytes | str) -> set[tuple[str, str]]:
    with pytest.raises(JsonValueError) as caught:
        loads(raw)
    return {(p.path, p.code) for p in caught.value.problems}


@pytest.mark.parametrize("raw, expected", [
    (b"[" * 100_000 + b"]" * 100_000, {("$", "too_deep")}),
    (b'{"a": ' * 65 + b"1" + b"}" * 65, {("$", "too_deep")}),
    (b"1" + b"0" * 5000, {("$", "number_out_of_range")}),
    (b"[9223372036854775808, -9223372036854775809]",
     {("$[0]", "number_out_of_range"), ("$[1]", "number_out_of_range")}),
    (b'{"a": [NaN, Infinity, -Infinity, 1e400]}',
     {("$.a[0]", "non_finite_number"), ("$.a[1]", "non_finite_number"),
      ("$.a[2]", "non_finite_number"), ("$.a[3]", "non_finite_number")}),
    (b'{"a": {"b": "x\\u0000"}, "c\\u0000": 1}',
     {("$.a.b", "invalid_character"), ("$.c\x00", "invalid_character")}),
    (b'["\\ud800", "\\udfff\\ud800", "\\ude00\\ud83d"]',
     {("$[0]", "lone_surrogate"), ("$[1]", "lone_surrogate"), ("$[2]", "lone_surrogate")}),
    ('["\ud800"]', {("$[0]", "lone_surrogate")}),  # already text: looked at too
], ids=["100,000 deep", "65 deep", "5,000 digits", "past int64", "non-finite", "NUL",
        "lone surrogates", "lone surrogate in text"])
def test_values_nothing_can_hold_are_refused_at_their_paths(raw, expected):
    assert refused(raw) == expected


@pytest.mark.parametrize("raw, value", [
    (b"[" * 64 + b"]" * 64, json.loads("[" * 64 + "]" * 64)),
    (b'{"a": "[[[[[[[[[[\\"]]]"}', {"a": '[[[[[[[[[["]]]'}),  # brackets in strings
    (b"[9223372036854775807, -9223372036854775808, 1e308, -0.0]",
     [2**63 - 1, -(2**63), 1e308, -0.0]),
    (b'"\\ud83d\\ude00 \\\\u0000 \\\\ud800"', "\U0001f600 \\u0000 \\ud800"),
], ids=["64 deep", "brackets in strings", "int64 and double limits", "pair and escapes"])
def test_values_at_the_limits_are_read_as_the_standard_parser_reads_them(raw, value):
    assert loads(raw) == value


@pytest.mark.parametrize("raw", [b"", b"{", b"[1,]", b"\xff\xfe", b"NaN garbage", b"[" * 10])
def test_malformed_text_is_a_syntax_error(raw):
    with pytest.raises(JsonSyntaxError):
        loads(raw)


ALL_REFUSED = ("[" + ",".join(['"\\u0000"'] * 130_000) + "]").encode()


def test_a_body_of_nothing_but_refused_values_stops_at_max_problems():
    assert len(ALL_REFUSED) > 1024 * 1024
    with pytest.raises(JsonValueError) as caught:
        loads(ALL_REFUSED)
    assert len(caught.value.problems) == MAX_PROBLEMS
