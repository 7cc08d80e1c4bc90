"""vqabench/models/checkpoints.py, and the light half of vqabench.models it completes."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import vqabench
import vqabench.models as models
from vqabench.models import checkpoints


def test_listing_models_imports_no_torch():
    code = (
        "import sys, vqabench.models as m; names = m.available(); "
        "m.checkpoint_path('pt_loss'); print(names, 'torch' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "['pt_loss', 'rankdvqa_ugc'] False"


def test_every_registered_model_ships_a_checkpoint_in_the_package():
    weights = Path(vqabench.__file__).parent / "models" / "weights"
    assert models.available() == sorted(p.stem for p in weights.glob("*.pt"))
    for name in models.available():
        assert models.checkpoint_path(name) == weights / f"{name}.pt"


def test_the_package_exports_are_this_modules_objects():
    assert models.load_checkpoint is checkpoints.load_checkpoint
    assert models.PerceptualLoss is checkpoints.PerceptualLoss
    net = models.load_checkpoint("pt_loss")
    assert type(net) is models.MODELS.get("pt_loss") and not net.training
