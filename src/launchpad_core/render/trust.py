"""What a template the local user trusts may run, and the refusal when it is not trusted.

Tasks, hook scripts and a template's own Jinja extensions are code: the command line
runs them only with ``--trust``, the hosted service never (it skips tasks and refuses
extensions). A trusted template's own modules (Cookiecutter's ``_extensions`` beside
``cookiecutter.json``, Copier's ``extensions.py``) are written once per process to a
folder the engine imports them from.
"""

from __future__ import annotations

import atexit
import functools
import shutil
import tempfile
from pathlib import Path

import attrs

from ..errors import UntrustedCodeError
from ..model.template import Template, TrustedEnvOptions


def executable_parts(template: Template) -> list[str]:
    """What in ``template`` would run code (tasks, hooks, Jinja extensions)."""
    return [
        name
        for name in ("tasks", "jinja_extensions")
        if getattr(template.settings, name, None)
    ]


def trusting(template: Template) -> Template:
    """``template`` with its ``jinja_extensions`` loaded by the engine, the way
    Copier and Cookiecutter load them: only ever for a template the local user
    trusts (the hosted service never calls this)."""
    settings = template.settings
    if not settings.jinja_extensions or isinstance(settings.envops, TrustedEnvOptions):
        return template
    envops = TrustedEnvOptions(
        **attrs.asdict(settings.envops, recurse=False),
        extensions=settings.jinja_extensions,
        code_root=code_directory(template),
    )
    return attrs.evolve(template, settings=attrs.evolve(settings, envops=envops))


def refuse_untrusted(template: Template, *, trusted: bool) -> None:
    parts = executable_parts(template)
    if parts and not trusted:
        raise UntrustedCodeError(
            f"the template would run code ({', '.join(parts)}); "
            "refused unless it is trusted (--trust on the command line)"
        )


def code_directory(template: Template) -> str | None:
    """A directory holding the template's own modules (``settings.code_files`` but the
    hook scripts) at their paths, written once per process; None when it has none.
    Only for trusted templates: the extensions that load from it are executed code."""
    scripts = {t.get("script") for t in template.settings.tasks}
    modules = tuple((f.path, f.data) for f in template.settings.code_files if f.path not in scripts)
    return _written(modules) if modules else None


@functools.cache
def _written(modules: tuple[tuple[str, bytes], ...]) -> str:
    root = tempfile.mkdtemp(prefix="launchpad-code-")
    atexit.register(shutil.rmtree, root, ignore_errors=True)
    for path, data in modules:
        target = Path(root, path)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
    return root
