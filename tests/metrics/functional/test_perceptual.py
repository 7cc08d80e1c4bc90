"""LPIPS/DISTS building blocks (vqabench.metrics.functional.perceptual) against the lpips
package and pyiqa called directly on arrays, and the weight-file helpers."""

from __future__ import annotations

import types

import numpy as np
import pytest
import torch

from vqabench.errors import MetricError
from vqabench.metrics.functional.perceptual import (
    dists_network,
    dists_scores,
    load_features,
    load_torch_file,
    lpips_network,
    lpips_scores,
    model_device,
    seeded,
    to_tensor,
)


@pytest.fixture(scope="module")
def batches():
    rng = np.random.default_rng(4)
    ref = rng.random((2, 32, 32, 3)).astype(np.float32)
    dis = np.clip(ref + rng.normal(0, 0.1, ref.shape), 0, 1).astype(np.float32)
    return ref, dis


def test_to_tensor_is_channels_first():
    batch = np.arange(2 * 3 * 4 * 3, dtype=np.float64).reshape(2, 3, 4, 3)
    t = to_tensor(batch)
    assert t.shape == (2, 3, 3, 4) and t.dtype == torch.float32
    assert t[1, 2, 0, 3].item() == batch[1, 0, 3, 2]


@pytest.mark.slow
def test_lpips_scores_equal_lpips_package(batches):
    import lpips

    ref, dis = batches
    net = lpips_network("alex", pretrained_backbone=False, seed=3)
    got = lpips_scores(net, ref, dis)
    torch.manual_seed(3)
    direct = lpips.LPIPS(net="alex", pnet_rand=True, verbose=False).eval()
    with torch.no_grad():
        want = (
            direct(
                torch.from_numpy(dis).permute(0, 3, 1, 2) * 2 - 1,
                torch.from_numpy(ref).permute(0, 3, 1, 2) * 2 - 1,
            )
            .reshape(-1)
            .numpy()
        )
    np.testing.assert_allclose(got, want, atol=1e-6, rtol=0)
    assert got.dtype == np.float64 and got.shape == (2,)
    assert model_device(net) == torch.device("cpu")


@pytest.mark.slow
def test_dists_scores_equal_pyiqa_dists(batches, monkeypatch):
    """pyiqa's DISTS, built under the same seed (random VGG16 features, no download)."""
    import torchvision.models as tvm
    from pyiqa.archs.dists_arch import DISTS
    from torchvision.models.vgg import cfgs, make_layers

    ref, dis = batches
    got = dists_scores(dists_network(pretrained_backbone=False, seed=5), ref, dis)
    monkeypatch.setattr(
        tvm, "vgg16", lambda **kw: types.SimpleNamespace(features=make_layers(cfgs["D"]))
    )
    torch.manual_seed(5)
    direct = DISTS(pretrained=False).eval()
    with torch.no_grad():
        want = direct(to_tensor(dis), to_tensor(ref)).reshape(-1).double().numpy()
    np.testing.assert_allclose(got, want, atol=1e-6, rtol=0)
    assert not np.allclose(
        got, dists_scores(dists_network(pretrained_backbone=False, seed=6), ref, dis)
    )


def test_seeded_is_reproducible_and_leaves_the_callers_rng_alone():
    torch.manual_seed(11)
    expected_next = torch.rand(3)
    torch.manual_seed(11)
    with seeded(0):
        a = torch.rand(3)
    with seeded(0):
        b = torch.rand(3)
    assert torch.equal(a, b)
    assert torch.equal(torch.rand(3), expected_next)


def test_load_torch_file_unwraps_params_and_names_a_bad_file(tmp_path):
    w = torch.arange(4.0)
    torch.save({"params": {"features.0.weight": w}}, tmp_path / "p.pth")
    assert torch.equal(load_torch_file(tmp_path / "p.pth")["features.0.weight"], w)
    (tmp_path / "bad.pth").write_bytes(b"not a checkpoint")
    with pytest.raises(MetricError, match=r"cannot read weight file .*bad\.pth"):
        load_torch_file(tmp_path / "bad.pth")


