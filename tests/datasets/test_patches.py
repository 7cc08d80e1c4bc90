"""Patch-pair generation: the full default ladder, labels re-computed independently with
ffmpeg's crop + libvmaf filters, determinism, resuming, the ranking reader, splits."""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np
import pytest

from vqabench import datasets
from vqabench.config import parse_codec_spec, parse_reference_spec
from vqabench.datasets.patches import (
    MANIFEST_COLUMNS,
    PatchSize,
    make_pairs,
    read_manifest,
    sample_positions,
    split_by_source,
)
from vqabench.errors import ConfigError
from vqabench.io.ffmpeg import run_ffmpeg

SMALL_REF = parse_reference_spec("x264:qp=37")
SMALL_LADDER = [parse_codec_spec("x264:qp=40"), parse_codec_spec("vp9:qp=53")]


@pytest.fixture(scope="module")
def mini64(tmp_path_factory: pytest.TempPathFactory) -> list[datasets.Sequence]:
    return datasets.load("mini", frames=12, size=(64, 64),
                         work_dir=tmp_path_factory.mktemp("mini64"))


def test_full_default_ladder_and_resume(tmp_path, mini64):
    """One source, 64x64x12 patches: 3 references x 18 transcodes, read by ranking.py."""
    out = tmp_path / "pairs"
    result = make_pairs(mini64[1:2], out, patch=PatchSize(64, 64, 12), jobs=2)
    rows = read_manifest(out)
    assert (result.pairs, result.units, result.computed, result.references) == (54, 54, 54, 3)
    assert list(rows[0]) == list(MANIFEST_COLUMNS)
    expected = {(f"x264:qp={r}", codec, str(q)) for r in (30, 37, 42)
                for codec, qps in (("x264", range(32, 43, 2)), ("aom-av1", range(38, 64, 5)),
                                   ("vp9", range(38, 64, 5))) for q in qps}
    assert {(r["reference"], r["codec"], r["qp"]) for r in rows} == expected
    assert {r["reference"]: r["group"] for r in rows} == {
        "x264:qp=30": "High", "x264:qp=37": "Medium", "x264:qp=42": "Low"}
    # the patch is the whole video: patch values are the video values
    assert all(r["vmaf_sd"] == r["video_vmaf_sd"] for r in rows)
    by_key = {(r["reference"], r["codec"], int(r["qp"])): r for r in rows}
    for ref in ("x264:qp=30", "x264:qp=37", "x264:qp=42"):
        for codec, lo, hi in (("x264", 32, 42), ("vp9", 38, 63), ("aom-av1", 38, 63)):
            low_q, high_q = by_key[(ref, codec, hi)], by_key[(ref, codec, lo)]
            assert float(low_q["vmaf_sd"]) < float(high_q["vmaf_sd"])
            assert float(low_q["kbps"]) < float(high_q["kbps"])
    # D is closer to its input R than to S
    assert np.mean([float(r["psnr_rd"]) > float(r["psnr_sd"]) for r in rows]) > 0.9
    with np.load(out / rows[0]["file"]) as npz:
        assert npz["reference"].shape == npz["distorted"].shape == (12, 64, 64, 3)
        assert npz["reference"].dtype == np.uint8
    assert not (out / "work").exists()

    manifest_bytes = (out / "manifest.csv").read_bytes()
    stamp = (out / rows[0]["file"]).stat().st_mtime_ns
    again = make_pairs(mini64[1:2], out, patch=PatchSize(64, 64, 12), jobs=2)
    assert (again.computed, again.reused, again.references) == (0, 54, 0)
    assert (out / "manifest.csv").read_bytes() == manifest_bytes
    assert (out / rows[0]["file"]).stat().st_mtime_ns == stamp

    from vqabench.models.ranking import PairsDataset

    data = PairsDataset(out)
    ref, dist = data[0]
    assert len(data) == 54 and tuple(ref.shape) == tuple(dist.shape) == (3, 12, 64, 64)
    np.testing.assert_allclose(data.vmaf_sd, [float(r["vmaf_sd"]) for r in rows])


def _libvmaf(source: Path, distorted: Path, x: int, y: int, t0: int, patch: PatchSize,
             log: Path) -> float:
    """VMAF of the co-located patch clip straight from ffmpeg's crop and libvmaf filters."""
    cut = (f"trim=start_frame={t0}:end_frame={t0 + patch.frames},setpts=PTS-STARTPTS,"
           f"crop={patch.width}:{patch.height}:{x}:{y}")
    run_ffmpeg(["-i", distorted, "-i", source, "-lavfi",
                f"[0:v]{cut}[d];[1:v]{cut}[s];[d][s]libvmaf=model=version=vmaf_v0.6.1:"
                f"log_fmt=json:log_path={log}", "-f", "null", "-"])
    data = json.loads(log.read_text())
    assert len(data["frames"]) == patch.frames
    return float(data["pooled_metrics"]["vmaf"]["mean"])


