"""Weight-cache resolution: search order, fast refusal naming file/origin/destination,
checksum status, the offline guard around third-party constructors, and fetching files
(served from 127.0.0.1 by the ``file_server`` fixture: nothing reaches the internet)."""

from __future__ import annotations

import hashlib
import urllib.request

import pytest
import torch

from vqabench import metrics
from vqabench.errors import DownloadError, UnknownNameError, WeightsUnavailableError
from vqabench.metrics import weights
from vqabench.metrics.weights import (
    KNOWN_WEIGHTS,
    WeightFile,
    fetch,
    files_for,
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
    assert got == {
        "ok.pth": "ok",
        "bad.pth": "mismatch",
        "nohash.pth": "no-hash",
        "absent.pth": "missing",
    }
    assert {s.checksum for s in weight_status(verify=False)} == {
        "not-checked",
        "no-hash",
        "missing",
    }


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


def test_dists_offline_error_names_both_files_and_the_one_command(empty_cache, network_attempts):
    with pytest.raises(WeightsUnavailableError) as info:
        metrics.create("dists")
    assert network_attempts == []
    err, text = info.value, str(info.value)
    assert err.missing == ("vgg16-397923af.pth", "DISTS_weights-f5e65c96.pth")
    for name in err.missing:
        assert KNOWN_WEIGHTS[name].url in text
        assert str(empty_cache / "hub" / KNOWN_WEIGHTS[name].cache / name) in text
    assert text.endswith("; or fetch them all with: vqabench weights fetch dists")
    assert "\n" not in text


def test_lpips_offline_error_names_the_command_for_its_net(empty_cache):
    with pytest.raises(
        WeightsUnavailableError,
        match=r"vgg16-397923af\.pth.*fetch it with: vqabench weights fetch "
        r"lpips:net=vgg$",
    ):
        metrics.create("lpips", net="vgg")


def test_files_for_metric_variant_and_file_names():
    def names(*args):
        return [w.filename for w in files_for(args)]

    assert names("dists") == ["vgg16-397923af.pth", "DISTS_weights-f5e65c96.pth"]
    assert names("lpips") == [
        "alexnet-owt-7be5be79.pth",
        "vgg16-397923af.pth",
        "squeezenet1_1-b8a52dc0.pth",
    ]
    assert names("lpips:net=vgg", "dists") == names("dists")  # each file once
    assert names("ViT-B-32.pt") == names("background_consistency") == ["ViT-B-32.pt"]
    with pytest.raises(UnknownNameError, match=r"'lpip'; did you mean 'lpips'"):
        files_for(["lpip"])


# --- fetch, from a local HTTP server -----------------------------------------------------------


def _digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@pytest.fixture
def served(empty_cache, monkeypatch, file_server):
    """A fake table of four files (prefix / full / no hash, one with a wrong prefix), their
    origins on a host that does not exist, served by name from 127.0.0.1 as the mirror."""
    data = {name: (name * 4000).encode() for name in ("a.pth", "full.pt", "nohash.pth", "bad.pth")}
    table = {
        "a.pth": WeightFile(
            "a.pth", "https://example.invalid/m/a.pth", ("fake:net=a",), _digest(data["a.pth"])[:8]
        ),
        "full.pt": WeightFile(
            "full.pt",
            "https://example.invalid/m/full.pt",
            ("fake:net=b",),
            _digest(data["full.pt"]),
            "clip",
        ),
        "nohash.pth": WeightFile("nohash.pth", "https://example.invalid/nohash.pth", ("other",)),
        "bad.pth": WeightFile(
            "bad.pth",
            "https://example.invalid/bad.pth",
            ("bad",),
            _digest(b"what was published")[:8],
        ),
    }
    monkeypatch.setattr(weights, "KNOWN_WEIGHTS", table)
    monkeypatch.setenv("VQABENCH_WEIGHTS_MIRROR", file_server.url)
    file_server.files.update(data)
    return file_server, table, data


def test_fetch_verifies_the_prefix_and_lands_where_locate_looks(served, empty_cache):
    server, table, data = served
    result = fetch(table["a.pth"])
    dest = empty_cache / "hub" / "checkpoints" / "a.pth"  # the library's own folder
    assert result.fetched and result.path == dest == locate("a.pth")
    assert dest.read_bytes() == data["a.pth"] and result.sha256 == _digest(data["a.pth"])
    assert result.verified == "prefix" and not (dest.parent / "a.pth.part").exists()
    again = fetch(table["a.pth"])  # a good copy is kept, nothing downloaded
    assert not again.fetched and server.seen == [("a.pth", None)]


def test_fetch_full_hash_and_unpublished_hash_into_vqabench_weights(
    served, empty_cache, monkeypatch
):
    server, table, data = served
    monkeypatch.setenv("VQABENCH_WEIGHTS", str(empty_cache / "w"))
    full, unpublished = fetch(table["full.pt"]), fetch(table["nohash.pth"])
    assert full.path == empty_cache / "w" / "full.pt" and full.verified == "full"
    assert unpublished.verified == "unpublished"
    assert unpublished.sha256 == _digest(data["nohash.pth"])
    assert (empty_cache / "w" / "nohash.pth").read_bytes() == data["nohash.pth"]


def test_fetch_wrong_checksum_leaves_nothing(served, empty_cache):
    server, table, data = served
    got = _digest(data["bad.pth"])[:8]
    with pytest.raises(
        DownloadError,
        match=rf"^bad\.pth: SHA-256 mismatch: expected prefix "
        rf"{table['bad.pth'].sha256_prefix}, got {got} ",
    ):
        fetch(table["bad.pth"])
    folder = empty_cache / "hub" / "checkpoints"
    assert sorted(p.name for p in folder.iterdir()) == []  # neither the file nor a .part


@pytest.mark.parametrize("status", ["500", "404"])
def test_fetch_server_error_names_url_and_status(served, status):
    server, table, _ = served
    server.modes["a.pth"] = status
    with pytest.raises(
        DownloadError,
        match=rf"^{server.url}a\.pth: the server answered "
        rf"HTTP {status} ",
    ):
        fetch(table["a.pth"])


def test_interrupted_transfer_resumes_with_a_range_request(served, empty_cache):
    server, table, data = served
    server.modes["a.pth"] = "cut"
    size, half = len(data["a.pth"]), len(data["a.pth"]) // 2
    with pytest.raises(
        DownloadError,
        match=rf"broke off after {half} of {size} bytes.*"
        r"run the same command again to resume",
    ):
        fetch(table["a.pth"])
    part = empty_cache / "hub" / "checkpoints" / "a.pth.part"
    assert part.read_bytes() == data["a.pth"][:half] and locate("a.pth") is None
    result = fetch(table["a.pth"])
    assert server.seen == [("a.pth", None), ("a.pth", f"bytes={half}-")]
    assert result.path.read_bytes() == data["a.pth"] and not part.exists()


def test_a_server_without_ranges_restarts_the_part(served, empty_cache):
    server, table, data = served
    server.modes["a.pth"] = "norange"
    part = empty_cache / "hub" / "checkpoints" / "a.pth.part"
    part.parent.mkdir(parents=True)
    part.write_bytes(b"stale bytes from another try")
    result = fetch(table["a.pth"])
    assert server.seen == [("a.pth", "bytes=28-")]  # asked to resume, got the whole file
    assert result.path.read_bytes() == data["a.pth"]
