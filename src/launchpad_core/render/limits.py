"""Limits that bound one render. Defaults are generous for real templates."""

from __future__ import annotations

import attrs

MIB = 1024 * 1024


@attrs.frozen
class Limits:
    """Bounds on a render; every one is checked with a clear error."""

    max_files: int = 20_000
    max_file_bytes: int = 16 * MIB
    max_total_bytes: int = 256 * MIB
    render_seconds: float = 60.0
    max_string: int = 16 * MIB
    max_range: int = 100_000
    max_int_bits: int = 4096
    max_definition_bytes: int = 64 * MIB
    #: How long one regular expression from a template may run (:mod:`.regexes`).
    regex_seconds: float = 1.0
