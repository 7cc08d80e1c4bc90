"""The generic registry: duplicates refused, unknown names answered with close matches."""

from __future__ import annotations

import pytest

from vqabench.errors import DuplicateNameError, UnknownNameError
from vqabench.registry import Registry


def test_register_get_and_names():
    reg: Registry[int] = Registry("widget")
    reg.add("alpha", 1)

    @reg.register("beta")
    def beta() -> int:
        return 2

    assert reg.get("alpha") == 1 and reg.get("beta")() == 2
    assert reg.names() == ["alpha", "beta"]


def test_duplicate_is_an_error():
    reg: Registry[int] = Registry("widget")
    reg.add("alpha", 1)
    with pytest.raises(DuplicateNameError, match="widget 'alpha' is already registered"):
        reg.add("alpha", 2)


def test_unknown_lists_close_matches_and_everything():
    reg: Registry[int] = Registry("widget")
    for name in ("psnr_y", "psnr_yuv", "vmaf"):
        reg.add(name, 0)
    with pytest.raises(UnknownNameError) as info:
        reg.get("psnr_yvu")
    assert info.value.close_matches[0] == "psnr_yuv"
    assert str(info.value).startswith("unknown widget 'psnr_yvu'; did you mean 'psnr_yuv'")
    assert "(available: psnr_y, psnr_yuv, vmaf)" in str(info.value)


def test_lazy_entry_is_listed_without_import_and_imported_on_first_get(tmp_path, monkeypatch):
    """A ``"module:attr"`` entry: names() and ``in`` answer without importing the module;
    get() imports it once; the module registering the same object itself is no duplicate,
    another object under that name is."""
    import sys

    (tmp_path / "vqb_lazy_mod.py").write_text("class Thing:\n    pass\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    reg: Registry[type] = Registry("widget")
    reg.add_lazy("thing", "vqb_lazy_mod:Thing")
    reg.add("other", int)
    assert reg.names() == ["other", "thing"] and "thing" in reg
    assert "vqb_lazy_mod" not in sys.modules and not reg.is_loaded("thing")
    with pytest.raises(DuplicateNameError, match="widget 'thing' is already registered"):
        reg.add("thing", str)  # another object under the lazy name
    with pytest.raises(UnknownNameError, match=r"did you mean 'thing'\?.*other, thing"):
        reg.get("thingy")
    assert reg.get("thing") is sys.modules["vqb_lazy_mod"].Thing and reg.is_loaded("thing")
    monkeypatch.delitem(sys.modules, "vqb_lazy_mod")

    reg2: Registry[type] = Registry("widget")
    reg2.add_lazy("thing", "vqb_lazy_mod:Thing")
    import vqb_lazy_mod  # its own registration (a decorator, at import) replaces the entry

    reg2.add("thing", vqb_lazy_mod.Thing)
    assert reg2.get("thing") is vqb_lazy_mod.Thing and reg2.names() == ["thing"]
    monkeypatch.delitem(sys.modules, "vqb_lazy_mod")


@pytest.mark.slow
def test_metric_names_are_listed_without_importing_their_modules():
    """Lazy entries (pyiqa-style): metrics.available() lists every metric and imports none
    of the optional metric modules; each lazy name resolves to the class registered under
    it (its ``name`` attribute is that name)."""
    import subprocess
    import sys

    probe = (
        "import sys; from vqabench import metrics; names = metrics.available(); "
        "print(sorted(m for m in sys.modules if m.startswith('vqabench.metrics.') and "
        "m.split('.')[2] in ('perceptual', 'learned', 'sequence', 'temporal'))); "
        "print(','.join(names))"
    )
    out = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True
    ).stdout.split("\n")
    assert out[0] == "[]"
    from vqabench import metrics

    names = out[1].split(",")
    assert {"lpips", "pt_loss", "flicker_warp", "psnr_y"} <= set(names)
    assert all(metrics.get_class(n).name == n for n in names)
