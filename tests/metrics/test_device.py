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
    with pytest.raises(ConfigError, match=rf"device='{device}' is not available: torch .* "
                                          r"sees 0 CUDA device\(s\); use device='auto' or 'cpu'"):
        resolve_device(device)


@pytest.mark.parametrize("device", ["gpu", "CUDA", "cuda:", "cuda:x", "", None, 0])
def test_bad_device_names_the_allowed_values(device):
    with pytest.raises(ConfigError, match=r"device=.* is not allowed.*auto \| cpu \| cuda"):
        resolve_device(device)
