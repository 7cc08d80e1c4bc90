"""vqabench/cli/train.py: the ``train`` group, its old form, and ``train codec``'s flags."""

from __future__ import annotations

import pytest

from vqabench.cli import main
from vqabench.cli.train import _qualities
from vqabench.errors import ConfigError


def _run(argv: list[str]) -> int:
    with pytest.raises(SystemExit) as exc:
        main(argv)
    return int(exc.value.code)


def test_train_lists_both_subcommands(capsys):
    assert _run(["train", "--help"]) == 0
    out = capsys.readouterr().out
    assert "codec" in out and "model" in out


@pytest.mark.parametrize(
    "argv",
    [
        ["train", "no_such_model", "--pairs", ".", "--out", "x.pt"],
        ["train", "model", "no_such_model", "--pairs", ".", "--out", "x.pt"],
    ],
)
def test_a_first_word_that_is_no_subcommand_means_train_model(argv, capsys):
    """Both forms reach ``train model``: its own check of --pairs answers (``train codec``
    has no --pairs and would say "No such option")."""
    assert _run(argv) == 2
    err = capsys.readouterr().err
    assert "pairs='.' has no manifest.csv" in err and "Traceback" not in err


def test_quality_list_is_parsed_or_refused_by_flag():
    assert _qualities("1,2,8") == [1, 2, 8]
    assert _qualities(None) is None
    with pytest.raises(ConfigError, match="--quality='1,x'"):
        _qualities("1,x")
