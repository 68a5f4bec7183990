"""The one object callers use: plugins, engine and types, built once.

``Launchpad()`` loads the plugins, builds the sandboxed engine and exposes the
steps as separate calls — load, validate, resolve answers, render, write — so
the CLI, the web service and the workers drive the very same code.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pluggy

from .errors import DefinitionError, Problem, UntrustedCodeError
from .model.answers import Answers
from .model.output import RenderedFile
from .model.template import Template
from .plugins.manager import Hooks, make_plugin_manager
from .render import rendering, validation
from .render import resolution as answers_module
from .render.compile_cache import DEFAULT_MAX_BYTES
from .render.engine import Engine
from .render.limits import Limits
from .render.trust import refuse_untrusted, trusting

if TYPE_CHECKING:
    from .plugins.generators import FileGenerator


class Launchpad:
    """Plugins + engine: load, validate, answer, render."""

    def __init__(
        self,
        *,
        plugin_manager: pluggy.PluginManager | None = None,
        limits: Limits | None = None,
        bytecode_cache_dir: Path | None = None,
        bytecode_cache_bytes: int = DEFAULT_MAX_BYTES,
        import_cache_dir: Path | None = None,
        compile_workers: int = 1,
    ):
        """``bytecode_cache_dir`` keeps compiled sources (at most ``bytecode_cache_bytes``,
        least recently used out first) and ``import_cache_dir`` imported foreign
        templates on disk between runs (the CLI sets both; a service only the first,
        in its data directory)."""
        self.hooks = Hooks(plugin_manager or make_plugin_manager())
        self.import_cache_dir = import_cache_dir
        self.types = self.hooks.variable_types()
        self.engine = Engine(
            limits=limits,
            filters=self.hooks.jinja_filters(),
            globals=self.hooks.jinja_globals(),
            bytecode_cache_dir=bytecode_cache_dir,
            bytecode_cache_bytes=bytecode_cache_bytes,
            compile_workers=compile_workers,
        )

    @functools.cached_property
    def generators(self) -> dict[str, FileGenerator]:
        """The plugins' file generators, asked for the first time a template names one
        (most never do, and a generator plugin imports its generators only then)."""
        return self.hooks.file_generators()

    def _generators_of(self, template: Template) -> Mapping[str, FileGenerator]:
        return self.generators if template.settings.generators else {}

    # -- definitions -------------------------------------------------------------
    def structure(self, data: Any, *, trusted: bool = False) -> Template:
        """JSON-like data to a checked :class:`Template`, or :class:`DefinitionError`.

        ``trusted`` loads the template's ``jinja_extensions`` (see :func:`trusting`).
        """
        from .model.serialization import structure_template

        template = structure_template(data)
        if trusted:
            template = trusting(template)
        self.check(template)
        return template

    def unstructure(self, template: Template) -> dict[str, Any]:
        from .model.serialization import unstructure_template

        return unstructure_template(template)

    def problems(self, template: Template) -> list[Problem]:
        return validation.check_template(
            template, types=self.types, generators=self._generators_of(template),
            engine=self.engine,
        )

    def check(self, template: Template) -> None:
        problems = self.problems(template)
        if problems:
            raise DefinitionError("The definition is not valid.", problems)

    def load(
        self,
        source: str | Path,
        *,
        trusted: bool = False,
        skip_tasks: bool = False,
        format: str | None = None,
    ) -> Template:
        """A template from a definition file, a template directory or a foreign format.

        ``skip_tasks`` drops its tasks and hooks
        (:func:`~launchpad_core.importers.importing.without_tasks`);
        ``format`` (``launchpad``, ``copier``, ``cookiecutter`` ...) picks the kind of
        template in a directory that holds several.
        """
        from .importers.importing import load_source, without_tasks

        template = load_source(
            Path(source), launchpad=self, trusted=trusted, skip_tasks=skip_tasks, format=format
        )
        if skip_tasks:
            template = without_tasks(template)
        if trusted:
            template = trusting(template)
        else:
            self._refuse_untrusted_syntax(template)
        self.check(template)
        return template

    def _refuse_untrusted_syntax(self, template: Template) -> None:
        """A template whose files parse only with its own Jinja extensions loaded: one
        clear error that it needs trust, rather than each tag or filter they add."""
        extensions = template.settings.jinja_extensions
        if extensions and any(p.code == "template_syntax" for p in self.problems(template)):
            raise UntrustedCodeError(
                f"the template's files use its Jinja extensions ({', '.join(extensions)}), "
                "which load only when it is trusted (--trust on the command line)"
            )

    # -- answers and rendering ---------------------------------------------------
    def resolve_answers(
        self,
        template: Template,
        given: Mapping[str, Any],
        *,
        from_text: bool = False,
        use_defaults: bool = True,
        ask: answers_module.Ask | None = None,
    ) -> Answers:
        return answers_module.resolve_answers(
            template,
            given,
            types=self.types,
            engine=self.engine,
            from_text=from_text,
            use_defaults=use_defaults,
            ask=ask,
        )

    def render(
        self,
        template: Template,
        answers: Answers,
        *,
        trusted: bool = False,
        progress: rendering.Progress | None = None,
        skipped: list[rendering.SkippedFile] | None = None,
    ) -> list[RenderedFile]:
        """Every output file, checked and in memory; nothing is written. The template's
        files left out, and why, are added to ``skipped`` when it is given."""
        refuse_untrusted(template, trusted=trusted)
        if trusted:
            template = trusting(template)
        return rendering.render_files(
            template,
            answers,
            engine=self.engine,
            generators=self._generators_of(template),
            extra_context=self.hooks.render_context(template=template, answers=answers),
            progress=progress,
            skipped=skipped,
        )


@functools.cache
def default_launchpad() -> Launchpad:
    """A process-wide :class:`Launchpad` with every installed plugin."""
    return Launchpad()
