"""make-pairs as runner jobs: byte-identical outputs to the pre-runner implementation
(tests/expected/make_pairs_small.json), kill -9 at three points then resume, Dask equals
local, status; the full default ladder, labels re-computed independently with ffmpeg's
crop + libvmaf filters, determinism, resuming, the ranking reader."""

from __future__ import annotations

import hashlib
import json
import sqlite3
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from tests.conftest import kill_when, store_rows
from vqabench import datasets
from vqabench.cli import main
from vqabench.datasets.patches import MANIFEST_COLUMNS, PatchSize, read_manifest
from vqabench.errors import ConfigError
from vqabench.experiment import parse_codec_spec, parse_reference_spec
from vqabench.io.ffmpeg import run_ffmpeg
from vqabench.runner.pairs import make_pairs, pairs_status

SMALL_REF = parse_reference_spec("x264:qp=37")
SMALL_LADDER = [parse_codec_spec("x264:qp=40"), parse_codec_spec("vp9:qp=53")]
GOLDEN = Path(__file__).parents[1] / "expected" / "make_pairs_small.json"
# the golden case, as `vqabench make-pairs` arguments (see GOLDEN's "command")
GOLDEN_ARGS = [
    "--dataset",
    "mini",
    "--frames",
    "12",
    "--size",
    "64x64",
    "--sources",
    "BigBuckBunny,Bikes",
    "--patch",
    "32x32x8",
    "--patches-per-video",
    "2",
    "--seed",
    "3",
    "--reference",
    "x264:qp=37",
    "--transcode",
    "x264:qp=40",
    "--transcode",
    "vp9:qp=53",
]


@pytest.fixture(scope="module")
def mini64(tmp_path_factory: pytest.TempPathFactory) -> list[datasets.Sequence]:
    return datasets.load(
        "mini", frames=12, size=(64, 64), work_dir=tmp_path_factory.mktemp("mini64")
    )


def _golden_case(seqs: list[datasets.Sequence], out: Path, **kw: object):
    return make_pairs(
        seqs[:2],
        out,
        patch=PatchSize(32, 32, 8),
        patches_per_video=2,
        seed=3,
        reference=SMALL_REF,
        transcodes=SMALL_LADDER,
        **kw,
    )


def _digests(out: Path) -> dict[str, str]:
    return {
        p.relative_to(out).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(out.rglob("*"))
        if p.is_file() and p.suffix == ".npz"
    }


