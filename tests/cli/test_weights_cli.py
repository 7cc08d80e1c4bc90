"""``vqabench weights`` and ``vqabench weights fetch`` through the real entry point; files are
served from 127.0.0.1 by the ``file_server`` fixture (nothing reaches the internet)."""

from __future__ import annotations

import hashlib

import pytest
import torch

from vqabench.cli import main
from vqabench.metrics import weights
from vqabench.metrics.weights import WeightFile


def _run(argv, capsys):
    with pytest.raises(SystemExit) as info:
        main(argv)
    out = capsys.readouterr()
    return info.value.code, out.out, out.err


def _digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@pytest.fixture
def cache(monkeypatch, tmp_path):
    monkeypatch.setattr(torch.hub, "get_dir", lambda: str(tmp_path / "hub"))
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("VQABENCH_WEIGHTS", str(tmp_path / "w"))
    monkeypatch.delenv("VQABENCH_WEIGHTS_MIRROR", raising=False)
    return tmp_path / "w"


@pytest.fixture
def served(cache, monkeypatch, file_server):
    """``twofiles`` needs backbone.pth (hash prefix) and head.pth (no published hash);
    ``bad`` needs bad.pth, whose served bytes do not match its published prefix. Origins are
    on the server itself (no mirror)."""
    data = {name: (name * 3000).encode() for name in ("backbone.pth", "head.pth", "bad.pth")}
    table = {
        "backbone.pth": WeightFile(
            "backbone.pth",
            file_server.url + "backbone.pth",
            ("twofiles",),
            _digest(data["backbone.pth"])[:8],
        ),
        "head.pth": WeightFile("head.pth", file_server.url + "head.pth", ("twofiles",)),
        "bad.pth": WeightFile("bad.pth", file_server.url + "bad.pth", ("bad",), "0123abcd"),
    }
    monkeypatch.setattr(weights, "KNOWN_WEIGHTS", table)
    file_server.files.update(data)
    return file_server, table, data


def test_weights_command(capsys, monkeypatch, tmp_path):
    monkeypatch.setattr(torch.hub, "get_dir", lambda: str(tmp_path / "hub"))
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("VQABENCH_WEIGHTS", str(tmp_path / "w"))
    (tmp_path / "w").mkdir()
    (tmp_path / "w" / "amt-s.pth").write_bytes(b"x")
    code, out, _ = _run(["weights"], capsys)
    assert code == 0
    rows = {line.split()[0]: line for line in out.splitlines()[2:]}
    from vqabench.metrics.weights import KNOWN_WEIGHTS

    assert set(rows) == set(KNOWN_WEIGHTS) | {"pt_loss.pt", "rankdvqa_ugc.pt"}
    assert rows["pt_loss.pt"].split()[1] == "shipped"  # the checkpoints this project trains
    assert "missing" in rows["alexnet-owt-7be5be79.pth"]
    assert "no-hash" in rows["amt-s.pth"] and str(tmp_path / "w" / "amt-s.pth") in rows["amt-s.pth"]
    assert "lpips:net=vgg" in rows["vgg16-397923af.pth"]  # a name `weights fetch` takes


def test_fetch_a_metric_gets_every_file_it_needs(served, cache, capsys):
    server, table, data = served
    code, out, err = _run(["weights", "fetch", "twofiles"], capsys)
    assert code == 0, err
    assert {p.name for p in cache.iterdir()} == {"backbone.pth", "head.pth"}
    assert all((cache / n).read_bytes() == data[n] for n in ("backbone.pth", "head.pth"))
    prefix = table["backbone.pth"].sha256_prefix
    assert out.splitlines() == [
        f"backbone.pth: fetched to {cache / 'backbone.pth'}; sha256 prefix {prefix} matches",
        f"head.pth: fetched to {cache / 'head.pth'}; no published checksum; its sha256 is "
        f"{_digest(data['head.pth'])}",
    ]
    code, out, _ = _run(["weights", "fetch", "--all"], capsys)  # present ones are kept
    assert code == 4 and out.count("already at") == 2 and len(server.seen) == 3


def test_fetch_wrong_checksum_is_one_line_and_leaves_nothing(served, cache, capsys):
    server, _, data = served
    code, out, err = _run(["weights", "fetch", "bad"], capsys)
    assert code == 4 and out == ""
    assert err.splitlines() == [
        f"vqabench: error: bad.pth: SHA-256 mismatch: expected prefix 0123abcd, got "
        f"{_digest(data['bad.pth'])[:8]} (from {server.url}bad.pth); the download was "
        "deleted and nothing was written"
    ]
    assert list(cache.iterdir()) == []


def test_fetch_server_error_is_one_line_with_url_and_status(served, cache, capsys):
    server, _, _ = served
    server.modes["backbone.pth"] = "500"
    code, out, err = _run(["weights", "fetch", "backbone.pth"], capsys)
    assert code == 4 and out == ""
    assert err.splitlines() == [
        f"vqabench: error: {server.url}backbone.pth: the server "
        "answered HTTP 500 Internal Server Error"
    ]


def test_fetch_interrupted_then_resumed(served, cache, capsys):
    server, _, data = served
    server.modes["backbone.pth"] = "cut"
    code, _, err = _run(["weights", "fetch", "backbone.pth"], capsys)
    half = len(data["backbone.pth"]) // 2
    assert code == 4 and len(err.splitlines()) == 1 and f"after {half} of" in err
    code, out, _ = _run(["weights", "fetch", "backbone.pth"], capsys)
    assert code == 0 and "fetched to" in out
    assert server.seen[-1] == ("backbone.pth", f"bytes={half}-")
    assert (cache / "backbone.pth").read_bytes() == data["backbone.pth"]


def test_mirror_option_replaces_the_origin(cache, monkeypatch, file_server, capsys):
    data = b"mirrored"
    table = {
        "m.pth": WeightFile("m.pth", "https://example.invalid/x/m.pth", ("m",), _digest(data)[:8])
    }
    monkeypatch.setattr(weights, "KNOWN_WEIGHTS", table)
    file_server.files["m.pth"] = data
    code, _, err = _run(["weights", "fetch", "m", "--mirror", file_server.url], capsys)
    assert code == 0, err
    assert file_server.seen == [("m.pth", None)] and (cache / "m.pth").read_bytes() == data


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        ([], "NAME='nothing' is not allowed: expected one or more names"),
        (["lpips", "--all"], "NAME='lpips' is not allowed: expected nothing with --all"),
        (["lpip"], "unknown weights name 'lpip'; did you mean 'lpips'"),
    ],
)
def test_fetch_bad_names_are_one_line(argv, message, cache, capsys):
    code, out, err = _run(["weights", "fetch", *argv], capsys)
    assert code == 2 and out == "" and len(err.splitlines()) == 1
    assert err.startswith(f"vqabench: error: {message}")
