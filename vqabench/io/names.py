"""File names: the one sanitiser of labels (sequence names, codec labels, rate points) as path
components, the same way everywhere (run directories, make-pairs folders, external codec
import folders), and the one rule for "a file, or the folder that holds it".
"""

from __future__ import annotations

import os
from pathlib import Path

from vqabench.errors import DatasetError

__all__ = ["safe_name", "file_in"]


def safe_name(text: str) -> str:
    """``text`` with every character other than letters, digits, ``-``, ``_`` and ``.``
    replaced by ``_`` (one for one, so the length is kept).

    Example:
        >>> safe_name("x264:qp=37")
        'x264_qp_37'
    """
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in text)


def file_in(path: str | os.PathLike[str], file_name: str, *, what: str, hint: str) -> Path:
    """``path`` when it is a file, ``path / file_name`` when it is a folder.

    Args:
        path: a file, or the folder holding ``file_name``.
        file_name: the file's name inside a folder (``results.csv``).
        what: how the message introduces the path (``"manifest="``, ``"results file "``).
        hint: how to make the file, for the message.

    Raises:
        DatasetError: no such file.
    """
    path = Path(path)
    if path.is_dir():
        path = path / file_name
    if not path.is_file():
        raise DatasetError(f"{what}{str(path)!r} does not exist; {hint}")
    return path
