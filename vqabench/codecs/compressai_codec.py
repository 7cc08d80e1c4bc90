"""Codec ``compressai``: CompressAI's learned image models per frame, and its video model.

``compressai:model=bmshj2018-hyperprior:quality=1,2,3,4`` codes every frame on its own with
an image model (intra only: ``bmshj2018-factorized``, ``bmshj2018-hyperprior``,
``mbt2018-mean``, ``cheng2020-anchor``) or the whole sequence as one group of pictures with
the video model ``ssf2020`` (first frame intra, the others predicted). Rate points are the
model's quality index, ``quality=1..8`` (``1..6`` for cheng2020-anchor, ``1..9`` for ssf2020).

The default model, ``vqabench-small`` (:data:`DEFAULT_MODEL`, ``quality=1..4``), is a small
``bmshj2018-hyperprior`` (N=32, M=48) that this project trained on its ``natural`` data and
ships in the package (``vqabench/models/weights/vqabench_small/``, model card and training
command there), so ``--codec compressai:quality=1,2,3,4`` works offline out of the box. The
zoo models always need their fetched weights; nothing switches models behind the user's back
(the model is in the options and in every bitstream header).

* **Colour.** The models code RGB. Each frame goes YUV -> RGB through
  :func:`vqabench.io.video.yuv_to_rgb` (the source's matrix and range, chroma repeated) as
  float32 in [0, 1] (``coded_pix_fmt`` says ``gbrpf32le``), and the model's output comes back
  through :func:`vqabench.io.video.rgb_to_yuv` (chroma averaged) to the source's format.
  8-bit YUV (:data:`PIX_FMTS`) is coded; other formats are refused by name.
* **Padding.** Frames are padded right and bottom to a multiple of :data:`MULTIPLE` pixels
  (:data:`VIDEO_MULTIPLE` for ssf2020; edge samples repeated) and the output is cropped back.
* **Bitstream** (:data:`MAGIC`): magic, header length, a zlib-compressed JSON header (model,
  quality, weights identity, size, format, frame rate, colour, padding and the structure
  ``compress()`` returned, its byte strings replaced by indices), then each byte string with
  its length. The strings are exactly what CompressAI's ``compress()`` returned, so
  ``bits = 8 x file size`` counts every bit, header included. Decoding needs only this file
  (and the same model weights, checked against the header).
* **Weights.** ``checkpoint=pretrained`` (default) loads the shipped ``q{quality}.pt`` of
  ``vqabench-small`` (:data:`SHIPPED`), or the zoo's MSE checkpoint from the
  torch hub cache (:func:`vqabench.metrics.weights.require`; nothing is downloaded:
  ``vqabench weights fetch compressai:model=NAME`` fetches it); ``checkpoint=PATH`` loads a
  local state dict (a folder holding the zoo's file names, ``q{quality}.pt`` for
  ``vqabench-small``, or a file, ``{quality}`` in its name replaced; the architecture's N and
  M are read from the weights); ``checkpoint=random`` builds the zoo architecture with random
  initialisation (seeded: plumbing tests, numbers mean nothing).
* **Times.** ``enc_s`` and ``dec_s`` are wall seconds of colour conversion, padding,
  ``compress()`` / ``decompress()`` and the file write / read, on the CPU with ``threads``
  torch threads; loading the model is excluded (done once per codec and quality).

Entropy decoding needs the decoder's hyperprior outputs to match the encoder's bit for bit,
which holds on one machine and torch build (CompressAI's own caveat across platforms).

Requires ``compressai`` (installed without its dependencies, see the README, "Learned codecs:
CompressAI"); the class registers without importing it, so ``vqabench codecs list`` works
without it and says so in the version.
"""

from __future__ import annotations

import contextlib
import json
import struct
import time
import zlib
from collections.abc import Iterator
from fractions import Fraction
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from vqabench.codecs.base import CODECS, Codec, RatePoint
from vqabench.errors import CodecError, ConfigError, invalid
from vqabench.io.video import Video, YuvFrame, read_frames, rgb_to_yuv, write_y4m, yuv_to_rgb

__all__ = ["CompressAICodec", "MODELS", "DEFAULT_MODEL", "SHIPPED", "shipped_folder",
           "architecture", "MAGIC", "MULTIPLE", "VIDEO_MULTIPLE", "PIX_FMTS", "compressai_version",
           "write_bitstream", "read_bitstream", "to_rgb", "to_yuv"]

