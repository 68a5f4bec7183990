"""The Jinja environment every template renders in: Jinja's sandbox, bounded.

Jinja's :class:`~jinja2.sandbox.SandboxedEnvironment` already refuses unsafe
attributes (dunders, frames, ``str.format`` tricks). On top of it this module
bounds what can grow without limit inside a single operation — the ones a
time limit cannot interrupt because they are one long C call:

* ``*``, ``**``, ``+`` and ``%`` are intercepted, which also stops Jinja from
  folding them at compile time (``{{ 7**30000000 }}`` never runs);
* ``~`` concatenation is compiled to a checked join;
* filters and method calls refuse size arguments beyond the string limit and
  results beyond it (``center(10**9)``, ``replace`` chains);
* ``range`` is capped.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Mapping
from typing import Any

import attrs
from jinja2 import StrictUndefined, Undefined, nodes
from jinja2.compiler import CodeGenerator, Frame
from jinja2.exceptions import SecurityError as JinjaSecurityError
from jinja2.sandbox import SandboxedEnvironment

from .limits import Limits
from .model.template import EnvOptions

_FORMAT_WIDTH = re.compile(r"%[-#0 +]*(\*|\d+)?(?:\.(\*|\d+))?")
_SIZED_TYPES = (str, bytes, list, tuple)


class _GuardedCodeGenerator(CodeGenerator):
    """Compiles ``a ~ b`` to a join that checks the result size first."""

    def visit_Concat(self, node: nodes.Concat, frame: Frame) -> None:
        self.write("environment.checked_concat((")
        for arg in node.nodes:
            self.visit(arg, frame)
            self.write(", ")
        self.write("))")


class LaunchpadSandbox(SandboxedEnvironment):
    """A sandboxed environment whose every operation is bounded by :class:`Limits`."""

    code_generator_class = _GuardedCodeGenerator
    intercepted_binops = frozenset({"*", "**", "+", "%"})

    def __init__(self, limits: Limits, envops: EnvOptions, **kwargs: Any):
        super().__init__(
            autoescape=False,
            auto_reload=False,
            cache_size=0,
            **_envops_kwargs(envops),
            **kwargs,
        )
        self.limits = limits
        self.globals["range"] = self.bounded_range
        self.filters = {name: self.guard(name, f) for name, f in self.filters.items()}

    # -- guards --------------------------------------------------------------
    def refuse(self, what: str) -> None:
        raise JinjaSecurityError(f"{what} exceeds the sandbox limit")

    def check_size(self, value: Any) -> Any:
        if isinstance(value, _SIZED_TYPES) and len(value) > self.limits.max_string:
            self.refuse(f"a value of {len(value):,} items")
        return value

    def check_int(self, value: Any) -> Any:
        if isinstance(value, int) and value.bit_length() > self.limits.max_int_bits:
            self.refuse(f"a {value.bit_length():,}-bit number")
        return value

    def check_args(self, args: tuple[Any, ...], kwargs: Mapping[str, Any]) -> None:
        for arg in (*args, *kwargs.values()):
            if isinstance(arg, int) and not isinstance(arg, bool) and arg > self.limits.max_string:
                self.refuse(f"a size argument of {arg:,}")

    def check_format(self, fmt: Any) -> None:
        if not isinstance(fmt, str):
            return
        for match in _FORMAT_WIDTH.finditer(fmt):
            for number in match.groups():
                if number and number.isdigit() and int(number) > 10_000:
                    self.refuse(f"a format width of {number}")

    def check_replace(self, text: Any, old: Any, new: Any) -> None:
        if isinstance(text, str) and isinstance(old, str) and isinstance(new, str):
            hits = text.count(old) if old else len(text) + 1
            if len(text) + hits * (len(new) - len(old)) > self.limits.max_string:
                self.refuse("the result of replace")

    def guard(self, name: str, func: Callable[..., Any]) -> Callable[..., Any]:
        """Wrap a filter so its size arguments and its result are bounded."""
        skip = 1 if getattr(func, "jinja_pass_arg", None) else 0

        @functools.wraps(func)
        def guarded(*args: Any, **kwargs: Any) -> Any:
            self.check_args(args[skip + 1 :], kwargs)
            value = args[skip] if len(args) > skip else None
            if name == "format":
                self.check_format(value)
            elif name == "replace" and len(args) >= skip + 3:
                self.check_replace(value, args[skip + 1], args[skip + 2])
            return self.check_size(func(*args, **kwargs))

        return guarded

    def bounded_range(self, *args: int) -> range:
        rng = range(*args)
        if len(rng) > self.limits.max_range:
            self.refuse(f"a range of {len(rng):,} items")
        return rng

    # -- sandbox overrides -----------------------------------------------------
    def call_binop(self, context: Any, operator: str, left: Any, right: Any) -> Any:
        if operator == "**":
            self._check_power(left, right)
        elif operator == "*":
            self._check_product(left, right)
        elif operator == "+" and isinstance(left, _SIZED_TYPES) and isinstance(right, _SIZED_TYPES):
            if len(left) + len(right) > self.limits.max_string:
                self.refuse("a concatenation")
        elif operator == "%":
            self.check_format(left)
        return self.check_int(self.check_size(self.binop_table[operator](left, right)))

    def _check_power(self, base: Any, exp: Any) -> None:
        ints = isinstance(base, int) and isinstance(exp, int)
        if ints and abs(base) > 1 and exp * base.bit_length() > self.limits.max_int_bits:
            self.refuse(f"{base} ** {exp}")

    def _check_product(self, left: Any, right: Any) -> None:
        if isinstance(left, int) and isinstance(right, int):
            if left.bit_length() + right.bit_length() > self.limits.max_int_bits:
                self.refuse("a product")
            return
        seq, times = (left, right) if isinstance(left, _SIZED_TYPES) else (right, left)
        sized = isinstance(seq, _SIZED_TYPES) and isinstance(times, int)
        if sized and len(seq) * times > self.limits.max_string:
            self.refuse(f"repeating {len(seq):,} items {times:,} times")

    def call(__self, __context: Any, __obj: Any, *args: Any, **kwargs: Any) -> Any:
        owner = getattr(__obj, "__self__", None)
        if isinstance(owner, _SIZED_TYPES):
            __self.check_args(args, kwargs)
            if getattr(__obj, "__name__", "") == "replace" and len(args) >= 2:
                __self.check_replace(owner, args[0], args[1])
        return __self.check_size(super().call(__context, __obj, *args, **kwargs))

    def checked_concat(self, parts: tuple[Any, ...]) -> str:
        texts = [p if isinstance(p, str) else str(p) for p in parts]
        if sum(map(len, texts)) > self.limits.max_string:
            self.refuse("a concatenation")
        return "".join(texts)


def _envops_kwargs(envops: EnvOptions) -> dict[str, Any]:
    options = attrs.asdict(envops)
    strict = options.pop("strict_undefined")
    return {**options, "undefined": StrictUndefined if strict else Undefined}
