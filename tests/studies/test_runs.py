"""A study joins only the run it was made from: the run's config identity recorded in
study.json against the run directory's config.toml now, mismatches named (both hashes, what
differs), refused unless forced, and the forced analysis says so."""

from __future__ import annotations

import json
import shutil
from dataclasses import replace

import pytest

from tests.studies.conftest import fresh_copy, record_answers
from vqabench.config import MetricSpec, write_config
from vqabench.errors import ConfigError
from vqabench.experiment import load_config
from vqabench.io.hashing import file_sha256
from vqabench.studies import analyze_study, load_spec
from vqabench.studies.runs import run_mismatch, run_record

pytestmark = pytest.mark.slow  # the run fixture takes seconds to build


def _copy_config(tiny_run, dest):
    dest.mkdir()
    shutil.copy(tiny_run / "config.toml", dest / "config.toml")
    return load_config(dest / "config.toml")


def test_run_mismatch_names_both_hashes_and_what_differs(tiny_run, tmp_path):
    run = tmp_path / "run"
    cfg = _copy_config(tiny_run, run)
    record = run_record(run, cfg)
    assert record["config_identity"] == cfg.identity()
    assert run_mismatch(record, run) == ""
    # the same settings written again (a resumed run rewrites the comment with its date):
    # the same run, although the file's SHA-256 changed
    write_config(cfg, run / "config.toml", comment="resumed later")
    assert file_sha256(run / "config.toml") != record["config_sha256"]
    assert run_mismatch(record, run) == ""
    # extended with a metric: the videos and rates are the ones the participants saw
    write_config(replace(cfg, metrics=(*cfg.metrics, MetricSpec("ssim"))), run / "config.toml")
    assert run_mismatch(record, run) == ""
    # re-made on 4 frames at 32x32: other videos
    other = replace(cfg, frames=4, size=(32, 32))
    write_config(other, run / "config.toml")
    assert run_mismatch(record, run) == (
        f"config {other.identity()[:12]} is not the study's {cfg.identity()[:12]}: changes "
        "frames (8 -> 4); changes size ((64, 64) -> (32, 32))"
    )
    # an identity computed otherwise (another vqabench) for the same settings: not silent
    moved = {**run_record(run, other), "config_identity": "0" * 64}
    assert run_mismatch(moved, run) == (
        f"config {other.identity()[:12]} is not the study's 000000000000: no setting that "
        "compare_configs names differs (a field it does not compare, or another vqabench)"
    )
    # a study made before identities were recorded: only the file hash can be compared
    legacy = {"path": str(run), "config_sha256": record["config_sha256"]}
    assert run_mismatch(legacy, run) == (
        f"config.toml sha256 {file_sha256(run / 'config.toml')[:12]} is not the study's "
        f"{record['config_sha256'][:12]} (the study predates recorded settings, so what "
        "changed is not known)"
    )


def test_analyze_refuses_a_run_remade_with_another_config(study_acr, tiny_run, tmp_path):
    run = tmp_path / "run"
    shutil.copytree(tiny_run, run)
    study = fresh_copy(study_acr, tmp_path / "s")
    spec_path = study / "study.json"  # the study's run, moved to a directory of this test
    spec = json.loads(spec_path.read_text())
    spec["runs"][0]["path"] = str(run)
    spec_path.write_text(json.dumps(spec))
    record_answers(study, ["a", "b"], lambda t: 1 if t["kind"] == "attention" else 3)
    notes = analyze_study(study, resamples=20, figures=False).notes
    assert [n for n in notes if not n.startswith("mos_mle:")] == []  # a and b rate alike
    cfg = load_config(run / "config.toml")
    write_config(replace(cfg, frames=4), run / "config.toml")
    expected = (
        f"run {str(run)!r} no longer holds the run of study {spec['study_id']}: config "
        f"{replace(cfg, frames=4).identity()[:12]} is not the study's "
        f"{cfg.identity()[:12]}: changes frames (8 -> 4)"
    )
    with pytest.raises(ConfigError) as err:
        analyze_study(study, resamples=20, figures=False)
    assert str(err.value) == expected + "; pass --force to join them anyway"
    result = analyze_study(study, resamples=20, figures=False, force=True)
    assert result.notes[0] == f"forced (--force): {expected}"
    assert f"**forced (--force): {expected}**" in (study / "analysis" / "report.md").read_text()
    assert load_spec(study)["runs"][0]["config_identity"] == cfg.identity()
