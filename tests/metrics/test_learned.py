"""pt_loss / rankdvqa_ugc metrics: whole-video tiling and soft-minimum pooling, checked
against the model applied by hand to patches cut with numpy slicing."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from tests.conftest import add_noise, make_video
from tests.models.test_ranking import SMALL, make_pairs_dir
from vqabench import metrics
from vqabench.errors import MetricError, WeightsUnavailableError
from vqabench.io.video import read_frames, yuv_to_rgb
from vqabench.models import load_checkpoint
from vqabench.models.ranking import train


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory):
    root = tmp_path_factory.mktemp("pairs")
    make_pairs_dir(root, n_sources=3)
    out = root / "pt.pt"
    torch.manual_seed(0)
    train("pt_loss", root, out, epochs=1, steps_per_epoch=1, batch_size=2, device="cpu",
          **SMALL)
    return out


def _clip(video):
    frames = [np.rint(yuv_to_rgb(f) * 255) / 255 for f in read_frames(video)]
    return np.stack(frames).astype(np.float32)  # (T, H, W, 3)


def test_value_equals_hand_tiled_model_scores(checkpoint, tmp_path):
    ref = make_video(tmp_path / "r.y4m", width=64, height=64, frames=8)
    dis = add_noise(ref, tmp_path / "d.y4m", sigma=6)
    metric = metrics.create("pt_loss", checkpoint=str(checkpoint), patch="32x32x4",
                            temperature=0.5)
    got = metric.compute(reference=ref, distorted=dis)
    model = load_checkpoint(checkpoint)
    r, d = _clip(ref), _clip(dis)
    scores = []
    with torch.no_grad():
        for t in (0, 4):
            for y in (0, 32):
                for x in (0, 32):
                    def cut(a, t=t, y=y, x=x):
                        return torch.from_numpy(a[t:t + 4, y:y + 32, x:x + 32]).permute(
                            3, 0, 1, 2)[None]
                    scores.append(float(model(cut(r), cut(d))))
    s = np.array(scores)
    w = np.exp(-s / 0.5) / np.exp(-s / 0.5).sum()
    assert got.value == pytest.approx(float((w * s).sum()), rel=1e-5)
    assert metric.higher_is_better and metric.kind == "full-reference"


def test_checkpoint_is_part_of_the_key_and_errors(checkpoint, tmp_path):
    a = metrics.create("pt_loss", checkpoint=str(checkpoint)).spec
    assert "weights_sha256" in a and a != metrics.create("pt_loss", checkpoint="x.pt").spec
    ref = make_video(tmp_path / "r.y4m", width=32, height=32, frames=4)
    with pytest.raises(MetricError, match="smaller than one 64x64x12 patch"):
        metrics.create("pt_loss", checkpoint=str(checkpoint)).compute(ref, ref)
    with pytest.raises(WeightsUnavailableError, match="missing.pt"):
        metrics.create("pt_loss", checkpoint=str(tmp_path / "missing.pt"),
                       patch="32x32x4").compute(ref, ref)
