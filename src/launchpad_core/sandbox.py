"""The Jinja environment every template renders in: Jinja's sandbox, bounded.

Jinja's :class:`~jinja2.sandbox.SandboxedEnvironment` already refuses unsafe
attributes (dunders, frames, ``str.format`` tricks). On top of it this module
bounds what can grow without limit inside a single operation — the ones a
time limit cannot interrupt because they are one long C call:

* ``*``, ``**``, ``+`` and ``%`` are intercepted, which also stops Jinja from
  folding them at compile time (``{{ 7**30000000 }}`` never runs);
* ``~`` concatenation is compiled to a checked join;
* list, tuple and dict literals are compiled to checked values, and sizes
  count every nesting level, shared parts each time they appear: ``repr``,
  ``==`` and ``hash`` walk ``[x, x]`` doubled in a loop in one C call;
* filters and method calls refuse size arguments beyond the string limit and
  results beyond it (``center(10**9)``, ``replace`` chains);
* ``%`` and ``str.format`` refuse field widths and precisions beyond
  :data:`MAX_FORMAT_WIDTH` before formatting (``'{0:>999999999}'.format(1)``);
* ``range`` is capped.

Lists, dicts and sets grown in place (``append``, ``update`` ...) are
measured whole once per render, then by what each call adds. A container that
grows after it was put into another is not counted again in the outer one;
the hosted workers' memory and CPU limits bound what is left.
"""

from __future__ import annotations

import contextlib
import functools
import itertools
import math
import re
import sys
from collections.abc import Callable, Iterator, Mapping
from typing import Any

import attrs
from jinja2 import FileSystemLoader, StrictUndefined, Undefined, nodes
from jinja2.compiler import CodeGenerator, Frame
from jinja2.exceptions import SecurityError as JinjaSecurityError
from jinja2.sandbox import SandboxedEnvironment, SandboxedFormatter

from .limits import Limits
from .model.template import EnvOptions

MAX_FORMAT_WIDTH = 10_000
_PERCENT_SPEC = re.compile(r"%(?:\([^)]*\))?[-#0 +]*(\*|\d+)?(?:\.(\*|\d+))?[hlL]?(.?)", re.S)
_STRINGS = (str, bytes)
_SIZED_TYPES = (str, bytes, list, tuple)
_GROWABLE = (list, dict, set)
#: Methods of lists, dicts and sets that add to them in place.
_GROWING = frozenset({"append", "extend", "insert", "update", "setdefault", "add"})
_DICT_VIEWS = tuple(map(type, ({}.keys(), {}.values(), {}.items())))
_NESTED_TYPES = (list, tuple, dict, set, frozenset, *_DICT_VIEWS)
_MEASURED_TYPES = (*_STRINGS, *_NESTED_TYPES)


def nested_size(value: Any) -> int:
    """Characters and items in ``value`` at every level, shared parts counted
    each time they appear, as ``repr``, ``==`` and ``hash`` walk them."""
    if isinstance(value, _STRINGS):
        return len(value)
    if not isinstance(value, _NESTED_TYPES):
        return 1
    return _container_size(value, {})


def _container_size(container: Any, seen: dict[int, tuple[int, Any]]) -> int:
    known = seen.get(id(container))
    if known is not None:
        return known[0]
    seen[id(container)] = (0, container)  # holds it, so ids stay unique; [...] for itself
    total = len(container)
    is_dict = isinstance(container, dict)
    for part in itertools.chain.from_iterable(container.items()) if is_dict else container:
        if isinstance(part, _STRINGS):
            total += len(part)
        elif isinstance(part, _NESTED_TYPES):
            total += _container_size(part, seen)
        else:
            total += 1
    seen[id(container)] = (total, container)
    return total


class _GuardedCodeGenerator(CodeGenerator):
    """Compiles ``a ~ b`` to a join, and literals to values, checked for size first."""

    def visit_Concat(self, node: nodes.Concat, frame: Frame) -> None:
        self.write("environment.checked_concat((")
        for arg in node.nodes:
            self.visit(arg, frame)
            self.write(", ")
        self.write("))")

    def visit_List(self, node: nodes.List, frame: Frame) -> None:
        self._checked(super().visit_List, node, frame)

    def visit_Tuple(self, node: nodes.Tuple, frame: Frame) -> None:
        if node.ctx != "load":  # an assignment target such as `for a, b in ...`
            super().visit_Tuple(node, frame)
        else:
            self._checked(super().visit_Tuple, node, frame)

    def visit_Dict(self, node: nodes.Dict, frame: Frame) -> None:
        self._checked(super().visit_Dict, node, frame)

    def _checked(self, visit: Callable[[Any, Frame], None], node: nodes.Node, frame: Frame) -> None:
        self.write("environment.check_size(")
        visit(node, frame)
        self.write(")")


class _FormatWidths(SandboxedFormatter):
    """Formats as Jinja's sandbox does, checking each field's width before formatting it."""

    def format_field(self, value: Any, format_spec: str) -> str:
        self._env.check_format_spec(format_spec)
        return super().format_field(value, format_spec)


