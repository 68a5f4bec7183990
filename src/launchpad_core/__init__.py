"""LaunchPad's core: typed templates rendered safely into projects.

>>> from launchpad_core import Launchpad
>>> lp = Launchpad()
>>> template = lp.load("path/to/template")
>>> answers = lp.resolve_answers(template, {"project_name": "Rocket"})
>>> files = lp.render(template, answers)      # checked, in memory
>>> DirectorySink(Path("out")).write(files)    # or ZipSink, TarGzSink, ManifestSink
"""

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
from .hookspecs import hookimpl
from .limits import Limits
from .model.answers import Answers
from .model.output import RenderedFile
from .model.template import Choice, EnvOptions, FileSpec, Settings, Template, Variable
from .runtime import Launchpad, default_launchpad

__version__ = "0.1.0"

__all__ = [
    "Answers",
    "AnswersError",
    "Choice",
    "DefinitionError",
    "EnvOptions",
    "FileSpec",
    "IsolationError",
    "Launchpad",
    "LaunchpadError",
    "LimitExceededError",
    "Limits",
    "Problem",
    "RenderedFile",
    "SecurityError",
    "Settings",
    "Template",
    "UnsafePathError",
    "UntrustedCodeError",
    "Variable",
    "default_launchpad",
    "hookimpl",
]
