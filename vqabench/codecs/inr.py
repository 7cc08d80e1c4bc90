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

:class:`InrCodec` itself (options, rate points, version) lives in
:mod:`vqabench.codecs.inr_codec`, which imports this module (and torch) only to encode or
decode; it is re-exported here.

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
import zlib
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from vqabench.codecs.inr_format import CURVE_SUFFIX, FORMAT_VERSION, PRESETS
from vqabench.errors import CodecError
from vqabench.io.atomic import atomic_write_text
from vqabench.io.video import PIX_FMTS, Video, YuvFrame, read_all, yuv_to_rgb_torch

__all__ = [
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
    "frames_tensor",
    "rgb_of_planes",
    "psnr_y_of_codes",
    "clip_psnr_y",
    "deterministic",
]

MAGIC = b"VQINR1"


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
        return cls(
            video.width,
            video.height,
            video.frames,
            video.pix_fmt,
            video.fps.numerator,
            video.fps.denominator,
            c0,
            tuple(widths),
            grid_t,
        )


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


def write_bitstream(
    path: Path, arch: InrArch, bits: int, tensors: dict[str, tuple[np.ndarray, np.ndarray]]
) -> None:
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
        header = json.loads(zlib.decompress(data[pos : pos + hlen]))
        pos += hlen
        if header.get("v") != FORMAT_VERSION:
            raise CodecError(
                f"{path}: inr bitstream version {header.get('v')} is not "
                f"supported (this decoder reads {FORMAT_VERSION})"
            )
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
        return [
            CurvePoint(int(it), ph, float(lr), float(loss), float(db))
            for it, ph, lr, loss, db in (r.split(",") for r in rows[1:])
        ]
    except ValueError as exc:
        raise CodecError(f"{path}: corrupt inr training curve: {exc}") from exc


def psnr_y_of_codes(y_codes: Tensor, ref_codes: Tensor, bit_depth: int) -> float:
    """Mean per-frame PSNR-Y (dB) of integer-valued float planes (T, H, W)."""
    from vqabench.metrics.functional.pixel import psnr_from_mse

    mse = ((y_codes.double() - ref_codes.double()) ** 2).mean(dim=(-2, -1))
    return float(np.mean([psnr_from_mse(float(m), bit_depth=bit_depth) for m in mse]))


def clip_psnr_y(
    net: nn.Module, params: dict[str, Tensor] | None, y: Tensor, bit_depth: int, window: int
) -> float:
    """PSNR-Y of the whole clip as the network (with ``params`` if given) renders it now."""
    top = float((1 << bit_depth) - 1)
    outs = []
    with torch.no_grad():
        for start in range(0, y.shape[0], window):
            index = torch.arange(start, min(start + window, y.shape[0]), device=y.device)
            out = (
                torch.func.functional_call(net, params, (index,))
                if params is not None
                else net(index)
            )
            outs.append(torch.round(out[:, 0].clamp(0, 1) * top))
    return psnr_y_of_codes(torch.cat(outs).cpu(), torch.round(y * top).cpu(), bit_depth)


@contextlib.contextmanager
def deterministic(threads: int) -> Iterator[None]:
    """Run the block on ``threads`` torch threads with deterministic algorithms, then restore
    torch's previous settings."""
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


def frames_tensor(video: Video) -> tuple[Tensor, Tensor, Tensor]:
    """All frames of ``video`` as float32 planes (T, H, W) in [0, 1] (codes / (2**b - 1))."""
    planes = read_all(video)
    scale = float((1 << video.bit_depth) - 1)
    return tuple(torch.from_numpy(p.astype(np.float32) / scale) for p in planes)  # type: ignore[return-value]


def rgb_of_planes(y: Tensor, u: Tensor, v: Tensor, bit_depth: int) -> Tensor:
    """Normalised code values (``code / (2**b - 1)``) -> RGB in [0, 1] (BT.709, limited range,
    :func:`vqabench.io.video.yuv_to_rgb_torch`)."""
    top = float((1 << bit_depth) - 1)
    return yuv_to_rgb_torch(y * top, u * top, v * top, bit_depth=bit_depth)
