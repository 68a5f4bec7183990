"""Variables and answers: types, coercion from text and JSON, defaults, choices,
patterns, validators, ``when``, secrets, and every problem reported at once."""

from __future__ import annotations

import json
from typing import Any

import pytest

from launchpad_core import Answers, AnswersError, Launchpad, Variable, hookimpl
from launchpad_core.model.variables import VariableType

from .conftest import definition, make_launchpad

ALL_TYPES = [
    {"name": "s", "default": "text"},
    {"name": "i", "type": "int", "default": 3},
    {"name": "f", "type": "float", "default": 1.5},
    {"name": "b", "type": "bool", "default": False},
    {"name": "c", "type": "choice", "choices": ["a", {"value": "bb", "label": "Bee"}],
     "default": "a"},
    {"name": "m", "type": "multichoice", "choices": ["x", "y", "z"], "default": ["z", "x"]},
    {"name": "j", "type": "json", "default": {"k": [1]}},
]


def resolve(lp: Launchpad, variables: list[dict[str, Any]], given: dict[str, Any],
            **kwargs: Any) -> Answers:
    template = lp.structure(definition(variables=variables))
    return lp.resolve_answers(template, given, **kwargs)


def problems(lp: Launchpad, variables: list[dict[str, Any]], given: dict[str, Any],
             **kwargs: Any) -> list[tuple[str, str]]:
    """(path, code) of every problem the answers have."""
    with pytest.raises(AnswersError) as info:
        resolve(lp, variables, given, **kwargs)
    return [(p.path, p.code) for p in info.value.problems]


def test_defaults_of_every_type(lp: Launchpad) -> None:
    answers = resolve(lp, ALL_TYPES, {})
    assert answers.values == {
        "s": "text", "i": 3, "f": 1.5, "b": False, "c": "a", "m": ["x", "z"], "j": {"k": [1]},
    }


def test_text_answers_are_coerced_to_every_type(lp: Launchpad) -> None:
    given = {"s": "hi", "i": " 42 ", "f": "2.5", "b": "yes", "c": "Bee", "m": "y, x",
             "j": '{"a": [1, 2]}'}
    answers = resolve(lp, ALL_TYPES, given, from_text=True)
    assert answers.values == {
        "s": "hi", "i": 42, "f": 2.5, "b": True, "c": "bb", "m": ["x", "y"], "j": {"a": [1, 2]},
    }


def test_json_answers_keep_their_types(lp: Launchpad) -> None:
    given = {"s": "hi", "i": 7, "f": 2, "b": True, "c": "bb", "m": ["y"], "j": "plain"}
    answers = resolve(lp, ALL_TYPES, given)
    assert answers.values == {
        "s": "hi", "i": 7, "f": 2.0, "b": True, "c": "bb", "m": ["y"], "j": "plain",
    }
    assert type(answers["f"]) is float


@pytest.mark.parametrize("text", ["yes", "Y", "true", "on", "1", " TRUE "])
def test_true_words(lp: Launchpad, text: str) -> None:
    assert resolve(lp, ALL_TYPES, {"b": text}, from_text=True)["b"] is True


@pytest.mark.parametrize("text", ["no", "N", "false", "off", "0", ""])
def test_false_words(lp: Launchpad, text: str) -> None:
    assert resolve(lp, ALL_TYPES, {"b": text}, from_text=True)["b"] is False


def test_multichoice_from_a_json_list_in_text(lp: Launchpad) -> None:
    answers = resolve(lp, ALL_TYPES, {"m": '["z", "y", "z"]'}, from_text=True)
    assert answers["m"] == ["y", "z"]  # the template's order, repeats dropped


