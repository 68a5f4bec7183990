"""LaunchPad's core: typed templates rendered safely into projects.

>>> from launchpad_core import Launchpad
>>> lp = Launchpad()
>>> template = lp.load("path/to/template")
>>> answers = lp.resolve_answers(template, {"project_name": "Rocket"})
>>> files = lp.render(template, answers)      # checked, in memory
>>> from launchpad_core import DirectorySink  # or ZipSink, TarGzSink, ManifestSink
>>> DirectorySink(Path("out")).write(files)
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .errors import (
        AnswersError,
        DefinitionError,
        IsolationError,
        LaunchpadError,
        LimitExceededError,
        Problem,
        SecurityError,
        UnsafePathError,
        UntrustedCodeError,
    )
    from .importers.importing import TemplateImporter
    from .launchpad import Launchpad, default_launchpad
    from .model.answers import Answers
    from .model.output import RenderedFile
    from .model.template import Choice, EnvOptions, FileSpec, Settings, Template, Variable
    from .model.variables import VariableType
    from .plugins.billing import BillingProvider
    from .plugins.forges import Forge
    from .plugins.generators import FileGenerator
    from .plugins.hookspecs import hookimpl
    from .render.archives import TarGzSink, ZipSink
    from .render.limits import Limits
    from .render.sinks import DirectorySink, ManifestSink

__version__ = "0.1.0"

#: Where each public name lives. They are imported on first use (PEP 562), so a
#: command such as ``launchpad render`` pays only for the modules it runs.
_EXPORTS = {
    **dict.fromkeys(
        (
            "AnswersError",
            "DefinitionError",
            "IsolationError",
            "LaunchpadError",
            "LimitExceededError",
            "Problem",
            "SecurityError",
            "UnsafePathError",
            "UntrustedCodeError",
        ),
        ".errors",
    ),
    "hookimpl": ".plugins.hookspecs",
    "Limits": ".render.limits",
    # where rendered files go
    "DirectorySink": ".render.sinks",
    "ManifestSink": ".render.sinks",
    "TarGzSink": ".render.archives",
    "ZipSink": ".render.archives",
    "Answers": ".model.answers",
    "RenderedFile": ".model.output",
    **dict.fromkeys(
        ("Choice", "EnvOptions", "FileSpec", "Settings", "Template", "Variable"), ".model.template"
    ),
    "Launchpad": ".launchpad",
    "default_launchpad": ".launchpad",
    # what a plugin implements (docs/plugins.md)
    "BillingProvider": ".plugins.billing",
    "FileGenerator": ".plugins.generators",
    "Forge": ".plugins.forges",
    "TemplateImporter": ".importers.importing",
    "VariableType": ".model.variables",
}


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(module, __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_EXPORTS})


__all__ = [
    "Answers",
    "AnswersError",
    "BillingProvider",
    "Choice",
    "DefinitionError",
    "DirectorySink",
    "EnvOptions",
    "FileGenerator",
    "FileSpec",
    "Forge",
    "IsolationError",
    "Launchpad",
    "LaunchpadError",
    "LimitExceededError",
    "Limits",
    "ManifestSink",
    "Problem",
    "RenderedFile",
    "SecurityError",
    "Settings",
    "TarGzSink",
    "Template",
    "TemplateImporter",
    "UnsafePathError",
    "UntrustedCodeError",
    "Variable",
    "VariableType",
    "ZipSink",
    "default_launchpad",
    "hookimpl",
]
