"""Pretrained weight files: where vqabench looks for them, what happens when they are absent,
and ``vqabench weights fetch``, the one way vqabench downloads them.

Computing a metric never downloads anything. A weight file is looked up, in order, in

1. the folder named by ``VQABENCH_WEIGHTS`` (when set),
2. torch hub's checkpoint folder, ``torch.hub.get_dir()/checkpoints`` (where torchvision,
   ``lpips`` and ``piq`` put their downloads),
3. pyiqa's cache folder, ``torch.hub.get_dir()/pyiqa``,
4. the ``clip`` package's folders (``~/.cache/clip``, ``torch.hub.get_dir()/clip``).

When files are in none of them, :func:`require_all` (and :func:`require`, for one file) raises
:class:`~vqabench.errors.WeightsUnavailableError` naming every missing file, its origin URL,
where to put it and the one command that fetches them all (``vqabench weights fetch dists``),
at once and without touching the network. Setting ``VQABENCH_ALLOW_DOWNLOAD=1`` lets the
wrapped libraries download into their own caches as they normally would.

:func:`fetch` (``vqabench weights fetch NAME...|--all``) downloads a file into the folder
:func:`locate` finds it in (``$VQABENCH_WEIGHTS`` when set, else the wrapped library's own
cache) through :func:`vqabench.io.download.download`: resumable, checked against the published
SHA-256 (in full, or the leading digits torchvision and pyiqa put in the file name) and moved
into place atomically. ``VQABENCH_WEIGHTS_MIRROR`` (or ``--mirror``) fetches ``MIRROR/<file>``
instead of the origin URL: any folder of the files served over HTTP, or a ``file://`` folder.

This module imports neither torch nor any model library, so that a missing file is reported in
well under a second. :data:`KNOWN_WEIGHTS` lists every file vqabench can use; ``vqabench
weights`` prints :func:`weight_status` for each.

Example:
    >>> from vqabench.metrics.weights import require, require_all
    >>> path = require("alexnet-owt-7be5be79.pth")   # Path, or WeightsUnavailableError
    >>> paths = require_all(["vgg16-397923af.pth", "DISTS_weights-f5e65c96.pth"],
    ...                      fetch_name="dists")  # or one error naming every missing file
"""

from __future__ import annotations

import contextlib
import os
import shutil
import sys
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, TextIO
from urllib.parse import urlparse

from vqabench.errors import UnknownNameError, WeightsUnavailableError

__all__ = [
    "WeightFile",
    "WeightStatus",
    "KNOWN_WEIGHTS",
    "ENV_WEIGHTS_DIR",
    "ENV_ALLOW_DOWNLOAD",
    "ENV_MIRROR",
    "FetchResult",
    "downloads_allowed",
    "torch_hub_dir",
    "search_dirs",
    "locate",
    "require",
    "require_all",
    "files_for",
    "fetch_command",
    "destination",
    "source_url",
    "fetch",
    "weight_status",
    "offline_guard",
    "COMPRESSAI_ZOO",
    "compressai_zoo_file",
]

ENV_WEIGHTS_DIR = "VQABENCH_WEIGHTS"
ENV_ALLOW_DOWNLOAD = "VQABENCH_ALLOW_DOWNLOAD"
ENV_MIRROR = "VQABENCH_WEIGHTS_MIRROR"

Checksum = Literal["ok", "mismatch", "no-hash", "not-checked", "missing"]


