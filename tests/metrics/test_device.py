"""device=auto|cpu|cuda for torch-based metrics: resolution and typed errors (CPU-only here)."""

from __future__ import annotations

import pytest
import torch

from vqabench.errors import ConfigError
from vqabench.metrics.device import resolve_device

no_cuda = pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has CUDA")


@no_cuda
def test_auto_is_cpu_without_cuda():
    assert resolve_device("auto") == torch.device("cpu")
    assert resolve_device("cpu") == torch.device("cpu")


@no_cuda
@pytest.mark.parametrize("device", ["cuda", "cuda:0"])
def test_cuda_without_cuda_is_a_clear_error(device):
    with pytest.raises(
        ConfigError,
        match=rf"device='{device}' is not available: torch .* "
        r"sees 0 CUDA device\(s\); use device='auto' or 'cpu'",
    ):
        resolve_device(device)


@pytest.mark.parametrize("device", ["gpu", "CUDA", "cuda:", "cuda:x", "", None, 0])
def test_bad_device_names_the_allowed_values(device):
    with pytest.raises(ConfigError, match=r"device=.* is not allowed.*auto \| cpu \| cuda"):
        resolve_device(device)


def test_network_options_checked_once_for_every_network_metric():
    from vqabench import metrics
    from vqabench.metrics.device import check_bool, check_network_options, seed_option

    check_network_options(None, 0)
    check_network_options(4, 7)
    for batch_size, seed, bad in (
        (0, 0, "batch_size=0"),
        (True, 0, "batch_size=True"),
        (2, 1.5, "seed=1.5"),
        (2, False, "seed=False"),
    ):
        with pytest.raises(ConfigError, match=bad):
            check_network_options(batch_size, seed)
    assert check_bool("normalize", False) is False
    with pytest.raises(ConfigError, match="normalize='yes'.*True or False"):
        check_bool("normalize", "yes")
    assert seed_option(True, 3) == {} and seed_option(False, 3) == {"seed": 3}
    lpips = metrics.create("lpips", pretrained_backbone=False, seed=5)
    assert list(lpips.options.items()) == [
        ("net", "alex"),
        ("pretrained_backbone", False),
        ("pooling", "mean"),
        ("seed", 5),
    ]