def _assert_golden(out: Path) -> None:
    """Every patch byte for byte as pinned at e889f54; the manifest's columns exactly, except
    libvmaf's labels, which differ in their last printed digits between CPUs: those within
    the golden's ``labels_atol`` (see its ``manifest.note``)."""
    import csv

    golden = json.loads(GOLDEN.read_text())
    assert _digests(out) == golden["sha256"]
    pinned = golden["manifest"]
    labels = pinned["label_columns"]
    with open(out / "manifest.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    exact = "".join(",".join(v for k, v in r.items() if k not in labels) + "\n" for r in rows)
    assert hashlib.sha256(exact.encode()).hexdigest() == pinned["exact_columns_sha256"]
    assert [r["file"] for r in rows] == list(pinned["labels"])
    for r in rows:
        np.testing.assert_allclose(
            [float(r[c]) for c in labels],
            pinned["labels"][r["file"]],
            rtol=0,
            atol=pinned["labels_atol"],
            err_msg=r["file"],
        )


@pytest.mark.slow
def test_outputs_are_byte_identical_to_the_pre_runner_implementation(tmp_path, mini64):
    """Every patch equals, byte for byte, what datasets/patches.py wrote before make-pairs
    became runner jobs (sha256 pinned at commit e889f54), and so does the manifest but for
    libvmaf's last digits (:func:`_assert_golden`)."""
    progress = []
    result = _golden_case(
        mini64,
        tmp_path / "pairs",
        jobs=2,
        progress=lambda done, total: progress.append((done, total)),
    )
    _assert_golden(tmp_path / "pairs")
    assert (result.pairs, result.units, result.computed, result.references) == (8, 4, 4, 2)
    assert progress[0] == (0, 6) and progress[-1] == (6, 6)  # 2 references + 4 units
    assert [d for d, _ in progress] == sorted(d for d, _ in progress)
    assert pairs_status(tmp_path / "pairs") == {"total": 6, "done": 6, "pending": 0}
    assert not (tmp_path / "pairs" / "work").exists()


@pytest.mark.slow
def test_dask_gives_the_local_executors_bytes(tmp_path, mini64):
    pytest.importorskip("distributed")
    from vqabench.runner.executors import make_executor

    with make_executor("dask") as execute:
        result = _golden_case(mini64, tmp_path / "dask", jobs=2, executor=execute)
    assert result.computed == 4
    _assert_golden(tmp_path / "dask")


def _pair_jobs(store: Path) -> int:
    return store_rows(store, "pair_jobs")


@pytest.mark.slow
def test_kill_9_at_three_points_then_resume_equals_an_uninterrupted_run(tmp_path):
    """Killed while the references run, after them, and among the units; then resumed."""
    out = tmp_path / "pairs"
    cmd = [
        sys.executable,
        "-m",
        "vqabench",
        "make-pairs",
        *GOLDEN_ARGS,
        "--out",
        str(out),
        "--jobs",
        "2",
        "--work-dir",
        str(tmp_path / "sources"),
    ]
    for rows in (0, 2, 3):
        store = out / "store.sqlite"
        kill_when(cmd, lambda: store.is_file() and _pair_jobs(store) >= rows)  # noqa: B023
        assert _pair_jobs(out / "store.sqlite") < 6
    done = subprocess.run([*cmd, "--json"], capture_output=True, text=True, check=True)
    result = json.loads(done.stdout)
    assert result["computed"] + result["reused"] == result["units"] == 4
    assert result["reused"] >= 1  # the kills left finished units that were not redone
    _assert_golden(out)
    assert not (out / "work").exists()
    assert not [p for p in out.rglob("*") if p.name.startswith((".tmp-", ".ref-"))]


@pytest.mark.slow
def test_status_of_a_pairs_folder(tmp_path, mini64, capsys):
    out = tmp_path / "pairs"
    with pytest.raises(ConfigError, match="a make-pairs folder"):
        pairs_status(out)
    make_pairs(
        mini64[:1],
        out,
        patch=PatchSize(32, 32, 8),
        reference=SMALL_REF,
        transcodes=SMALL_LADDER[:1],
    )
    with sqlite3.connect(out / "store.sqlite") as db:
        db.execute("DELETE FROM pair_jobs WHERE kind = 'unit'")
    with pytest.raises(SystemExit) as exit_info:
        main(["status", str(out)])
    assert exit_info.value.code == 1
    assert f"{out}: 2 make-pairs jobs: 1 done, 1 pending" in capsys.readouterr().out


@pytest.mark.slow
def test_full_default_ladder_and_resume(tmp_path, mini64):
    """One source, 64x64x12 patches: 3 references x 18 transcodes, read by ranking.py."""
    out = tmp_path / "pairs"
    result = make_pairs(mini64[1:2], out, patch=PatchSize(64, 64, 12), jobs=2)
    rows = read_manifest(out)
    assert (result.pairs, result.units, result.computed, result.references) == (54, 54, 54, 3)
    assert list(rows[0]) == list(MANIFEST_COLUMNS)
    expected = {
        (f"x264:qp={r}", codec, str(q))
        for r in (30, 37, 42)
        for codec, qps in (
            ("x264", range(32, 43, 2)),
            ("aom-av1", range(38, 64, 5)),
            ("vp9", range(38, 64, 5)),
        )
        for q in qps
    }
    assert {(r["reference"], r["codec"], r["qp"]) for r in rows} == expected
    assert {r["reference"]: r["group"] for r in rows} == {
        "x264:qp=30": "High",
        "x264:qp=37": "Medium",
        "x264:qp=42": "Low",
    }
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


def _libvmaf(
    source: Path, distorted: Path, x: int, y: int, t0: int, patch: PatchSize, log: Path
) -> float:
    """VMAF of the co-located patch clip straight from ffmpeg's crop and libvmaf filters."""
    cut = (
        f"trim=start_frame={t0}:end_frame={t0 + patch.frames},setpts=PTS-STARTPTS,"
        f"crop={patch.width}:{patch.height}:{x}:{y}"
    )
    run_ffmpeg(
        [
            "-i",
            distorted,
            "-i",
            source,
            "-lavfi",
            f"[0:v]{cut}[d];[1:v]{cut}[s];[d][s]libvmaf=model=version=vmaf_v0.6.1:"
            f"log_fmt=json:log_path={log}",
            "-f",
            "null",
            "-",
        ]
    )
    data = json.loads(log.read_text())
    assert len(data["frames"]) == patch.frames
    return float(data["pooled_metrics"]["vmaf"]["mean"])


@pytest.mark.slow
def test_labels_match_ffmpeg_libvmaf_on_cropped_patches(tmp_path):
    seq = datasets.load("mini", frames=14, size=(96, 80), work_dir=tmp_path)[2]
    out = tmp_path / "pairs"
    patch = PatchSize(32, 32, 8)
    make_pairs(
        [seq],
        out,
        patch=patch,
        patches_per_video=2,
        seed=5,
        reference=SMALL_REF,
        transcodes=SMALL_LADDER,
        keep_videos=True,
    )
    rows = read_manifest(out)
    assert len(rows) == 4
    assert len({(r["x"], r["y"], r["t0"]) for r in rows}) == 4  # positions differ
    for k, row in enumerate(rows[::2] + rows[1:2]):
        x, y, t0 = int(row["x"]), int(row["y"]), int(row["t0"])
        assert x % 2 == 0 and y % 2 == 0 and x + 32 <= 96 and y + 32 <= 80 and t0 + 8 <= 14
        uid = row["file"].removeprefix("patches/").rsplit("_p", 1)[0]
        expected = _libvmaf(
            seq.source.path,
            out / "videos" / f"{uid}.y4m",
            x,
            y,
            t0,
            patch,
            tmp_path / f"vmaf{k}.json",
        )
        assert float(row["vmaf_sd"]) == pytest.approx(expected, abs=1e-3)
        assert float(row["vmaf_sd"]) != pytest.approx(float(row["video_vmaf_sd"]), abs=1e-3)


@pytest.mark.slow
def test_same_seed_same_manifest_any_jobs(tmp_path, mini64):
    kw = dict(
        patch=PatchSize(32, 32, 8),
        patches_per_video=2,
        reference=SMALL_REF,
        transcodes=SMALL_LADDER,
    )
    a = make_pairs(mini64[:2], tmp_path / "a", seed=3, jobs=1, **kw)
    b = make_pairs(mini64[:2], tmp_path / "b", seed=3, jobs=2, **kw)
    assert a.pairs == b.pairs == 8
    assert (tmp_path / "a" / "manifest.csv").read_bytes() == (
        tmp_path / "b" / "manifest.csv"
    ).read_bytes()
    with pytest.raises(ConfigError, match=r"other options \(differ: seed\)"):
        make_pairs(mini64[:2], tmp_path / "a", seed=4, jobs=1, **kw)
    # another seed moves the patches of the same unit
    make_pairs(mini64[:1], tmp_path / "c", seed=4, **(kw | {"transcodes": SMALL_LADDER[:1]}))
    pos = [[(r["x"], r["y"], r["t0"]) for r in read_manifest(tmp_path / d)][:2] for d in "ac"]
    assert pos[0] != pos[1]


@pytest.mark.slow
def test_resume_after_partial_run(tmp_path, mini64):
    out = tmp_path / "pairs"
    kw = dict(patch=PatchSize(32, 32, 8), reference=SMALL_REF, transcodes=SMALL_LADDER)
    full = make_pairs(mini64[:1], out, **kw)
    first_bytes = (out / "manifest.csv").read_bytes()
    with sqlite3.connect(out / "store.sqlite") as db:
        units = db.execute("SELECT key FROM pair_jobs WHERE kind = 'unit' ORDER BY uid").fetchall()
        assert len(units) == full.units == 2
        # as if the run had been killed before the last unit was committed
        db.execute("DELETE FROM pair_jobs WHERE key = ?", units[1])
    again = make_pairs(mini64[:1], out, **kw)
    assert (again.computed, again.reused, again.references) == (1, 1, 1)
    assert (out / "manifest.csv").read_bytes() == first_bytes


def test_patch_larger_than_video(tmp_path, mini64):
    with pytest.raises(
        ConfigError,
        match=r"patch='128x64x12' .*no larger than the video "
        r"'BigBuckBunny' \(64x64x12\)",
    ):
        make_pairs(mini64[:1], tmp_path, patch=PatchSize(128, 64, 12))
    with pytest.raises(ConfigError, match=r"patch='64x64x13'"):
        make_pairs(mini64[:1], tmp_path, patch=PatchSize(64, 64, 13))
    with pytest.raises(ConfigError, match="multiple of 2"):
        make_pairs(mini64[:1], tmp_path, patch=PatchSize(33, 32, 4))


# --- off-codec D (defects) ----------------------------------------------------------------


def _luma_gain(matrix: str) -> float:
    """Std of Y (8-bit limited-range code values) per unit of RGB noise std (code values):
    Y = 219 (kr R + kg G + kb B) + 16, each channel's noise independent, so the std is
    219/255 * sqrt(kr^2 + kg^2 + kb^2) (BT.709: kr 0.2126, kb 0.0722; BT.601: 0.299,
    0.114)."""
    kr, kb = {"bt709": (0.2126, 0.0722), "bt601": (0.299, 0.114)}[matrix]
    return 219 / 255 * float(np.sqrt(kr**2 + (1 - kr - kb) ** 2 + kb**2))


@pytest.mark.slow
def test_defect_units_are_r_with_the_defect_labelled_by_libvmaf(tmp_path):
    from vqabench.datasets.patches import clip_frames
    from vqabench.io.video import open_video, read_all, yuv_to_rgb
    from vqabench.runner.pairs import parse_defect_spec

    seq = datasets.load("mini", frames=12, size=(96, 80), work_dir=tmp_path)[2]
    out = tmp_path / "pairs"
    patch = PatchSize(32, 32, 8)
    result = make_pairs(
        [seq],
        out,
        patch=patch,
        patches_per_video=2,
        seed=5,
        reference=SMALL_REF,
        transcodes=SMALL_LADDER[:1],
        keep_videos=True,
        defects=[parse_defect_spec("noise=12"), parse_defect_spec("blur=1.5,3")],
    )
    rows = read_manifest(out)
    assert (result.units, result.pairs) == (4, 8)
    assert [(r["codec"], r["rate_point"], r["qp"], r["kbps"]) for r in rows[::2]] == [
        ("x264", "qp=40", "40", rows[0]["kbps"]),
        ("noise", "noise=12", "", ""),
        ("blur", "blur=1.5", "", ""),
        ("blur", "blur=3", "", ""),
    ]
    ref_dir = out / "videos" / seq.name / "x264_qp37"
    ref_video = open_video(ref_dir.with_suffix(".y4m"))
    assert ref_video.color_range == "limited"
    reference = read_all(ref_video)
    noisy = read_all(open_video(ref_dir / "noise_12.y4m"))
    # white RGB noise of std 12 code values: hand-derived luma std, plus rounding (1/12),
    # on pixels whose RGB is far enough from 0 and 1 not to be clipped
    rgb = np.stack([yuv_to_rgb(f, matrix=ref_video.color_matrix) for f in clip_frames(reference)])
    inside = np.all((rgb > 0.2) & (rgb < 0.8), axis=-1)
    residual = noisy.y.astype(float) - reference.y.astype(float)
    expected = np.sqrt((12 * _luma_gain(ref_video.color_matrix)) ** 2 + 1 / 12)
    assert inside.sum() > 20_000
    assert residual[inside].std() == pytest.approx(expected, rel=0.03)
    assert abs(residual[inside].mean()) < 0.2
    # the labels are libvmaf's on the co-located patch of S and the kept D
    for k, row in enumerate(rows[2:]):
        uid = row["file"].removeprefix("patches/").rsplit("_p", 1)[0]
        expected_vmaf = _libvmaf(
            seq.source.path,
            out / "videos" / f"{uid}.y4m",
            int(row["x"]),
            int(row["y"]),
            int(row["t0"]),
            patch,
            tmp_path / f"vmaf{k}.json",
        )
        assert float(row["vmaf_sd"]) == pytest.approx(expected_vmaf, abs=1e-3)
    # stronger blur, lower VMAF(S, D), on every patch position and the whole video
    blur = {r["rate_point"]: r for r in rows[4:]}
    assert float(blur["blur=3"]["video_vmaf_sd"]) < float(blur["blur=1.5"]["video_vmaf_sd"])
    assert pairs_status(out) == {"total": 5, "done": 5, "pending": 0}


def test_a_unit_gain_is_r_itself(tmp_path, mini64):
    """A defect that changes nothing (gain 1) gives R's bytes back, though the RGB round
    trip of a coded clip alone is not exact (gamut clipping)."""
    from vqabench.io.video import read_all
    from vqabench.runner.pairs import _defect_video

    source = mini64[0].source
    d = _defect_video(source, "under", 1.0, np.random.default_rng(0), tmp_path / "d.y4m")
    a, b = read_all(source), read_all(d)
    for plane in ("y", "u", "v"):
        np.testing.assert_array_equal(getattr(a, plane), getattr(b, plane))


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("noise", "NAME=A,B,... with NAME one of noise, blur, under, over"),
        ("fog=1", "NAME one of"),
        ("noise=-1", "noise= followed by positive numbers"),
        ("blur=a,2", "blur= followed by positive numbers"),
        ("noise=nan", "positive numbers"),
    ],
)
def test_bad_defect_specs(text, match):
    from vqabench.runner.pairs import parse_defect_spec

    with pytest.raises(ConfigError, match=match) as info:
        parse_defect_spec(text)
    assert repr(text) in str(info.value) or text in str(info.value)


def test_a_defect_named_twice_is_refused(tmp_path, mini64):
    from vqabench.runner.pairs import parse_defect_spec

    with pytest.raises(ConfigError, match="each defect once"):
        make_pairs(
            mini64[:1],
            tmp_path,
            patch=PatchSize(32, 32, 8),
            defects=[parse_defect_spec("noise=4"), parse_defect_spec("noise=8")],
        )