MAGIC = b"VQCAI1"
FORMAT_VERSION = 1
#: Frames are padded to a multiple of this (the models' total downsampling, hyperprior incl.;
#: :data:`VIDEO_MULTIPLE` for ssf2020, whose hyperprior downsamples 8 times more).
MULTIPLE = 64
VIDEO_MULTIPLE = 128
#: Formats coded (8-bit YUV, converted to RGB for the model).
PIX_FMTS: tuple[str, ...] = ("yuv420p", "yuv422p", "yuv444p")
#: model -> (highest quality, "image" | "video")
MODELS: dict[str, tuple[int, str]] = {
    "vqabench-small": (4, "image"),
    "bmshj2018-factorized": (8, "image"),
    "bmshj2018-hyperprior": (8, "image"),
    "mbt2018-mean": (8, "image"),
    "cheng2020-anchor": (6, "image"),
    "ssf2020": (9, "video"),
}
#: The model used when none is named: the one this project trains and ships (no download).
DEFAULT_MODEL = "vqabench-small"
#: Models trained by this project and shipped in the package: model -> (zoo architecture,
#: N, M, folder under ``vqabench/models/weights`` holding ``q{quality}.pt``; model card there).
SHIPPED: dict[str, tuple[str, int, int, str]] = {
    "vqabench-small": ("bmshj2018-hyperprior", 32, 48, "vqabench_small"),
}
_INSTALL = ('pip install -e ".[compressai]" && pip install --no-deps compressai==1.2.8 '
            '(README, "Learned codecs: CompressAI")')


def shipped_folder(model: str) -> Path:
    """Folder of a shipped model's ``q{quality}.pt`` files (:data:`SHIPPED`; no import of
    ``vqabench.models``, which loads torch)."""
    import importlib.resources

    return Path(str(importlib.resources.files("vqabench"))) / "models" / "weights" / \
        SHIPPED[model][3]


def architecture(model: str) -> str:
    """CompressAI zoo architecture name of ``model`` (itself for zoo models)."""
    return SHIPPED[model][0] if model in SHIPPED else model


def compressai_version() -> str | None:
    """Installed CompressAI version (read from its metadata, no import), or None."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("compressai")
    except PackageNotFoundError:
        return None


def _import_compressai() -> Any:
    import warnings

    try:
        with warnings.catch_warnings():  # its import-time torch.jit.script calls warn
            warnings.filterwarnings("ignore", message=r".*torch\.jit\.script.*deprecated",
                                    category=FutureWarning)
            import compressai.zoo
    except ImportError as exc:
        raise CodecError(f"compressai codec: the compressai package cannot be imported "
                         f"({exc}); install it with {_INSTALL}") from exc
    return compressai.zoo


# --- colour and padding (pure functions) -----------------------------------------------------

def to_rgb(frame: YuvFrame, video: Video) -> np.ndarray:
    """One frame of ``video`` -> RGB float32 (3, H, W) in [0, 1], by the one YUV definition."""
    rgb = yuv_to_rgb(frame, bit_depth=video.bit_depth, matrix=video.color_matrix,
                     color_range=video.color_range)
    return np.ascontiguousarray(rgb.transpose(2, 0, 1), dtype=np.float32)


def to_yuv(rgb: np.ndarray, pix_fmt: str, matrix: str, color_range: str) -> YuvFrame:
    """RGB (3, H, W) floats -> a YUV frame of ``pix_fmt`` (clipped to [0, 1] first)."""
    return rgb_to_yuv(np.asarray(rgb, dtype=np.float64).transpose(1, 2, 0), pix_fmt=pix_fmt,
                      matrix=matrix, color_range=color_range)


def padded_size(width: int, height: int, multiple: int = MULTIPLE) -> tuple[int, int]:
    """(width, height) rounded up to multiples of ``multiple``."""
    return -(-width // multiple) * multiple, -(-height // multiple) * multiple


# --- the bitstream -----------------------------------------------------------------------------

def _pack(obj: object, blobs: list[bytes]) -> object:
    """``compress()``'s nested strings and shapes as JSON, byte strings moved to ``blobs``."""
    if isinstance(obj, bytes | bytearray):
        blobs.append(bytes(obj))
        return {"#": len(blobs) - 1}
    if isinstance(obj, dict):
        return {str(k): _pack(v, blobs) for k, v in obj.items()}
    if isinstance(obj, list | tuple):  # torch.Size is a tuple
        return [_pack(v, blobs) for v in obj]
    if isinstance(obj, int | np.integer):
        return int(obj)
    raise CodecError(f"compressai codec: unexpected {type(obj).__name__} in compress() output")


