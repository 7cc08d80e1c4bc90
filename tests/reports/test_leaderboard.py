"""Tests for vqabench.reports.leaderboard: one value per cell and a provenance sidecar."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pandas as pd
import pytest

from vqabench import __version__
from vqabench.errors import ConfigError
from vqabench.reports import build_leaderboard
from vqabench.reports.leaderboard import settings_sha256


@pytest.mark.slow
def test_leaderboard_values_and_provenance(run_dir, tmp_path, run_maker):
    run2 = run_maker(tmp_path / "run2", bad_c=False)
    lb = build_leaderboard([run_dir, run2], out=tmp_path / "lb" / "mini.csv")
    table = pd.read_csv(lb.csv)
    assert table["run"].tolist() == ["run1", "run2"]
    assert table["codec"].tolist() == ["x265", "x265"]
    assert table["psnr_y"].tolist() == pytest.approx([-25.0, -20.0])
    assert table["lpips"].tolist() == pytest.approx([-20.0, -20.0])
    side = json.loads((tmp_path / "lb" / "mini.csv.json").read_text())
    assert side["vqabench_version"] == __version__
    assert side["bd_method"] == "pchip"
    r1 = side["runs"][0]
    assert r1["config_sha256"] == hashlib.sha256((run_dir / "config.toml").read_bytes()).hexdigest()
    assert r1["dataset"] == "synthetic" and r1["anchor_codec"] == "x264"
    commented = tmp_path / "run3"  # same settings, other comments: same settings_sha256
    commented.mkdir()
    for f in ("results.csv", "config.toml"):
        text = (run_dir / f).read_text()
        (commented / f).write_text(("# made elsewhere\n" if f == "config.toml" else "") + text)
    side3 = json.loads(
        build_leaderboard([commented], out=tmp_path / "lb3.csv").provenance.read_text()
    )["runs"][0]
    assert side3["settings_sha256"] == r1["settings_sha256"] != ""
    assert side3["config_sha256"] != r1["config_sha256"]
    assert r1["codec_versions"] == {"x264": "0.164", "x265": "3.5+1"}
    assert any(e.startswith("C/psnr_y/x265") for e in r1["excluded"])
    assert side["runs"][1]["excluded"] == []


@pytest.mark.slow
def test_leaderboard_cells_carry_their_notes(run_maker, tmp_path):
    """Issue 30 item 2: a flagged mean carries its note codes in the CSV row, the sidecar
    cell and the per-sequence CSV. x265's A curve is 2 dB above x264's for PSNR-Y
    (30..39 dB: overlap [32, 39] of [30, 41] = 64 %); C's PSNR-Y curve is excluded."""
    run = run_maker(tmp_path / "run")
    results = pd.read_csv(run / "results.csv")
    results.loc[
        (results["codec"] == "x265")
        & (results["sequence"] == "A")
        & (results["metric"] == "psnr_y"),
        "value",
    ] += 2.0
    results.to_csv(run / "results.csv", index=False)
    lb = build_leaderboard([run], out=tmp_path / "lb.csv", n_resamples=200)
    table = pd.read_csv(lb.csv, keep_default_na=False)
    assert table["notes"].tolist() == [
        "psnr_y: overlap(n=1/2,min=0.6364,max=0.6364) excluded(n=1/3); psnr_yuv: "
        "overlap(n=1/2,min=0.6923,max=0.6923) excluded(n=1/3)"
    ]
    cells = {c["metric"]: c["notes"] for c in json.loads(lb.provenance.read_text())["cells"]}
    assert cells["psnr_y"] == "overlap(n=1/2,min=0.6364,max=0.6364) excluded(n=1/3)"
    assert cells["psnr_u"] == cells["lpips"] == ""
    per = pd.read_csv(lb.sequences, keep_default_na=False)
    noted = per[per["notes"] != ""]
    assert noted[["sequence", "metric", "notes"]].values.tolist() == [
        ["A", "psnr_y", "overlap(iou=0.6364)"],
        ["A", "psnr_yuv", "overlap(iou=0.6923)"],
    ]


def test_leaderboard_errors(tmp_path):
    with pytest.raises(ConfigError, match="run_dirs"):
        build_leaderboard([], out=tmp_path / "x.csv")


