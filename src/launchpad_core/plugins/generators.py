"""File generators: plugins that add files (LICENSE, .gitignore, CI) to a render.

A template names the generators it wants in ``settings.generators`` with their
options; option values are Jinja templates over the answers. Files the
template itself has at the same path win over generated ones.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import attrs

from ..model.answers import Answers
from ..model.template import FileSpec

Generate = Callable[[Mapping[str, Any], Answers], list[FileSpec]]


@attrs.frozen
class FileGenerator:
    """A named source of generated files.

    ``generate(options, answers)`` returns specs with literal paths and final
    content (they are not rendered again); it raises ``ValueError`` with a
    message a person understands for bad options.
    """

    name: str
    description: str
    generate: Generate
    options: Mapping[str, str] = attrs.field(factory=dict)
