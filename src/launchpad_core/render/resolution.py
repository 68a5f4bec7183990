"""Turning given answers (text or JSON) into typed, validated :class:`Answers`.

Variables are taken in the template's order, so defaults, ``when`` conditions
and validators may use earlier answers. Every problem is collected and reported
at once, each with the JSON path of the answer it concerns (``$.name``).

The context those templates see grows by one answer per variable and is never
copied (the engine renders with it in place), so resolving takes time in
proportion to the number of variables, not its square.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol

from ..errors import AnswersError, LaunchpadError, Problem, RegexTimeoutError
from ..model.answers import Answers
from ..model.template import Template, Variable
from ..model.variables import Merge, VariableType
from . import regexes
from .engine import Engine


class Ask(Protocol):
    """Asked for a missing answer: (variable, its type, the default) -> the raw text typed.

    When that text is refused (wrong type, pattern, validator) the question is
    asked again at once with ``problem``, the reason, until an answer passes.
    """

    def __call__(
        self, var: Variable, kind: VariableType, default: Any, *, problem: str | None = None
    ) -> str: ...


_MISSING = object()


class _Resolution:
    """The answers being resolved (a plain class: no value, and an attrs one costs a cold
    start its definition)."""

    def __init__(
        self, template: Template, engine: Engine, types: Mapping[str, VariableType]
    ) -> None:
        self.template = template
        self.engine = engine
        self.types = types
        self.values: dict[str, Any] = {}
        self.skipped: set[str] = set()
        self.problems: list[Problem] = []
        #: What templates see: the answers so far, also under ``context_name``.
        self.context: dict[str, Any] = {}
        if template.settings.context_name:
            self.context[template.settings.context_name] = {}

    def set(self, name: str, value: Any) -> None:
        self.values[name] = self.context[name] = value
        if self.template.settings.context_name:
            self.context[self.template.settings.context_name][name] = value

    def problem(self, var: Variable, code: str, message: str) -> None:
        self.problems.append(Problem(code, message, f"$.{var.name}"))

    def default(self, var: Variable) -> Any:
        default = var.default
        if isinstance(default, str):
            envops = self.template.settings.envops
            return self.engine.render_text(envops, default, self.context, f"default of {var.name}")
        return default


def resolve_answers(
    template: Template,
    given: Mapping[str, Any],
    *,
    types: Mapping[str, VariableType],
    engine: Engine,
    from_text: bool = False,
    use_defaults: bool = True,
    ask: Ask | None = None,
) -> Answers:
    """Coerce and validate ``given`` against ``template``; raise :class:`AnswersError`."""
    state = _Resolution(template, engine, types)
    known = {v.name for v in template.variables}
    for name in given:
        if name not in known:
            state.problems.append(Problem("unknown_variable", "no such variable", f"$.{name}"))
    for var in template.variables:
        try:
            _resolve_one(state, var, given, from_text=from_text, use_defaults=use_defaults, ask=ask)
        except LaunchpadError as exc:
            state.problem(var, exc.code, str(exc))
    secret = frozenset(v.name for v in template.variables if v.secret)
    answers = Answers(values=state.values, secret=secret, skipped=frozenset(state.skipped))
    if state.problems:
        error = AnswersError("The answers are not valid.", state.problems)
        error.partial = answers  # what did resolve: a form shows it beside the problems
        raise error
    return answers


def _resolve_one(
    state: _Resolution,
    var: Variable,
    given: Mapping[str, Any],
    *,
    from_text: bool,
    use_defaults: bool,
    ask: Ask | None,
) -> None:
    kind = state.types[var.type]
    envops = state.template.settings.envops
    if not state.engine.evaluate(envops, var.when, state.context, f"when of {var.name}"):
        state.skipped.add(var.name)
        state.set(var.name, _coerced_default(state, var, kind))
        return
    raw, text = given.get(var.name, _MISSING), from_text
    if raw is _MISSING and ask is not None and not use_defaults:
        _ask_until_valid(state, var, kind, ask)
        return
    if raw is _MISSING:
        raw, text = _coerced_default(state, var, kind), False
        if raw is None:
            state.problem(var, "required", "an answer is required (no default)")
            return
    problems = _accept(state, var, kind, raw, text=text, merge=var.name in given)
    state.problems.extend(Problem(code, message, f"$.{var.name}") for code, message in problems)


def _ask_until_valid(state: _Resolution, var: Variable, kind: VariableType, ask: Ask) -> None:
    default = _coerced_default(state, var, kind)
    raw = ask(var, kind, default)
    while problems := _accept(state, var, kind, raw, text=True, merge=False):
        raw = ask(var, kind, default, problem="; ".join(message for _, message in problems))


def _accept(
    state: _Resolution, var: Variable, kind: VariableType, raw: Any, *, text: bool, merge: bool
) -> list[tuple[str, str]]:
    """Coerce and validate one answer; store it (once coerced) and return its problems."""
    try:
        value = kind.coerce(raw, var, text)
        if kind.merge is not None and merge:
            value = _merged(state, var, kind.merge, value)
    except ValueError as exc:
        return [("invalid_type", str(exc))]
    state.set(var.name, value)
    return _problems(state, var, value)


def _merged(state: _Resolution, var: Variable, merge: Merge, value: Any) -> Any:
    """A given answer combined with the variable's default by its type's ``merge``."""
    default = _coerced_default(state, var, state.types[var.type])
    return value if default is None else merge(value, default)


def _coerced_default(state: _Resolution, var: Variable, kind: VariableType) -> Any:
    default = state.default(var)
    if default is None:
        return None
    try:
        return kind.coerce(default, var, isinstance(default, str))
    except ValueError as exc:
        raise LaunchpadError(f"the default does not fit the type {var.type}: {exc}") from None


def _problems(state: _Resolution, var: Variable, value: Any) -> list[tuple[str, str]]:
    problems = []
    if var.pattern is not None and not _matches(state, var, var.pattern, _as_text(value)):
        problems.append(("pattern", f"does not match the pattern {var.pattern}"))
    if var.validator:
        envops = state.template.settings.envops
        message = state.engine.render_text(
            envops, var.validator, state.context, f"validator of {var.name}"
        ).strip()
        if message:
            problems.append(("validator", message))
    return problems


def _matches(state: _Resolution, var: Variable, pattern: str, text: str) -> bool:
    seconds = state.engine.limits.regex_seconds
    try:
        return regexes.run("fullmatch", pattern, text, seconds=seconds) is not None
    except RegexTimeoutError as exc:
        exc.source = f"pattern of {var.name}"
        raise


def _as_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)
