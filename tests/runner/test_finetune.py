"""``vqabench train codec`` end to end on a tiny folder dataset: co-located (S, R) clips
checked against an independent conversion of the source and of the kept reference, and the
checkpoint and card written by the CLI."""

from __future__ import annotations

import json

import numpy as np
import pytest

from tests.conftest import make_video
from vqabench.errors import CodecError

try:
    from vqabench.codecs.compressai_codec import _import_compressai

    _import_compressai()
except CodecError as exc:  # pragma: no cover - CI installs it (.ci/run)
    pytest.skip(str(exc), allow_module_level=True)

from vqabench import datasets
from vqabench.cli import main
from vqabench.datasets.patches import PatchSize
from vqabench.io.video import open_video, read_frames, yuv_to_rgb
from vqabench.runner.finetune import training_clips

pytestmark = pytest.mark.slow  # x264 references and torch models


def _rgb(video):
    return np.stack(
        [
            yuv_to_rgb(
                f, bit_depth=8, matrix=video.color_matrix, color_range=video.color_range
            ).transpose(2, 0, 1)
            for f in read_frames(video)
        ]
    ).astype(np.float32)


def test_clips_are_source_and_its_reference(tmp_path):
    make_video(tmp_path / "data" / "clip.y4m", width=64, height=64, frames=2, seed=7)
    seqs = datasets.load(str(tmp_path / "data"), work_dir=tmp_path / "w")
    s, r, data = training_clips(
        seqs, tmp_path / "w", reference="x264:qp=40", patch=PatchSize(64, 64, 2), clips_per_source=1
    )
    assert s.shape == r.shape == (1, 2, 3, 64, 64) and data["clips"] == 1
    # the patch is the whole video: S is the source in RGB, R the kept x264 decode
    np.testing.assert_allclose(s[0], _rgb(seqs[0].source), atol=1e-6)
    ref = open_video(tmp_path / "w" / "references" / "clip" / "x264_qp40.y4m")
    np.testing.assert_allclose(r[0], _rgb(ref), atol=1e-6)
    assert np.abs(s - r).mean() > 1e-3  # R is compressed


def test_train_codec_cli_writes_a_checkpoint_and_card(tmp_path, capsys):
    make_video(tmp_path / "data" / "clip.y4m", width=64, height=64, frames=2, seed=8)
    out = tmp_path / "ft"
    with pytest.raises(SystemExit) as done:
        main(
            [
                "train",
                "codec",
                "compressai:model=bmshj2018-factorized:checkpoint=random",
                "--quality",
                "1",
                "--loss",
                "mse",
                "--iterations",
                "1",
                "--batch",
                "1",
                "--dataset",
                str(tmp_path / "data"),
                "--size",
                "64x64",
                "--frames",
                "2",
                "--patch",
                "64x64x2",
                "--clips-per-source",
                "1",
                "--out",
                str(out),
            ]
        )
    assert done.value.code == 0, capsys.readouterr().err
    assert (out / "1.pth").is_file() and (out / "1.md").is_file()
    card = json.loads((out / "1.json").read_text())
    assert card["command"].startswith(
        "vqabench train codec compressai:model=bmshj2018-factorized:checkpoint=random --out "
    )
    assert "--iterations 1 " in card["command"] and "--lr 0.0001" in card["command"]
    assert card["options"]["loss"] == "mse" and card["options"]["alpha"] == 0.0
    assert card["data"]["sources"] == ["clip"] and card["data"]["reference"] == "x264:qp=37"
    assert f"wrote {out / '1.pth'}" in capsys.readouterr().out
