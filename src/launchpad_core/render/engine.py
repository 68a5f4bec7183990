"""Compiling and evaluating Jinja sources, with caches, inside the sandbox.

One :class:`Engine` serves many renders: it keeps one sandboxed environment
per set of Jinja options and an LRU cache of compiled templates keyed by the
source text, so a service renders a known template version without compiling
it again. An on-disk pack cache (:mod:`.compile_cache`), bounded in size,
survives the process: the CLI's in its cache folder, a service's in its data
directory.

Rendering streams: the output is counted as it is produced and a render stops
at its limit, instead of being measured once a runaway loop has built it. The
context is passed to the template as it is, never copied (Jinja copies it
into a new dictionary per render: quadratic for answers that each see all
earlier ones).
"""

from __future__ import annotations

import functools
import itertools
import threading
from collections import ChainMap, OrderedDict, deque
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import jinja2
from jinja2 import nodes
from jinja2.exceptions import SecurityError as JinjaSecurityError
from jinja2.parser import Parser
from jinja2.runtime import Context

from ..errors import LaunchpadError, LimitExceededError, SecurityError, TemplateSourceError
from ..model.template import EnvOptions, Template
from .compile_cache import DEFAULT_MAX_BYTES, PackCache, compile_many
from .limits import Limits
from .sandbox import LaunchpadSandbox, output_limit_error

FALSE_TEXTS = frozenset({"", "false", "no", "n", "off", "0", "none", "null"})
#: Pieces of output counted at once. Taking them costs only references: literal
#: text is one constant however often it repeats, and new text (``{{ }}``
#: values, what macros collect) is counted piece by piece by the sandbox.
_CHUNK = 4096


def _sandbox(limits: Limits, envops: EnvOptions) -> LaunchpadSandbox:
    try:
        return LaunchpadSandbox(limits, envops)
    except Exception as exc:  # a trusted template's extension: its import runs its code
        names = ", ".join(getattr(envops, "extensions", ()))
        if not names:
            raise
        raise TemplateSourceError(
            f"a Jinja extension ({names}) cannot be loaded: {type(exc).__name__}: {exc}"
        ) from None


class Engine:
    """Sandboxed environments plus a bounded cache of compiled templates."""

    def __init__(
        self,
        *,
        limits: Limits | None = None,
        filters: Mapping[str, Callable[..., Any]] | None = None,
        globals: Mapping[str, Any] | None = None,
        bytecode_cache_dir: Path | None = None,
        bytecode_cache_bytes: int = DEFAULT_MAX_BYTES,
        cache_size: int = 8192,
        compile_workers: int = 1,
    ):
        self.limits = limits or Limits()
        self._filters = dict(filters or {})
        self._globals = dict(globals or {})
        self._packs = (PackCache(bytecode_cache_dir, bytecode_cache_bytes)
                       if bytecode_cache_dir is not None else None)
        self._envs: dict[EnvOptions, LaunchpadSandbox] = {}
        self._compiled: OrderedDict[tuple[Any, ...], jinja2.Template] = OrderedDict()
        self._cache_size = cache_size
        self._lock = threading.Lock()
        self._compile_workers = compile_workers

    def environment(self, envops: EnvOptions) -> LaunchpadSandbox:
        env = self._envs.get(envops)
        if env is None:
            env = _sandbox(self.limits, envops)
            env.filters.update({k: env.guard(k, f) for k, f in self._filters.items()})
            env.globals.update(self._globals)
            self._envs[envops] = env
        return env

    def needs_jinja(self, envops: EnvOptions, text: str) -> bool:
        return any(marker in text for marker in envops.markers)

    def compile(self, envops: EnvOptions, source: str, name: str) -> jinja2.Template:
        """The compiled template for ``source``; ``name`` only labels errors.

        The cache key is the source text itself, so identical sources (a path
        segment such as ``{{ slug }}`` repeated in 2,000 paths) compile once.
        """
        key = (envops, source)
        with self._lock:
            template = self._compiled.get(key)
            if template is not None:
                self._compiled.move_to_end(key)
                return template
        template = self._compile_uncached(self.environment(envops), source, name)
        self._remember(envops, source, template)
        return template

    def precompile(self, envops: EnvOptions, sources: Iterable[str]) -> None:
        """Compile many sources ahead of use: from the pack cache when it has them,
        else in ``compile_workers`` forked processes (only for processes that may
        fork, such as the CLI; a threaded server keeps one worker)."""
        unique = list(dict.fromkeys(sources))
        with self._lock:  # one template's sources fit whole, or each pass compiles them again
            self._cache_size = max(self._cache_size, len(unique))
        todo = [s for s in unique if (envops, s) not in self._compiled]
        if not todo:
            return
        env = self.environment(envops)
        codes = self._packs.load(envops, todo) if self._packs else None
        if codes is None:
            codes = compile_many(env, todo, self._compile_workers)
            if self._packs:
                self._packs.store(envops, todo, codes)
        for source, code in zip(todo, codes, strict=True):
            if code is not None:
                template = env.template_class.from_code(env, code, env.make_globals(None))
                self._remember(envops, source, template)

    def precompile_template(self, template: Template) -> None:
        """:meth:`precompile` every Jinja source of ``template``: its variables'
        defaults and validators, its files' contents, path segments and conditions
        (a no-op when they are compiled already)."""
        envops = template.settings.envops
        self.precompile(envops, self._sources(template, envops))

    def _sources(self, template: Template, envops: EnvOptions) -> Iterator[str]:
        jinja = functools.partial(self.needs_jinja, envops)
        for var in template.variables:
            for source in (var.default, var.validator, var.when):
                if isinstance(source, str) and jinja(source):
                    yield source
        for spec in template.files:
            if spec.render and not spec.is_binary and jinja(spec.content):
                yield spec.content
            if jinja(spec.path):
                yield from filter(jinja, spec.path.split("/"))
            if isinstance(spec.when, str) and jinja(spec.when):
                yield spec.when

    def _remember(self, envops: EnvOptions, source: str, template: jinja2.Template) -> None:
        with self._lock:
            self._compiled[(envops, source)] = template
            if len(self._compiled) > self._cache_size:
                self._compiled.popitem(last=False)

    def _compile_uncached(self, env: LaunchpadSandbox, source: str, name: str) -> jinja2.Template:
        with translate_errors(name):
            return env.from_string(source)

    def render_text(
        self,
        envops: EnvOptions,
        source: str,
        context: Mapping[str, Any],
        name: str,
        *,
        max_chars: int | None = None,
    ) -> str:
        """Render ``source`` (if it has any Jinja markup) with ``context``; stop with
        :class:`LimitExceededError` once the output passes ``max_chars`` characters
        (the string limit when not given)."""
        if not self.needs_jinja(envops, source):
            return source
        template = self.compile(envops, source, name)
        limit = self.limits.max_string if max_chars is None else max_chars
        with translate_errors(name):
            pieces, ctx = _start(template, context)
            ctx.environment.start_output(ctx, limit)
            return _bounded_text(pieces, limit)

    def evaluate(
        self, envops: EnvOptions, expression: str | bool, context: Mapping[str, Any], name: str
    ) -> Any:
        """Evaluate a condition: a bool, a ``{{ }}`` template read as text, or an expression."""
        if isinstance(expression, bool):
            return expression
        if self.needs_jinja(envops, expression):
            text = self.render_text(envops, expression, context, name)
            return text.strip().lower() not in FALSE_TEXTS
        compiled = self.compile_expression(envops, expression, name)
        with translate_errors(name):
            pieces, ctx = _start(compiled, context)
            deque(pieces, maxlen=0)
            value = ctx.vars["result"]
            return not isinstance(value, jinja2.Undefined) and bool(value)

    def compile_expression(self, envops: EnvOptions, source: str, name: str) -> jinja2.Template:
        """The compiled condition ``source`` (a ``when``), cached with the templates.

        A condition holds no Jinja markup (one that does renders as a
        template), so its key never clashes with a template's.
        """
        with self._lock:
            expression = self._compiled.get((envops, source))
            if expression is not None:
                self._compiled.move_to_end((envops, source))
        if expression is None:
            with translate_errors(name):
                expression = _expression_template(self.environment(envops), source)
            self._remember(envops, source, expression)
        return expression


