"""The one file-name sanitiser: labels (sequence names, codec labels, rate points) as path
components, the same way everywhere (run directories, make-pairs folders, external codec
import folders).
"""

from __future__ import annotations

__all__ = ["safe_name"]


def safe_name(text: str) -> str:
    """``text`` with every character other than letters, digits, ``-``, ``_`` and ``.``
    replaced by ``_`` (one for one, so the length is kept).

    Example:
        >>> safe_name("x264:qp=37")
        'x264_qp_37'
    """
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in text)