@pytest.mark.parametrize(("text", "message"), [
    ("[" * 100_000 + "]" * 100_000, "at most 64 are accepted"),
    ('{"k": "\\ud800"}', "without its pair (not a character) at $"),
    ("1" + "0" * 5000, "signed 64-bit"),
], ids=["nested 100,000 deep", "lone surrogate", "5,000-digit integer"])
def test_a_json_answer_typed_as_text_is_read_strictly(lp: Launchpad, text: str,
                                                      message: str) -> None:
    for name in ("j", "m"):  # a json answer; a multichoice typed as a JSON list
        typed = text if name == "j" else f"[{text}]"
        with pytest.raises(AnswersError) as info:
            resolve(lp, ALL_TYPES, {name: typed}, from_text=True)
        [problem] = info.value.problems
        assert (problem.path, problem.code) == (f"$.{name}", "invalid_type")
        assert message in problem.message


def test_every_bad_text_answer_is_reported_at_once(lp: Launchpad) -> None:
    given = {"i": "x", "f": "nan", "b": "maybe", "c": "q", "m": "w", "j": "[1,"}
    with pytest.raises(AnswersError) as info:
        resolve(lp, ALL_TYPES, given, from_text=True)
    found = {p.path: p.message for p in info.value.problems}
    assert found == {
        "$.i": "'x' is not a whole number",
        "$.f": "expected a finite number",
        "$.b": "'maybe' is not yes/no (use yes, no, true, false, 1 or 0)",
        "$.c": "'q' is not one of the choices ('a', 'bb')",
        "$.m": "'w' is not one of the choices ('x', 'y', 'z')",
        "$.j": "not valid JSON: Expecting value at line 1, column 4",
    }
    assert {p.code for p in info.value.problems} == {"invalid_type"}


def test_json_answers_are_not_converted_from_other_types(lp: Launchpad) -> None:
    given = {"s": 5, "i": True, "f": True, "b": "yes", "c": "Bee", "m": "x"}
    with pytest.raises(AnswersError) as info:
        resolve(lp, ALL_TYPES, given)
    found = {p.path: p.message for p in info.value.problems}
    assert found == {
        "$.s": "expected a string, got an integer",
        "$.i": "expected an integer, got a boolean",
        "$.f": "expected a number, got a boolean",
        "$.b": "expected true or false, got a string",
        "$.c": "'Bee' is not one of the choices ('a', 'bb')",  # labels match only text
        "$.m": "expected a list of choices, got a string",
    }


def test_an_int_refuses_a_float_in_json(lp: Launchpad) -> None:
    assert problems(lp, ALL_TYPES, {"i": 1.0}) == [("$.i", "invalid_type")]


def test_json_text_that_is_not_json(lp: Launchpad) -> None:
    assert problems(lp, ALL_TYPES, {"j": "not json"}, from_text=True) == [("$.j", "invalid_type")]
    assert resolve(lp, ALL_TYPES, {"j": "not json"})["j"] == "not json"  # a JSON string


def test_unknown_answer_keys_are_reported_with_the_other_problems(lp: Launchpad) -> None:
    found = problems(lp, [{"name": "known"}], {"zzz": 1, "yyy": 2})
    assert found == [
        ("$.zzz", "unknown_variable"),
        ("$.yyy", "unknown_variable"),
        ("$.known", "required"),
    ]


# Choices -------------------------------------------------------------------------

NUMBERS = [{"name": "c", "type": "choice", "choices": [1, 2, {"value": 3, "label": "three"}]}]


@pytest.mark.parametrize(
    ("given", "from_text", "expected"),
    [
        ("2", True, 2),  # text is matched to the value's text
        ("three", True, 3),  # ... or to the label
        (2, False, 2),
        (3, False, 3),
    ],
)
def test_choices_match_values_and_labels(
    lp: Launchpad, given: Any, from_text: bool, expected: int
) -> None:
    assert resolve(lp, NUMBERS, {"c": given}, from_text=from_text)["c"] == expected


@pytest.mark.parametrize("given", ["2", True, 4, "three"])
def test_json_choices_match_value_and_type_exactly(lp: Launchpad, given: Any) -> None:
    assert problems(lp, NUMBERS, {"c": given}) == [("$.c", "invalid_type")]


# Defaults over earlier answers -------------------------------------------------------


