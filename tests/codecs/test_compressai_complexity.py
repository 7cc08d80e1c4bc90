"""Complexity of the ``compressai`` codec's networks: parameters equal the model's own count,
MACs equal the hand-derived convolution counts, GDN included as its 1x1 convolution."""

from __future__ import annotations

import pytest

from vqabench import codecs
from vqabench.errors import CodecError

try:
    from vqabench.codecs.compressai_codec import _import_compressai

    _import_compressai()
except CodecError as exc:  # pragma: no cover - CI installs it (.ci/run)
    pytest.skip(str(exc), allow_module_level=True)

pytestmark = pytest.mark.slow  # builds torch models


def _conv(out_hw, cin, cout, k):
    return out_hw * cin * cout * k * k


def test_factorized_macs_by_hand_with_gdn():
    from vqabench.codecs.compressai_complexity import net_complexity

    net, _ = codecs.create("compressai", model="bmshj2018-factorized", checkpoint="random").network(
        1
    )
    c = net_complexity(net, width=64, height=64)
    assert c.params == sum(p.numel() for p in net.parameters())
    assert c.parts["g_a"][0] == sum(p.numel() for p in net.g_a.parameters())
    # quality 1: N = 128, M = 192; four 5x5 stride-2 convolutions 64 -> 32 -> 16 -> 8 -> 4,
    # a GDN (a 1x1 N x N convolution) after each of the first three
    n, m = 128, 192
    convs = (
        _conv(32 * 32, 3, n, 5)
        + _conv(16 * 16, n, n, 5)
        + _conv(8 * 8, n, n, 5)
        + _conv(4 * 4, n, m, 5)
    )
    gdn = _conv(32 * 32, n, n, 1) + _conv(16 * 16, n, n, 1) + _conv(8 * 8, n, n, 1)
    assert c.parts["g_a"][1] == convs + gdn
    assert c.decoder_macs == c.parts["g_s"][1] and c.encoder_macs == c.parts["g_a"][1]
    assert c.macs == c.parts["g_a"][1] + c.parts["g_s"][1] + c.parts["entropy_bottleneck"][1]


def test_hyperprior_parts_split_into_encoder_and_decoder():
    from vqabench.codecs.compressai_complexity import net_complexity

    net, _ = codecs.create("compressai", model="bmshj2018-hyperprior", checkpoint="random").network(
        1
    )
    c = net_complexity(net, width=64, height=128)
    g_a, g_s, h_a, h_s = (c.parts[k][1] for k in ("g_a", "g_s", "h_a", "h_s"))
    assert c.decoder_macs == g_s + h_s and c.encoder_macs == g_a + h_a + h_s
    assert c.params == sum(p.numel() for p in net.parameters())
    assert sum(p for p, _ in c.parts.values()) == c.params
    double = net_complexity(net, width=128, height=128)  # convolutions scale with the area
    assert double.decoder_macs == 2 * c.decoder_macs