def test_codec_versions_name_the_ffmpeg_build_once(tmp_path):
    """Issue 18 item 9: every ffmpeg codec repeated the ffmpeg build string."""
    import json as _json

    from vqabench.codecs.versions import encoder_version
    from vqabench.io.ffmpeg import ffmpeg_version
    from vqabench.io.store import EncodeRecord, Store
    from vqabench.reports.leaderboard import codec_versions

    run = tmp_path / "run"
    run.mkdir()
    with Store(run / "store.sqlite") as store:
        for i, (label, name) in enumerate((("x264-fast", "x264"), ("x265", "x265"))):
            spec = _json.dumps({"name": name, "version": ffmpeg_version(), "options": {}})
            store.commit_job(
                EncodeRecord(
                    f"k{i}",
                    "A",
                    "source",
                    label,
                    "qp=22",
                    "b",
                    8,
                    0.1,
                    0.01,
                    8,
                    64,
                    64,
                    "25/1",
                    spec,
                ),
                [],
            )
    config = {"codecs": [{"name": "x264", "label": "x264-fast"}, {"name": "x265"}]}
    assert codec_versions(run, config) == {
        "x264-fast": f"libx264 {encoder_version('libx264')}",
        "x265": f"libx265 {encoder_version('libx265')}",
        "ffmpeg": ffmpeg_version().removeprefix("ffmpeg "),
    }


# --- the committed leaderboards (results/leaderboard/) -------------------------------------

_REPO = Path(__file__).resolve().parents[2]
_BOARDS = _REPO / "results" / "leaderboard"


def _committed(name: str) -> tuple[pd.DataFrame, pd.DataFrame, dict]:
    table = pd.read_csv(_BOARDS / f"{name}.csv", keep_default_na=False, na_values=[""])
    per = pd.read_csv(_BOARDS / f"{name}.sequences.csv", keep_default_na=False, na_values=[""])
    side = json.loads((_BOARDS / f"{name}.csv.json").read_text(encoding="utf-8"))
    return table, per, side


@pytest.mark.parametrize("name", ["mini-conventional", "mini-ugc-transcoding"])
@pytest.mark.slow
def test_committed_leaderboard_is_consistent(name):
    """Each committed mean is the mean of its committed per-sequence values, its sidecar cell
    says how many there were, and its interval holds the mean."""
    table, per, side = _committed(name)
    metrics = [
        c
        for c in table.columns
        if c
        not in (
            "run",
            "anchor_codec",
            "reference",
            "measured_against",
            "codec",
            "group",
            "command",
            "notes",
        )
    ]
    assert {"psnr_y", "psnr_yuv", "ssim", "ms_ssim", "vmaf", "vmaf_neg"} <= set(metrics)
    cells = {(c["codec"], c["group"], c["metric"]): c for c in side["cells"]}
    for row in table.itertuples(index=False):
        for metric in metrics:
            sel = per[
                (per["codec"] == row.codec) & (per["metric"] == metric) & per["reason"].isna()
            ]
            if row.group != "Overall":
                sel = sel[sel["group"] == row.group]
            cell = cells[(row.codec, row.group, metric)]
            assert cell["n_sequences"] == len(sel)
            assert getattr(row, metric) == pytest.approx(sel["bd_rate"].mean(), rel=1e-12)
            assert cell["ci_low"] <= getattr(row, metric) <= cell["ci_high"]


def _fresh_bd_rate(
    tmp_path,
    config: str,
    sequence: str,
    codecs: tuple[str, str],
    metric: str,
    reference_qp: int | None = None,
) -> tuple[str, float]:
    """Per-sequence BD-rate of codecs[1] vs codecs[0] from a fresh run of one mini sequence
    with the committed config's ladders (and one of its reference rate points)."""
    from dataclasses import replace

    from vqabench.config import ReferenceSpec
    from vqabench.datasets.builtin import load_mini
    from vqabench.evaluation.aggregate import fold_references, load_results, per_sequence_bd_rate
    from vqabench.experiment import load_config
    from vqabench.runner.run import run

    cfg = load_config(_REPO / "configs" / "leaderboard" / f"{config}.toml")
    (seq,) = load_mini(frames=cfg.frames, size=cfg.size, names=[sequence])
    folder = tmp_path / "one"
    folder.mkdir()
    (folder / seq.source.path.name).symlink_to(seq.source.path)
    changes: dict = {
        "dataset": str(folder),
        "size": None,
        "frames": None,
        "jobs": 1,
        "codecs": tuple(c for c in cfg.codecs if c.display in codecs),
        "metrics": tuple(m for m in cfg.metrics if m.name == metric),
    }
    if reference_qp is not None:
        ref = cfg.reference
        i = ref.codec.values.index(reference_qp)
        changes["reference"] = ReferenceSpec(
            replace(ref.codec, values=(reference_qp,)), (ref.groups[i],)
        )
    summary = run(replace(cfg, **changes), out_dir=tmp_path / "run")
    assert summary.complete
    per = per_sequence_bd_rate(
        fold_references(load_results(tmp_path / "run")), anchor_codec=codecs[0]
    )
    (row,) = per[per["codec"] == codecs[1]].itertuples(index=False)
    return str(row.sequence), float(row.bd_rate)