def test_load_features_maps_torchvision_indices():
    class Sliced(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.slice1 = torch.nn.Sequential()
            self.slice1.add_module("2", torch.nn.Conv2d(1, 1, 1))

    target = Sliced()
    state = {
        "features.2.weight": torch.full((1, 1, 1, 1), 7.0),
        "features.2.bias": torch.full((1,), -1.0),
    }
    load_features(target, state)
    assert target.slice1[0].weight.item() == 7.0 and target.slice1[0].bias.item() == -1.0
    with pytest.raises(MetricError, match="'features.2.bias' for layer 'slice1.2.bias'"):
        load_features(Sliced(), {"features.2.weight": state["features.2.weight"]})


# --- banded evaluation (by_rows) and the layer-by-layer LPIPS / DISTS ---------------------


@pytest.mark.slow
@pytest.mark.parametrize("net", ["alex", "vgg"])
def test_stages_in_bands_of_rows_equal_the_whole_stage(net):
    """Every LPIPS slice run in 4-row bands equals the slice on the whole input (float
    rounding of the convolutions only), also for the strided first AlexNet layer."""
    from vqabench.metrics.functional.perceptual import by_rows, lpips_network

    model = lpips_network(net, pretrained_backbone=False, seed=1)
    h = torch.rand(1, 3, 203, 37, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        for k in range(model.L):
            stage = getattr(model.net, f"slice{k + 1}")
            whole, banded = stage(h), by_rows(stage, h, 4)
            assert banded.shape == whole.shape
            assert float((banded - whole).abs().max()) <= 1e-5 * float(whole.abs().max())
            h = whole


@pytest.mark.slow
def test_stage_geometry_is_the_receptive_field_and_stride():
    """Hand-derived: VGG16 relu1_2 = two 3x3 convs (field 5, stride 1); relu2_2 adds a 2x2
    max-pool and two 3x3 convs at stride 2 (field 1 + 1 + 2*2 + 2*2 = 10); AlexNet's first
    slice is an 11x11 conv at stride 4; a SqueezeNet Fire module has no known geometry."""
    from vqabench.metrics.functional.perceptual import lpips_network, stage_geometry

    vgg = lpips_network("vgg", pretrained_backbone=False).net
    assert stage_geometry(vgg.slice1) == (5, 1) and stage_geometry(vgg.slice2) == (10, 2)
    assert stage_geometry(lpips_network("alex", pretrained_backbone=False).net.slice1) == (11, 4)
    assert stage_geometry(lpips_network("squeeze", pretrained_backbone=False).net.slice2) is None


@pytest.mark.slow
@pytest.mark.parametrize("net", ["alex", "vgg", "squeeze"])
def test_layer_by_layer_lpips_equals_the_package_in_bands(net, monkeypatch):
    """With 8-row bands (so every slice and the distance stage run banded) the scores equal
    lpips.LPIPS.forward on the whole frames."""
    from vqabench.metrics.functional import perceptual as fp

    monkeypatch.setattr(fp, "LPIPS_ROWS", 8)
    rng = np.random.default_rng(2)
    ref = rng.random((2, 120, 40, 3)).astype(np.float32)
    dis = np.clip(ref + rng.normal(0, 0.1, ref.shape), 0, 1).astype(np.float32)
    model = fp.lpips_network(net, pretrained_backbone=False, seed=3)
    with torch.no_grad():
        want = model(fp.to_tensor(dis), fp.to_tensor(ref), normalize=True).reshape(-1).numpy()
    np.testing.assert_allclose(fp.lpips_scores(model, ref, dis), want, rtol=0, atol=1e-6)


@pytest.mark.slow
def test_stage_by_stage_dists_equals_pyiqa_in_bands(monkeypatch):
    """The same for DISTS against pyiqa's DISTS.forward (means, variances, covariance)."""
    from vqabench.metrics.functional import perceptual as fp

    monkeypatch.setattr(fp, "LPIPS_ROWS", 8)
    rng = np.random.default_rng(4)
    ref = rng.random((2, 120, 40, 3)).astype(np.float32)
    dis = np.clip(ref + rng.normal(0, 0.1, ref.shape), 0, 1).astype(np.float32)
    model = fp.dists_network(pretrained_backbone=False, seed=5)
    with torch.no_grad():
        want = model(fp.to_tensor(dis), fp.to_tensor(ref)).reshape(-1).numpy()
    np.testing.assert_allclose(fp.dists_scores(model, ref, dis), want, rtol=0, atol=1e-6)


@pytest.mark.slow
def test_joint_bands_visit_every_first_stage_row_once_and_equal_the_two_stages():
    """pair_by_rows on VGG's first two slices: the visited rows of the first slice's output
    put together equal that output, and the result equals the two slices run whole."""
    from vqabench.metrics.functional.perceptual import lpips_network, pair_by_rows

    net = lpips_network("vgg", pretrained_backbone=False, seed=2).net
    gen = torch.Generator().manual_seed(1)
    x0, x1 = torch.rand(1, 3, 150, 30, generator=gen), torch.rand(1, 3, 150, 30, generator=gen)
    seen: list[tuple[torch.Tensor, torch.Tensor]] = []
    with torch.no_grad():
        y0, y1 = pair_by_rows(
            net.slice1, net.slice2, x0, x1, 8, lambda a, b: seen.append((a.clone(), b.clone()))
        )
        f0, f1 = net.slice1(x0), net.slice1(x1)
        want0, want1 = net.slice2(f0), net.slice2(f1)
    # bands of 8 rows of the second slice's output = 16 rows of the first's; the last band
    # is visited first (it sizes the outputs), then the others from the top
    tops = list(range(0, f0.shape[2], 16))
    assert len(seen) == len(tops) > 2
    for (a, b), top in zip(seen, tops[-1:] + tops[:-1], strict=True):
        for got, want in ((a, f0), (b, f1)):
            band = want[:, :, top : top + 16]
            assert got.shape == band.shape
            assert float((got - band).abs().max()) <= 1e-5 * float(want.abs().max())
    for got, want in ((y0, want0), (y1, want1)):
        assert got.shape == want.shape
        assert float((got - want).abs().max()) <= 1e-5 * float(want.abs().max())


def test_dists_moments_are_shifted_so_flat_and_offset_maps_keep_their_variance():
    """Hand-derived: a flat map has variance and covariance exactly 0; a map of 1000 + noise
    (float32) has the float64 variance and covariance of its own values. Float32 sums of
    x and x^2 without the shift lose the variance to cancellation (relative error ~0.1
    here)."""
    from vqabench.metrics.functional import perceptual as fp

    flat = fp._Moments()
    f = torch.full((1, 2, 40, 24), 0.7)
    flat.add(f, f)
    _, _, x_var, y_var, cov = flat.statistics()
    assert float(x_var.abs().max()) == 0 and float(y_var.abs().max()) == 0
    assert float(cov.abs().max()) == 0

    gen = torch.Generator().manual_seed(3)
    f0 = 1000 + torch.randn(2, 3, 150, 33, generator=gen)
    f1 = 1000 + 0.5 * f0 - 500 + torch.randn(2, 3, 150, 33, generator=gen)
    moments = fp._Moments()
    for top in (0, 70, 140):  # rows added in blocks, as the bands visit them
        moments.add(f0[:, :, top : top + 70], f1[:, :, top : top + 70])
    a, b = f0.double().flatten(2), f1.double().flatten(2)
    want = (
        a.mean(-1),
        b.mean(-1),
        a.var(-1, correction=0),
        b.var(-1, correction=0),
        ((a - a.mean(-1, keepdim=True)) * (b - b.mean(-1, keepdim=True))).mean(-1),
    )
    for got, ref in zip(moments.statistics(), want, strict=True):
        np.testing.assert_allclose(got.reshape(ref.shape).numpy(), ref.numpy(), rtol=1e-5)


@pytest.mark.slow
def test_dists_of_flat_frames_equals_pyiqa_in_float64(monkeypatch):
    """Flat and nearly flat frames (a fade to grey), where DISTS's texture term divides
    variances of about 0 by c2 = 1e-6: vqabench's banded float32 evaluation equals pyiqa's
    DISTS.forward run in float64 within 1e-6 (measured 3.3e-8). Float32 sums without the
    shift were off by 1.5e-5 here, pyiqa's own float32 forward by 3.6e-5."""
    import copy

    from vqabench.metrics.functional import perceptual as fp

    monkeypatch.setattr(fp, "LPIPS_ROWS", 8)
    ref = np.full((2, 72, 40, 3), 0.7, dtype=np.float32)
    dis = ref.copy()
    dis[1] += np.random.default_rng(0).normal(0, 1e-3, dis[1].shape).astype(np.float32)
    model = fp.dists_network(pretrained_backbone=False, seed=5)
    exact = copy.deepcopy(model).double()
    with torch.no_grad():
        want = exact(fp.to_tensor(dis).double(), fp.to_tensor(ref).double()).reshape(-1)
    got = fp.dists_scores(model, ref, dis)
    np.testing.assert_allclose(got, want.numpy(), rtol=0, atol=1e-6)


@pytest.mark.slow
def test_dists_does_not_trim_the_heap_after_each_band(monkeypatch):
    """The per-band heap trim cost about 10 % of DISTS's CPU time in page faults; DISTS trims
    after each band of the first two stages (12 here) and once per later stage and input
    (2 * 3), see reports/performance.md "Round 4: DISTS"; LPIPS keeps the per-band trim."""
    from vqabench.metrics.functional import perceptual as fp

    calls: list[int] = []
    monkeypatch.setattr(fp, "release_free_heap", lambda: calls.append(1) or True)
    monkeypatch.setattr(fp, "LPIPS_ROWS", 4)
    rng = np.random.default_rng(1)
    ref = rng.random((1, 96, 16, 3)).astype(np.float32)
    fp.dists_scores(fp.dists_network(pretrained_backbone=False, seed=0), ref, ref[:, ::-1])
    # per band it was 12 (first two stages) + 2 * 6 (third stage) = 24 here
    assert len(calls) == 12 + 2 * 3
    calls.clear()
    fp.lpips_scores(fp.lpips_network("vgg", pretrained_backbone=False, seed=0), ref, ref)
    assert calls  # LPIPS's bands still hand the heap back