def _unpack(obj: object, blobs: list[bytes]) -> object:
    if isinstance(obj, dict):
        if set(obj) == {"#"}:
            return blobs[obj["#"]]
        return {k: _unpack(v, blobs) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_unpack(v, blobs) for v in obj]
    return obj


def write_bitstream(path: Path, header: dict, coded: object) -> None:
    """Write magic, header length, zlib(JSON header incl. the packed structure), strings."""
    blobs: list[bytes] = []
    head = zlib.compress(json.dumps({**header, "v": FORMAT_VERSION, "coded": _pack(coded, blobs)},
                                    separators=(",", ":")).encode(), 9)
    body = b"".join(struct.pack("<I", len(b)) + b for b in blobs)
    with open(path, "wb") as f:
        f.write(MAGIC + struct.pack("<II", len(head), len(blobs)) + head + body)


def read_bitstream(path: Path) -> tuple[dict, object]:
    """Parse a file of :func:`write_bitstream`: (header, the structure ``compress()`` returned).

    Raises:
        CodecError: not a compressai bitstream, another format version, or a corrupt one.
    """
    data = Path(path).read_bytes()
    if not data.startswith(MAGIC):
        raise CodecError(f"{path}: not a compressai bitstream (no {MAGIC!r} magic)")
    try:
        hlen, count = struct.unpack_from("<II", data, len(MAGIC))
        pos = len(MAGIC) + 8
        header = json.loads(zlib.decompress(data[pos:pos + hlen]))
        pos += hlen
        blobs = []
        for _ in range(count):
            (n,) = struct.unpack_from("<I", data, pos)
            if pos + 4 + n > len(data):
                raise ValueError("truncated")
            blobs.append(data[pos + 4:pos + 4 + n])
            pos += 4 + n
        if pos != len(data):
            raise ValueError(f"{len(data) - pos} bytes after the last string")
        if header.get("v") != FORMAT_VERSION:
            raise CodecError(f"{path}: compressai bitstream version {header.get('v')} is not "
                             f"supported (this decoder reads {FORMAT_VERSION})")
        coded = _unpack(header.pop("coded"), blobs)
    except (struct.error, zlib.error, ValueError, KeyError, IndexError, TypeError) as exc:
        raise CodecError(f"{path}: corrupt compressai bitstream: {exc!r}") from exc
    return header, coded


@contextlib.contextmanager
def _torch_threads(threads: int) -> Iterator[None]:
    import torch

    old = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        with torch.no_grad():
            yield
    finally:
        torch.set_num_threads(old)


# --- the codec ---------------------------------------------------------------------------------

