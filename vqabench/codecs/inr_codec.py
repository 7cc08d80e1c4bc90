"""The ``inr`` codec's options, rate points and version, without importing torch.

The network, its training and the bitstream live in :mod:`vqabench.codecs.inr` (which
imports torch); :class:`InrCodec` imports that module only to encode or decode, so
``vqabench codecs list``, a config check or a mistyped name answer at once.

Example:
    >>> codec = codecs.create("inr", loss="l1_msssim")   # no torch import yet
    >>> codec.version()
    'inr/1 torch 2.14.1+cu130 constriction ?'
"""

from __future__ import annotations

import math
import re
import sys
import time
from fractions import Fraction
from importlib.util import find_spec
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar

from vqabench.codecs.base import CODECS, Codec, RatePoint
from vqabench.codecs.inr_format import CURVE_SUFFIX, FORMAT_VERSION, LOSS_NAMES, PRESETS, LossName
from vqabench.errors import CodecError, ConfigError, VideoFormatError, invalid
from vqabench.io.video import PIX_FMTS, Video, YuvFrame, read_all, write_y4m

if TYPE_CHECKING:
    from torch import nn

    from vqabench.codecs.inr import CurvePoint, InrArch, InrEncodeInfo, InrNet

__all__ = [
    "InrCodec",
    "PRESETS",
    "FORMAT_VERSION",
    "CURVE_SUFFIX",
    "LossName",
    "LOSS_NAMES",
    "torch_version",
]


