"""What a leaderboard column measured: each metric's full definition, from the run's config.

A definition holds the metric's name, its class ``version``, every option that decides the
number as the metric itself normalises it (``weights = "6:1:1"`` and ``[6, 1, 1]`` agree),
the conventions its ``provenance`` states (PSNR peak and cap) and, for VMAF, the libvmaf
inside the run's ffmpeg. Its ``id`` is one line of text, e.g.
``psnr_yuv{weights=6:1:1,max_db=100} v1; peak=full (2^b-1), identical frames capped at 100
dB``. Runs whose ids for one column differ measured different things under one name: they
are never merged (:func:`check_mergeable`).

Example:
    >>> defs = run_definitions(read_config("runs/mini"), ["psnr_yuv", "vmaf"])
    >>> defs["psnr_yuv"]["id"]
    'psnr_yuv{weights=6:1:1,max_db=100} v1; peak=full (2^b-1), identical frames capped at 100 dB'
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Iterable, Sequence

from vqabench.errors import ConfigError, VqabenchError

__all__ = [
    "metric_specs",
    "metric_definition",
    "run_definitions",
    "run_ffmpeg_build",
    "check_mergeable",
    "metric_licence",
]


def metric_specs(config: dict[str, object]) -> dict[str, dict[str, object]] | None:
    """Metric name -> options, from the ``metrics`` list of a run's ``config.toml`` (entries
    ``"name"`` or ``{name = ..., option = ...}``); None when the config has no such list."""
    entries = config.get("metrics")
    if not isinstance(entries, list):
        return None
    specs: dict[str, dict[str, object]] = {}
    for entry in entries:
        if isinstance(entry, str):
            specs[entry] = {}
        elif isinstance(entry, dict) and "name" in entry:
            specs[str(entry["name"])] = {k: v for k, v in entry.items() if k != "name"}
    return specs


def run_ffmpeg_build(config_text: str) -> str:
    """The ffmpeg build a run used, from the comment the runner writes at the top of its
    ``config.toml`` (``# resolved by vqabench ... with ffmpeg BUILD on DATE``); "" if none."""
    m = re.search(r"^# resolved by .* with ffmpeg (\S+) on ", config_text, re.MULTILINE)
    return m.group(1) if m else ""


def metric_licence(name: str) -> str:
    """The licence of metric ``name`` (its class's ``licence``; "unknown" when the metric is
    not installed here or states none)."""
    from vqabench import metrics

    try:
        return metrics.get_class(name).licence or "unknown"
    except (VqabenchError, ImportError):
        return "unknown"


def _text(value: object) -> str:
    """One option value as definition text: weights as ``6:1:1``, numbers as ``%g``, hashes
    shortened to 12 hex digits."""
    if isinstance(value, list | tuple) and all(isinstance(v, int | float) for v in value):
        return ":".join(f"{float(v):g}" for v in value)
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, str) and re.fullmatch(r"[0-9a-f]{64}", value):
        return value[:12]
    return str(value)


def metric_definition(
    name: str, options: dict[str, object], *, libvmaf: str = ""
) -> dict[str, object]:
    """The definition of metric ``name`` created with ``options`` (see module docstring).

    Args:
        name: the metric's registry name.
        options: its options as the run's config gives them.
        libvmaf: libvmaf version of the run's ffmpeg (used for VMAF metrics only).

    Returns:
        ``{"id", "metric", "version", "options", "conventions"}``, plus ``"libvmaf"`` for
        VMAF; a metric this installation cannot create keeps the config's options and says
        why under ``"unresolved"`` (its id then differs from a resolved one).
    """
    from vqabench import metrics
    from vqabench.metrics.vmaf import Vmaf

    try:
        metric = metrics.create(name, **options)
    except (VqabenchError, ImportError) as exc:
        text = ",".join(f"{k}={_text(v)}" for k, v in sorted(options.items()))
        return {
            "id": f"{name}{{{text}}} (unresolved)",
            "metric": name,
            "version": None,
            "options": dict(options),
            "conventions": "",
            "unresolved": str(exc),
        }
    opts = dict(metric.options)
    conventions = metric.provenance
    text = ",".join(f"{k}={_text(v)}" for k, v in opts.items())
    ident = f"{name}{{{text}}} v{metric.version}" + (f"; {conventions}" if conventions else "")
    out: dict[str, object] = {
        "id": ident,
        "metric": name,
        "version": metric.version,
        "options": opts,
        "conventions": conventions,
    }
    if isinstance(metric, Vmaf):
        out["libvmaf"] = libvmaf or "unknown"
        out["id"] = f"{ident}; libvmaf {out['libvmaf']}"
    return out


