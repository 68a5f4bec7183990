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
* ``range`` is capped;
* text a macro, a ``{% set %}`` block or a ``{% filter %}`` block collects is
  counted piece by piece, and so is every ``{{ }}`` value a template outputs
  (the engine counts the whole output as it streams: :mod:`.engine`).

Nothing is evaluated while compiling: Jinja would fold ``{{ '%H:%M'|strftime }}``
or ``{{ items|shuffle }}`` over literals into the compiled code (one value for
every later render, whoever asks for it) and run heavy filters outside any
limit. Here only literal text and constants are constant.

Filters whose output repeats an argument are checked before they run: a
``join`` separator times the items, an ``indent`` times the lines, and the
indent of JSON and YAML filters (at most :data:`MAX_INDENT`).

Lists, dicts and sets grown in place (``append``, ``extend``, ``update`` ...)
are measured whole once per render, then by what each call adds (a range or
a generator given to ``extend`` counted item by item). A container
that grows after it was put into another is not counted again in the outer one;
the hosted workers' memory and CPU limits bound what is left.
"""

from __future__ import annotations

import contextlib
import functools
import inspect
import itertools
import math
import re
import sys
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any

import attrs
from jinja2 import FileSystemLoader, StrictUndefined, Undefined, nodes
from jinja2.compiler import CodeGenerator, Frame
from jinja2.exceptions import SecurityError as JinjaSecurityError
from jinja2.sandbox import SandboxedEnvironment, SandboxedFormatter
from jinja2.utils import generate_lorem_ipsum

from ..errors import LimitExceededError
from ..model.template import EnvOptions
from .limits import Limits

MAX_FORMAT_WIDTH = 10_000
#: The widest indent JSON and YAML filters take (every line repeats it per level).
MAX_INDENT = 64
#: Filters that serialize with an ``indent`` (Jinja's, Copier's and Cookiecutter's).
_SERIALIZERS = frozenset(
    {"tojson", "to_json", "to_nice_json", "to_yaml", "to_nice_yaml", "jsonify"}
)
_PERCENT_SPEC = re.compile(r"%(?:\([^)]*\))?[-#0 +]*(\*|\d+)?(?:\.(\*|\d+))?[hlL]?(.?)", re.S)
_STRINGS = (str, bytes)
_SIZED_TYPES = (str, bytes, list, tuple)
_GROWABLE = (list, dict, set)
#: Methods of lists, dicts and sets that add to them in place.
_GROWING = frozenset({"append", "extend", "insert", "update", "setdefault", "add"})
#: Those that add every item of an iterable argument.
_ADDING_EACH = frozenset({"extend", "update"})
_LIPSUM = inspect.signature(generate_lorem_ipsum)
_LONGEST_LOREM_WORD = 16  # with its space, comma or full stop
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
    """Compiles ``a ~ b`` to a join, literals to values checked for size first,
    output to counted output, and evaluates nothing but constants itself."""

    def _output_child_to_const(self, node: nodes.Expr, frame: Frame, finalize: Any) -> str:
        if not isinstance(node, nodes.TemplateData | nodes.Const):
            raise nodes.Impossible()  # evaluated when rendering, every time
        return super()._output_child_to_const(node, frame, finalize)

    def _output_child_pre(self, node: nodes.Expr, frame: Frame, finalize: Any) -> None:
        if frame.buffer is None:  # yielded: a buffer counts what it is given
            self.write("environment.counted_output(context, ")
        super()._output_child_pre(node, frame, finalize)

    def _output_child_post(self, node: nodes.Expr, frame: Frame, finalize: Any) -> None:
        super()._output_child_post(node, frame, finalize)
        if frame.buffer is None:
            self.write(")")

    def buffer(self, frame: Frame) -> None:
        frame.buffer = self.temporary_identifier()
        self.writeline(f"{frame.buffer} = environment.output_buffer()")

    def visit_EvalContextModifier(self, node: nodes.EvalContextModifier, frame: Frame) -> None:
        """``{% autoescape x %}``: known while compiling only when ``x`` is a literal."""
        for keyword in node.options:
            self.writeline(f"context.eval_ctx.{keyword.key} = ")
            self.visit(keyword.value, frame)
            if isinstance(keyword.value, nodes.Const):
                setattr(frame.eval_ctx, keyword.key, keyword.value.value)
            else:
                frame.eval_ctx.volatile = True

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


class _OutputBuffer(list):
    """What a macro or a block collects: refused once its pieces (each counted
    as its length plus one, so empty ones count too) pass ``_room``.

    Each environment has its subclass holding itself and the initial room, so
    that a buffer (one per macro call) is made without a Python ``__init__``.
    """

    _env: LaunchpadSandbox
    _room: int

    @classmethod
    def bound_to(cls, env: LaunchpadSandbox) -> type[_OutputBuffer]:
        return type("OutputBuffer", (cls,), {"_env": env, "_room": env.limits.max_string})

    def append(self, piece: str) -> None:
        self._room -= len(piece) + 1
        if self._room < 0:
            self._env.refuse("the text a macro or block collects")
        list.append(self, piece)

    def extend(self, pieces: Iterable[str]) -> None:
        if type(pieces) is not tuple:  # a generator: an included template's output
            for piece in pieces:
                self.append(piece)
            return
        self._room -= sum(map(len, pieces)) + len(pieces)  # the pieces of one output tag
        if self._room < 0:
            self._env.refuse("the text a macro or block collects")
        list.extend(self, pieces)


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
                optimized=False,
                cache_size=0,
                **options,
                **kwargs,
            )
        self.limits = limits
        self.output_buffer = _OutputBuffer.bound_to(self)
        self.globals["range"] = self.bounded_range
        self.globals["lipsum"] = self.bounded_lipsum
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

    def check_join(self, items: Any, separator: Any) -> None:
        if isinstance(separator, str) and len(items) * len(separator) > self.limits.max_string:
            self.refuse(f"joining {len(items):,} items with {len(separator):,} characters")

    def check_indent(self, text: Any, width: Any) -> None:
        """``indent`` repeats its width on every line."""
        if isinstance(text, str) and isinstance(width, int | str):
            each = width if isinstance(width, int) else len(width)
            if (text.count("\n") + 1) * each + len(text) > self.limits.max_string:
                self.refuse(f"indenting by {each:,}")

    def check_indent_width(self, indent: Any) -> None:
        """JSON and YAML repeat their indent on every line, once per nesting level."""
        width = len(indent) if isinstance(indent, str) else indent
        if isinstance(width, int) and width > MAX_INDENT:
            self.refuse(f"an indent of {width:,}")

    def guard(self, name: str, func: Callable[..., Any]) -> Callable[..., Any]:
        """Wrap a filter so its size arguments and its result are bounded."""
        skip = 1 if getattr(func, "jinja_pass_arg", None) else 0

        @functools.wraps(func)
        def guarded(*args: Any, **kwargs: Any) -> Any:
            self.check_args(args[skip + 1 :], kwargs)
            value = args[skip] if len(args) > skip else None
            rest = args[skip + 1 :]
            if name == "format":
                self.check_format(value, rest)
            elif name == "replace" and len(args) >= skip + 3:
                self.check_replace(value, args[skip + 1], args[skip + 2])
            elif name == "join" and len(args) > skip:
                value = value if isinstance(value, _SIZED_TYPES) else list(value)
                args = (*args[:skip], value, *rest)
                self.check_join(value, kwargs.get("d", rest[0] if rest else ""))
            elif name == "indent":
                self.check_indent(value, kwargs.get("width", rest[0] if rest else 4))
            elif name in _SERIALIZERS:
                self.check_indent_width(kwargs.get("indent", rest[0] if rest else None))
            return self.check_size(func(*args, **kwargs))

        return guarded

    def start_output(self, context: Any, limit: int) -> None:
        """Let the render of ``context`` yield at most ``limit`` characters."""
        context._lp_limit = context._lp_room = limit

    def counted_output(self, context: Any, piece: str) -> str:
        """A ``{{ }}`` value a template yields, counted as it is produced: new text
        each time, unlike literal text (the engine counts both)."""
        try:
            context._lp_room -= len(piece)
        except AttributeError:  # a render the engine did not start
            self.start_output(context, self.limits.max_file_bytes)
            context._lp_room -= len(piece)
        if context._lp_room < 0:
            raise output_limit_error(context._lp_limit)
        return piece

    def bounded_lipsum(self, *args: Any, **kwargs: Any) -> str:
        given = _LIPSUM.bind(*args, **kwargs)
        given.apply_defaults()
        words = given.arguments["n"] * given.arguments["max"]
        if isinstance(words, int):
            refuse_beyond(self, words * _LONGEST_LOREM_WORD, "lorem ipsum")
        return generate_lorem_ipsum(*given.args, **given.kwargs)

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
        method = getattr(__obj, "__name__", "")
        growing = isinstance(owner, _GROWABLE) and method in _GROWING
        if growing and method in _ADDING_EACH:  # extend(range(n)): n items, measured first
            args = tuple(map(_measurable, args))
        if isinstance(owner, _SIZED_TYPES):
            __self.check_args(args, kwargs)
            if getattr(__obj, "__name__", "") == "replace" and len(args) >= 2:
                __self.check_replace(owner, args[0], args[1])
        # What a call keeps may outlive it: cycler(x, x).items holds x twice.
        added = sum(map(nested_size, (*args, *kwargs.values())))
        __self.check_items(added)
        result = __self.check_size(super().call(__context, __obj, *args, **kwargs))
        if growing:
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


def refuse_beyond(environment: Any, size: int, what: str) -> None:
    """For filters and globals that know their output's size before producing it:
    refuse one beyond the string limit of ``environment`` (the default limits in an
    environment that has none)."""
    limits = getattr(environment, "limits", None)
    if size > (limits if isinstance(limits, Limits) else Limits()).max_string:
        raise JinjaSecurityError(f"{what} of {size:,} characters exceeds the sandbox limit")


def _measurable(arg: Any) -> Any:
    """``arg`` as a list if it is an iterable :func:`nested_size` would count as one
    item (a range, a generator from ``map``); else ``arg`` itself."""
    if isinstance(arg, (*_MEASURED_TYPES, Mapping)) or not isinstance(arg, Iterable):
        return arg
    return list(arg)


def output_limit_error(limit: int) -> LimitExceededError:
    return LimitExceededError(f"the rendered text is over the limit of {limit:,} characters")


def _envops_kwargs(envops: EnvOptions) -> dict[str, Any]:
    options = attrs.asdict(envops)
    strict = options.pop("strict_undefined")
    options["extensions"] = list(options.pop("extensions", ()))
    if options.get("code_root") is not None:
        options["loader"] = FileSystemLoader(options["code_root"])
    return {**options, "undefined": StrictUndefined if strict else Undefined}
