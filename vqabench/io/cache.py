"""Where vqabench keeps what it can make again: generated sources, the ffmpeg probe.

Example:
    >>> cache_dir()   # $VQABENCH_CACHE, or ~/.cache/vqabench
    PosixPath('/home/me/.cache/vqabench')
"""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["cache_dir"]


def cache_dir() -> Path:
    """Where generated sources are cached: ``$VQABENCH_CACHE`` or ``~/.cache/vqabench``."""
    root = os.environ.get("VQABENCH_CACHE")
    return Path(root) if root else Path.home() / ".cache" / "vqabench"
