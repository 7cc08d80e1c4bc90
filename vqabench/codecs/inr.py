"""Built-in learned codec ``inr``: an implicit neural representation overfitted to each video.

A compact HNeRV/HiNeRV-style network is trained on the codec input, its weights are
quantised and entropy coded, and the bitstream *is* the network:

* **Representation.** A learned feature grid of ``grid_t`` time samples, each
  ``C0 x ceil(H/S) x ceil(W/S)``, is interpolated linearly in time to give a frame
  embedding; one upsampling stage per entry of ``widths`` (3x3 convolution ->
  PixelShuffle(2) -> GELU; four in every preset, so ``S = 16``) and a 3x3 head produce a
  YUV 4:4:4 frame at ``(tanh + 1) / 2``, cropped to the frame size;
  chroma is averaged down to the source's subsampling (4:2:0 for yuv420p). The training
  loss (:mod:`vqabench.codecs.losses`) sees the frames in RGB (BT.709, limited range,
  chroma repeated as :func:`vqabench.io.video.yuv_to_rgb` does).
* **Rate points** are model sizes, ``model=xxs|xs|s|m|l`` (widths in :data:`PRESETS`);
  the weight bit depth ``bits`` (6-8) is an option. The defaults (1000 + 100 iterations,
  lr 0.02, 2-frame batches) give monotone PSNR-Y over ``xs``..``l`` on the ``mini``
  sequences at 128x72 x 8 frames (``benchmarks/bench_inr.py``).
* **Training curve.** Each encode writes ``NAME.curve.csv`` next to its bitstream
  (:func:`curve_path`; loss and the whole clip's PSNR-Y against iteration, and the decoded
  frames' PSNR-Y), also in :attr:`InrEncodeInfo.curve`.
* **Quantisation.** Symmetric, per output channel (dim 0) for tensors of rank >= 2, per
  tensor for biases; scales stored as float16. After ``steps`` training iterations,
  ``qat_steps`` quantisation-aware iterations (straight-through fake quantisation) follow.
* **Entropy coding.** Each tensor's integers are coded with constriction's ANS coder under a
  quantised Laplace model (mean 0, scale = mean |q|, stored as float16).
* **Bitstream** (:data:`MAGIC`): magic, a zlib-compressed JSON header (frame size, format,
  frame rate, architecture, tensor names, shapes and Laplace scales), the float16
  per-channel scales, then the ANS words. Decoding needs nothing else.

Decoding renders frame by frame on the CPU in float32 with the same code the encoder uses
for its own reconstruction, so decoder output equals the encoder's post-quantisation frames
bit for bit (for the same torch build and ``threads``). Encoding time is mostly training
time; :attr:`InrCodec.last_decode_fps` gives the decoding speed.

Example:
    >>> codec = codecs.create("inr", loss="l1_msssim")
    >>> codecs.run_codec(codec, source, codecs.parse_rate_point("model=s"), Path("a.inr"))
    >>> codec.last_encode.params, codec.last_encode.curve[-1].psnr_y, codec.last_decode_fps
"""

from __future__ import annotations

import contextlib
import json
import math
import struct
import time
import zlib
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from fractions import Fraction
from pathlib import Path
from typing import ClassVar

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from vqabench.codecs.base import CODECS, Codec, RatePoint
from vqabench.codecs.losses import LOSS_NAMES, create_loss, loss_weights_file
from vqabench.errors import CodecError, ConfigError, VideoFormatError, invalid
from vqabench.io.atomic import atomic_write_text
from vqabench.io.video import PIX_FMTS, Video, YuvFrame, read_all, write_y4m, yuv_to_rgb_torch

__all__ = [
    "InrCodec",
    "InrArch",
    "InrNet",
    "InrEncodeInfo",
    "PRESETS",
    "MAGIC",
    "write_bitstream",
    "read_bitstream",
    "render",
    "CURVE_SUFFIX",
    "CurvePoint",
    "curve_path",
    "read_curve",
    "write_curve",
]

MAGIC = b"VQINR1"
FORMAT_VERSION = 1

