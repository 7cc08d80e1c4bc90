"""Every name in every ``__all__`` is what ``from module import name`` returns.

Issue 33 item 7: ``from vqabench.evaluation import correlation`` gave the submodule, not the
function ``__all__`` advertises; this walks the whole package so no other export is shadowed.
"""

from __future__ import annotations

import importlib
import pkgutil
import subprocess
import sys
from types import ModuleType

import pytest

import vqabench


def _module_names() -> list[str]:
    walked = (m.name for m in pkgutil.walk_packages(vqabench.__path__, "vqabench."))
    # a __main__ module runs the CLI when imported: it exports nothing
    return ["vqabench", *(n for n in walked if not n.endswith("__main__"))]


def _import(name: str) -> ModuleType:
    """Import ``name``; skip when a third-party optional package is missing."""
    try:
        return importlib.import_module(name)
    except ImportError as e:  # ModuleNotFoundError included
        missing = (getattr(e, "name", None) or "").split(".")[0]
        if missing and missing != "vqabench":
            pytest.skip(f"{name} needs the optional package {missing!r}")
        raise


@pytest.mark.slow
@pytest.mark.parametrize("module_name", _module_names())
def test_every_exported_name_is_the_advertised_object(module_name):
    module = _import(module_name)
    for name in getattr(module, "__all__", ()):
        assert hasattr(module, name), f"{module_name}.__all__ lists {name!r}, which is missing"
        obj = getattr(module, name)
        # a name in __all__ is a function, class or value, never a module (a submodule of
        # the same name must not shadow the export once it has been imported)
        assert not isinstance(obj, ModuleType), (
            f"from {module_name} import {name} gives the module {obj.__name__}"
        )
        sub = f"{module_name}.{name}"
        if hasattr(module, "__path__") and importlib.util.find_spec(sub) is not None:
            _import(sub)  # load the same-named submodule, then ask again
            obj = getattr(module, name)
            assert not isinstance(obj, ModuleType), (
                f"from {module_name} import {name} gives the submodule {sub} once it loads"
            )
            ns: dict[str, object] = {}
            exec(f"from {module_name} import {name}", ns)  # noqa: S102
            assert ns[name] is obj


def test_correlation_is_the_function_after_its_submodule_loads():
    import vqabench.evaluation.correlation  # noqa: F401  (binds the submodule on the package)
    from vqabench.evaluation import correlation

    assert callable(correlation) and not isinstance(correlation, ModuleType)
    assert correlation.__name__ == "correlation"


def test_list_metrics_and_codecs_at_the_top_level_and_import_stays_light():
    from vqabench import codecs, metrics

    assert vqabench.list_metrics() == metrics.available()
    assert {"psnr_y", "vmaf"} <= set(vqabench.list_metrics())
    assert vqabench.list_codecs() == codecs.available()
    assert {"x264", "vp9"} <= set(vqabench.list_codecs())
    code = "import sys, vqabench; print(sorted(m for m in sys.modules if 'vqabench.' in m))"
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert "vqabench.metrics" not in out and "vqabench.codecs" not in out, out


def _psnr_y_by_hand(reference, distorted) -> float:
    """Mean over frames of 10 log10(255^2 / MSE) on the luma planes."""
    import numpy as np

    from vqabench.io.video import read_frames

    values = [
        10 * np.log10(255.0**2 / np.mean((r[0].astype(float) - d[0].astype(float)) ** 2))
        for r, d in zip(read_frames(reference), read_frames(distorted), strict=True)
    ]
    return float(np.mean(values))


def test_metric_objects_are_callable_with_keywords(tiny_video, tiny_noisy):
    from vqabench import metrics

    metric = metrics.create("psnr_y")
    called = metric(reference=tiny_video.path, distorted=tiny_noisy.path)
    assert called == metric.compute(reference=tiny_video.path, distorted=tiny_noisy.path)
    assert called == vqabench.compute(
        "psnr_y", reference=tiny_video.path, distorted=tiny_noisy.path
    )
    assert metric(tiny_video, tiny_noisy) == called  # positionally: reference first
    assert called.value == pytest.approx(_psnr_y_by_hand(tiny_video, tiny_noisy), abs=1e-6)


