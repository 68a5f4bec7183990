"""What a Copier template's files ask while they render: the ``_exclude`` patterns that
only the answers decide (see :mod:`.copier_tree`), matched as Copier matches them.

Apart from the importer, so that every command, which registers the Copier plugin
and its Jinja globals, need not import what reads a Copier template.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pathspec

#: The Jinja global the ``when`` of a file uses for templated ``_exclude`` patterns.
EXCLUDED_GLOBAL = "copier_path_excluded"
#: The render-context name of :attr:`.copier_tree.CopierFiles.shadowed`.
SHADOWED_CONTEXT = "_lp_shadowed"
_LINEBREAK = re.compile(r"\r\n|\r|\n")


@functools.lru_cache(maxsize=64)
def pattern_spec(patterns: tuple[str, ...]) -> pathspec.PathSpec:
    """The gitignore-style ``patterns``, compiled (once for the same patterns)."""
    import pathspec  # here: the plugin loads on every command, most never match

    return pathspec.PathSpec.from_lines("gitignore", patterns)


def nfd_patterns(patterns: tuple[str, ...]) -> tuple[str, ...]:
    """Copier normalises its patterns (not the paths) to NFD."""
    return tuple(unicodedata.normalize("NFD", p) for p in patterns)


def path_excluded(patterns_text: str, path: str) -> bool:
    """Whether ``path`` matches the rendered ``_exclude`` patterns, one per line."""
    return pattern_spec(nfd_patterns(tuple(_LINEBREAK.split(patterns_text)))).match_file(path)
