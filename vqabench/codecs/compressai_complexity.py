"""Complexity of the ``compressai`` codec's networks: parameters and MACs per frame.

MACs are ``FLOPs / 2`` of one ``forward()`` of the model on a frame of the padded coded
size (zeros; the count does not depend on the values), counted by
:class:`torch.utils.flop_counter.FlopCounterMode` as in
:mod:`vqabench.models.complexity`: convolutions, transposed convolutions and matrix
products. CompressAI's GDN / inverse GDN layers compute their normalisation as a 1x1
convolution (``conv2d(x**2, gamma, beta)``), so they are counted (C x C MACs per pixel);
their square, square root and product, the activations, the quantisation, the range
coder and ssf2020's scale-space warping are not (elementwise work, as usual for published
MAC figures). The count runs on the
CPU (compressai's entropy models call ``.item()``, which the ``meta`` device cannot).

Per top-level part (``g_a``, ``h_a``, ``h_s``, ``g_s``, ``context_prediction``,
``entropy_parameters``, ``entropy_bottleneck``; for ssf2020 the image / motion / residual
encoders, decoders and hyperpriors) the parameters and MACs are kept, and:

- ``decoder_macs``: the parts ``decompress()`` runs: ``g_s``, ``h_s``,
  ``context_prediction``, ``entropy_parameters`` (ssf2020: ``*_decoder`` and the
  hyperpriors' ``hyper_decoder_mean`` / ``hyper_decoder_scale``);
- ``encoder_macs``: those ``compress()`` runs: ``g_a``, ``h_a`` and the same ``h_s`` /
  context / entropy parameters (the encoder needs the scales it codes with);
- ``params``: every parameter of the model (encoder, decoder and entropy models).

ssf2020 is counted on a group of two frames (an intra and a predicted frame), halved: the
mean cost of a frame of that group.

Example:
    >>> net_complexity(codec.network(3)[0], width=256, height=192).decoder_macs
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = [
    "NetComplexity",
    "net_complexity",
    "bitstream_complexity",
    "DECODER_PARTS",
    "ENCODER_PARTS",
]

#: Parts (module names) ``decompress()`` runs.
DECODER_PARTS = frozenset(
    {
        "g_s",
        "h_s",
        "context_prediction",
        "entropy_parameters",
        "img_decoder",
        "res_decoder",
        "motion_decoder",
        "hyper_decoder_mean",
        "hyper_decoder_scale",
    }
)
#: Parts ``compress()`` runs.
ENCODER_PARTS = frozenset(
    {
        "g_a",
        "h_a",
        "h_s",
        "context_prediction",
        "entropy_parameters",
        "img_encoder",
        "res_encoder",
        "motion_encoder",
        "hyper_encoder",
        "hyper_decoder_mean",
        "hyper_decoder_scale",
    }
)


@dataclass(frozen=True)
class NetComplexity:
    """Parameters and MACs per frame of one CompressAI model at one picture size.

    Attributes:
        params: every parameter.
        macs: MACs of ``forward()`` per frame (all parts).
        encoder_macs: MACs of the parts ``compress()`` runs, per frame.
        decoder_macs: MACs of the parts ``decompress()`` runs, per frame.
        parts: ``name -> (params, macs per frame)`` of each part.
    """

    params: int
    macs: int
    encoder_macs: int
    decoder_macs: int
    parts: dict[str, tuple[int, int]]


def net_complexity(net: Any, *, width: int, height: int, video: bool = False) -> NetComplexity:
    """Count ``net``'s parameters and MACs on a ``width`` x ``height`` frame (module
    docstring). ``video``: the model takes a list of frames (ssf2020)."""
    import torch
    from torch.utils.flop_counter import FlopCounterMode

    x = torch.zeros(1, 3, height, width)
    with torch.no_grad(), FlopCounterMode(display=False) as counter:
        net([x, x]) if video else net(x)
    frames = 2 if video else 1
    counts = counter.get_flop_counts()
    root = type(net).__name__
    macs: dict[str, int] = {}
    for key, ops in counts.items():
        path = key.split(".")
        if path[0] != root or len(path) < 2:
            continue
        leaf = path[-1]
        if (len(path) == 2 or leaf in DECODER_PARTS | ENCODER_PARTS) and len(path) <= 3:
            macs[".".join(path[1:])] = int(sum(ops.values())) // 2 // frames
    parts = {}
    for name, module in net.named_modules():
        if name in macs or (name and "." not in name):
            parts[name] = (sum(p.numel() for p in module.parameters()), macs.get(name, 0))

    def total(names: frozenset[str]) -> int:
        return sum(m for n, (_, m) in parts.items() if n.split(".")[-1] in names)

    return NetComplexity(
        params=sum(p.numel() for p in net.parameters()),
        macs=int(sum(counts.get(root, {}).values())) // 2 // frames,
        encoder_macs=total(ENCODER_PARTS),
        decoder_macs=total(DECODER_PARTS),
        parts=parts,
    )


_COUNTED: dict[tuple[str, int, int, int], NetComplexity] = {}


def bitstream_complexity(codec: Any, bitstream: Path) -> dict[str, float]:
    """Complexity of decoding (and having coded) one ``compressai`` bitstream.

    Args:
        codec: the :class:`~vqabench.codecs.compressai_codec.CompressAICodec` that decodes it.
        bitstream: the file; its header gives the qualities and the padded size.

    Returns:
        ``params``: parameters of every network the bitstream uses (one per quality, summed:
        a decoder of a ``kbps=`` point holds them all); ``macs`` and ``enc_macs``: decoder and
        encoder MACs per frame, averaged over the frames (each at its quality's network);
        ``pixels``: width x height of the source.
    """
    from vqabench.codecs.compressai_codec import MODELS

    header = codec.load_for(Path(bitstream))
    width, height = header["padded"]
    video = MODELS[header["model"]][1] == "video"
    per_q = {}
    for q in sorted(set(header["qualities"])):
        key = (codec.spec, int(q), width, height)
        if key not in _COUNTED:  # one forward per network and size, not per bitstream
            _COUNTED[key] = net_complexity(
                codec.network(int(q))[0], width=width, height=height, video=video
            )
        per_q[q] = _COUNTED[key]
    qualities = header["qualities"]
    return {
        "params": float(sum(c.params for c in per_q.values())),
        "macs": sum(per_q[q].decoder_macs for q in qualities) / len(qualities),
        "enc_macs": sum(per_q[q].encoder_macs for q in qualities) / len(qualities),
        "pixels": float(header["width"] * header["height"]),
    }
