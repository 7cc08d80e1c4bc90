"""The run directory: temporaries of killed runs, and how a new config relates to its own."""

from __future__ import annotations

import pytest

from vqabench.config import write_config
from vqabench.errors import ConfigError
from vqabench.experiment import load_config
from vqabench.runner.plan import anchored
from vqabench.runner.rundir import config_change, remove_temporaries


def test_only_what_killed_runs_leave_is_removed(tmp_path):
    kept = [tmp_path / "results.csv", tmp_path / "notes.txt", tmp_path / "bitstreams/A/x.264"]
    stale = [
        tmp_path / ".tmp-results.csv",
        tmp_path / "bitstreams/A/.tmp-y.264",
        tmp_path / ".tmp/decoded.y4m",
    ]
    for path in [*kept, *stale]:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("x")
    assert remove_temporaries(tmp_path) == 3  # .tmp/ itself stays, emptied
    assert [p.exists() for p in kept + stale] == [True] * 3 + [False] * 3


def test_the_old_config_is_read_back_typed_and_compared_by_field(tmp_path):
    """Adding a codec extends the run; changing frames is refused without force and named
    with both values; a run directory without a store has nothing to compare."""
    args = dict(codecs=["x264:qp=22,37"], metrics="psnr_y", frames=4)
    old = anchored(load_config(None, **args), tmp_path)
    write_config(old, tmp_path / "config.toml")
    assert config_change(old, tmp_path, force=False).kind == "same"  # no store yet
    (tmp_path / "store.sqlite").touch()
    assert config_change(old, tmp_path, force=False).kind == "same"
    more = anchored(
        load_config(None, **{**args, "codecs": [*args["codecs"], "x265:qp=30"]}), tmp_path
    )
    assert config_change(more, tmp_path, force=False).details == ("adds codec x265",)
    fewer = anchored(load_config(None, **{**args, "frames": 3}), tmp_path)
    with pytest.raises(ConfigError, match=r"changes frames \(4 -> 3\).*--force"):
        config_change(fewer, tmp_path, force=False)
    assert config_change(fewer, tmp_path, force=True).kind == "differs"
