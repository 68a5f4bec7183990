"""Answers to questions holding no template code are checked without an evaluator child;
any ``when``, validator, pattern or Jinja default still goes to one."""

from __future__ import annotations

import threading
import time
import uuid

import pytest

from launchpad_core.isolation.children import MIB, IsolationLimits, IsolationPool
from launchpad_core.isolation.hosted import answers_run_code
from launchpad_core.model.serialization import structure_template
from launchpad_web.errors import EvaluatorsBusyError, InvalidAnswersError
from launchpad_web.evaluation import Evaluator

PLAIN = {"name": "plain", "variables": [
    {"name": "title", "type": "str", "default": "Rocket"},
    {"name": "count", "type": "int", "default": 3},
    {"name": "kind", "type": "choice", "choices": [{"value": "a"}, {"value": "b"}],
     "default": "a"},
], "files": [{"path": "{{ title }}.txt", "content": "{{ count }}"}]}
CODE = {
    "when": {"name": "x", "type": "str", "default": "x", "when": "title == 'Rocket'"},
    "validator": {"name": "x", "type": "str", "default": "x",
                  "validator": "{% if x == 'y' %}no{% endif %}"},
    "pattern": {"name": "x", "type": "str", "default": "x", "pattern": "[a-z]+"},
    "default": {"name": "x", "type": "str", "default": "{{ title | lower }}"},
    "nested default": {"name": "x", "type": "multichoice", "default": ["{{ title }}"],
                       "choices": [{"value": "a"}]},
    "choice": {"name": "x", "type": "choice", "choices": [{"value": "{{ title }}"}]},
    "choice label": {"name": "x", "type": "choice",
                     "choices": [{"value": "a", "label": "{% if title %}A{% endif %}"}]},
}
USER = uuid.uuid4()


def plain_with(variable: dict | None = None):
    variables = [*PLAIN["variables"], *([variable] if variable else [])]
    return structure_template({**PLAIN, "variables": variables})


def test_plain_questions_run_no_code():
    assert not answers_run_code(plain_with())


@pytest.mark.parametrize("kind", sorted(CODE))
def test_each_kind_of_template_code_in_a_question_counts(kind):
    assert answers_run_code(plain_with(CODE[kind]))


@pytest.fixture
def busy_evaluator():
    """An evaluator whose only slot a slow call holds: any call to a child answers busy."""
    pool = IsolationPool(warm=0, slots=1, queue_seconds=0.2)
    limits = IsolationLimits(cpu_seconds=5, memory_bytes=256 * MIB, wall_seconds=10)
    holder = threading.Thread(target=pool.run, args=(time.sleep, 3), kwargs={"limits": limits})
    holder.start()
    time.sleep(1.0)  # the child has the slot
    yield Evaluator(pool=pool)
    holder.join()
    pool.close()


def test_plain_answers_are_checked_without_a_child(busy_evaluator):
    answers = busy_evaluator.answers(plain_with(), {"count": 7}, user_id=USER)
    assert answers.values == {"title": "Rocket", "count": 7, "kind": "a"}
    with pytest.raises(InvalidAnswersError) as caught:
        busy_evaluator.answers(plain_with(), {"count": "many", "kind": "c"}, user_id=USER)
    assert {e.field for e in caught.value.errors} == {"$.answers.count", "$.answers.kind"}
    with pytest.raises(EvaluatorsBusyError):  # template code: only in a child
        busy_evaluator.answers(plain_with(CODE["validator"]), {}, user_id=USER)