def torch_version() -> str:
    """``torch.__version__`` (``2.14.1+cu130``), read from ``torch/version.py`` when torch is
    not imported yet: the installed wheel's metadata drops the ``+cu130`` build tag."""
    if "torch" in sys.modules:
        return str(sys.modules["torch"].__version__)
    spec = find_spec("torch")
    for folder in (spec.submodule_search_locations or []) if spec else []:
        version_py = Path(folder) / "version.py"
        if version_py.is_file():
            m = re.search(r"^__version__\s*=\s*['\"]([^'\"]+)['\"]", version_py.read_text(), re.M)
            if m:
                return m.group(1)
    import torch  # an unusual layout: ask torch itself

    return str(torch.__version__)


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

    def __init__(
        self,
        *,
        steps: int = 1000,
        qat_steps: int | None = None,
        lr: float = 2e-2,
        bits: int = 8,
        loss: str = "l1_msssim",
        alpha: float | None = None,
        loss_weights: str = "pretrained",
        batch_frames: int = 2,
        seed: int = 0,
        device: str = "cpu",
        threads: int = 1,
        loss_shortfall: bool = False,
    ):
        for arg, val, lo in (
            ("steps", steps, 1),
            ("batch_frames", batch_frames, 0),
            ("threads", threads, 1),
            ("seed", seed, 0),
        ):
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
            raise ConfigError(
                f"alpha={alpha!r} is not allowed with loss='l1_msssim'; use a "
                "perceptual loss such as loss='pt_loss'"
            )
        if alpha is not None and (
            isinstance(alpha, bool) or not isinstance(alpha, int | float) or not 0 <= alpha <= 1
        ):
            raise invalid("alpha", alpha, "a number in 0..1")
        if not isinstance(loss_shortfall, bool):
            raise invalid("loss_shortfall", loss_shortfall, "true or false")
        if loss_shortfall and loss == "l1_msssim":
            raise ConfigError(
                "loss_shortfall=true is not allowed with loss='l1_msssim' (no "
                "perceptual term); use a perceptual loss such as "
                "loss='pt_loss'"
            )
        if device not in ("cpu", "cuda", "auto"):
            raise invalid("device", device, "cpu | cuda | auto")
        if device == "auto":
            import torch

            device = "cuda" if torch.cuda.is_available() else "cpu"
        self.steps, self.qat_steps, self.lr, self.bits = steps, qat, float(lr), bits
        self.loss, self.alpha, self.loss_weights = loss, alpha, str(loss_weights)
        self.loss_shortfall = loss_shortfall
        self.batch_frames, self.seed, self.device, self.threads = (
            batch_frames,
            seed,
            device,
            threads,
        )
        self.last_encode: InrEncodeInfo | None = None
        self.last_decode_fps: float | None = None

    def check_rate_point(self, rate: RatePoint) -> None:
        """Accept ``model=`` one of :data:`PRESETS` (string values)."""
        if rate.param != "model" or rate.value not in PRESETS:
            raise CodecError(
                f"{self.name}: rate point {rate.label!r} is not allowed: expected "
                f"model= one of {', '.join(PRESETS)}"
            )

    @property
    def options(self) -> dict:
        opts = {
            "steps": self.steps,
            "qat_steps": self.qat_steps,
            "lr": self.lr,
            "bits": self.bits,
            "loss": self.loss,
            "loss_weights": self.loss_weights,
            "batch_frames": self.batch_frames,
            "seed": self.seed,
            "device": self.device,
            "threads": self.threads,
        }
        if self.alpha is not None:
            opts["alpha"] = self.alpha
        if self.loss_shortfall:  # only when set: earlier encodes keep their job keys
            opts["loss_shortfall"] = True
        weights_file = self._loss_weights_file()
        if weights_file is not None:  # new loss weights must give new encodes (job keys)
            opts["loss_weights_sha256"] = (
                _file_sha256(weights_file) if weights_file.is_file() else "missing"
            )
        return opts

    def _loss_weights_file(self) -> Path | None:
        """The checkpoint file the training loss loads, for losses with trained weights."""
        if self.loss not in ("pt_loss", "rankdvqa_ugc"):
            return None
        from vqabench.codecs.losses import loss_weights_file

        return loss_weights_file(self.loss, self.loss_weights)

    def version(self) -> str:
        import constriction

        return (
            f"inr/{FORMAT_VERSION} torch {torch_version()} "
            f"constriction {getattr(constriction, '__version__', '?')}"
        )

    # -- encode --------------------------------------------------------------------------

    def _check_video(self, video: Video) -> None:
        sx, sy, _ = PIX_FMTS[video.pix_fmt]
        if video.width % sx or video.height % sy:
            raise VideoFormatError(
                f"inr: {video.width}x{video.height} {video.pix_fmt} is not "
                "divisible by the chroma subsampling"
            )
        if min(video.width, video.height) < 11:
            raise VideoFormatError(
                f"inr: frames of {video.width}x{video.height} are too small (at least 11x11)"
            )

    def _train(
        self, net: InrNet, video: Video, loss_fn: nn.Module
    ) -> tuple[float, list[CurvePoint]]:
        """Train ``net``; returns the last iteration's loss and the training curve."""
        import numpy as np
        import torch

        from vqabench.codecs.inr import (
            CURVE_POINTS,
            CurvePoint,
            clip_psnr_y,
            fake_quantise,
            frames_tensor,
            rgb_of_planes,
            split_planes,
        )

        dev = torch.device(self.device)
        y, u, v = (p.to(dev) for p in frames_tensor(video))
        target = rgb_of_planes(y, u, v, video.bit_depth)
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
            loss = loss_fn(
                target[start : start + window], rgb_of_planes(dy, du, dv, video.bit_depth)
            )
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            last = float(loss.detach())
            since.append(last)
            if (step + 1) % every == 0 or step + 1 == total:
                fq = (
                    {k: fake_quantise(p, self.bits) for k, p in params.items()}
                    if step >= self.steps
                    else None
                )
                db = clip_psnr_y(net, fq, y, video.bit_depth, max(window, 8))
                curve.append(
                    CurvePoint(
                        step + 1,
                        "qat" if fq is not None else "train",
                        lr,
                        float(np.mean(since)),
                        db,
                    )
                )
                since = []
        return last, curve

    def encode(self, source: Video, bitstream: Path, rate: RatePoint) -> float:
        """Train on ``source``, quantise, entropy code into ``bitstream``; wall seconds."""
        import numpy as np
        import torch

        from vqabench.codecs.inr import (
            CurvePoint,
            InrArch,
            InrEncodeInfo,
            InrNet,
            curve_path,
            dequantise,
            deterministic,
            psnr_y_of_codes,
            quantise,
            render,
            write_bitstream,
            write_curve,
        )
        from vqabench.codecs.losses import create_loss

        self.check_rate_point(rate)
        self._check_video(source)
        start = time.perf_counter()
        with deterministic(self.threads):
            torch.manual_seed(self.seed)
            arch = InrArch.for_video(source, str(rate.value))
            net = InrNet(arch).to(self.device)
            loss_fn = create_loss(
                self.loss,
                alpha=self.alpha,
                weights=self.loss_weights,
                seed=self.seed,
                shortfall=self.loss_shortfall,
            ).to(self.device)
            t0 = time.perf_counter()
            final, curve = self._train(net, source, loss_fn)
            train_s = time.perf_counter() - t0
            tensors = {k: quantise(p.cpu(), self.bits) for k, p in net.named_parameters()}
            write_bitstream(Path(bitstream), arch, self.bits, tensors)
            state = {k: dequantise(q, s) for k, (q, s) in tensors.items()}
            recon = render(arch, state)
        ref_y = read_all(source).y
        curve.append(
            CurvePoint(
                curve[-1].iteration,
                "decoded",
                math.nan,
                math.nan,
                psnr_y_of_codes(
                    torch.from_numpy(recon.y.astype(np.float64)),
                    torch.from_numpy(ref_y.astype(np.float64)),
                    source.bit_depth,
                ),
            )
        )
        write_curve(curve_path(bitstream), curve)
        enc_s = time.perf_counter() - start
        self.last_encode = InrEncodeInfo(
            params=sum(p.numel() for p in net.parameters()),
            train_s=train_s,
            enc_s=enc_s,
            final_loss=final,
            loss_ratio=getattr(loss_fn, "ratio", None),
            reconstruction=recon,
            curve=tuple(curve),
        )
        return enc_s

    # -- decode --------------------------------------------------------------------------

    def decode_frames(self, bitstream: Path) -> tuple[InrArch, YuvFrame]:
        """Reconstruct the frames from the bitstream file alone."""
        from vqabench.codecs.inr import dequantise, deterministic, read_bitstream, render

        with deterministic(self.threads):
            arch, _, tensors = read_bitstream(Path(bitstream))
            state = {k: dequantise(q, s) for k, (q, s) in tensors.items()}
            return arch, render(arch, state)

    def decode_null(self, bitstream: Path) -> int:
        """Decode ``bitstream`` and discard the frames (decode-speed measurement); the
        number of frames decoded."""
        arch, _ = self.decode_frames(bitstream)
        return arch.frames

    def decode(self, bitstream: Path, output: Path, source: Video) -> float:
        """Decode ``bitstream`` into the Y4M file ``output``; wall seconds (also sets
        :attr:`last_decode_fps`). ``source`` is not used: the bitstream carries the format."""
        start = time.perf_counter()
        arch, frames = self.decode_frames(bitstream)
        write_y4m(
            output,
            (YuvFrame(frames.y[t], frames.u[t], frames.v[t]) for t in range(arch.frames)),
            width=arch.width,
            height=arch.height,
            fps=Fraction(arch.fps_num, arch.fps_den),
            pix_fmt=arch.pix_fmt,
        )
        dec_s = time.perf_counter() - start
        self.last_decode_fps = arch.frames / dec_s if dec_s > 0 else math.inf
        return dec_s
