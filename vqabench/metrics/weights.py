"""Pretrained weight files: where vqabench looks for them, and what happens when they are absent.

vqabench never downloads weights on its own. A weight file is looked up, in order, in

1. the folder named by ``VQABENCH_WEIGHTS`` (when set),
2. torch hub's checkpoint folder, ``torch.hub.get_dir()/checkpoints`` (where torchvision,
   ``lpips`` and ``piq`` put their downloads),
3. pyiqa's cache folder, ``torch.hub.get_dir()/pyiqa``,
4. the ``clip`` package's folders (``~/.cache/clip``, ``torch.hub.get_dir()/clip``).

When a file is in none of them, :func:`require` raises
:class:`~vqabench.errors.WeightsUnavailableError` naming the file, its origin URL and where to
put it, at once and without touching the network. Setting ``VQABENCH_ALLOW_DOWNLOAD=1`` lets the
wrapped libraries download into their own caches as they normally would.

This module imports neither torch nor any model library, so that a missing file is reported in
well under a second. :data:`KNOWN_WEIGHTS` lists every file vqabench can use; ``vqabench
weights`` prints :func:`weight_status` for each.

Example:
    >>> from vqabench.metrics.weights import require
    >>> path = require("alexnet-owt-7be5be79.pth")   # Path, or WeightsUnavailableError
"""

from __future__ import annotations

import contextlib
import os
import shutil
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, TextIO
from urllib.parse import urlparse

from vqabench.errors import WeightsUnavailableError

__all__ = [
    "WeightFile",
    "WeightStatus",
    "KNOWN_WEIGHTS",
    "ENV_WEIGHTS_DIR",
    "ENV_ALLOW_DOWNLOAD",
    "downloads_allowed",
    "torch_hub_dir",
    "search_dirs",
    "locate",
    "require",
    "weight_status",
    "offline_guard",
]

ENV_WEIGHTS_DIR = "VQABENCH_WEIGHTS"
ENV_ALLOW_DOWNLOAD = "VQABENCH_ALLOW_DOWNLOAD"

Checksum = Literal["ok", "mismatch", "no-hash", "not-checked", "missing"]


@dataclass(frozen=True)
class WeightFile:
    """One pretrained weight file vqabench can use.

    Attributes:
        filename: the file name, as the origin names it.
        url: where it comes from.
        used_by: the vqabench metrics or losses that need it.
        sha256_prefix: the leading hex digits of its SHA-256 where the origin publishes them
            (torchvision and pyiqa embed them in the name, CLIP in the URL); empty if unknown.
        cache: the folder the wrapped library itself downloads it into (``checkpoints``,
            ``pyiqa`` or ``clip`` under the torch hub dir).
    """

    filename: str
    url: str
    used_by: tuple[str, ...]
    sha256_prefix: str = ""
    cache: Literal["checkpoints", "pyiqa", "clip"] = "checkpoints"


_PYIQA_HF = "https://huggingface.co/chaofengc/IQA-PyTorch-Weights/resolve/main/"
_TORCHVISION = "https://download.pytorch.org/models/"

KNOWN_WEIGHTS: dict[str, WeightFile] = {
    w.filename: w
    for w in (
        WeightFile("alexnet-owt-7be5be79.pth", _TORCHVISION + "alexnet-owt-7be5be79.pth",
                   ("lpips net=alex", "lpips_temporal", "perceptual loss alexnet"), "7be5be79"),
        WeightFile("vgg16-397923af.pth", _TORCHVISION + "vgg16-397923af.pth",
                   ("lpips net=vgg", "dists", "perceptual loss vgg16"), "397923af"),
        WeightFile("squeezenet1_1-b8a52dc0.pth", _TORCHVISION + "squeezenet1_1-b8a52dc0.pth",
                   ("lpips net=squeeze",), "b8a52dc0"),
        WeightFile("DISTS_weights-f5e65c96.pth", _PYIQA_HF + "DISTS_weights-f5e65c96.pth",
                   ("dists",), "f5e65c96", "pyiqa"),
        WeightFile("dino_vitbase16_pretrain.pth",
                   "https://dl.fbaipublicfiles.com/dino/dino_vitbase16_pretrain/"
                   "dino_vitbase16_pretrain.pth", ("subject_consistency",)),
        WeightFile("ViT-B-32.pt",
                   "https://openaipublic.azureedge.net/clip/models/40d365715913c9da98579312b702a"
                   "82c18be219cc2a73407c4526f58eba950af/ViT-B-32.pt",
                   ("background_consistency",),
                   "40d365715913c9da98579312b702a82c18be219cc2a73407c4526f58eba950af", "clip"),
        WeightFile("musiq_spaq_ckpt-358bb6af.pth", _PYIQA_HF + "musiq_spaq_ckpt-358bb6af.pth",
                   ("imaging_quality",), "358bb6af", "pyiqa"),
        WeightFile("amt-s.pth", "https://huggingface.co/lalala125/AMT/resolve/main/amt-s.pth",
                   ("motion_smoothness",)),
        WeightFile("dinov2_vits14_pretrain.pth",
                   "https://dl.fbaipublicfiles.com/dinov2/dinov2_vits14/"
                   "dinov2_vits14_pretrain.pth", ("perceptual loss dinov2_vits14",)),
    )
}


