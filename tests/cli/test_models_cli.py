"""Tests of ``vqabench models`` and ``vqabench train``."""

from __future__ import annotations

import csv
import json

import pytest
import torch

from tests.models.test_ranking import make_pairs_dir
from vqabench.cli import main
from vqabench.models import create_model
from vqabench.models.complexity import count_macs, count_params


def _run(argv: list[str]) -> int:
    with pytest.raises(SystemExit) as exc:
        main(argv)
    return int(exc.value.code)


@pytest.fixture(autouse=True)
def _single_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.mark.slow
def test_models_info_json_matches_library(capsys, monkeypatch):
    from vqabench.models import complexity

    calls = []

    def fake_times(model, patch, *, repeats, warmup):  # the clock is not under test here
        calls.append((patch, repeats))
        return [0.5, 0.125, 0.25][:repeats]

    monkeypatch.setattr(complexity, "cpu_times_per_pair", fake_times)
    assert (
        _run(["models", "info", "pt_loss", "--patch", "32x48x4", "--json", "--repeats", "3"]) == 0
    )
    out = json.loads(capsys.readouterr().out)
    model = create_model("pt_loss")
    assert (out["frames"], out["height"], out["width"]) == (4, 48, 32)
    assert out["params"] == count_params(model) == 801_665
    assert out["macs"] == count_macs(model, (4, 48, 32))[0]
    assert calls == [((4, 48, 32), 3)] and out["cpu_s"] == 0.25  # the median of the runs


@pytest.mark.slow
def test_models_info_text_and_list(capsys):
    assert _run(["models", "info", "rankdvqa_ugc", "--patch", "32x32x12", "--repeats", "0"]) == 0
    text = capsys.readouterr().out
    assert "4,500,084" in text and "CPU time" not in text
    assert _run(["models", "list"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [line.split("\t")[0] for line in lines] == ["pt_loss", "rankdvqa_ugc"]
    assert lines[0].split("\t")[1].startswith("shipped pt_loss.pt (1.6 MB)")


@pytest.mark.slow
def test_models_list_names_the_registry_without_importing_torch():
    """Issue 18 item 9: ``models list`` took 7.7 s importing torch to print two names."""
    import subprocess
    import sys

    from vqabench.models import available

    code = (
        "import sys\nfrom vqabench.cli import main\ntry:\n    main(['models', 'list'])\n"
        "except SystemExit:\n    pass\nprint('torch' in sys.modules)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout.splitlines()
    assert out[-1] == "False"
    assert [line.split("\t")[0] for line in out[:-1]] == available()


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["models", "info", "pt_los"], "did you mean 'pt_loss'"),
        (["models", "info", "pt_loss", "--patch", "256x256"], "WIDTHxHEIGHTxFRAMES"),
        (
            ["train", "pt_loss", "--pairs", ".", "--out", "x.pt", "--model-config", "[1]"],
            "--model-config='[1]' is not allowed: expected a JSON object",
        ),
        (
            ["train", "pt_loss", "--pairs", ".", "--out", "x.pt", "--augment", "flip"],
            "augment='flip' is not allowed: expected none | transpose | dihedral",
        ),
        (
            ["train", "model", "pt_loss", "--pairs", ".", "--out", "x.pt", "--augment", "flip"],
            "augment='flip' is not allowed: expected none | transpose | dihedral",
        ),
    ],
)
def test_errors_are_one_line(argv, message, capsys):
    assert _run(argv) == 2
    err = capsys.readouterr().err
    assert message in err and len(err.strip().splitlines()) == 1


@pytest.mark.slow
def test_train_command_writes_a_resumable_checkpoint(tmp_path, capsys):
    pairs = tmp_path / "pairs"
    pairs.mkdir()
    make_pairs_dir(pairs, n_sources=3)
    out = tmp_path / "ckpt" / "rank.pt"
    argv = [
        "train",
        "rankdvqa_ugc",
        "--pairs",
        str(pairs),
        "--out",
        str(out),
        "--epochs",
        "1",
        "--steps",
        "1",
        "--batch-size",
        "1",
        "--device",
        "cpu",
    ]
    assert _run(argv) == 0
    assert "epoch 1/1 [mixed]" in capsys.readouterr().out  # one epoch is the ranking stage
    ckpt = torch.load(out, weights_only=True)
    assert ckpt["epoch"] == 1 and ckpt["model_config"] == {"frames": 4}
    assert ckpt["train_config"]["steps_per_epoch"] == 1
    assert _run(argv[:7] + ["2"] + argv[8:]) == 0  # --epochs 2 resumes at epoch 2
    out_text = capsys.readouterr().out
    assert "epoch 2/2" in out_text and "epoch 1/2" not in out_text


