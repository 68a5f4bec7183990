"""A rendered file as a preview shows it: UTF-8 text, or base64 for binary content.

The rendering itself runs through :class:`launchpad_web.evaluation.Evaluator`.
"""

from __future__ import annotations

import base64

from launchpad_core import RenderedFile

from .schemas import PreviewFile


def preview_file(file: RenderedFile) -> PreviewFile:
    if file.is_dir:
        return PreviewFile(path=file.path, content="", encoding="utf-8", size=0, sha256=None,
                           mode=file.mode, kind="directory")
    try:
        content, encoding = file.data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        content, encoding = base64.b64encode(file.data).decode("ascii"), "base64"
    return PreviewFile(
        path=file.path,
        content=content,
        encoding=encoding,
        size=file.size,
        sha256=file.sha256,
        mode=file.mode,
    )
