"""Compiling and evaluating Jinja sources, with caches, inside the sandbox.

One :class:`Engine` serves many renders: it keeps one sandboxed environment
per set of Jinja options and an LRU cache of compiled templates keyed by the
source text, so a service renders a known template version without compiling
it again. A CLI run can add Jinja's on-disk bytecode cache, which survives the
process.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import jinja2
from jinja2.bccache import BytecodeCache, FileSystemBytecodeCache
from jinja2.exceptions import SecurityError as JinjaSecurityError

from .errors import LaunchpadError, LimitExceededError, SecurityError, TemplateSourceError
from .limits import Limits
from .model.template import EnvOptions
from .sandbox import LaunchpadSandbox

FALSE_TEXTS = frozenset({"", "false", "no", "n", "off", "0", "none", "null"})


class Engine:
    """Sandboxed environments plus a bounded cache of compiled templates."""

    def __init__(
        self,
        *,
        limits: Limits | None = None,
        filters: Mapping[str, Callable[..., Any]] | None = None,
        globals: Mapping[str, Any] | None = None,
        bytecode_cache_dir: Path | None = None,
        cache_size: int = 8192,
    ):
        self.limits = limits or Limits()
        self._filters = dict(filters or {})
        self._globals = dict(globals or {})
        self._bytecode: BytecodeCache | None = None
        if bytecode_cache_dir is not None:
            bytecode_cache_dir.mkdir(parents=True, exist_ok=True)
            self._bytecode = FileSystemBytecodeCache(str(bytecode_cache_dir))
        self._envs: dict[EnvOptions, LaunchpadSandbox] = {}
        self._compiled: OrderedDict[tuple[Any, ...], jinja2.Template] = OrderedDict()
        self._cache_size = cache_size
        self._lock = threading.Lock()

    def environment(self, envops: EnvOptions) -> LaunchpadSandbox:
        env = self._envs.get(envops)
        if env is None:
            env = LaunchpadSandbox(self.limits, envops)
            env.filters.update({k: env.guard(k, f) for k, f in self._filters.items()})
            env.globals.update(self._globals)
            self._envs[envops] = env
        return env

    def needs_jinja(self, envops: EnvOptions, text: str) -> bool:
        return any(marker in text for marker in envops.markers)

    def compile(self, envops: EnvOptions, source: str, name: str) -> jinja2.Template:
        key = (envops, name, source)
        with self._lock:
            template = self._compiled.get(key)
            if template is not None:
                self._compiled.move_to_end(key)
                return template
        template = self._compile_uncached(self.environment(envops), source, name)
        with self._lock:
            self._compiled[key] = template
            if len(self._compiled) > self._cache_size:
                self._compiled.popitem(last=False)
        return template

    def _compile_uncached(self, env: LaunchpadSandbox, source: str, name: str) -> jinja2.Template:
        with translate_errors(name):
            if self._bytecode is None:
                return env.from_string(source)
            bucket = self._bytecode.get_bucket(env, name, None, source)
            if bucket.code is None:
                bucket.code = env.compile(source, name)
                self._bytecode.set_bucket(bucket)
            return env.template_class.from_code(env, bucket.code, env.make_globals(None))

    def render_text(
        self, envops: EnvOptions, source: str, context: Mapping[str, Any], name: str
    ) -> str:
        """Render ``source`` (if it has any Jinja markup) with ``context``."""
        if not self.needs_jinja(envops, source):
            return source
        template = self.compile(envops, source, name)
        with translate_errors(name):
            return template.render(context)

    def evaluate(
        self, envops: EnvOptions, expression: str | bool, context: Mapping[str, Any], name: str
    ) -> Any:
        """Evaluate a condition: a bool, a ``{{ }}`` template read as text, or an expression."""
        if isinstance(expression, bool):
            return expression
        if self.needs_jinja(envops, expression):
            text = self.render_text(envops, expression, context, name)
            return text.strip().lower() not in FALSE_TEXTS
        env = self.environment(envops)
        with translate_errors(name):
            return bool(env.compile_expression(expression)(**context))


@contextmanager
def translate_errors(name: str) -> Iterator[None]:
    """Turn Jinja and resource errors into launchpad_core errors naming the source."""
    try:
        yield
    except LaunchpadError:
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
