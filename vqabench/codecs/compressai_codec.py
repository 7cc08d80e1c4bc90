"""Codec ``compressai``: CompressAI's learned image models per frame, and its video model.

``compressai:model=bmshj2018-hyperprior:quality=1,2,3,4`` codes every frame on its own with
an image model (intra only: ``bmshj2018-factorized``, ``bmshj2018-hyperprior``,
``mbt2018-mean``, ``cheng2020-anchor``) or the whole sequence as one group of pictures with
the video model ``ssf2020`` (first frame intra, the others predicted). Rate points are the
model's quality index, ``quality=1..8`` (``1..6`` for cheng2020-anchor, ``1..9`` for ssf2020),
or a target rate ``kbps=N`` reached by rate control (option ``rc``, see
:mod:`vqabench.codecs.compressai_rc`): ``rc=model`` (default, image models) chooses each
frame's quality through RQ-LVC's R-Q model updated after every frame; ``rc=multipass`` codes
the whole sequence at the single quality whose rate is closest to the target.

The default model, ``vqabench-small`` (:data:`DEFAULT_MODEL`, ``quality=1..4``), is a small
``bmshj2018-hyperprior`` (N=64, M=96; release 2) that this project trained on its
``natural`` data and ships in the package (``vqabench/models/weights/vqabench_small/``,
model card and training command there), so ``--codec compressai:quality=1,2,3,4`` works
offline out of the box. The zoo models always need their fetched weights; nothing switches
models behind the user's back (the model is in the options and in every bitstream header).

* **Colour.** The models code RGB. Each frame goes YUV -> RGB through
  :func:`vqabench.io.video.yuv_to_rgb` (the source's matrix and range, chroma repeated) as
  float32 in [0, 1] (``coded_pix_fmt`` says ``gbrpf32le``), and the model's output comes back
  through :func:`vqabench.io.video.rgb_to_yuv` (chroma averaged) to the source's format.
  8-bit YUV (:data:`PIX_FMTS`) is coded; other formats are refused by name.
* **Padding.** Frames are padded right and bottom to a multiple of :data:`MULTIPLE` pixels
  (:data:`VIDEO_MULTIPLE` for ssf2020; edge samples repeated) and the output is cropped back.
* **Bitstream** (:data:`MAGIC`): magic, header length, a zlib-compressed JSON header (model,
  the quality of every frame, the weights identity of each quality used, size, format, frame
  rate, colour, padding, the rate control of a ``kbps=`` point and the structure
  ``compress()`` returned, its byte strings replaced by indices), then each byte string with
  its length. Format version 2 (:data:`FORMAT_VERSION`) has ``qualities`` (one per frame);
  version 1 files (one ``quality``) are still read. The strings are exactly what
  CompressAI's ``compress()`` returned, so ``bits = 8 x file size`` counts every bit, header
  included. Decoding needs only this file (and the same model weights, checked against the
  header).
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

import time
from fractions import Fraction
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Literal

from vqabench.codecs.base import CODECS, Codec, RatePoint
from vqabench.codecs.compressai_format import (
    FORMAT_VERSION,
    MAGIC,
    READ_VERSIONS,
    container_bytes,
    frame_sizes,
    payload_bytes,
    read_bitstream,
    torch_threads,
    write_bitstream,
)
from vqabench.codecs.ffmpeg import KBPS_RANGE
from vqabench.errors import CodecError, ConfigError, invalid
from vqabench.io.video import Video, YuvFrame, read_frames, rgb_to_yuv, write_y4m, yuv_to_rgb

if TYPE_CHECKING:  # numpy loads in the methods that use it: listing answers at once
    import numpy as np

__all__ = [
    "CompressAICodec",
    "MODELS",
    "DEFAULT_MODEL",
    "SHIPPED",
    "shipped_folder",
    "architecture",
    "MAGIC",
    "MULTIPLE",
    "VIDEO_MULTIPLE",
    "PIX_FMTS",
    "compressai_version",
    "write_bitstream",
    "read_bitstream",
    "to_rgb",
    "to_yuv",
    "FORMAT_VERSION",
    "READ_VERSIONS",
    "RATE_CONTROLS",
    "container_bytes",
    "payload_bytes",
    "frame_sizes",
]

#: Rate control of ``kbps=`` points (:mod:`vqabench.codecs.compressai_rc`).
RATE_CONTROLS = ("model", "multipass")
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
    "vqabench-small": ("bmshj2018-hyperprior", 64, 96, "vqabench_small"),
}
#: Release of the shipped weights, in the job key: new weights recompute old jobs.
SHIPPED_RELEASE = 2
_INSTALL = (
    'pip install -e ".[compressai]" && pip install --no-deps compressai==1.2.8 '
    '(README, "Learned codecs: CompressAI")'
)


def shipped_folder(model: str) -> Path:
    """Folder of a shipped model's ``q{quality}.pt`` files (:data:`SHIPPED`; no import of
    ``vqabench.models``, which loads torch)."""
    import importlib.resources

    return (
        Path(str(importlib.resources.files("vqabench"))) / "models" / "weights" / SHIPPED[model][3]
    )


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
            warnings.filterwarnings(
                "ignore", message=r".*torch\.jit\.script.*deprecated", category=FutureWarning
            )
            import compressai.zoo
    except ImportError as exc:
        raise CodecError(
            f"compressai codec: the compressai package cannot be imported "
            f"({exc}); install it with {_INSTALL}"
        ) from exc
    return compressai.zoo


# --- colour and padding (pure functions) -----------------------------------------------------


def to_rgb(frame: YuvFrame, video: Video) -> np.ndarray:
    """One frame of ``video`` -> RGB float32 (3, H, W) in [0, 1], by the one YUV definition."""
    import numpy as np

    rgb = yuv_to_rgb(
        frame, bit_depth=video.bit_depth, matrix=video.color_matrix, color_range=video.color_range
    )
    return np.ascontiguousarray(rgb.transpose(2, 0, 1), dtype=np.float32)


def to_yuv(rgb: np.ndarray, pix_fmt: str, matrix: str, color_range: str) -> YuvFrame:
    """RGB (3, H, W) floats -> a YUV frame of ``pix_fmt`` (clipped to [0, 1] first)."""
    import numpy as np

    return rgb_to_yuv(
        np.asarray(rgb, dtype=np.float64).transpose(1, 2, 0),
        pix_fmt=pix_fmt,
        matrix=matrix,
        color_range=color_range,
    )


def padded_size(width: int, height: int, multiple: int = MULTIPLE) -> tuple[int, int]:
    """(width, height) rounded up to multiples of ``multiple``."""
    return -(-width // multiple) * multiple, -(-height // multiple) * multiple


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
        rc: rate control of ``kbps=`` points: ``model`` (per-frame quality from the R-Q
            model; image models only) or ``multipass`` (one quality for the sequence).

    Raises:
        ConfigError: an option is not allowed.
        WeightsUnavailableError: pretrained weights absent from the cache (at encode time).
    """

    name = "compressai"
    extension = ".cai"
    #: frame reader of :mod:`vqabench.codecs.framesizes` (per-frame bits, type and quality)
    muxer = "cai"
    rate_params: ClassVar[dict[str, tuple[float, float]]] = {"quality": (1, 9), "kbps": KBPS_RANGE}
    native_pix_fmts: ClassVar[tuple[str, ...]] = PIX_FMTS

    def __init__(
        self,
        *,
        model: str = DEFAULT_MODEL,
        checkpoint: str = "pretrained",
        seed: int = 0,
        threads: int = 1,
        rc: Literal["model", "multipass"] = "model",
    ):
        if model not in MODELS:
            raise invalid("model", model, " | ".join(MODELS))
        if rc not in RATE_CONTROLS:
            raise invalid("rc", rc, " | ".join(RATE_CONTROLS))
        for arg, val, lo in (("seed", seed, 0), ("threads", threads, 1)):
            if isinstance(val, bool) or not isinstance(val, int) or val < lo:
                raise invalid(arg, val, f"an integer >= {lo}")
        checkpoint = str(checkpoint)
        if checkpoint not in ("pretrained", "random"):
            path = Path(checkpoint).expanduser()
            if not path.is_dir() and "{quality}" not in checkpoint and not path.is_file():
                raise invalid(
                    "checkpoint",
                    checkpoint,
                    "pretrained | random | an existing "
                    "file or folder (a file name may contain {quality})",
                )
            checkpoint = str(path.resolve()) if "{quality}" not in checkpoint else checkpoint
        self.model, self.checkpoint, self.seed, self.threads = model, checkpoint, seed, threads
        self.rc = rc
        self.rate_params = {
            "quality": (1, MODELS[model][0]),  # type: ignore[misc]
            "kbps": KBPS_RANGE,
        }
        self._nets: dict[int, tuple[Any, str]] = {}
        #: wall seconds spent building networks so far (excluded from ``enc_s``)
        self.load_s = 0.0

    @property
    def options(self) -> dict:
        opts: dict[str, object] = {
            "model": self.model,
            "checkpoint": self.checkpoint,
            "threads": self.threads,
            "rc": self.rc,
            "padding": f"edge/{self.multiple}",
            "colour": "yuv_to_rgb/rgb_to_yuv (source matrix, range)",
        }
        if self.checkpoint == "random":
            opts["seed"] = self.seed
        if self.model in SHIPPED:
            arch, n, m, folder = SHIPPED[self.model]
            opts["architecture"] = (
                f"{arch} N={n} M={m}"
                if self.checkpoint in ("pretrained", "random")
                else f"{arch} (N, M from the checkpoint)"
            )
            if self.checkpoint == "pretrained":
                opts["weights"] = (
                    f"shipped vqabench/models/weights/{folder}/q{{quality}}.pt, "
                    f"release {SHIPPED_RELEASE} (its MODEL_CARD.md)"
                )
        return opts

    @property
    def is_video(self) -> bool:
        """True for the video model (one group of pictures), False for image models."""
        return MODELS[self.model][1] == "video"

    @property
    def multiple(self) -> int:
        """Padding multiple of the model."""
        return VIDEO_MULTIPLE if self.is_video else MULTIPLE

    def version(self) -> str:
        found = compressai_version()
        if found is None:
            return f"n/a (compressai not installed: {_INSTALL})"
        from importlib.metadata import version

        return f"compressai {found} (format {FORMAT_VERSION}, torch {version('torch')})"

    def check_rate_point(self, rate: RatePoint) -> None:
        """Accept ``quality=`` an integer in the model's range, or ``kbps=`` a number in
        :data:`~vqabench.codecs.ffmpeg.KBPS_RANGE` (``rc=model``: image models only)."""
        hi = MODELS[self.model][0]
        if rate.param == "kbps":
            Codec.check_rate_point(self, rate)
            if self.rc == "model" and MODELS[self.model][1] == "video":
                raise CodecError(
                    f"{self.name}: rate point {rate.label!r} with rc=model needs "
                    f"an image model (each frame at its own quality); {self.model} "
                    "codes the sequence as one group of pictures: use "
                    "rc=multipass"
                )
            return
        if (
            rate.param != "quality"
            or isinstance(rate.value, bool)
            or not isinstance(rate.value, int)
            or not 1 <= rate.value <= hi
        ):
            raise CodecError(
                f"{self.name}: rate point {rate.label!r} is not allowed: "
                f"model {self.model} takes quality= an integer in 1..{hi}"
            )

    def coded_pix_fmt(self, source_pix_fmt: str) -> str:
        """``gbrpf32le``: the models code planar float RGB, converted from 8-bit YUV.

        Raises:
            CodecError: a source format other than :data:`PIX_FMTS`.
        """
        if source_pix_fmt not in PIX_FMTS:
            raise CodecError(
                f"{self.name} cannot code {source_pix_fmt} as it is (it codes "
                f"8-bit {', '.join(PIX_FMTS)}, converted to RGB for the model); "
                f"convert the input to one of those first"
            )
        return "gbrpf32le"

    # -- the model ----------------------------------------------------------------------------

    def weights_file(self, quality: int) -> Path:
        """The weights file of ``quality`` (shipped, zoo cache or ``checkpoint=PATH``).

        Raises:
            ConfigError, WeightsUnavailableError: no such file.
        """
        from vqabench.metrics.weights import compressai_zoo_file, require

        if self.model in SHIPPED:
            zoo_name = f"q{quality}.pt"
            if self.checkpoint == "pretrained":
                path = shipped_folder(self.model) / zoo_name
                if not path.is_file():
                    raise CodecError(
                        f"compressai codec: the shipped weights {path} of model "
                        f"{self.model} are missing: reinstall vqabench"
                    )
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
            raise ConfigError(
                f"compressai codec: checkpoint {path} (quality={quality}) is not a file"
            )
        return path

    def network(self, quality: int) -> tuple[Any, str]:
        """The model for ``quality`` (CDF tables updated, eval mode, CPU) and the identity of
        its weights (``random:seed=N`` or the checkpoint's SHA-256 prefix); cached."""
        if quality in self._nets:
            return self._nets[quality]
        start = time.perf_counter()
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

            path = self.weights_file(quality)
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
        self.load_s += time.perf_counter() - start
        return net, ident

    # -- encode / decode ------------------------------------------------------------------------

    def _check_video(self, video: Video) -> None:
        self.coded_pix_fmt(video.pix_fmt)
        sx, sy = (
            (2, 2)
            if video.pix_fmt == "yuv420p"
            else (2, 1)
            if video.pix_fmt == "yuv422p"
            else (1, 1)
        )
        if video.width % sx or video.height % sy:
            raise CodecError(
                f"{self.name} cannot code {video.width}x{video.height}: "
                f"{video.pix_fmt} needs a width divisible by {sx} and a height by "
                f"{sy} (chroma averaged back from RGB)"
            )

    def padded_frames(self, source: Video) -> list[Any]:
        """Every frame of ``source`` as a padded RGB tensor (1, 3, H', W')."""
        import torch
        import torch.nn.functional as F

        pw, ph = padded_size(source.width, source.height, self.multiple)
        return [
            F.pad(
                torch.from_numpy(to_rgb(frame, source)).unsqueeze(0),
                (0, pw - source.width, 0, ph - source.height),
                mode="replicate",
            )
            for frame in read_frames(source)
        ]

    def compress(self, frames: list[Any], quality: int) -> object:
        """``compress()`` of ``frames`` at ``quality``: a list with one result per frame for
        image models, one result for the sequence for the video model."""
        net, _ = self.network(quality)
        if MODELS[self.model][1] == "video":
            strings, shapes = net.compress(frames)
            return {"strings": strings, "shapes": shapes}
        return [net.compress(x) for x in frames]

    def header(self, source: Video, qualities: list[int], rate_control: dict | None = None) -> dict:
        """The bitstream header of ``source`` coded at ``qualities`` (one per frame)."""
        pw, ph = padded_size(source.width, source.height, self.multiple)
        head = {
            "model": self.model,
            "qualities": [int(q) for q in qualities],
            "weights": {str(q): self.network(q)[1] for q in sorted(set(qualities))},
            "width": source.width,
            "height": source.height,
            "frames": source.frames,
            "pix_fmt": source.pix_fmt,
            "fps": [source.fps.numerator, source.fps.denominator],
            "matrix": source.color_matrix,
            "range": source.color_range,
            "padded": [pw, ph],
            "padding": "edge",
            "model_input": "gbrpf32le",
            "compressai": compressai_version(),
        }
        if rate_control is not None:
            head["rate_control"] = rate_control
        return head

    def encode(self, source: Video, bitstream: Path, rate: RatePoint) -> float:
        """Code ``source`` at ``rate`` into ``bitstream``; wall seconds (model load excluded).
        A ``kbps=`` point runs :func:`vqabench.codecs.compressai_rc.encode_kbps`."""
        self.check_rate_point(rate)
        self._check_video(source)
        if rate.param == "kbps":
            from vqabench.codecs.compressai_rc import encode_kbps

            return encode_kbps(self, source, Path(bitstream), float(rate.value))
        quality = int(rate.value)
        self.network(quality)
        start = time.perf_counter()
        with torch_threads(self.threads):
            coded = self.compress(self.padded_frames(source), quality)
            write_bitstream(Path(bitstream), self.header(source, [quality] * source.frames), coded)
        return time.perf_counter() - start

    def load_for(self, bitstream: Path) -> dict:
        """Load the networks ``bitstream`` needs (its header's qualities) and check their
        weights against the header; returns the header.

        Raises:
            CodecError: another model, or other weights than the header's.
        """
        header, _ = read_bitstream(Path(bitstream))
        self._check_header(header, bitstream)
        return header

    def _check_header(self, header: dict, bitstream: Path) -> None:
        if header["model"] != self.model:
            raise CodecError(
                f"{bitstream}: coded by model {header['model']}, this codec is model {self.model}"
            )
        for q in sorted(set(header["qualities"])):
            _, ident = self.network(int(q))
            if header["weights"].get(str(q)) != ident:
                raise CodecError(
                    f"{bitstream}: coded with weights {header['weights'][str(q)]}, "
                    f"this decoder has {ident} (checkpoint={self.checkpoint})"
                )

    def decode_rgb(self, bitstream: Path) -> tuple[dict, list[np.ndarray]]:
        """The header and the decoded frames as RGB float32 (3, H, W), cropped, unclipped."""
        header, coded = read_bitstream(Path(bitstream))
        self._check_header(header, bitstream)
        qualities = [int(q) for q in header["qualities"]]
        w, h = header["width"], header["height"]
        with torch_threads(self.threads):
            if MODELS[self.model][1] == "video":
                assert isinstance(coded, dict)
                net, _ = self.network(qualities[0])
                outs = net.decompress(coded["strings"], coded["shapes"])
            else:
                assert isinstance(coded, list)
                if len(coded) != len(qualities):
                    raise CodecError(
                        f"{bitstream}: {len(coded)} coded frames, {len(qualities)} qualities"
                    )
                outs = [
                    self.network(q)[0].decompress(c["strings"], c["shape"])["x_hat"]
                    for q, c in zip(qualities, coded, strict=True)
                ]
        return header, [o[0, :, :h, :w].numpy() for o in outs]

    def decode_null(self, bitstream: Path) -> int:
        """Decode ``bitstream`` to the model's RGB output and discard it (decode-speed
        measurement; call :meth:`load_for` first to keep network loading out); the number
        of frames decoded."""
        return len(self.decode_rgb(bitstream)[1])

    def decode(self, bitstream: Path, output: Path, source: Video) -> float:
        """Decode ``bitstream`` into the Y4M ``output``; wall seconds, loading the networks
        excluded. ``source`` is not used: the bitstream carries the format."""
        self.load_for(bitstream)
        start = time.perf_counter()
        header, rgb = self.decode_rgb(bitstream)
        fmt, matrix, rng = header["pix_fmt"], header["matrix"], header["range"]
        write_y4m(
            output,
            (to_yuv(x, fmt, matrix, rng) for x in rgb),
            width=header["width"],
            height=header["height"],
            fps=Fraction(*header["fps"]),
            pix_fmt=fmt,
        )
        return time.perf_counter() - start
