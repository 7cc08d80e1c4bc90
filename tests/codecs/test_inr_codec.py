"""vqabench/codecs/inr_codec.py: the inr codec class, importable without torch."""

from __future__ import annotations

import sys

import pytest


@pytest.mark.slow
def test_inr_states_torchs_own_version_without_importing_it(monkeypatch):
    """The torch version in inr's codec version (and so in its job keys) is read from
    torch/version.py while torch is not imported: the same text as ``torch.__version__``,
    build tag included (the wheel's metadata drops it)."""
    import torch

    from vqabench.codecs.inr_codec import torch_version

    monkeypatch.delitem(sys.modules, "torch")
    assert torch_version() == torch.__version__
