"""The package's data files (license texts, .gitignore blocks), read once."""

from __future__ import annotations

import functools
from importlib.resources import files


@functools.cache
def read_text(folder: str, name: str) -> str:
    return (files(__package__) / "data" / folder / name).read_text(encoding="utf-8")