def test_defaults_are_jinja_over_earlier_answers(lp: Launchpad) -> None:
    variables = [
        {"name": "project"},
        {"name": "slug", "default": "{{ project|lower|replace(' ', '-') }}"},
        {"name": "port", "type": "int", "default": "{{ 8000 + 80 }}"},
        {"name": "debug", "type": "bool", "default": "{{ slug == 'my-app' }}"},
    ]
    answers = resolve(lp, variables, {"project": "My App"})
    assert answers.values == {"project": "My App", "slug": "my-app", "port": 8080, "debug": True}


def test_a_given_answer_wins_over_a_templated_default(lp: Launchpad) -> None:
    variables = [{"name": "a", "default": "x"}, {"name": "b", "default": "{{ a }}-b"}]
    assert resolve(lp, variables, {"b": "mine"})["b"] == "mine"


def test_a_default_over_a_later_variable_is_a_problem(lp: Launchpad) -> None:
    variables = [{"name": "a", "default": "{{ b }}"}, {"name": "b", "default": "x"}]
    assert problems(lp, variables, {}) == [("$.a", "template_error")]


def test_a_default_that_renders_to_the_wrong_type_is_a_problem(lp: Launchpad) -> None:
    variables = [{"name": "n", "type": "int", "default": "{{ 'many' }}"}]
    with pytest.raises(AnswersError) as info:
        resolve(lp, variables, {})
    [problem] = info.value.problems
    assert problem.path == "$.n"
    assert problem.message == "the default does not fit the type int: 'many' is not a whole number"


# Pattern and validator -------------------------------------------------------------

CHECKED = [{
    "name": "name",
    "pattern": "[a-z]+",
    "validator": "{% if name|length > 5 %}{{ name }} is too long{% endif %}",
}]


def test_an_answer_passing_pattern_and_validator(lp: Launchpad) -> None:
    assert resolve(lp, CHECKED, {"name": "abc"})["name"] == "abc"


def test_the_pattern_must_match_the_whole_answer(lp: Launchpad) -> None:
    assert problems(lp, CHECKED, {"name": "ab1"}) == [("$.name", "pattern")]


def test_a_validator_output_is_the_message(lp: Launchpad) -> None:
    with pytest.raises(AnswersError) as info:
        resolve(lp, CHECKED, {"name": "abcdefg"})
    assert [(p.path, p.message) for p in info.value.problems] == [
        ("$.name", "abcdefg is too long"),
    ]


def test_pattern_and_validator_problems_come_together(lp: Launchpad) -> None:
    assert problems(lp, CHECKED, {"name": "ABCDEFG"}) == [
        ("$.name", "pattern"), ("$.name", "validator"),
    ]


def test_a_pattern_sees_booleans_as_true_or_false(lp: Launchpad) -> None:
    variables = [{"name": "b", "type": "bool", "pattern": "true"}]
    assert resolve(lp, variables, {"b": True})["b"] is True
    assert problems(lp, variables, {"b": False}) == [("$.b", "pattern")]


# when ------------------------------------------------------------------------------

CONDITIONAL = [
    {"name": "docker", "type": "bool", "default": False},
    {"name": "image", "default": "python", "when": "docker", "pattern": "[a-z]+"},
    {"name": "registry", "default": "ghcr", "when": "{{ docker }}"},
    {"name": "never", "type": "int", "default": 1, "when": False},
    {"name": "always", "default": "yes", "when": True},
]


class Recorder:
    """An ``ask`` callback that records the questions and replies from a script."""

    def __init__(self, replies: dict[str, str]):
        self.replies = replies
        self.asked: list[tuple[str, Any]] = []

    def __call__(self, var: Variable, kind: VariableType, default: Any) -> str:
        self.asked.append((var.name, default))
        return self.replies[var.name]