@dataclass(frozen=True)
class WeightStatus:
    """Whether one weight file is present, where, and whether its checksum matches."""

    weight: WeightFile
    path: Path | None
    checksum: Checksum

    @property
    def present(self) -> bool:
        """True when the file was found."""
        return self.path is not None


def downloads_allowed() -> bool:
    """True when ``VQABENCH_ALLOW_DOWNLOAD`` is set to 1/true/yes (off by default)."""
    return os.environ.get(ENV_ALLOW_DOWNLOAD, "").strip().lower() in {"1", "true", "yes"}


def torch_hub_dir() -> Path:
    """``torch.hub.get_dir()``, computed without importing torch when it is not loaded yet.

    Follows torch's rule: ``$TORCH_HOME/hub``, else ``$XDG_CACHE_HOME/torch/hub``, else
    ``~/.cache/torch/hub`` (``torch.hub.set_dir`` is honoured once torch is imported).
    """
    if "torch" in sys.modules:
        return Path(sys.modules["torch"].hub.get_dir())
    home = os.environ.get("TORCH_HOME")
    if not home:
        xdg = os.environ.get("XDG_CACHE_HOME", os.path.join(os.path.expanduser("~"), ".cache"))
        home = os.path.join(xdg, "torch")
    return Path(os.path.expanduser(home)) / "hub"


def search_dirs() -> list[Path]:
    """The folders searched for weight files, in order (see the module docstring)."""
    dirs: list[Path] = []
    env = os.environ.get(ENV_WEIGHTS_DIR)
    if env:
        dirs.append(Path(env).expanduser())
    hub = torch_hub_dir()
    dirs += [hub / "checkpoints", hub / "pyiqa", Path.home() / ".cache" / "clip", hub / "clip"]
    return dirs


def _default_destination(filename: str) -> Path:
    env = os.environ.get(ENV_WEIGHTS_DIR)
    if env:
        return Path(env).expanduser() / filename
    weight = KNOWN_WEIGHTS.get(filename)
    return torch_hub_dir() / (weight.cache if weight else "checkpoints") / filename


def locate(filename: str) -> Path | None:
    """The first existing file called ``filename`` in :func:`search_dirs`, or None."""
    for folder in search_dirs():
        candidate = folder / filename
        if candidate.is_file():
            return candidate
    return None


def require(filename: str, *, origin: str | None = None) -> Path:
    """Return the local path of a weight file, or fail fast.

    Args:
        filename: the file name (a key of :data:`KNOWN_WEIGHTS` or any other file).
        origin: its URL when it is not in :data:`KNOWN_WEIGHTS`.

    Returns:
        The path of the file in the first search folder that holds it.

    Raises:
        WeightsUnavailableError: naming the file, its origin and where to put it. Raised even
            with ``VQABENCH_ALLOW_DOWNLOAD=1``: vqabench code itself never downloads; that
            setting only lets the wrapped libraries fill their own caches.
    """
    path = locate(filename)
    if path is not None:
        return path
    known = KNOWN_WEIGHTS.get(filename)
    url = origin or (known.url if known else "its publisher")
    dest = _default_destination(filename)
    alt = "" if os.environ.get(ENV_WEIGHTS_DIR) else f" (or into the folder ${ENV_WEIGHTS_DIR})"
    raise WeightsUnavailableError(filename, url, f"{dest}{alt}")


def _sha256(path: Path) -> str:
    from vqabench.io.hashing import file_sha256

    return file_sha256(path)