@CODECS.register("compressai")
class CompressAICodec(Codec):
    """CompressAI models as a codec (see the module docstring). Rate points ``quality=``.

    Args:
        model: one of :data:`MODELS` (default :data:`DEFAULT_MODEL`, shipped weights).
        checkpoint: ``pretrained`` (the shipped weights of ``vqabench-small``; zoo MSE
            weights from the local cache for the zoo models), ``random``
            (seeded random initialisation) or a path (folder of zoo file names, or a file;
            ``{quality}`` in it is replaced by the rate point's quality).
        seed: seed of ``checkpoint=random``.
        threads: torch CPU threads during encode and decode.

    Raises:
        ConfigError: an option is not allowed.
        WeightsUnavailableError: pretrained weights absent from the cache (at encode time).
    """

    name = "compressai"
    extension = ".cai"
    rate_params: ClassVar[dict[str, tuple[float, float]]] = {"quality": (1, 9)}
    native_pix_fmts: ClassVar[tuple[str, ...]] = PIX_FMTS

    def __init__(self, *, model: str = DEFAULT_MODEL, checkpoint: str = "pretrained",
                 seed: int = 0, threads: int = 1):
        if model not in MODELS:
            raise invalid("model", model, " | ".join(MODELS))
        for arg, val, lo in (("seed", seed, 0), ("threads", threads, 1)):
            if isinstance(val, bool) or not isinstance(val, int) or val < lo:
                raise invalid(arg, val, f"an integer >= {lo}")
        checkpoint = str(checkpoint)
        if checkpoint not in ("pretrained", "random"):
            path = Path(checkpoint).expanduser()
            if not path.is_dir() and "{quality}" not in checkpoint and not path.is_file():
                raise invalid("checkpoint", checkpoint, "pretrained | random | an existing "
                              "file or folder (a file name may contain {quality})")
            checkpoint = str(path.resolve()) if "{quality}" not in checkpoint else checkpoint
        self.model, self.checkpoint, self.seed, self.threads = model, checkpoint, seed, threads
        self.rate_params = {"quality": (1, MODELS[model][0])}  # type: ignore[misc]
        self._nets: dict[int, tuple[Any, str]] = {}

    @property
    def options(self) -> dict:
        opts: dict[str, object] = {"model": self.model, "checkpoint": self.checkpoint,
                                   "threads": self.threads,
                                   "padding": f"edge/{self.multiple}",
                                   "colour": "yuv_to_rgb/rgb_to_yuv (source matrix, range)"}
        if self.checkpoint == "random":
            opts["seed"] = self.seed
        if self.model in SHIPPED:
            arch, n, m, folder = SHIPPED[self.model]
            opts["architecture"] = f"{arch} N={n} M={m}" if self.checkpoint in (
                "pretrained", "random") else f"{arch} (N, M from the checkpoint)"
            if self.checkpoint == "pretrained":
                opts["weights"] = (f"shipped vqabench/models/weights/{folder}/q{{quality}}.pt "
                                   "(its MODEL_CARD.md)")
        return opts

    @property
    def multiple(self) -> int:
        """Padding multiple of the model."""
        return VIDEO_MULTIPLE if MODELS[self.model][1] == "video" else MULTIPLE

    def version(self) -> str:
        found = compressai_version()
        if found is None:
            return f"n/a (compressai not installed: {_INSTALL})"
        from importlib.metadata import version

        return f"compressai {found} (format {FORMAT_VERSION}, torch {version('torch')})"

    def check_rate_point(self, rate: RatePoint) -> None:
        """Accept ``quality=`` an integer in the model's range."""
        hi = MODELS[self.model][0]
        if (rate.param != "quality" or isinstance(rate.value, bool)
                or not isinstance(rate.value, int) or not 1 <= rate.value <= hi):
            raise CodecError(f"{self.name}: rate point {rate.label!r} is not allowed: "
                             f"model {self.model} takes quality= an integer in 1..{hi}")

    def coded_pix_fmt(self, source_pix_fmt: str) -> str:
        """``gbrpf32le``: the models code planar float RGB, converted from 8-bit YUV.

        Raises:
            CodecError: a source format other than :data:`PIX_FMTS`.
        """
        if source_pix_fmt not in PIX_FMTS:
            raise CodecError(f"{self.name} cannot code {source_pix_fmt} as it is (it codes "
                             f"8-bit {', '.join(PIX_FMTS)}, converted to RGB for the model); "
                             f"convert the input to one of those first")
        return "gbrpf32le"

    # -- the model ----------------------------------------------------------------------------

    def _weights_file(self, quality: int) -> Path:
        from vqabench.metrics.weights import compressai_zoo_file, require

        if self.model in SHIPPED:
            zoo_name = f"q{quality}.pt"
            if self.checkpoint == "pretrained":
                path = shipped_folder(self.model) / zoo_name
                if not path.is_file():
                    raise CodecError(f"compressai codec: the shipped weights {path} of model "
                                     f"{self.model} are missing: reinstall vqabench")
                return path
        else:
            zoo_name = compressai_zoo_file(self.model, quality)
        if self.checkpoint == "pretrained":
            return require(zoo_name)
        if "{quality}" in self.checkpoint:
            path = Path(self.checkpoint.replace("{quality}", str(quality))).expanduser()
        else:
            path = Path(self.checkpoint)
            path = path / zoo_name if path.is_dir() else path
        if not path.is_file():
            raise ConfigError(f"compressai codec: checkpoint {path} (quality={quality}) is "
                              "not a file")
        return path

    def network(self, quality: int) -> tuple[Any, str]:
        """The model for ``quality`` (CDF tables updated, eval mode, CPU) and the identity of
        its weights (``random:seed=N`` or the checkpoint's SHA-256 prefix); cached."""
        if quality in self._nets:
            return self._nets[quality]
        zoo = _import_compressai()
        import torch

        if self.checkpoint == "random":
            torch.manual_seed(self.seed)
            if self.model in SHIPPED:
                from compressai.zoo.image import model_architectures

                arch, n, m, _ = SHIPPED[self.model]
                net = model_architectures[arch](n, m)
            else:
                net = zoo.models[self.model](quality=quality, pretrained=False)
            ident = f"random:seed={self.seed}"
        else:
            from compressai.zoo.pretrained import load_pretrained

            from vqabench.io.hashing import file_sha256

            path = self._weights_file(quality)
            state = torch.load(path, map_location="cpu", weights_only=True)
            state = load_pretrained(state.get("state_dict", state))
            if MODELS[self.model][1] == "video":
                from compressai.zoo.video import model_architectures
            else:
                from compressai.zoo.image import model_architectures
            net = model_architectures[architecture(self.model)].from_state_dict(state)
            ident = "sha256:" + file_sha256(path)[:16]
        net.eval()
        net.update(force=True)
        self._nets[quality] = (net, ident)
        return net, ident

    # -- encode / decode ------------------------------------------------------------------------

    def _check_video(self, video: Video) -> None:
        self.coded_pix_fmt(video.pix_fmt)
        sx, sy = (2, 2) if video.pix_fmt == "yuv420p" else (2, 1) if video.pix_fmt == "yuv422p" \
            else (1, 1)
        if video.width % sx or video.height % sy:
            raise CodecError(f"{self.name} cannot code {video.width}x{video.height}: "
                             f"{video.pix_fmt} needs a width divisible by {sx} and a height by "
                             f"{sy} (chroma averaged back from RGB)")

    def encode(self, source: Video, bitstream: Path, rate: RatePoint) -> float:
        """Code ``source`` at ``rate`` into ``bitstream``; wall seconds (model load excluded)."""
        import torch
        import torch.nn.functional as F

        self.check_rate_point(rate)
        self._check_video(source)
        quality = int(rate.value)
        net, ident = self.network(quality)
        pw, ph = padded_size(source.width, source.height, self.multiple)
        start = time.perf_counter()
        with _torch_threads(self.threads):
            frames = []
            for frame in read_frames(source):
                x = torch.from_numpy(to_rgb(frame, source)).unsqueeze(0)
                frames.append(F.pad(x, (0, pw - source.width, 0, ph - source.height),
                                    mode="replicate"))
            if MODELS[self.model][1] == "video":
                strings, shapes = net.compress(frames)
                coded: object = {"strings": strings, "shapes": shapes}
            else:
                coded = [net.compress(x) for x in frames]
            header = {"model": self.model, "quality": quality, "weights": ident,
                      "width": source.width, "height": source.height, "frames": source.frames,
                      "pix_fmt": source.pix_fmt, "fps": [source.fps.numerator,
                                                         source.fps.denominator],
                      "matrix": source.color_matrix, "range": source.color_range,
                      "padded": [pw, ph], "padding": "edge", "model_input": "gbrpf32le",
                      "compressai": compressai_version()}
            write_bitstream(Path(bitstream), header, coded)
        return time.perf_counter() - start

    def decode_rgb(self, bitstream: Path) -> tuple[dict, list[np.ndarray]]:
        """The header and the decoded frames as RGB float32 (3, H, W), cropped, unclipped."""
        header, coded = read_bitstream(Path(bitstream))
        if header["model"] != self.model:
            raise CodecError(f"{bitstream}: coded by model {header['model']}, this codec is "
                             f"model {self.model}")
        net, ident = self.network(int(header["quality"]))
        if header["weights"] != ident:
            raise CodecError(f"{bitstream}: coded with weights {header['weights']}, this "
                             f"decoder has {ident} (checkpoint={self.checkpoint})")
        w, h = header["width"], header["height"]
        with _torch_threads(self.threads):
            if MODELS[self.model][1] == "video":
                assert isinstance(coded, dict)
                outs = net.decompress(coded["strings"], coded["shapes"])
            else:
                assert isinstance(coded, list)
                outs = [net.decompress(c["strings"], c["shape"])["x_hat"] for c in coded]
        return header, [o[0, :, :h, :w].numpy() for o in outs]

    def decode(self, bitstream: Path, output: Path, source: Video) -> float:
        """Decode ``bitstream`` into the Y4M ``output``; wall seconds. ``source`` is not used:
        the bitstream carries the format."""
        start = time.perf_counter()
        header, rgb = self.decode_rgb(bitstream)
        fmt, matrix, rng = header["pix_fmt"], header["matrix"], header["range"]
        write_y4m(output, (to_yuv(x, fmt, matrix, rng) for x in rgb), width=header["width"],
                  height=header["height"], fps=Fraction(*header["fps"]), pix_fmt=fmt)
        return time.perf_counter() - start