def _train_tiny_pt_loss(tmp_path, *options: str):
    """Three-source pairs and a one-step PT-Loss checkpoint trained on them by the CLI."""
    pairs = tmp_path / "pairs"
    pairs.mkdir()
    make_pairs_dir(pairs, n_sources=3)
    out = tmp_path / "pt.pt"
    assert (
        _run(
            [
                "train",
                "pt_loss",
                "--pairs",
                str(pairs),
                "--out",
                str(out),
                "--epochs",
                "1",
                "--steps",
                "1",
                "--batch-size",
                "1",
                "--device",
                "cpu",
                *options,
            ]
        )
        == 0
    )
    return pairs, out


@pytest.mark.slow
def test_train_sources_and_model_config_are_stored(tmp_path, capsys):
    pairs, out = _train_tiny_pt_loss(
        tmp_path, "--sources", "src0,src1", "--model-config", '{"frame_chunk": null, "depth": 1}'
    )
    ckpt = torch.load(out, weights_only=True)
    assert ckpt["model_config"] == {"frame_chunk": None, "depth": 1}
    assert tuple(ckpt["train_config"]["sources"]) == ("src0", "src1")


@pytest.mark.slow
def test_evaluate_warns_when_pairs_overlap_the_training_sources(tmp_path, capsys):
    """Issue 18 item 8: the shipped PT-Loss trained on Carphone (MODEL_CARD.md)."""
    pairs = tmp_path / "pairs"
    pairs.mkdir()
    make_pairs_dir(pairs, n_sources=2)
    manifest = pairs / "manifest.csv"
    manifest.write_text(manifest.read_text().replace("src0,", "Carphone,"))
    assert _run(["models", "evaluate", "--pairs", str(pairs), "--checkpoint", "pt_loss"]) == 0
    err = capsys.readouterr().err
    assert (
        "warning: 1 of the 2 evaluated sources (Carphone) were used to train or validate "
        "checkpoint 'pt_loss'"
    ) in err
    assert (
        _run(
            [
                "models",
                "evaluate",
                "--pairs",
                str(pairs),
                "--checkpoint",
                "pt_loss",
                "--sources",
                "src1",
            ]
        )
        == 0
    )
    assert "warning" not in capsys.readouterr().err


@pytest.mark.slow
def test_evaluate_knows_the_sources_of_a_run_trained_on_a_whole_pairs_directory(tmp_path, capsys):
    """Without --sources the trainer still records which sources it read."""
    pairs, out = _train_tiny_pt_loss(tmp_path, "--model-config", '{"depth": 1}')
    capsys.readouterr()
    manifest = pairs / "manifest.csv"
    manifest.write_text(manifest.read_text().replace("src2,", "other,"))
    assert (
        _run(
            [
                "models",
                "evaluate",
                "--pairs",
                str(pairs),
                "--checkpoint",
                str(out),
                "--sources",
                "src0,other",
            ]
        )
        == 0
    )
    assert "1 of the 2 evaluated sources (src0) were used to train" in capsys.readouterr().err


@pytest.mark.slow
def test_evaluate_bootstrap_prints_intervals_and_differences(tmp_path, capsys):
    from vqabench.evaluation.quality_models import ranking_srocc
    from vqabench.models import load_checkpoint

    pairs = tmp_path / "pairs"
    pairs.mkdir()
    make_pairs_dir(pairs, n_sources=5)
    with (pairs / "manifest.csv").open(newline="") as fh:
        rows = list(csv.DictReader(fh))
    for i, row in enumerate(rows):  # baselines that are not constant
        row["vmaf_rd"], row["psnr_rd"] = str(90 - i % 5), str(40 - i % 3)
    with (pairs / "manifest.csv").open("w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    argv = [
        "models",
        "evaluate",
        "--pairs",
        str(pairs),
        "--checkpoint",
        "pt_loss",
        "--bootstrap",
        "100",
    ]
    assert _run(argv + ["--json"]) == 0
    got = json.loads(capsys.readouterr().out)
    want = ranking_srocc(pairs, model=load_checkpoint("pt_loss"), bootstrap=100)
    for name, interval in want["intervals"].items():
        assert got["intervals"][name] == pytest.approx(interval, abs=1e-6), name
    assert _run(argv) == 0
    lines = capsys.readouterr().out.splitlines()
    lo, hi = want["intervals"]["vmaf_rd"]
    assert f"vmaf_rd  {want['vmaf_rd']:.4f}  [{lo:.4f}, {hi:.4f}]" in lines
    d = want["differences"]["vmaf_rd"]
    assert (
        f"model - vmaf_rd  {d['difference']:+.4f}  [{d['ci'][0]:+.4f}, {d['ci'][1]:+.4f}]"
        f"  p {d['p_bootstrap']:.3f}"
    ) in lines