@dataclass(frozen=True)
class WeightFile:
    """One pretrained weight file vqabench can use.

    Attributes:
        filename: the file name, as the origin names it.
        url: where it comes from.
        used_by: what needs it, as the names ``vqabench weights fetch`` takes: a metric
            (``dists``), a metric with the option that picks this file (``lpips:net=vgg``;
            ``fetch lpips`` gets the files of every ``net``), or ``perceptual_loss`` (the
            codec losses' feature ensemble).
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

_COMPRESSAI = "https://compressai.s3.amazonaws.com/models/v1/"

#: CompressAI 1.2.8 zoo checkpoints optimised for MSE: model -> (file name stem, the SHA-256
#: prefix in each quality's file name, quality 1 first), from ``compressai.zoo``'s model_urls.
COMPRESSAI_ZOO: dict[str, tuple[str, tuple[str, ...]]] = {
    "bmshj2018-factorized": (
        "bmshj2018-factorized-prior",
        (
            "446d5c7f",
            "87279a02",
            "5c6f152b",
            "1ed4405a",
            "866ba797",
            "9b02ea3a",
            "6dfd6734",
            "5232faa3",
        ),
    ),
    "bmshj2018-hyperprior": (
        "bmshj2018-hyperprior",
        (
            "7eb97409",
            "93677231",
            "6d87be32",
            "de1b779c",
            "f8b614e1",
            "1ab9c41e",
            "3804dcbd",
            "a583f0cf",
        ),
    ),
    "mbt2018-mean": (
        "mbt2018-mean",
        (
            "e522738d",
            "e54a039d",
            "723404a8",
            "6dba02a3",
            "d504e8eb",
            "a19628ab",
            "d5d441d1",
            "8089ae3e",
        ),
    ),
    "cheng2020-anchor": (
        "cheng2020-anchor",
        ("dad2ebff", "a29008eb", "e49be189", "98b0b468", "23852949", "4c052b1a"),
    ),
    "ssf2020": (
        "ssf2020-mse",
        (
            "c1ac1a47",
            "79ed4e19",
            "9c8b998d",
            "577c1eda",
            "1dd7d574",
            "59dfb6f9",
            "4d867411",
            "26439e20",
            "e89345c4",
        ),
    ),
}


def compressai_zoo_file(model: str, quality: int) -> str:
    """File name of a CompressAI zoo checkpoint (``bmshj2018-hyperprior-1-7eb97409.pth.tar``),
    as torch hub stores it under ``checkpoints``.

    Raises:
        KeyError / IndexError: a model or quality the zoo table does not list.
    """
    stem, hashes = COMPRESSAI_ZOO[model]
    if quality < 1:
        raise IndexError(quality)
    return f"{stem}-{quality}-{hashes[quality - 1]}.pth.tar"


KNOWN_WEIGHTS: dict[str, WeightFile] = {
    w.filename: w
    for w in (
        WeightFile(
            "alexnet-owt-7be5be79.pth",
            _TORCHVISION + "alexnet-owt-7be5be79.pth",
            ("lpips:net=alex", "lpips_temporal:net=alex", "perceptual_loss"),
            "7be5be79",
        ),
        WeightFile(
            "vgg16-397923af.pth",
            _TORCHVISION + "vgg16-397923af.pth",
            ("lpips:net=vgg", "lpips_temporal:net=vgg", "dists", "perceptual_loss"),
            "397923af",
        ),
        WeightFile(
            "squeezenet1_1-b8a52dc0.pth",
            _TORCHVISION + "squeezenet1_1-b8a52dc0.pth",
            ("lpips:net=squeeze", "lpips_temporal:net=squeeze"),
            "b8a52dc0",
        ),
        WeightFile(
            "DISTS_weights-f5e65c96.pth",
            _PYIQA_HF + "DISTS_weights-f5e65c96.pth",
            ("dists",),
            "f5e65c96",
            "pyiqa",
        ),
        WeightFile(
            "dino_vitbase16_pretrain.pth",
            "https://dl.fbaipublicfiles.com/dino/dino_vitbase16_pretrain/"
            "dino_vitbase16_pretrain.pth",
            ("subject_consistency",),
        ),
        WeightFile(
            "ViT-B-32.pt",
            "https://openaipublic.azureedge.net/clip/models/40d365715913c9da98579312b702a"
            "82c18be219cc2a73407c4526f58eba950af/ViT-B-32.pt",
            ("background_consistency",),
            "40d365715913c9da98579312b702a82c18be219cc2a73407c4526f58eba950af",
            "clip",
        ),
        WeightFile(
            "musiq_spaq_ckpt-358bb6af.pth",
            _PYIQA_HF + "musiq_spaq_ckpt-358bb6af.pth",
            ("imaging_quality",),
            "358bb6af",
            "pyiqa",
        ),
        WeightFile(
            "amt-s.pth",
            "https://huggingface.co/lalala125/AMT/resolve/main/amt-s.pth",
            ("motion_smoothness",),
        ),
        WeightFile(
            "dinov2_vits14_pretrain.pth",
            "https://dl.fbaipublicfiles.com/dinov2/dinov2_vits14/dinov2_vits14_pretrain.pth",
            ("perceptual_loss",),
        ),
        *(
            WeightFile(
                compressai_zoo_file(model, q),
                _COMPRESSAI + compressai_zoo_file(model, q),
                (f"compressai:model={model}",),
                hashes[q - 1],
            )
            for model, (_, hashes) in COMPRESSAI_ZOO.items()
            for q in range(1, len(hashes) + 1)
        ),
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


def destination(filename: str) -> Path:
    """Where a weight file goes: ``$VQABENCH_WEIGHTS/<file>`` when that is set, else the folder
    its library downloads it into (``checkpoints``, ``pyiqa`` or ``clip`` under the torch hub
    dir); :func:`locate` finds it there."""
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


def files_for(names: Iterable[str]) -> list[WeightFile]:
    """The weight files that ``names`` need, each once, in :data:`KNOWN_WEIGHTS` order.

    Args:
        names: file names, or names in :attr:`WeightFile.used_by` (``dists``,
            ``lpips:net=vgg``); a name before its ``:`` takes every variant (``lpips``).

    Raises:
        UnknownNameError: a name that is neither a file nor used by anything, with close
            matches.
    """
    chosen: set[str] = set()
    for name in names:
        hits = {
            w.filename
            for w in KNOWN_WEIGHTS.values()
            if name == w.filename or any(u == name or u.startswith(name + ":") for u in w.used_by)
        }
        if not hits:
            users = {u.split(":")[0] for w in KNOWN_WEIGHTS.values() for u in w.used_by}
            raise UnknownNameError("weights name", name, sorted(users) + list(KNOWN_WEIGHTS))
        chosen |= hits
    return [w for w in KNOWN_WEIGHTS.values() if w.filename in chosen]


def fetch_command(names: Iterable[str]) -> str:
    """The command line that fetches ``names`` (file or metric names)."""
    return " ".join(["vqabench weights fetch", *names])


def require(filename: str, *, origin: str | None = None) -> Path:
    """Return the local path of a weight file, or fail fast.

    Args:
        filename: the file name (a key of :data:`KNOWN_WEIGHTS` or any other file).
        origin: its URL when it is not in :data:`KNOWN_WEIGHTS`.

    Returns:
        The path of the file in the first search folder that holds it.

    Raises:
        WeightsUnavailableError: naming the file, its origin, where to put it and, for a
            known file, the ``vqabench weights fetch`` command. Raised even with
            ``VQABENCH_ALLOW_DOWNLOAD=1``: computing a metric never downloads; that setting
            only lets the wrapped libraries fill their own caches.
    """
    if origin is None or filename in KNOWN_WEIGHTS:
        return require_all([filename])[0]
    path = locate(filename)
    if path is not None:
        return path
    raise WeightsUnavailableError(filename, origin, _put_at(destination(filename)))


def _put_at(dest: Path, *, several: bool = False) -> str:
    """``dest`` and, unless ``$VQABENCH_WEIGHTS`` is set, the hint that it is another place."""
    if os.environ.get(ENV_WEIGHTS_DIR):
        return str(dest)
    return f"{dest} (or {'all ' if several else ''}into the folder ${ENV_WEIGHTS_DIR})"


def require_all(filenames: Sequence[str], *, fetch_name: str | None = None) -> list[Path]:
    """Return the local paths of several weight files, or one error naming every missing one.

    Args:
        filenames: the files (keys of :data:`KNOWN_WEIGHTS`) one metric needs.
        fetch_name: the name ``vqabench weights fetch`` takes for exactly these files
            (``dists``, ``lpips:net=vgg``); None names the missing files in the command.

    Returns:
        Their paths, in order.

    Raises:
        WeightsUnavailableError: naming every missing file with its origin and destination,
            and the one command that fetches them.
    """
    paths = [locate(f) for f in filenames]
    missing = [f for f, p in zip(filenames, paths, strict=True) if p is None]
    if not missing:
        return [p for p in paths if p is not None]
    rows = [
        (f, KNOWN_WEIGHTS[f].url if f in KNOWN_WEIGHTS else "its publisher", str(destination(f)))
        for f in missing
    ]
    rows[-1] = (*rows[-1][:2], _put_at(Path(rows[-1][2]), several=len(rows) > 1))
    known = all(f in KNOWN_WEIGHTS for f in missing)
    command = fetch_command([fetch_name] if fetch_name else missing) if known else None
    raise WeightsUnavailableError(
        *rows[0], fetch_command=command, missing=rows if len(rows) > 1 else ()
    )


def _sha256(path: Path) -> str:
    from vqabench.io.hashing import file_sha256

    return file_sha256(path)


@dataclass(frozen=True)
class FetchResult:
    """What :func:`fetch` did for one file.

    Attributes:
        weight: the file.
        path: where it is now.
        sha256: its full SHA-256 hex digest.
        fetched: True when downloaded now, False when a good copy was already there.
    """

    weight: WeightFile
    path: Path
    sha256: str
    fetched: bool

    @property
    def verified(self) -> Literal["full", "prefix", "unpublished"]:
        """How much of the SHA-256 was checked: the full published digest, the published
        prefix, or nothing (no checksum is published for this file)."""
        if not self.weight.sha256_prefix:
            return "unpublished"
        return "full" if len(self.weight.sha256_prefix) == 64 else "prefix"


def source_url(weight: WeightFile, mirror: str | None = None) -> str:
    """The URL :func:`fetch` downloads ``weight`` from: ``MIRROR/<file>`` when a mirror is
    given (else ``$VQABENCH_WEIGHTS_MIRROR``), else its origin."""
    base = os.environ.get(ENV_MIRROR, "") if mirror is None else mirror
    return f"{base.rstrip('/')}/{weight.filename}" if base else weight.url


def fetch(
    weight: WeightFile,
    *,
    mirror: str | None = None,
    timeout_s: float = 60.0,
    progress: Callable[[int, int | None], None] | None = None,
) -> FetchResult:
    """Download one weight file to :func:`destination`, unless a good copy is found.

    A copy :func:`locate` finds is kept when it matches the published SHA-256 (or none is
    published); one that does not is replaced by a fresh download.

    Args:
        weight: the file (from :func:`files_for`).
        mirror: a base URL serving the files by name (overrides ``$VQABENCH_WEIGHTS_MIRROR``).
        timeout_s: seconds without data before the transfer counts as broken.
        progress: ``progress(done_bytes, total_bytes)`` during the download.

    Raises:
        DownloadError: an HTTP error, a broken transfer (a second call resumes it) or a
            SHA-256 mismatch (nothing is written); one line naming the URL or the file.
    """
    from vqabench.io.download import download, sha256_matches

    found = locate(weight.filename)
    if found is not None:
        digest = _sha256(found)
        if not weight.sha256_prefix or sha256_matches(digest, weight.sha256_prefix):
            return FetchResult(weight, found, digest, fetched=False)
    dest = destination(weight.filename)
    digest = download(
        source_url(weight, mirror),
        dest,
        expected_sha256=weight.sha256_prefix,
        timeout_s=timeout_s,
        progress=progress,
    )
    return FetchResult(weight, dest, digest, fetched=True)


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


def _serve_or_refuse(
    url: str,
    dst: str | os.PathLike,
    hash_prefix: str | None = None,
    *args: object,
    **kwargs: object,
) -> None:
    """Stand-in for a library's ``download_url_to_file(url, dst, ...)``.

    Copies the file from a vqabench search folder when it is there (the library then loads
    it from ``dst``), otherwise raises WeightsUnavailableError without any network access.
    """
    filename = os.path.basename(urlparse(url).path) or os.path.basename(str(dst))
    found = locate(filename)
    if found is None:
        alt = f" (or into the folder ${ENV_WEIGHTS_DIR})"
        raise WeightsUnavailableError(
            filename, url, f"{dst}{alt}", fetch_command=_command_if_known(filename)
        )
    if hash_prefix and not _sha256(found).startswith(hash_prefix):
        raise WeightsUnavailableError(
            filename, url, f"{dst} (the copy at {found} fails its SHA-256 check)"
        )
    if Path(found).resolve() != Path(dst).resolve():
        Path(dst).parent.mkdir(parents=True, exist_ok=True)
        tmp = f"{dst}.vqabench-tmp"
        shutil.copyfile(found, tmp)
        os.replace(tmp, dst)


def _refuse_urlopen(url: object, *args: object, **kwargs: object) -> None:
    text = getattr(url, "full_url", url)
    name = os.path.basename(urlparse(str(text)).path) or str(text)
    raise WeightsUnavailableError(
        name, str(text), str(destination(name)), fetch_command=_command_if_known(name)
    )


def _command_if_known(filename: str) -> str | None:
    return fetch_command([filename]) if filename in KNOWN_WEIGHTS else None


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
        with (
            contextlib.redirect_stderr(_DropDownloadNotices(sys.stderr)),
            contextlib.redirect_stdout(_DropDownloadNotices(sys.stdout)),
        ):
            yield
    finally:
        for owner, attr, value in reversed(patches):
            setattr(owner, attr, value)
        if old_env is None:
            os.environ.pop("HF_HUB_OFFLINE", None)
        else:
            os.environ["HF_HUB_OFFLINE"] = old_env