class LaunchpadSandbox(SandboxedEnvironment):
    """A sandboxed environment whose every operation is bounded by :class:`Limits`."""

    code_generator_class = _GuardedCodeGenerator
    intercepted_binops = frozenset({"*", "**", "+", "%"})

    def __init__(self, limits: Limits, envops: EnvOptions, **kwargs: Any):
        options = _envops_kwargs(envops)
        code_root = options.pop("code_root", None)
        with _importable(code_root):
            super().__init__(
                autoescape=False,
                auto_reload=False,
                cache_size=0,
                **options,
                **kwargs,
            )
        self.limits = limits
        self.globals["range"] = self.bounded_range
        self.filters = {name: self.guard(name, f) for name, f in self.filters.items()}

    # -- guards --------------------------------------------------------------
    def refuse(self, what: str) -> None:
        raise JinjaSecurityError(f"{what} exceeds the sandbox limit")

    def check_size(self, value: Any) -> Any:
        if isinstance(value, _MEASURED_TYPES):
            self.check_items(nested_size(value))
        return value

    def check_items(self, size: int) -> None:
        if size > self.limits.max_string:
            self.refuse(f"a value of {size:,} items")

    def check_int(self, value: Any) -> Any:
        if isinstance(value, int) and value.bit_length() > self.limits.max_int_bits:
            self.refuse(f"a {value.bit_length():,}-bit number")
        return value

    def check_args(self, args: tuple[Any, ...], kwargs: Mapping[str, Any]) -> None:
        for arg in (*args, *kwargs.values()):
            if isinstance(arg, int) and not isinstance(arg, bool) and arg > self.limits.max_string:
                self.refuse(f"a size argument of {arg:,}")

    def check_width(self, width: Any) -> None:
        if isinstance(width, int) and abs(width) > MAX_FORMAT_WIDTH:
            self.refuse(f"a format width of {width}")

    def check_format(self, fmt: Any, values: Any = ()) -> None:
        """Widths and precisions of a ``%`` format, also those taken from ``*``."""
        if not isinstance(fmt, str):
            return
        args = iter(values if isinstance(values, tuple) else (values,))
        for match in _PERCENT_SPEC.finditer(fmt):
            width, precision, conversion = match.groups()
            for number in (width, precision):
                if number == "*":
                    self.check_width(next(args, None))
                elif number:
                    self.check_width(int(number))
            if conversion != "%":
                next(args, None)

    def check_format_spec(self, spec: str) -> None:
        for number in re.findall(r"\d+", spec):
            self.check_width(int(number))

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
                self.check_format(value, args[skip + 1 :])
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
            self.check_format(left, right)
        return self.check_int(self.check_size(self.binop_table[operator](left, right)))

    def _check_power(self, base: Any, exp: Any) -> None:
        ints = isinstance(base, int) and isinstance(exp, int)
        # base ** exp has about exp * log2(base) bits; check_int sees the exact size after.
        if ints and abs(base) > 1 and exp * math.log2(abs(base)) > self.limits.max_int_bits:
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
        # What a call keeps may outlive it: cycler(x, x).items holds x twice.
        added = sum(map(nested_size, (*args, *kwargs.values())))
        __self.check_items(added)
        result = __self.check_size(super().call(__context, __obj, *args, **kwargs))
        if isinstance(owner, _GROWABLE) and getattr(__obj, "__name__", "") in _GROWING:
            __self._account_growth(__context, owner, added)
        return result

    def _account_growth(self, context: Any, container: Any, added: int) -> None:
        """A list, dict or set grown in place (``append``, ``update`` ...): measured
        whole the first time, then by what each call adds, for the whole render."""
        grown: dict[int, list[Any]] | None = getattr(context, "_lp_grown", None)
        if grown is None:
            grown = {}
            context._lp_grown = grown
        entry = grown.get(id(container))
        if entry is None:  # holds the container, so its id stays its own
            entry = grown[id(container)] = [container, nested_size(container)]
        else:
            entry[1] += added + 1
        self.check_items(entry[1])

    def wrap_str_format(self, value: Any) -> Callable[..., str] | None:
        """Jinja's sandboxed ``str.format``, refusing huge field widths before formatting."""
        wrapper = super().wrap_str_format(value)
        if wrapper is None:
            return None
        fmt, is_map = value.__self__, value.__name__ == "format_map"

        @functools.wraps(wrapper)
        def bounded(*args: Any, **kwargs: Any) -> str:
            # A checking pass first: nested fields ('{0:>{1}}') are known only once expanded.
            fields = ((), args[0]) if is_map and len(args) == 1 else (args, kwargs)
            _FormatWidths(self).vformat(fmt, *fields)
            return wrapper(*args, **kwargs)

        return bounded

    def checked_concat(self, parts: tuple[Any, ...]) -> str:
        texts = [p if isinstance(p, str) else str(p) for p in parts]
        if sum(map(len, texts)) > self.limits.max_string:
            self.refuse("a concatenation")
        return "".join(texts)


@contextlib.contextmanager
def _importable(code_root: str | None) -> Iterator[None]:
    """A trusted template's own modules importable while its extensions load (as
    Cookiecutter and Copier load them); afterwards the process is as it was."""
    import jinja2.environment

    # copier-template-extensions replaces Jinja's import_string for the extensions
    # after it; other templates' environments get Jinja's own again.
    import_string = jinja2.environment.import_string
    if code_root is not None:
        sys.path.append(code_root)
    try:
        yield
    finally:
        jinja2.environment.import_string = import_string
        if code_root is not None:
            sys.path.remove(code_root)
            # Forgotten once loaded: another template (in a long-lived process such as
            # the daemon) may ship a module of the same name.
            for name, module in list(sys.modules.items()):
                if str(getattr(module, "__file__", None) or "").startswith(f"{code_root}/"):
                    del sys.modules[name]


def _envops_kwargs(envops: EnvOptions) -> dict[str, Any]:
    options = attrs.asdict(envops)
    strict = options.pop("strict_undefined")
    options["extensions"] = list(options.pop("extensions", ()))
    if options.get("code_root") is not None:
        options["loader"] = FileSystemLoader(options["code_root"])
    return {**options, "undefined": StrictUndefined if strict else Undefined}