def _is_vmaf(name: str) -> bool:
    """Whether metric ``name`` is computed by libvmaf (False when not installed here)."""
    from vqabench import metrics
    from vqabench.metrics.vmaf import Vmaf

    try:
        return issubclass(metrics.get_class(name), Vmaf)
    except (VqabenchError, ImportError):
        return False


def _libvmaf_of(build: str) -> str:
    """libvmaf of the run's ffmpeg ``build``: read from the installed ffmpeg when it is that
    build, else ``in ffmpeg BUILD`` (or "" when the run did not record its ffmpeg)."""
    from vqabench.io.ffmpeg import ffmpeg_info
    from vqabench.metrics.vmaf import libvmaf_version

    if not build:
        return ""
    if build == ffmpeg_info().version and (version := libvmaf_version()):
        return version
    return f"in ffmpeg {build}"


def run_definitions(
    config: dict[str, object], metric_names: Iterable[str], *, ffmpeg_build: str = ""
) -> dict[str, dict[str, object]]:
    """Definition of each metric column of one run (see module docstring).

    Args:
        config: the run's parsed ``config.toml``.
        metric_names: the run's metric columns.
        ffmpeg_build: the run's ffmpeg build (:func:`run_ffmpeg_build`).

    A ``psnr_yuv`` column the run did not measure but the leaderboard derived from
    psnr_y/u/v (:func:`~vqabench.evaluation.aggregate.add_weighted_yuv`) gets that
    function's weights and psnr_y's other options, and says ``derived``. A metric the config
    does not list is ``unknown`` (its id says so), never given default options.
    """
    from vqabench.evaluation.aggregate import add_weighted_yuv

    specs = metric_specs(config)
    names = list(metric_names)
    libvmaf = _libvmaf_of(ffmpeg_build) if any(map(_is_vmaf, names)) else ""
    out: dict[str, dict[str, object]] = {}
    for name in names:
        if specs is not None and name in specs:
            out[name] = metric_definition(name, specs[name], libvmaf=libvmaf)
        elif (
            name == "psnr_yuv"
            and specs is not None
            and {"psnr_y", "psnr_u", "psnr_v"} <= set(specs)
        ):
            weights = inspect.signature(add_weighted_yuv).parameters["weights"].default
            options = {**specs["psnr_y"], "weights": list(weights)}
            out[name] = {
                **metric_definition(name, options),
                "derived": "weighted mean of the psnr_y, psnr_u and psnr_v values",
            }
        else:
            out[name] = {
                "id": f"{name}{{unknown: not in the run's config.toml metrics}}",
                "metric": name,
                "version": None,
                "options": None,
                "conventions": "",
            }
    return out


def _options(definition: dict[str, object]) -> dict[str, object]:
    """A definition's options ({} when unknown)."""
    options = definition.get("options")
    return options if isinstance(options, dict) else {}


def _difference(a: dict[str, object], b: dict[str, object]) -> str:
    """What differs between two definitions of one metric, as ``key a vs b`` items."""
    parts = []
    for key in ("version", "libvmaf", "conventions"):
        if a.get(key) != b.get(key):
            parts.append(f"{key} {a.get(key)} vs {b.get(key)}")
    oa, ob = _options(a), _options(b)
    for key in dict.fromkeys([*oa, *ob]):
        if oa.get(key) != ob.get(key):
            parts.append(f"{key} {_text(oa.get(key, 'unset'))} vs {_text(ob.get(key, 'unset'))}")
    return "; ".join(parts) or "definition"


def check_mergeable(
    runs: Sequence[tuple[str, dict[str, dict[str, object]]]], *, into: str = "one leaderboard"
) -> None:
    """Refuse to merge runs whose definitions of one column differ.

    Args:
        runs: ``(run name, run_definitions(...))`` of each run, in leaderboard order.
        into: what they would be merged into, for the message.

    Raises:
        ConfigError: naming the metric, what differs, both definitions and both runs.
    """
    first: dict[str, tuple[str, dict[str, object]]] = {}
    for run, definitions in runs:
        for metric, definition in definitions.items():
            if metric not in first:
                first[metric] = (run, definition)
                continue
            other_run, other = first[metric]
            if other["id"] != definition["id"]:
                raise ConfigError(
                    f"cannot merge runs {other_run!r} and {run!r} into {into}: "
                    f"metric {metric!r} differs ({_difference(other, definition)}): "
                    f"{other['id']} in {other_run!r}, {definition['id']} in {run!r}; make "
                    "one per definition, or re-run one with the other's options"
                )