@pytest.mark.slow
def test_committed_mini_conventional_row_reproduces(tmp_path):
    """A fresh run of Carphone, x264 and x265, PSNR-Y reproduces the committed value exactly:
    a change that moves a citable number fails here and is re-committed on purpose
    (scripts/make_leaderboards.sh, with a CHANGELOG.md entry)."""
    _, per, _ = _committed("mini-conventional")
    seq, value = _fresh_bd_rate(
        tmp_path, "mini-conventional", "Carphone", ("x264", "x265"), "psnr_y"
    )
    committed = per[
        (per["sequence"] == seq) & (per["codec"] == "x265") & (per["metric"] == "psnr_y")
    ]["bd_rate"]
    assert len(committed) == 1
    assert value == pytest.approx(float(committed.iloc[0]), rel=1e-12, abs=1e-12)


@pytest.mark.slow
def test_committed_mini_ugc_transcoding_row_reproduces(tmp_path):
    """Carphone with its QP 30 x264 reference (group High), x264 and x265 transcodes, PSNR-Y
    against the source: equal to the committed per-sequence value."""
    _, per, _ = _committed("mini-ugc-transcoding")
    seq, value = _fresh_bd_rate(
        tmp_path, "mini-ugc-transcoding", "Carphone", ("x264", "x265"), "psnr_y", reference_qp=30
    )
    committed = per[
        (per["sequence"] == seq) & (per["codec"] == "x265") & (per["metric"] == "psnr_y")
    ]
    assert committed["group"].tolist() == ["High"]
    assert value == pytest.approx(float(committed["bd_rate"].iloc[0]), rel=1e-12, abs=1e-12)


def test_settings_sha256_ignores_the_run_folder_and_worker_count():
    """A run's config.toml stores its absolute ``out`` folder and ``jobs``; neither changes a
    number, so the same settings run in another checkout or with more workers must keep
    their settings_sha256 (the committed sidecars differed by the folder they were made in)."""
    base = {
        "metrics": ["psnr_y"],
        "dataset": {"name": "mini", "frames": 16},
        "run": {"jobs": 2, "anchor": "x264", "out": "/work/a/runs/lb"},
        "codecs": [{"name": "x264", "qp": [22, 27]}],
    }
    moved = {**base, "run": {"jobs": 1, "anchor": "x264", "out": "/home/b/runs/lb"}}
    other_anchor = {**base, "run": {**base["run"], "anchor": "x265"}}
    expected = hashlib.sha256(
        json.dumps(
            {**base, "run": {"anchor": "x264"}}, sort_keys=True, separators=(",", ":")
        ).encode()
    ).hexdigest()
    assert settings_sha256(base) == settings_sha256(moved) == expected
    assert settings_sha256(other_anchor) != expected


# --- issue 30 item 5: columns that say what they measured -------------------------------------

_TINY = """metrics = [{{ name = "psnr_yuv", weights = {weights} }}]
[dataset]
name = "{data}"
[[codecs]]
name = "x264"
qp = [22, 37]
[[codecs]]
name = "x265"
qp = [22, 37]
"""


@pytest.fixture(scope="module")
def tiny_runs(tmp_path_factory):
    """Two real runs of one 64x48, 2-frame video (x264 and x265 at QP 22 and 37, PSNR-YUV),
    one with weights 6:1:1 and one with 8:1:1."""
    from tests.conftest import make_video
    from vqabench.cli import main

    root = tmp_path_factory.mktemp("tiny-runs")
    (root / "data").mkdir()
    make_video(root / "data" / "a.y4m", width=64, height=48, frames=2)
    runs = {}
    for name, weights in (("w611", '"6:1:1"'), ("w811", '"8:1:1"')):
        config = root / f"{name}.toml"
        config.write_text(_TINY.format(weights=weights, data=root / "data"), encoding="utf-8")
        with pytest.raises(SystemExit) as exc:
            main(["run", str(config), "--out", str(root / name)])
        assert exc.value.code == 0
        runs[name] = root / name
    return runs


