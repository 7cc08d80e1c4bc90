"""The metric contract (vqabench/metrics/base.py): pair checks, options, and the input hook
every subclass gets (pooling: tests/metrics/functional/test_pooling.py)."""

from __future__ import annotations

import numpy as np
import pytest

from vqabench.errors import ConfigError, MetricError
from vqabench.metrics.base import POOLING, Metric, MetricResult, check_pair, pool


def test_base_reexports_the_functional_pooling():
    from vqabench.metrics.functional import pooling

    assert (pool, POOLING) == (pooling.pool, pooling.POOLING)


def test_check_pair(tiny_video, tmp_path):
    from tests.conftest import make_video

    check_pair(tiny_video, tiny_video)
    other = make_video(tmp_path / "o.y4m", width=32, height=64, frames=tiny_video.frames)
    with pytest.raises(MetricError, match=r"\(64, 64, 'yuv420p'\) and distorted \(32, 64"):
        check_pair(tiny_video, other)
    fewer = make_video(tmp_path / "f.y4m", frames=3)
    with pytest.raises(MetricError, match="8 frames and distorted has 3"):
        check_pair(tiny_video, fewer)


class _Frames(Metric):
    """Test metric: the number of frames of the distorted video."""

    name = "frames"

    def compute(self, reference, distorted):
        return MetricResult(float(distorted.frames))


def test_subclass_compute_accepts_inputs_and_rejects_options(tiny_video):
    m = _Frames()
    assert m.compute(tiny_video, tiny_video).value == 8.0
    assert m.compute(None, np.zeros((5, 16, 16), np.uint8), fmt="gray").value == 5.0
    assert m.compute(reference=tiny_video, distorted=str(tiny_video.path)).value == 8.0
    with pytest.raises(ConfigError, match=r"frames options=\['x'\] is not allowed"):
        _Frames(x=1)
    assert m.spec == '{"name": "frames", "options": {}, "version": "1"}'
    assert repr(m) == "_Frames()"


def test_every_registered_metric_states_its_licence():
    """Issue 30 item 5: each metric says under which licence its code and weights come, as an
    SPDX id first; pyiqa-backed ones say what pyiqa's installed package metadata says."""
    import re
    from importlib.metadata import metadata

    from vqabench import metrics

    assert Metric.licence == ""  # a plugin that states none is listed as unknown
    spdx = re.compile(
        r"(MIT|Apache-2\.0|BSD-[23]-Clause(-Patent)?|PolyForm-Noncommercial-1\.0\.0"
        r"|unverified) \("
    )
    for name in metrics.available():
        cls = metrics.get_class(name)
        if cls.__module__.startswith("vqabench."):  # not metrics other tests register
            assert spdx.match(cls.licence), name
    pyiqa_licence = metadata("pyiqa")["License-Expression"]
    assert pyiqa_licence == "PolyForm-Noncommercial-1.0.0"
    for name in ("dists", "imaging_quality", "pyiqa:niqe"):
        assert metrics.get_class(name).licence.startswith(pyiqa_licence + " ("), name
    assert metrics.get_class("vmaf").licence.startswith("BSD-2-Clause-Patent (libvmaf")
    assert "License :: OSI Approved :: BSD License" in metadata("lpips").get_all("Classifier")
    assert metrics.get_class("lpips").licence.startswith("BSD-2-Clause (lpips")


def test_provenance_is_text_and_execution_a_mapping_for_every_metric():
    """``provenance`` (part of the definition) is one type everywhere: a str; what only
    records how the values were computed (device, batch size) is ``execution``."""
    from vqabench import metrics

    metrics.available()  # registers the optional metrics whose modules import
    made = 0
    for name in metrics.METRICS.names():
        try:
            metric = metrics.create(name)
        except Exception:  # a metric that needs an option or weights to build
            continue
        made += 1
        assert isinstance(metric.provenance, str), name
        assert isinstance(metric.execution, dict), name
    assert made >= 5
    lpips = metrics.create("lpips", pretrained_backbone=False, device="cpu", batch_size=3)
    assert lpips.provenance == "" and lpips.execution == {"device": "cpu", "batch_size": 3}
    assert lpips.provenance_line() == "device=cpu, batch_size=3"
    psnr = metrics.create("psnr_y", peak="hm")
    assert (
        psnr.provenance_line()
        == psnr.provenance
        == ("peak=hm (255<<(b-8)), identical frames capped at 100 dB")
    )
