"""The ``license`` generator: a LICENSE file from an SPDX license id.

The texts are the official ones. MIT, BSD-3-Clause and ISC carry a copyright
line filled from ``holder`` and ``year``; Apache-2.0 and GPL-3.0-only are
written verbatim, as their texts must not be changed (their copyright notices
belong in the source files, as each license's appendix explains).
"""

from __future__ import annotations

import datetime
import re
from collections.abc import Mapping
from typing import Any

import attrs
from launchpad_core import Answers, FileSpec
from launchpad_core.plugins.generators import FileGenerator

from .data import read_text
from .options import Options

_YEARS = re.compile(r"\d{4}(?:\s*[-,]\s*\d{4})*")

OPTIONS = {
    "spdx": "SPDX id of the license: MIT, Apache-2.0, BSD-3-Clause, ISC or GPL-3.0-only.",
    "holder": "The copyright holder (required by MIT, BSD-3-Clause and ISC).",
    "year": "Year or years of the copyright line, e.g. 2024 or 2019-2024 (default: this year).",
    "path": "Where the file goes (default: LICENSE).",
}


@attrs.frozen
class License:
    """One supported license: its SPDX id, full name and official text."""

    spdx: str
    name: str

    @property
    def template(self) -> str:
        return read_text("licenses", f"{self.spdx}.txt")

    @property
    def has_copyright_line(self) -> bool:
        return "{holder}" in self.template

    def text(self, *, holder: str, year: str) -> str:
        if not self.has_copyright_line:
            return self.template
        if not holder:
            raise ValueError(f"the {self.spdx} license names the copyright holder: set 'holder'")
        if "\n" in holder or "\r" in holder:
            raise ValueError("the holder must fit on one line")
        if not _YEARS.fullmatch(year):
            raise ValueError(f"year {year!r} is not a year such as 2024 or 2019-2024")
        return self.template.replace("{year}", year).replace("{holder}", holder)


LICENSES = (
    License("MIT", "MIT License"),
    License("Apache-2.0", "Apache License 2.0"),
    License("BSD-3-Clause", 'BSD 3-Clause "New" or "Revised" License'),
    License("ISC", "ISC License"),
    License("GPL-3.0-only", "GNU General Public License v3.0 only"),
)
_BY_ID = {item.spdx.lower(): item for item in LICENSES}


def find_license(spdx: str) -> License:
    """The license with the SPDX id ``spdx`` (matched without regard to case)."""
    found = _BY_ID.get(spdx.strip().lower())
    if found is None:
        supported = ", ".join(item.spdx for item in LICENSES)
        raise ValueError(f"unknown SPDX license id {spdx!r} (supported: {supported})")
    return found


def spdx_name(spdx: str) -> str:
    """Jinja filter: the full name of a license (``MIT`` -> ``MIT License``); unknown ids
    are returned as they are."""
    found = _BY_ID.get(str(spdx).strip().lower())
    return found.name if found else spdx


def generate(options: Mapping[str, Any], answers: Answers) -> list[FileSpec]:
    opts = Options.read(options, OPTIONS)
    chosen = find_license(opts.required("spdx"))
    year = opts.text("year", str(datetime.date.today().year))
    content = chosen.text(holder=opts.text("holder"), year=year)
    return [FileSpec(path=opts.text("path", "LICENSE"), content=content, render=False)]


GENERATOR = FileGenerator(
    name="license",
    description="A LICENSE file with the official text of an SPDX license.",
    generate=generate,
    options=OPTIONS,
)
