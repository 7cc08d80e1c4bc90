"""Weight-cache resolution: search order, fast refusal naming file/origin/destination,
checksum status, and the offline guard around third-party constructors."""

from __future__ import annotations

import hashlib
import urllib.request

import pytest
import torch

from vqabench.errors import WeightsUnavailableError
from vqabench.metrics import weights
from vqabench.metrics.weights import (
    KNOWN_WEIGHTS,
    WeightFile,
    locate,
    offline_guard,
    require,
    torch_hub_dir,
    weight_status,
)


@pytest.fixture
def empty_cache(monkeypatch, tmp_path):
    monkeypatch.setattr(torch.hub, "get_dir", lambda: str(tmp_path / "hub"))
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.delenv("VQABENCH_WEIGHTS", raising=False)
    monkeypatch.delenv("VQABENCH_ALLOW_DOWNLOAD", raising=False)
    return tmp_path


def test_torchvision_file_names_match_torchvision():
    import torchvision.models as tvm

    for enum in (tvm.AlexNet_Weights, tvm.VGG16_Weights, tvm.SqueezeNet1_1_Weights):
        url = enum.IMAGENET1K_V1.url
        name = url.rsplit("/", 1)[1]
        assert KNOWN_WEIGHTS[name].url == url
        assert name.rsplit("-", 1)[1].startswith(KNOWN_WEIGHTS[name].sha256_prefix)


def test_torch_hub_dir_follows_torch():
    assert torch_hub_dir() == weights.Path(torch.hub.get_dir())


def test_require_missing_is_offline_and_says_where(empty_cache, network_attempts):
    with pytest.raises(WeightsUnavailableError) as info:
        require("alexnet-owt-7be5be79.pth")
    assert network_attempts == []  # refused from the cache alone, no download tried
    err = info.value
    assert err.filename == "alexnet-owt-7be5be79.pth"
    assert err.origin == "https://download.pytorch.org/models/alexnet-owt-7be5be79.pth"
    assert str(empty_cache / "hub" / "checkpoints" / "alexnet-owt-7be5be79.pth") in str(err)
    assert "VQABENCH_WEIGHTS" in str(err) and not str(err).startswith("[Errno")


def test_vqabench_weights_dir_is_searched_first(empty_cache, monkeypatch):
    (empty_cache / "w").mkdir()
    (empty_cache / "hub" / "checkpoints").mkdir(parents=True)
    (empty_cache / "w" / "amt-s.pth").write_bytes(b"a")
    (empty_cache / "hub" / "checkpoints" / "amt-s.pth").write_bytes(b"b")
    assert locate("amt-s.pth") == empty_cache / "hub" / "checkpoints" / "amt-s.pth"
    monkeypatch.setenv("VQABENCH_WEIGHTS", str(empty_cache / "w"))
    assert require("amt-s.pth") == empty_cache / "w" / "amt-s.pth"


def test_weight_status_checksums(empty_cache, monkeypatch):
    folder = empty_cache / "w"
    folder.mkdir()
    monkeypatch.setenv("VQABENCH_WEIGHTS", str(folder))
    good = b"good weights"
    prefix = hashlib.sha256(good).hexdigest()[:8]
    table = {
        "ok.pth": WeightFile("ok.pth", "u", ("t",), prefix),
        "bad.pth": WeightFile("bad.pth", "u", ("t",), "00000000"),
        "nohash.pth": WeightFile("nohash.pth", "u", ("t",)),
        "absent.pth": WeightFile("absent.pth", "u", ("t",), prefix),
    }
    monkeypatch.setattr(weights, "KNOWN_WEIGHTS", table)
    for name, data in (("ok.pth", good), ("bad.pth", good), ("nohash.pth", good)):
        (folder / name).write_bytes(data)
    got = {s.weight.filename: s.checksum for s in weight_status()}
    assert got == {"ok.pth": "ok", "bad.pth": "mismatch", "nohash.pth": "no-hash",
                   "absent.pth": "missing"}
    assert {s.checksum for s in weight_status(verify=False)} == {
        "not-checked", "no-hash", "missing"}


def test_offline_guard_refuses_then_serves(empty_cache, monkeypatch, network_attempts):
    url = "https://example.invalid/models/tiny-0123abcd.pth"
    with offline_guard():
        with pytest.raises(WeightsUnavailableError, match=r"tiny-0123abcd\.pth.*example\.invalid"):
            torch.hub.load_state_dict_from_url(url, model_dir=str(empty_cache / "m"))
        with pytest.raises(WeightsUnavailableError):
            urllib.request.urlopen("https://example.invalid/x.bin")
    assert network_attempts == []  # refused before any lookup
    assert urllib.request.urlopen is not weights._refuse_urlopen  # restored
    folder = empty_cache / "w"
    folder.mkdir()
    torch.save({"w": torch.arange(3.0)}, folder / "tiny-0123abcd.pth")
    monkeypatch.setenv("VQABENCH_WEIGHTS", str(folder))
    with offline_guard():
        state = torch.hub.load_state_dict_from_url(url, model_dir=str(empty_cache / "m"))
    assert torch.equal(state["w"], torch.arange(3.0))
