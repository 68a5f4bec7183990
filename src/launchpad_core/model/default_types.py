"""Default plugin: the built-in variable types."""

from __future__ import annotations

from ..plugins.hookspecs import hookimpl
from .variables import BUILTIN_VARIABLE_TYPES, VariableType


@hookimpl
def launchpad_variable_types() -> list[VariableType]:
    return list(BUILTIN_VARIABLE_TYPES)