def test_skipped_variables_take_their_default_and_are_not_asked(lp: Launchpad) -> None:
    ask = Recorder({"docker": "no", "always": "sure"})
    answers = resolve(lp, CONDITIONAL, {}, use_defaults=False, ask=ask)
    assert ask.asked == [("docker", False), ("always", "yes")]
    assert answers.values == {
        "docker": False, "image": "python", "registry": "ghcr", "never": 1, "always": "sure",
    }
    assert answers.skipped == {"image", "registry", "never"}


def test_true_conditions_ask(lp: Launchpad) -> None:
    ask = Recorder({"docker": "yes", "image": "alpine", "registry": "quay", "always": ""})
    answers = resolve(lp, CONDITIONAL, {}, use_defaults=False, ask=ask)
    assert [name for name, _ in ask.asked] == ["docker", "image", "registry", "always"]
    assert answers.values["image"] == "alpine"
    assert answers.values["registry"] == "quay"
    assert answers.skipped == {"never"}


def test_a_skipped_answer_is_not_validated(lp: Launchpad) -> None:
    answers = resolve(lp, CONDITIONAL, {"docker": False, "image": "NOT VALID"})
    assert answers["image"] == "python"  # the default, not the given answer


def test_a_given_answer_is_not_asked_again(lp: Launchpad) -> None:
    ask = Recorder({"always": "x"})
    resolve(lp, CONDITIONAL, {"docker": False}, use_defaults=False, ask=ask)
    assert ask.asked == [("always", "yes")]


@pytest.mark.parametrize(("when", "asked"), [
    ("{{ 'no' }}", False), ("{{ '' }}", False), ("{{ 'off' }}", False), ("{{ none }}", False),
    ("{{ 'yes' }}", True), ("{{ 'anything' }}", True), ("{{ 1 }}", True),
])
def test_a_when_template_is_read_as_a_boolean(lp: Launchpad, when: str, asked: bool) -> None:
    ask = Recorder({"v": "given"})
    answers = resolve(lp, [{"name": "v", "default": "d", "when": when}], {},
                      use_defaults=False, ask=ask)
    assert bool(ask.asked) is asked
    assert answers["v"] == ("given" if asked else "d")


# Secrets ---------------------------------------------------------------------------


def test_secrets_are_marked_left_out_and_redacted(lp: Launchpad) -> None:
    variables = [{"name": "token", "secret": True}, {"name": "user"}]
    answers = resolve(lp, variables, {"token": "s3cret", "user": "me"})
    assert answers["token"] == "s3cret"
    assert answers.secret == {"token"}
    assert answers.public() == {"user": "me"}
    assert answers.redacted() == {"token": "***", "user": "me"}


class _MergingTypes:
    """An inline plugin: a list type whose given answer extends the default."""

    @hookimpl
    def launchpad_variable_types(self) -> list[VariableType]:
        def coerce(value: Any, _var: Variable, from_text: bool) -> Any:
            if from_text and isinstance(value, str):
                value = json.loads(value)
            if not isinstance(value, list):
                raise ValueError("expected a list")
            return value

        def merge(given: list[Any], default: list[Any]) -> list[Any]:
            if "bad" in given:
                raise ValueError("'bad' cannot be added")
            return [*default, *given]

        return [VariableType("extending", coerce, {"type": "array"}, merge=merge)]


def test_a_type_merges_a_given_answer_with_the_rendered_default() -> None:
    lp = make_launchpad(plugins=[_MergingTypes()])
    variables = [
        {"name": "base", "default": "core"},
        {"name": "apps", "type": "extending", "default": '["{{ base }}"]'},
    ]
    assert resolve(lp, variables, {"apps": ["web"]})["apps"] == ["core", "web"]
    assert resolve(lp, variables, {"base": "lib"})["apps"] == ["lib"]  # no answer: the default
    assert problems(lp, variables, {"apps": ["bad"]}) == [("$.apps", "invalid_type")]
    asked = resolve(lp, variables, {}, use_defaults=False, ask=lambda var, kind, default: (
        "main" if var.name == "base" else '["x"]'
    ))
    assert asked["apps"] == ["x"]  # a person's answer replaces the default
