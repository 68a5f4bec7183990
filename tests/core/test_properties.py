"""Properties over random answers and random path text."""

from __future__ import annotations

from pathlib import PurePosixPath
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from launchpad_core import Launchpad, UnsafePathError
from launchpad_core.errors import LaunchpadError
from launchpad_core.render.paths import check_output_path

from .conftest import definition, make_launchpad

LP: Launchpad = make_launchpad()

TEMPLATE = LP.structure(definition(
    {"path": "{{ name }}/README.md", "content": "# {{ name }} v{{ version }}\n"},
    {"path": "src/{{ name|lower }}/{{ version }}.txt", "content": "{{ version * 2 }}"},
    {"path": "{% if flag %}flagged{% endif %}/x", "content": "{{ name ~ version }}"},
    {"path": "static.txt", "when": "flag or version > 10", "content": "{{ flag }}"},
    variables=[
        {"name": "name", "default": "app"},
        {"name": "version", "type": "int", "default": 1},
        {"name": "flag", "type": "bool", "default": False},
    ],
    settings={"answers_file": ".answers.yml"},
))

ANSWERS = st.fixed_dictionaries({
    "name": st.text(max_size=40),
    "version": st.integers(min_value=-10**12, max_value=10**12),
    "flag": st.booleans(),
})

PROPERTY = settings(max_examples=150, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow])


def _is_inside(path: str) -> bool:
    parts = PurePosixPath(path).parts
    return bool(parts) and not PurePosixPath(path).is_absolute() and ".." not in parts


@PROPERTY
@given(answers=ANSWERS)
def test_random_answers_render_deterministically_inside_the_destination(
    answers: dict[str, Any],
) -> None:
    resolved = LP.resolve_answers(TEMPLATE, answers)
    try:
        first = LP.render(TEMPLATE, resolved)
    except UnsafePathError:
        return  # a name such as '..' or 'a:b' is refused, never written
    assert LP.render(TEMPLATE, resolved) == first
    for rendered in first:
        assert _is_inside(rendered.path)
        assert check_output_path(rendered.path, source="x") == rendered.path
    assert len({f.path.casefold() for f in first}) == len(first)


@PROPERTY
@given(text=st.text(max_size=30))
def test_random_text_in_a_templated_segment_is_safe_or_refused(text: str) -> None:
    template = LP.structure(definition({"path": "out/{{ seg }}/file.txt"},
                                       variables=[{"name": "seg"}]))
    try:
        files = LP.render(template, LP.resolve_answers(template, {"seg": text}))
    except LaunchpadError:
        return
    assert len(files) <= 1  # an empty segment skips the file
    for rendered in files:
        assert _is_inside(rendered.path)
        assert rendered.path.startswith("out/")
        assert rendered.path.endswith("/file.txt")


@PROPERTY
@given(text=st.text(alphabet=st.sampled_from("{}%#ab./\\:-_ \x00|~'\"()*+"), max_size=25))
def test_random_text_as_path_source_is_safe_or_refused(text: str) -> None:
    try:
        template = LP.structure(definition(f"x/{text}/y"))
        files = LP.render(template, LP.resolve_answers(template, {}))
    except LaunchpadError:
        return
    for rendered in files:
        assert _is_inside(rendered.path)
