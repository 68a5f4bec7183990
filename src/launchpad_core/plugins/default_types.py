"""Default plugin: the built-in variable types."""

from __future__ import annotations

from ..model.variables import BUILTIN_VARIABLE_TYPES, VariableType
from .hookspecs import hookimpl


@hookimpl
def launchpad_variable_types() -> list[VariableType]:
    return list(BUILTIN_VARIABLE_TYPES)