def weight_status(*, verify: bool = True) -> list[WeightStatus]:
    """Status of every file in :data:`KNOWN_WEIGHTS`.

    Args:
        verify: hash present files and compare with the published SHA-256 prefix
            (``checksum`` is ``ok``/``mismatch``/``no-hash``); False skips hashing
            (``not-checked``). Absent files read ``missing``.
    """
    out = []
    for weight in KNOWN_WEIGHTS.values():
        path = locate(weight.filename)
        checksum: Checksum
        if path is None:
            checksum = "missing"
        elif not weight.sha256_prefix:
            checksum = "no-hash"
        elif not verify:
            checksum = "not-checked"
        else:
            checksum = "ok" if _sha256(path).startswith(weight.sha256_prefix) else "mismatch"
        out.append(WeightStatus(weight, path, checksum))
    return out


# --- guard around third-party constructors --------------------------------------------------

def _serve_or_refuse(url: str, dst: str | os.PathLike, hash_prefix: str | None = None,
                     *args: object, **kwargs: object) -> None:
    """Stand-in for a library's ``download_url_to_file(url, dst, ...)``.

    Copies the file from a vqabench search folder when it is there (the library then loads
    it from ``dst``), otherwise raises WeightsUnavailableError without any network access.
    """
    filename = os.path.basename(urlparse(url).path) or os.path.basename(str(dst))
    found = locate(filename)
    if found is None:
        alt = f" (or into the folder ${ENV_WEIGHTS_DIR})"
        raise WeightsUnavailableError(filename, url, f"{dst}{alt}")
    if hash_prefix and not _sha256(found).startswith(hash_prefix):
        raise WeightsUnavailableError(
            filename, url, f"{dst} (the copy at {found} fails its SHA-256 check)")
    if Path(found).resolve() != Path(dst).resolve():
        Path(dst).parent.mkdir(parents=True, exist_ok=True)
        tmp = f"{dst}.vqabench-tmp"
        shutil.copyfile(found, tmp)
        os.replace(tmp, dst)


def _refuse_urlopen(url: object, *args: object, **kwargs: object) -> None:
    text = getattr(url, "full_url", url)
    name = os.path.basename(urlparse(str(text)).path) or str(text)
    raise WeightsUnavailableError(name, str(text), str(_default_destination(name)))


class _DropDownloadNotices:
    """A text stream that forwards everything but the libraries' 'Downloading: ...' notices
    (printed just before the refused download, they would claim a download that never runs).
    """

    def __init__(self, stream: TextIO):
        self._stream = stream

    def write(self, text: str) -> int:
        if text.lstrip().startswith("Downloading"):
            return len(text)
        return self._stream.write(text)

    def __getattr__(self, name: str) -> object:
        return getattr(self._stream, name)


@contextlib.contextmanager
def offline_guard() -> Iterator[None]:
    """Context in which third-party model constructors cannot reach the network.

    Inside it, the download functions of torch hub (used by torchvision, lpips and piq), pyiqa
    and clip, and ``urllib.request.urlopen``, are replaced: a requested file is copied from a
    vqabench search folder when present there, else WeightsUnavailableError is raised at once.
    Hugging Face hub is switched to offline mode. With ``VQABENCH_ALLOW_DOWNLOAD=1`` the guard
    does nothing.
    """
    if downloads_allowed():
        yield
        return
    patches: list[tuple[object, str, object]] = []

    def patch(owner: object, attr: str, value: object) -> None:
        if owner is not None and hasattr(owner, attr):
            patches.append((owner, attr, getattr(owner, attr)))
            setattr(owner, attr, value)

    def serve_to_root(url: str, root: str, *args: object, **kwargs: object) -> str:
        dst = os.path.join(root, os.path.basename(urlparse(url).path))
        if not os.path.isfile(dst):
            _serve_or_refuse(url, dst)
        return dst

    import urllib.request

    mods = sys.modules
    patch(mods.get("torch.hub"), "download_url_to_file", _serve_or_refuse)
    patch(mods.get("pyiqa.utils.download_util"), "download_url_to_file", _serve_or_refuse)
    patch(mods.get("pyiqa.archs.clip_model"), "_download", serve_to_root)
    patch(mods.get("clip.clip"), "_download", serve_to_root)
    patch(urllib.request, "urlopen", _refuse_urlopen)
    patch(mods.get("huggingface_hub.constants"), "HF_HUB_OFFLINE", True)
    old_env = os.environ.get("HF_HUB_OFFLINE")
    os.environ["HF_HUB_OFFLINE"] = "1"
    try:
        with contextlib.redirect_stderr(_DropDownloadNotices(sys.stderr)), \
                contextlib.redirect_stdout(_DropDownloadNotices(sys.stdout)):
            yield
    finally:
        for owner, attr, value in reversed(patches):
            setattr(owner, attr, value)
        if old_env is None:
            os.environ.pop("HF_HUB_OFFLINE", None)
        else:
            os.environ["HF_HUB_OFFLINE"] = old_env