#: model size -> (embedding channels C0, stage widths, grid time samples per 4 frames).
#: Every size but ``xxs`` has one grid sample per frame (a per-frame embedding); parameters
#: grow about 1.6-2x per size (reports/performance.md, "INR baseline").
PRESETS: dict[str, tuple[int, tuple[int, int, int, int], int]] = {
    "xxs": (4, (8, 8, 6, 4), 1),
    "xs": (6, (12, 10, 8, 6), 4),
    "s": (8, (16, 12, 10, 8), 4),
    "m": (12, (24, 16, 12, 8), 4),
    "l": (16, (32, 24, 16, 10), 4),
}

@dataclass(frozen=True)
class InrArch:
    """Everything the decoder needs besides the weights (stored in the bitstream header)."""

    width: int
    height: int
    frames: int
    pix_fmt: str
    fps_num: int
    fps_den: int
    emb_channels: int
    widths: tuple[int, ...]
    grid_t: int

    @property
    def stride(self) -> int:
        """Frame size / grid size: each upsampling stage doubles the resolution."""
        return 1 << len(self.widths)

    @property
    def grid_hw(self) -> tuple[int, int]:
        """Spatial size of the feature grid."""
        return -(-self.height // self.stride), -(-self.width // self.stride)

    @classmethod
    def for_video(cls, video: Video, preset: str) -> InrArch:
        """The architecture of ``preset`` for ``video``."""
        c0, widths, per4 = PRESETS[preset]
        grid_t = max(1, min(video.frames, math.ceil(video.frames * per4 / 4)))
        return cls(video.width, video.height, video.frames, video.pix_fmt,
                   video.fps.numerator, video.fps.denominator, c0, tuple(widths), grid_t)


class InrNet(nn.Module):
    """Feature grid + upsampling decoder; ``forward(frame_indices) -> (N, 3, H, W)`` YUV.

    Output planes are normalised code values (``code / (2**bits - 1)``), chroma at full
    resolution; :func:`split_planes` subsamples them.
    """

    def __init__(self, arch: InrArch):
        super().__init__()
        self.arch = arch
        gh, gw = arch.grid_hw
        self.grid = nn.Parameter(torch.empty(arch.grid_t, arch.emb_channels, gh, gw))
        nn.init.uniform_(self.grid, -1.0, 1.0)
        stages: list[nn.Module] = []
        prev = arch.emb_channels
        for width in arch.widths:
            stages.append(nn.Conv2d(prev, 4 * width, 3, padding=1))
            prev = width
        self.stages = nn.ModuleList(stages)
        self.head = nn.Conv2d(prev, 3, 3, padding=1)

    def embed(self, index: Tensor) -> Tensor:
        """Frame embeddings (N, C0, gh, gw): the grid interpolated linearly in time."""
        a = self.arch
        if a.grid_t == 1:
            return self.grid.expand(len(index), -1, -1, -1)
        pos = index.to(torch.float32) * ((a.grid_t - 1) / max(a.frames - 1, 1))
        lo = pos.floor().clamp(0, a.grid_t - 2)
        w = (pos - lo).view(-1, 1, 1, 1)
        lo = lo.long()
        return self.grid[lo] * (1 - w) + self.grid[lo + 1] * w

    def forward(self, index: Tensor) -> Tensor:
        x = self.embed(index)
        for conv in self.stages:
            x = F.gelu(F.pixel_shuffle(conv(x), 2))
        out = (torch.tanh(self.head(x)) + 1.0) * 0.5
        return out[..., : self.arch.height, : self.arch.width]


def split_planes(yuv: Tensor, pix_fmt: str) -> tuple[Tensor, Tensor, Tensor]:
    """(N, 3, H, W) full-resolution YUV -> Y (N, H, W) and chroma averaged to ``pix_fmt``."""
    sx, sy, _ = PIX_FMTS[pix_fmt]
    chroma = F.avg_pool2d(yuv[:, 1:], (sy, sx)) if (sx, sy) != (1, 1) else yuv[:, 1:]
    return yuv[:, 0], chroma[:, 0], chroma[:, 1]


# --- quantisation and the bitstream --------------------------------------------------------

def _qmax(bits: int) -> int:
    return (1 << (bits - 1)) - 1


def _scales(t: Tensor, bits: int) -> Tensor:
    """Per-channel (dim 0) or per-tensor scales, rounded to float16 (as stored)."""
    flat = t.detach().reshape(t.shape[0], -1) if t.dim() >= 2 else t.detach().reshape(1, -1)
    amax = flat.abs().amax(dim=1).clamp_min(1e-4)
    return (amax / _qmax(bits)).to(torch.float16).to(torch.float32)


def _broadcast(scale: Tensor, t: Tensor) -> Tensor:
    return scale.view(-1, *([1] * (t.dim() - 1))) if t.dim() >= 2 else scale


def fake_quantise(t: Tensor, bits: int) -> Tensor:
    """Straight-through fake quantisation (value of the quantised tensor, gradient of ``t``)."""
    s = _broadcast(_scales(t, bits), t)
    q = torch.clamp(torch.round(t / s), -_qmax(bits), _qmax(bits)) * s
    return t + (q - t).detach()


def quantise(t: Tensor, bits: int) -> tuple[np.ndarray, np.ndarray]:
    """Integers (int32, shape of ``t``) and float16 scales of one tensor."""
    s = _scales(t, bits)
    q = torch.clamp(torch.round(t.detach() / _broadcast(s, t)), -_qmax(bits), _qmax(bits))
    return q.to(torch.int32).cpu().numpy(), s.to(torch.float16).cpu().numpy()


def dequantise(q: np.ndarray, scales: np.ndarray) -> Tensor:
    """float32 tensor ``q * scale`` (the single definition shared by encoder and decoder)."""
    qt = torch.from_numpy(np.ascontiguousarray(q, dtype=np.float32))
    st = torch.from_numpy(scales.astype(np.float32))
    return qt * _broadcast(st, qt)


def _laplace_scale(q: np.ndarray) -> float:
    return float(np.float16(max(float(np.abs(q).mean()), 0.05)))


def write_bitstream(path: Path, arch: InrArch, bits: int,
                    tensors: dict[str, tuple[np.ndarray, np.ndarray]]) -> None:
    """Write the bitstream: magic, header length, zlib(JSON header), scales, ANS words.

    Args:
        path: output file.
        arch: architecture and video format.
        bits: weight bit depth.
        tensors: name -> (integers, float16 scales), in the network's parameter order.
    """
    import constriction

    qmax = _qmax(bits)
    entries = []
    for name, (q, s) in tensors.items():
        entries.append([name, list(q.shape), len(s), _laplace_scale(q)])
    header = {"v": FORMAT_VERSION, "arch": asdict(arch), "bits": bits, "tensors": entries}
    head = zlib.compress(json.dumps(header, separators=(",", ":")).encode(), 9)
    coder = constriction.stream.stack.AnsCoder()
    for entry, (q, _) in zip(reversed(entries), reversed(list(tensors.values())), strict=True):
        lap = entry[3]
        model = constriction.stream.model.QuantizedLaplace(-qmax, qmax, 0.0, lap)
        coder.encode_reverse(q.reshape(-1).astype(np.int32), model)
    words = coder.get_compressed().astype("<u4")
    scales = b"".join(s.astype("<f2").tobytes() for _, s in tensors.values())
    with open(path, "wb") as f:
        f.write(MAGIC + struct.pack("<I", len(head)) + head + scales + words.tobytes())


def read_bitstream(path: Path) -> tuple[InrArch, int, dict[str, tuple[np.ndarray, np.ndarray]]]:
    """Parse a bitstream written by :func:`write_bitstream`.

    Returns:
        (architecture, bits, name -> (integers, float16 scales)).

    Raises:
        CodecError: not an ``inr`` bitstream, or a truncated / corrupt one.
    """
    import constriction

    data = Path(path).read_bytes()
    if not data.startswith(MAGIC):
        raise CodecError(f"{path}: not an inr bitstream (no {MAGIC!r} magic)")
    try:
        (hlen,) = struct.unpack_from("<I", data, len(MAGIC))
        pos = len(MAGIC) + 4
        header = json.loads(zlib.decompress(data[pos:pos + hlen]))
        pos += hlen
        if header.get("v") != FORMAT_VERSION:
            raise CodecError(f"{path}: inr bitstream version {header.get('v')} is not "
                             f"supported (this decoder reads {FORMAT_VERSION})")
        a = header["arch"]
        arch = InrArch(**{**a, "widths": tuple(a["widths"])})
        bits = int(header["bits"])
        qmax = _qmax(bits)
        scales = []
        for _, _, n, _ in header["tensors"]:
            scales.append(np.frombuffer(data, "<f2", n, pos).astype(np.float16))
            pos += 2 * n
        words = np.frombuffer(data[pos:], "<u4").astype(np.uint32)
        coder = constriction.stream.stack.AnsCoder(words)
        tensors = {}
        for (name, shape, _, lap), s in zip(header["tensors"], scales, strict=True):
            model = constriction.stream.model.QuantizedLaplace(-qmax, qmax, 0.0, lap)
            n = int(np.prod(shape))
            tensors[name] = (coder.decode(model, n).astype(np.int32).reshape(shape), s)
    except (struct.error, zlib.error, ValueError, KeyError, TypeError) as exc:
        raise CodecError(f"{path}: corrupt inr bitstream: {exc}") from exc
    return arch, bits, tensors


def render(arch: InrArch, state: dict[str, Tensor]) -> YuvFrame:
    """Frames of the network with weights ``state``: planes (T, H, W) of integer code values.

    Runs on the CPU in float32, one frame at a time; the encoder's reconstruction and the
    decoder both call it, which makes them identical.
    """
    net = InrNet(arch)
    net.load_state_dict(state)
    net.eval()
    hi = (1 << PIX_FMTS[arch.pix_fmt][2]) - 1
    dtype = np.uint16 if hi > 255 else np.uint8
    planes: list[list[np.ndarray]] = [[], [], []]
    with torch.no_grad():
        for t in range(arch.frames):
            y, u, v = split_planes(net(torch.tensor([t])), arch.pix_fmt)
            for i, p in enumerate((y, u, v)):
                planes[i].append(torch.round(p[0].clamp(0, 1) * hi).numpy().astype(dtype))
    return YuvFrame(*(np.stack(p) for p in planes))


# --- the codec ------------------------------------------------------------------------------

@dataclass(frozen=True)
class InrEncodeInfo:
    """What the last encode did.

    Attributes:
        params: number of network parameters (feature grid included).
        train_s: wall seconds of training (incl. quantisation-aware fine-tuning).
        enc_s: wall seconds of the whole encode.
        final_loss: training loss at the last iteration.
        loss_ratio: magnitude alignment factor of a mixed loss (None for l1_msssim).
        reconstruction: the encoder's post-quantisation frames, planes (T, H, W).
        curve: the training curve (also written to :func:`curve_path` of the bitstream).
    """

    params: int
    train_s: float
    enc_s: float
    final_loss: float
    loss_ratio: float | None
    reconstruction: YuvFrame
    curve: tuple[CurvePoint, ...] = ()


# --- the training curve ---------------------------------------------------------------------

CURVE_SUFFIX = ".curve.csv"
CURVE_POINTS = 20  # evaluations of the whole clip during training (plus the decoded row)
_CURVE_COLUMNS = ("iteration", "phase", "lr", "loss", "psnr_y")


@dataclass(frozen=True)
class CurvePoint:
    """One row of the training curve.

    Attributes:
        iteration: iterations done (1-based; the ``decoded`` row repeats the last one).
        phase: ``train`` (full precision), ``qat`` (quantisation-aware) or ``decoded`` (the
            quantised network's frames, what the decoder outputs).
        lr: learning rate of that iteration (NaN for ``decoded``).
        loss: mean training loss since the previous row (NaN for ``decoded``).
        psnr_y: PSNR-Y in dB of the whole clip rendered by the network at that iteration
            (rounded to code values) against the codec input, mean of per-frame values as
            the ``psnr_y`` metric computes it.
    """

    iteration: int
    phase: str
    lr: float
    loss: float
    psnr_y: float


def curve_path(bitstream: Path) -> Path:
    """Where the training curve of ``bitstream`` is kept: ``NAME.inr.curve.csv`` next to it."""
    bitstream = Path(bitstream)
    return bitstream.with_name(bitstream.name + CURVE_SUFFIX)


def write_curve(path: Path, curve: tuple[CurvePoint, ...] | list[CurvePoint]) -> Path:
    """Write ``curve`` as CSV (header :data:`_CURVE_COLUMNS`), atomically; returns ``path``."""
    lines = [",".join(_CURVE_COLUMNS)]
    for c in curve:
        lines.append(f"{c.iteration},{c.phase},{c.lr!r},{c.loss!r},{c.psnr_y!r}")  # exact
    return atomic_write_text(path, "\n".join(lines) + "\n")


def read_curve(path: Path) -> list[CurvePoint]:
    """Read a curve written by :func:`write_curve`.

    Raises:
        CodecError: the file is not such a curve.
    """
    rows = Path(path).read_text(encoding="utf-8").splitlines()
    if not rows or tuple(rows[0].split(",")) != _CURVE_COLUMNS:
        raise CodecError(f"{path}: not an inr training curve (header {_CURVE_COLUMNS})")
    try:
        return [CurvePoint(int(it), ph, float(lr), float(loss), float(db))
                for it, ph, lr, loss, db in (r.split(",") for r in rows[1:])]
    except ValueError as exc:
        raise CodecError(f"{path}: corrupt inr training curve: {exc}") from exc


def _psnr_y(y_codes: Tensor, ref_codes: Tensor, bit_depth: int) -> float:
    """Mean per-frame PSNR-Y (dB) of integer-valued float planes (T, H, W)."""
    from vqabench.metrics.functional.pixel import psnr_from_mse

    mse = ((y_codes.double() - ref_codes.double()) ** 2).mean(dim=(-2, -1))
    return float(np.mean([psnr_from_mse(float(m), bit_depth=bit_depth) for m in mse]))


def _clip_psnr_y(net: nn.Module, params: dict[str, Tensor] | None, y: Tensor,
                 bit_depth: int, window: int) -> float:
    """PSNR-Y of the whole clip as the network (with ``params`` if given) renders it now."""
    top = float((1 << bit_depth) - 1)
    outs = []
    with torch.no_grad():
        for start in range(0, y.shape[0], window):
            index = torch.arange(start, min(start + window, y.shape[0]), device=y.device)
            out = (torch.func.functional_call(net, params, (index,)) if params is not None
                   else net(index))
            outs.append(torch.round(out[:, 0].clamp(0, 1) * top))
    return _psnr_y(torch.cat(outs).cpu(), torch.round(y * top).cpu(), bit_depth)


@contextlib.contextmanager
def _deterministic(threads: int) -> Iterator[None]:
    old_threads = torch.get_num_threads()
    old_det = torch.are_deterministic_algorithms_enabled()
    old_warn = torch.is_deterministic_algorithms_warn_only_enabled()
    torch.set_num_threads(threads)
    torch.use_deterministic_algorithms(True, warn_only=True)
    try:
        yield
    finally:
        torch.set_num_threads(old_threads)
        torch.use_deterministic_algorithms(old_det, warn_only=old_warn)


def _frames_tensor(video: Video) -> tuple[Tensor, Tensor, Tensor]:
    planes = read_all(video)
    scale = float((1 << video.bit_depth) - 1)
    return tuple(torch.from_numpy(p.astype(np.float32) / scale) for p in planes)  # type: ignore[return-value]


def _rgb(y: Tensor, u: Tensor, v: Tensor, bit_depth: int) -> Tensor:
    """Normalised code values (``code / (2**b - 1)``) -> RGB in [0, 1] (BT.709, limited range,
    :func:`vqabench.io.video.yuv_to_rgb_torch`)."""
    top = float((1 << bit_depth) - 1)
    return yuv_to_rgb_torch(y * top, u * top, v * top, bit_depth=bit_depth)


def _file_sha256(path: Path) -> str:
    from vqabench.io.hashing import file_sha256

    return file_sha256(path)[:16]


@CODECS.register("inr")
class InrCodec(Codec):
    """Built-in INR codec (see the module docstring). Rate points ``model=xxs|xs|s|m|l``.

    Args:
        steps: training iterations (full precision).
        qat_steps: quantisation-aware fine-tuning iterations (default ``steps // 10``).
        lr: Adam learning rate (cosine decay after a 5 % warm-up).
        bits: weight bit depth, 6..8.
        loss: training loss, one of :data:`vqabench.codecs.losses.LOSS_NAMES`.
        alpha: perceptual weight of a mixed loss (default 0.2).
        loss_weights: ``pretrained`` | ``pretrained:RELEASE`` (an earlier shipped
            checkpoint, e.g. ``pretrained:v1``) | ``random`` (plumbing tests) | checkpoint path.
        batch_frames: consecutive frames per training iteration (0 = the whole clip).
        loss_shortfall: train on the perceptual term's shortfall against R itself,
            ``max(0, P(R, D) - P(R, R))`` (:func:`vqabench.codecs.losses.create_loss`).
        seed: random seed (initialisation and frame windows).
        device: ``cpu``, ``cuda`` or ``auto`` (cuda when available) for training; decoding
            and the encoder's reconstruction always run on the CPU.
        threads: torch CPU threads during encode and decode (1 = reproducible timings).

    Raises:
        ConfigError: an option is not allowed.
        WeightsUnavailableError: the loss needs weights that are absent (at encode time).
    """

    name = "inr"
    extension = ".inr"
    rate_params: ClassVar[dict[str, tuple[float, float]]] = {"model": (0, len(PRESETS) - 1)}
    #: The network fits the planes of the input's own format (any of PIX_FMTS).
    native_pix_fmts: ClassVar[tuple[str, ...]] = tuple(PIX_FMTS)
    rate_choices: ClassVar[dict[str, tuple[str, ...]]] = {"model": tuple(PRESETS)}
    sidecar_suffixes: ClassVar[tuple[str, ...]] = (CURVE_SUFFIX,)

    def __init__(self, *, steps: int = 1000, qat_steps: int | None = None, lr: float = 2e-2,
                 bits: int = 8, loss: str = "l1_msssim", alpha: float | None = None,
                 loss_weights: str = "pretrained", batch_frames: int = 2, seed: int = 0,
                 device: str = "cpu", threads: int = 1, loss_shortfall: bool = False):
        for arg, val, lo in (("steps", steps, 1), ("batch_frames", batch_frames, 0),
                             ("threads", threads, 1), ("seed", seed, 0)):
            if isinstance(val, bool) or not isinstance(val, int) or val < lo:
                raise invalid(arg, val, f"an integer >= {lo}")
        qat = steps // 10 if qat_steps is None else qat_steps
        if isinstance(qat, bool) or not isinstance(qat, int) or qat < 0:
            raise invalid("qat_steps", qat_steps, "an integer >= 0")
        if not isinstance(lr, int | float) or not lr > 0:
            raise invalid("lr", lr, "a number > 0")
        if bits not in (6, 7, 8):
            raise invalid("bits", bits, "6, 7 or 8 (weight bit depth)")
        if loss not in LOSS_NAMES:
            raise invalid("loss", loss, " | ".join(LOSS_NAMES))
        if loss == "l1_msssim" and alpha is not None:
            raise ConfigError(f"alpha={alpha!r} is not allowed with loss='l1_msssim'; use a "
                              "perceptual loss such as loss='pt_loss'")
        if alpha is not None and (isinstance(alpha, bool) or not isinstance(alpha, int | float)
                                  or not 0 <= alpha <= 1):
            raise invalid("alpha", alpha, "a number in 0..1")
        if not isinstance(loss_shortfall, bool):
            raise invalid("loss_shortfall", loss_shortfall, "true or false")
        if loss_shortfall and loss == "l1_msssim":
            raise ConfigError("loss_shortfall=true is not allowed with loss='l1_msssim' (no "
                              "perceptual term); use a perceptual loss such as "
                              "loss='pt_loss'")
        if device not in ("cpu", "cuda", "auto"):
            raise invalid("device", device, "cpu | cuda | auto")
        if device == "auto":
            device = "cuda" if torch.cuda.is_available() else "cpu"
        self.steps, self.qat_steps, self.lr, self.bits = steps, qat, float(lr), bits
        self.loss, self.alpha, self.loss_weights = loss, alpha, str(loss_weights)
        self.loss_shortfall = loss_shortfall
        self.batch_frames, self.seed, self.device, self.threads = (batch_frames, seed, device,
                                                                   threads)
        self.last_encode: InrEncodeInfo | None = None
        self.last_decode_fps: float | None = None

    def check_rate_point(self, rate: RatePoint) -> None:
        """Accept ``model=`` one of :data:`PRESETS` (string values)."""
        if rate.param != "model" or rate.value not in PRESETS:
            raise CodecError(f"{self.name}: rate point {rate.label!r} is not allowed: expected "
                             f"model= one of {', '.join(PRESETS)}")

    @property
    def options(self) -> dict:
        opts = {"steps": self.steps, "qat_steps": self.qat_steps, "lr": self.lr,
                "bits": self.bits, "loss": self.loss, "loss_weights": self.loss_weights,
                "batch_frames": self.batch_frames, "seed": self.seed, "device": self.device,
                "threads": self.threads}
        if self.alpha is not None:
            opts["alpha"] = self.alpha
        if self.loss_shortfall:  # only when set: earlier encodes keep their job keys
            opts["loss_shortfall"] = True
        weights_file = self._loss_weights_file()
        if weights_file is not None:  # new loss weights must give new encodes (job keys)
            opts["loss_weights_sha256"] = (_file_sha256(weights_file)
                                           if weights_file.is_file() else "missing")
        return opts

    def _loss_weights_file(self) -> Path | None:
        """The checkpoint file the training loss loads, for losses with trained weights."""
        if self.loss not in ("pt_loss", "rankdvqa_ugc"):
            return None
        return loss_weights_file(self.loss, self.loss_weights)

    def version(self) -> str:
        import constriction

        return (f"inr/{FORMAT_VERSION} torch {torch.__version__} "
                f"constriction {getattr(constriction, '__version__', '?')}")

    # -- encode --------------------------------------------------------------------------

    def _check_video(self, video: Video) -> None:
        sx, sy, _ = PIX_FMTS[video.pix_fmt]
        if video.width % sx or video.height % sy:
            raise VideoFormatError(f"inr: {video.width}x{video.height} {video.pix_fmt} is not "
                                   "divisible by the chroma subsampling")
        if min(video.width, video.height) < 11:
            raise VideoFormatError(f"inr: frames of {video.width}x{video.height} are too small "
                                   "(at least 11x11)")

    def _train(self, net: InrNet, video: Video,
               loss_fn: nn.Module) -> tuple[float, list[CurvePoint]]:
        """Train ``net``; returns the last iteration's loss and the training curve."""
        dev = torch.device(self.device)
        y, u, v = (p.to(dev) for p in _frames_tensor(video))
        target = _rgb(y, u, v, video.bit_depth)
        frames = video.frames
        window = frames if self.batch_frames == 0 else min(self.batch_frames, frames)
        gen = torch.Generator().manual_seed(self.seed + 1)
        opt = torch.optim.Adam(net.parameters(), lr=self.lr)
        total = self.steps + self.qat_steps
        warm = max(1, self.steps // 20)
        every = max(1, total // CURVE_POINTS)

        def lr_at(step: int) -> float:
            if step < self.steps:
                if step < warm:
                    return self.lr * (step + 1) / warm
                frac = (step - warm) / max(1, self.steps - warm)
                return self.lr * (0.05 + 0.95 * 0.5 * (1 + math.cos(math.pi * frac)))
            return self.lr * 0.05  # quantisation-aware fine-tuning

        params = dict(net.named_parameters())
        last = float("nan")
        curve: list[CurvePoint] = []
        since: list[float] = []
        for step in range(total):
            start = int(torch.randint(0, frames - window + 1, (1,), generator=gen))
            index = torch.arange(start, start + window, device=dev)
            lr = lr_at(step)
            for group in opt.param_groups:
                group["lr"] = lr
            fq = None
            if step >= self.steps:
                fq = {k: fake_quantise(p, self.bits) for k, p in params.items()}
                out = torch.func.functional_call(net, fq, (index,))
            else:
                out = net(index)
            dy, du, dv = split_planes(out, video.pix_fmt)
            loss = loss_fn(target[start:start + window], _rgb(dy, du, dv, video.bit_depth))
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            last = float(loss.detach())
            since.append(last)
            if (step + 1) % every == 0 or step + 1 == total:
                fq = ({k: fake_quantise(p, self.bits) for k, p in params.items()}
                      if step >= self.steps else None)
                db = _clip_psnr_y(net, fq, y, video.bit_depth, max(window, 8))
                curve.append(CurvePoint(step + 1, "qat" if fq is not None else "train", lr,
                                        float(np.mean(since)), db))
                since = []
        return last, curve

    def encode(self, source: Video, bitstream: Path, rate: RatePoint) -> float:
        """Train on ``source``, quantise, entropy code into ``bitstream``; wall seconds."""
        self.check_rate_point(rate)
        self._check_video(source)
        start = time.perf_counter()
        with _deterministic(self.threads):
            torch.manual_seed(self.seed)
            arch = InrArch.for_video(source, str(rate.value))
            net = InrNet(arch).to(self.device)
            loss_fn = create_loss(self.loss, alpha=self.alpha, weights=self.loss_weights,
                                  seed=self.seed, shortfall=self.loss_shortfall
                                  ).to(self.device)
            t0 = time.perf_counter()
            final, curve = self._train(net, source, loss_fn)
            train_s = time.perf_counter() - t0
            tensors = {k: quantise(p.cpu(), self.bits) for k, p in net.named_parameters()}
            write_bitstream(Path(bitstream), arch, self.bits, tensors)
            state = {k: dequantise(q, s) for k, (q, s) in tensors.items()}
            recon = render(arch, state)
        ref_y = read_all(source).y
        curve.append(CurvePoint(curve[-1].iteration, "decoded", math.nan, math.nan, _psnr_y(
            torch.from_numpy(recon.y.astype(np.float64)),
            torch.from_numpy(ref_y.astype(np.float64)), source.bit_depth)))
        write_curve(curve_path(bitstream), curve)
        enc_s = time.perf_counter() - start
        self.last_encode = InrEncodeInfo(
            params=sum(p.numel() for p in net.parameters()), train_s=train_s, enc_s=enc_s,
            final_loss=final, loss_ratio=getattr(loss_fn, "ratio", None), reconstruction=recon,
            curve=tuple(curve))
        return enc_s

    # -- decode --------------------------------------------------------------------------

    def decode_frames(self, bitstream: Path) -> tuple[InrArch, YuvFrame]:
        """Reconstruct the frames from the bitstream file alone."""
        with _deterministic(self.threads):
            arch, _, tensors = read_bitstream(Path(bitstream))
            state = {k: dequantise(q, s) for k, (q, s) in tensors.items()}
            return arch, render(arch, state)

    def decode(self, bitstream: Path, output: Path, source: Video) -> float:
        """Decode ``bitstream`` into the Y4M file ``output``; wall seconds (also sets
        :attr:`last_decode_fps`). ``source`` is not used: the bitstream carries the format."""
        start = time.perf_counter()
        arch, frames = self.decode_frames(bitstream)
        write_y4m(output, (YuvFrame(frames.y[t], frames.u[t], frames.v[t])
                           for t in range(arch.frames)),
                  width=arch.width, height=arch.height,
                  fps=Fraction(arch.fps_num, arch.fps_den), pix_fmt=arch.pix_fmt)
        dec_s = time.perf_counter() - start
        self.last_decode_fps = arch.frames / dec_s if dec_s > 0 else math.inf
        return dec_s