def _start(template: jinja2.Template, context: Mapping[str, Any]) -> tuple[Iterator[str], Context]:
    """The output of ``template`` as it is produced, and its Jinja context,
    which reads ``context`` in place (Jinja's ``render`` copies it twice)."""
    ctx = template.new_context(ChainMap(context, template.globals), shared=True)  # type: ignore[arg-type]
    return template.root_render_func(ctx), ctx


def _bounded_text(pieces: Iterator[str], limit: int) -> str:
    parts, size = [], 0
    while chunk := list(itertools.islice(pieces, _CHUNK)):
        size += sum(map(len, chunk))
        if size > limit:
            raise output_limit_error(limit)
        parts.append("".join(chunk))
    return "".join(parts)


def _expression_template(env: LaunchpadSandbox, source: str) -> jinja2.Template:
    """Jinja's ``compile_expression`` as a template that stores the value as
    ``result``, so that it evaluates without copying its context."""
    parser = Parser(env, source, state="variable")
    expr = parser.parse_expression()
    if not parser.stream.eos:
        lineno = parser.stream.current.lineno
        raise jinja2.TemplateSyntaxError("chunk after expression", lineno, None, None)
    expr.set_environment(env)
    body = [nodes.Assign(nodes.Name("result", "store"), expr, lineno=1)]
    return env.from_string(nodes.Template(body, lineno=1))


@contextmanager
def translate_errors(name: str) -> Iterator[None]:
    """Turn Jinja and resource errors into launchpad_core errors naming the source."""
    try:
        yield
    except LaunchpadError as exc:
        exc.source = exc.source or name
        raise
    except (JinjaSecurityError, OverflowError) as exc:
        raise SecurityError(str(exc), source=name) from None
    except RecursionError:
        raise LimitExceededError("templates nest or recurse too deeply", source=name) from None
    except MemoryError:
        raise LimitExceededError("rendering ran out of memory", source=name) from None
    except jinja2.TemplateSyntaxError as exc:
        raise TemplateSourceError(f"line {exc.lineno}: {exc.message}", source=name) from None
    except jinja2.TemplateError as exc:
        raise TemplateSourceError(exc.message or str(exc), source=name) from None
    except (ArithmeticError, TypeError, ValueError, LookupError, AttributeError) as exc:
        raise TemplateSourceError(f"{type(exc).__name__}: {exc}", source=name) from None