@pytest.mark.parametrize(
    ("reference", "distorted", "warns"),
    [
        ("runs/r/bitstreams/seq/x264/qp27.mp4", "runs/r/sources/seq.y4m", True),
        ("runs/r/.tmp/job/decoded.y4m", "runs/r/sources/seq.y4m", True),
        ("runs/r/references/seq/x264/qp22.y4m", "runs/r/sources/seq.y4m", True),  # UGC: R vs S
        (
            "runs/r/bitstreams/x264_qp22/seq/vp9/qp40.webm",
            "runs/r/references/seq/x264/qp22.y4m",
            True,
        ),  # UGC: anchor R
        ("runs/r/sources/seq.y4m", "runs/r/bitstreams/seq/x264/qp27.mp4", False),  # right order
        ("runs/r/references/seq/x264/qp22.y4m", "runs/r/bitstreams/seq/vp9/qp40.webm", False),
        ("runs/r/bitstreams/seq/x264/qp27.mp4", "runs/other/sources/seq.y4m", False),  # two runs
        ("runs/r/bitstreams/seq/x264/qp27.mp4", "runs/r/bitstreams/seq/x264/qp32.mp4", False),
        ("dis.mp4", "ref.y4m", False),  # nothing known
    ],
)
def test_swapped_warning_from_run_directory_paths(reference, distorted, warns):
    from vqabench.metrics.inputs import swapped_warning

    message = swapped_warning(reference, distorted)
    assert (message is not None) == warns
    if warns:
        assert "\n" not in message and "(reference, distorted)" in message
        assert repr(reference) in message and repr(distorted) in message


def test_swapped_warning_for_a_dataset_cache_source(tmp_path):
    import os

    from vqabench.metrics.inputs import swapped_warning

    cached = os.path.join(os.environ["VQABENCH_CACHE"], "mini", "foreman.y4m")
    assert swapped_warning(tmp_path / "runs/r/bitstreams/foreman/x264/qp27.mp4", cached)
    assert swapped_warning(cached, tmp_path / "runs/r/bitstreams/foreman/x264/qp27.mp4") is None


def test_swapped_paths_warn_once_and_still_compute(tiny_video, tiny_noisy, tmp_path):
    import shutil
    import warnings

    from vqabench import metrics

    source = tmp_path / "runs/r/sources/tiny.y4m"
    decoded = tmp_path / "runs/r/bitstreams/tiny/x264/qp27.y4m"
    for src, dst in ((tiny_video.path, source), (tiny_noisy.path, decoded)):
        dst.parent.mkdir(parents=True)
        shutil.copyfile(src, dst)
    with pytest.warns(UserWarning, match=r"looks decoded from.*\(reference, distorted\)") as rec:
        swapped = vqabench.compute("psnr_y", reference=decoded, distorted=source)
    assert len(rec) == 1
    with pytest.warns(UserWarning, match="looks decoded from"):
        metrics.create("psnr_y")(decoded, source)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        right = vqabench.compute("psnr_y", reference=source, distorted=decoded)
    assert swapped.value == pytest.approx(right.value)  # PSNR is symmetric: the warning only
    assert right.value == pytest.approx(_psnr_y_by_hand(tiny_video, tiny_noisy), abs=1e-6)


def test_every_full_reference_metric_states_the_argument_order():
    import inspect

    from vqabench import metrics
    from vqabench.errors import VqabenchError

    checked = []
    for name in metrics.available():
        try:
            cls = metrics.get_class(name)
        except (ImportError, VqabenchError):  # an optional package missing
            continue
        if cls.kind == "full-reference":
            doc = inspect.getdoc(cls.compute) or ""
            assert "(reference, distorted)" in doc and "(distorted, reference)" in doc, name
            checked.append(name)
    assert {"psnr_y", "ssim", "vmaf"} <= set(checked)