def test_labels_match_ffmpeg_libvmaf_on_cropped_patches(tmp_path):
    seq = datasets.load("mini", frames=14, size=(96, 80), work_dir=tmp_path)[2]
    out = tmp_path / "pairs"
    patch = PatchSize(32, 32, 8)
    make_pairs([seq], out, patch=patch, patches_per_video=2, seed=5, reference=SMALL_REF,
               transcodes=SMALL_LADDER, keep_videos=True)
    rows = read_manifest(out)
    assert len(rows) == 4
    assert len({(r["x"], r["y"], r["t0"]) for r in rows}) == 4  # positions differ
    for k, row in enumerate(rows[::2] + rows[1:2]):
        x, y, t0 = int(row["x"]), int(row["y"]), int(row["t0"])
        assert x % 2 == 0 and y % 2 == 0 and x + 32 <= 96 and y + 32 <= 80 and t0 + 8 <= 14
        uid = row["file"].removeprefix("patches/").rsplit("_p", 1)[0]
        expected = _libvmaf(seq.source.path, out / "videos" / f"{uid}.y4m", x, y, t0, patch,
                            tmp_path / f"vmaf{k}.json")
        assert float(row["vmaf_sd"]) == pytest.approx(expected, abs=1e-3)
        assert float(row["vmaf_sd"]) != pytest.approx(float(row["video_vmaf_sd"]), abs=1e-3)


def test_same_seed_same_manifest_any_jobs(tmp_path, mini64):
    kw = dict(patch=PatchSize(32, 32, 8), patches_per_video=2, reference=SMALL_REF,
              transcodes=SMALL_LADDER)
    a = make_pairs(mini64[:2], tmp_path / "a", seed=3, jobs=1, **kw)
    b = make_pairs(mini64[:2], tmp_path / "b", seed=3, jobs=2, **kw)
    assert a.pairs == b.pairs == 8
    assert (tmp_path / "a" / "manifest.csv").read_bytes() == (
        tmp_path / "b" / "manifest.csv").read_bytes()
    with pytest.raises(ConfigError, match=r"other options \(differ: seed\)"):
        make_pairs(mini64[:2], tmp_path / "a", seed=4, jobs=1, **kw)
    # another seed moves the patches of the same unit
    make_pairs(mini64[:1], tmp_path / "c", seed=4, **(kw | {"transcodes": SMALL_LADDER[:1]}))
    pos = [[(r["x"], r["y"], r["t0"]) for r in read_manifest(tmp_path / d)][:2] for d in "ac"]
    assert pos[0] != pos[1]


def test_resume_after_partial_run(tmp_path, mini64):
    out = tmp_path / "pairs"
    kw = dict(patch=PatchSize(32, 32, 8), reference=SMALL_REF, transcodes=SMALL_LADDER)
    full = make_pairs(mini64[:1], out, **kw)
    first_bytes = (out / "manifest.csv").read_bytes()
    records = sorted((out / "units").rglob("*.json"))
    assert len(records) == full.units == 2
    records[1].unlink()  # as if the run had been killed before the last unit finished
    time.sleep(0.01)
    seen = []
    again = make_pairs(mini64[:1], out, **kw, progress=lambda d, t: seen.append((d, t)))
    assert (again.computed, again.reused, again.references) == (1, 1, 1)
    assert (out / "manifest.csv").read_bytes() == first_bytes
    assert seen == [(1, 2), (2, 2)]  # progress hook: the reference, then the missing unit


def test_patch_larger_than_video(tmp_path, mini64):
    with pytest.raises(ConfigError, match=r"patch='128x64x12' .*no larger than the video "
                                          r"'BigBuckBunny' \(64x64x12\)"):
        make_pairs(mini64[:1], tmp_path, patch=PatchSize(128, 64, 12))
    with pytest.raises(ConfigError, match=r"patch='64x64x13'"):
        make_pairs(mini64[:1], tmp_path, patch=PatchSize(64, 64, 13))
    with pytest.raises(ConfigError, match="multiple of 2"):
        make_pairs(mini64[:1], tmp_path, patch=PatchSize(33, 32, 4))


def test_patch_parse_and_positions(mini64):
    assert PatchSize.parse("256x128x12") == PatchSize(256, 128, 12)
    with pytest.raises(ConfigError, match="WIDTHxHEIGHTxFRAMES"):
        PatchSize.parse("256x256")
    rng = np.random.default_rng(0)
    pos = sample_positions(rng, mini64[0].source, PatchSize(16, 16, 4), 500)
    xs, ys, ts = np.array(pos).T
    assert xs.min() == 0 and xs.max() == 48 and set(xs % 2) == {0}
    assert ys.max() == 48 and ts.min() == 0 and ts.max() == 8


def test_split_by_source():
    rows = [{"source": f"s{i}", "file": f"{i}_{k}.npz"} for i in range(10) for k in range(3)]
    parts = split_by_source(rows, fractions=(0.7, 0.15, 0.15), seed=0)
    src = {k: {r["source"] for r in v} for k, v in parts.items()}
    assert [len(src[k]) for k in ("train", "val", "test")] == [6, 2, 2]
    assert not (src["train"] & src["val"] or src["train"] & src["test"] or
                src["val"] & src["test"])
    assert sum(len(v) for v in parts.values()) == 30
    assert split_by_source(rows, seed=0) == parts
    assert split_by_source(rows, seed=1) != parts
    two = split_by_source(rows[:6], fractions=(0.7, 0.15, 0.15), seed=0)
    assert [len({r["source"] for r in two[k]}) for k in ("train", "val", "test")] == [1, 1, 0]
    with pytest.raises(ConfigError, match="summing to 1"):
        split_by_source(rows, fractions=(0.5, 0.2, 0.2))