@pytest.mark.slow
def test_merging_611_and_811_runs_is_refused(tiny_runs, tmp_path):
    """Issue 30 item 5 (acceptance): a 6:1:1 and an 8:1:1 PSNR-YUV run used to merge into one
    psnr_yuv column without a word; now the refusal names the metric, the difference, both
    definitions and both runs, and writes nothing."""
    out = tmp_path / "lb.csv"
    with pytest.raises(ConfigError) as exc:
        build_leaderboard([tiny_runs["w611"], tiny_runs["w811"]], out=out)
    message = str(exc.value)
    assert "metric 'psnr_yuv' differs (weights 6:1:1 vs 8:1:1)" in message
    assert "psnr_yuv{weights=6:1:1,max_db=100} v1" in message and "'w611'" in message
    assert "psnr_yuv{weights=8:1:1,max_db=100} v1" in message and "'w811'" in message
    assert not out.exists()


@pytest.mark.slow
def test_same_definition_written_differently_merges(tiny_runs, tmp_path):
    """weights = "6:1:1" and weights = [6, 1, 1] are one definition (the metric normalises
    its options), so those runs merge; the sidecar states the definition and licence."""
    import shutil

    copy = tmp_path / "w611b"
    shutil.copytree(tiny_runs["w611"], copy)
    config = copy / "config.toml"
    config.write_text(config.read_text().replace('weights = "6:1:1"', "weights = [6, 1, 1]"))
    lb = build_leaderboard([tiny_runs["w611"], copy], out=tmp_path / "lb.csv")
    side = json.loads(lb.provenance.read_text())
    definition = side["definitions"]["psnr_yuv"]
    assert definition["options"] == {"weights": [6.0, 1.0, 1.0], "max_db": 100.0}
    assert definition["conventions"] == "peak=full (2^b-1), identical frames capped at 100 dB"
    assert definition["measured_against"] == ["source"]
    assert side["licences"] == {"psnr_yuv": "MIT (vqabench's own code)"}


@pytest.mark.slow
def test_rows_carry_a_command_that_reproduces_them(tiny_runs, tmp_path, monkeypatch):
    """Each row's ``command`` re-runs its run from another folder (here: resumes it, all
    stored, with the same results), and the provenance names the commit of this checkout."""
    import subprocess

    from vqabench.cli import main

    lb = build_leaderboard([tiny_runs["w611"]], out=tmp_path / "lb.csv")
    table = pd.read_csv(lb.csv)
    run = tiny_runs["w611"]
    assert table["command"].tolist() == [
        f"vqabench run {run / 'config.toml'} --out {run}"
    ]  # outside any git checkout
    assert list(table.columns[-2:]) == ["command", "notes"]
    side = json.loads(lb.provenance.read_text())
    repo = Path(__file__).resolve().parents[2]
    head = subprocess.run(
        ["git", "-C", str(repo), "rev-parse", "HEAD"], capture_output=True, text=True, check=True
    ).stdout.strip()
    assert side["vqabench_git_commit"] == head and isinstance(side["vqabench_git_dirty"], bool)
    assert side["runs"][0]["command"] == table["command"].iloc[0]
    assert side["runs"][0]["config_toml"] == (run / "config.toml").read_text()
    assert f"resolved by vqabench {__version__} (git {head}" in side["runs"][0]["config_toml"]
    before = (run / "results.csv").read_text()
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SystemExit) as exc:
        main(table["command"].iloc[0].split()[1:])
    assert exc.value.code == 0 and (run / "results.csv").read_text() == before


def test_command_inside_a_git_checkout_is_relative_to_its_root(tmp_path):
    import subprocess

    from vqabench.reports.leaderboard import reproducing_command

    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    (tmp_path / "runs" / "x y").mkdir(parents=True)
    assert reproducing_command(tmp_path / "runs" / "x y") == (
        "vqabench run 'runs/x y/config.toml' --out 'runs/x y'"
    )
