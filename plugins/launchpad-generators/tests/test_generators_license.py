"""The ``license`` generator and the ``spdx_name`` filter."""

from __future__ import annotations

import datetime
import hashlib

import pytest
from launchpad_core import Answers
from launchpad_core.testing import launchpad_with, render_tree

from launchpad_generators import plugin
from launchpad_generators.license import GENERATOR, LICENSES, spdx_name

#: md5 of apache.org's LICENSE-2.0.txt and of gnu.org's gpl-3.0.txt, byte for byte.
OFFICIAL_MD5 = {
    "Apache-2.0": "3b83ef96387f14655fc854ddc3c6bd57",
    "GPL-3.0-only": "1ebbd3e34237af26da5dc08a4e440464",
}


def license_text(**options: str) -> str:
    [spec] = GENERATOR.generate(options, Answers())
    assert spec.path == options.get("path", "LICENSE")
    assert not spec.render
    return spec.content


@pytest.mark.parametrize(("spdx", "first_lines"), [
    ("MIT", "MIT License\n\nCopyright (c) 2024 Ada Lovelace\n\nPermission is hereby granted"),
    ("BSD-3-Clause", "BSD 3-Clause License\n\nCopyright (c) 2024, Ada Lovelace\n"
                     "All rights reserved.\n\nRedistribution and use"),
    ("ISC", "ISC License\n\nCopyright (c) 2024, Ada Lovelace\n\nPermission to use, copy"),
])
def test_short_licenses_carry_the_copyright_line(spdx: str, first_lines: str) -> None:
    text = license_text(spdx=spdx, holder="Ada Lovelace", year="2024")
    assert text.startswith(first_lines)
    assert "{" not in text
    assert text.endswith(".\n")


def test_mit_is_the_full_official_text() -> None:
    text = license_text(spdx="MIT", holder="Ada", year="2024")
    assert "The above copyright notice and this permission notice shall be included" in text
    assert text.endswith("OUT OF OR IN CONNECTION WITH THE SOFTWARE OR THE USE OR OTHER DEALINGS "
                         "IN THE\nSOFTWARE.\n")


@pytest.mark.parametrize("spdx", sorted(OFFICIAL_MD5))
def test_long_licenses_are_the_official_texts_verbatim(spdx: str) -> None:
    text = license_text(spdx=spdx, holder="Ada Lovelace", year="2024")
    assert hashlib.md5(text.encode()).hexdigest() == OFFICIAL_MD5[spdx]


def test_the_year_defaults_to_this_year_and_ids_ignore_case() -> None:
    this_year = datetime.date.today().year
    assert f"Copyright (c) {this_year} Ada\n" in license_text(spdx="mit", holder="Ada")


def test_year_ranges_and_another_path() -> None:
    text = license_text(spdx="ISC", holder="Ada", year="2019-2024", path="COPYING")
    assert "Copyright (c) 2019-2024, Ada\n" in text


@pytest.mark.parametrize(("options", "message"), [
    ({}, "the option 'spdx' is required"),
    ({"spdx": "GPL-3.0"}, "unknown SPDX license id 'GPL-3.0'"),
    ({"spdx": "MIT", "holder": "Ada\nEvil"}, "the holder must fit on one line"),
    ({"spdx": "BSD-3-Clause", "holder": "Ada", "year": "soon"}, "year 'soon' is not a year"),
])
def test_bad_options(options: dict[str, str], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        GENERATOR.generate(options, Answers())


def test_every_license_has_a_name_for_the_filter() -> None:
    assert [spdx_name(item.spdx) for item in LICENSES] == [item.name for item in LICENSES]
    assert spdx_name("apache-2.0") == "Apache License 2.0"
    assert spdx_name("LicenseRef-Mine") == "LicenseRef-Mine"


def test_the_filter_in_a_template() -> None:
    definition = {"name": "t", "files": [{"path": "a.txt", "content": "{{ 'ISC' | spdx_name }}"}]}
    assert render_tree(launchpad_with(plugin), definition) == {"a.txt": b"ISC License"}
