"""Experiment configuration: TOML file and command-line overrides -> validated objects.

Example config (every key optional; these are the defaults of ``vqabench run``)::

    [dataset]
    name = "mini"        # a built-in dataset or a path to a folder of videos
    frames = 16
    size = "256x144"

    [[codecs]]
    name = "x264"
    qp = [22, 27, 32, 37]   # exactly one rate-control key with its ladder
    preset = "medium"       # any other key is a codec option; label = "..." renames it

    [[codecs]]              # then x265, vp9 (qp 28..52), svt-av1 (qp 28..52), vvenc
    name = "x265"
    qp = [22, 27, 32, 37]

    metrics = ["psnr_y", "psnr_yuv", "ssim", "vmaf"]   # or {name = "vmaf", model = "..."}

    [reference]          # optional UGC stage: codecs encode R = S compressed once
    codec = "x264"
    qp = [30, 37, 42]
    groups = ["High", "Medium", "Low"]   # default for three points; else the rate labels
    anchors = ["source"]                 # quality against S; add "reference" for R

    [run]
    jobs = 2             # worker processes
    anchor = "x264"      # BD-rate anchor (default: the first codec)
    out = "runs/mini"    # default: runs/<dataset>-<hash of this config>
    targets_from = "x264:qp=22,27,32,37"   # optional: targets of kbps = "from" codecs

A codec with ``kbps = "from"`` (``--codec x265:kbps=from:label=x265-2pass``) is rate
controlled to targets taken, per sequence (and reference), from the actual rates of the
configuration named by ``targets_from`` (``--targets-from``): one target per rate point of
that configuration, in its order (the RQ-LVC protocol: targets from a constant-parameter
pre-encode).

On the command line a codec is ``NAME:PARAM=V1,V2,...[:OPTION=VALUE...]`` (for example
``x264:qp=22,27,32,37:preset=veryfast``) and a metric ``NAME[:OPTION=VALUE...]`` (for
example ``vmaf:model=vmaf_v0.6.1neg``). A reference stage is
``--reference x264:qp=30,37,42[:groups=High/Medium/Low]`` with ``--anchors source,reference``.
"""

from __future__ import annotations

import difflib
import hashlib
import inspect
import json
import os
import re
import tomllib
from dataclasses import dataclass, field, replace
from pathlib import Path

from vqabench.errors import ConfigError, invalid
from vqabench.io.atomic import atomic_write_text

__all__ = ["ConfigChange", "compare_configs", "REFERENCE_METRICS", "codec_option_names",
           "default_jobs", "TARGETS_FROM", "CodecSpec", "MetricSpec", "ReferenceSpec",
           "RunConfig", "parse_reference_spec", "load_config", "parse_codec_spec",
           "parse_metric_spec", "parse_size", "default_config", "write_config",
           "targets_source"]

DEFAULT_METRICS = ("psnr_y", "psnr_yuv", "ssim", "vmaf")
#: ``kbps`` ladder value meaning "targets from the ``targets_from`` configuration"
TARGETS_FROM = "from"


@dataclass(frozen=True)
class CodecSpec:
    """A codec, its options and its rate ladder (one rate-control parameter)."""

    name: str
    rate_param: str
    values: tuple[int | float, ...]
    options: tuple[tuple[str, object], ...] = ()
    label: str = ""

    @property
    def display(self) -> str:
        """Name used in results (``label`` if set, else the codec name)."""
        return self.label or self.name

    @property
    def targets_from_run(self) -> bool:
        """True for ``kbps=from``: targets come from the run's ``targets_from`` codec."""
        return self.rate_param == "kbps" and self.values == (TARGETS_FROM,)

    @property
    def text(self) -> str:
        """``NAME:PARAM=V1,V2`` of the label and ladder (how ``targets_from`` names it)."""
        return f"{self.display}:{self.rate_param}=" + ",".join(str(v) for v in self.values)


@dataclass(frozen=True)
class MetricSpec:
    """A metric name and its options."""

    name: str
    options: tuple[tuple[str, object], ...] = ()


@dataclass(frozen=True)
class ReferenceSpec:
    """The UGC reference stage: S is encoded once per rate point into R, which the codecs
    then encode; ``groups`` label each rate point (High/Medium/Low by default for three)."""

    codec: CodecSpec
    groups: tuple[str, ...]


ANCHORS = ("source", "reference")
#: Metrics that score (R, D), a distorted video given its non-pristine reference R; measured
#: against the pristine S they would answer a question they were not trained for.
REFERENCE_METRICS = ("pt_loss", "rankdvqa_ugc")


def default_jobs() -> int:
    """Default worker processes of every command that takes ``--jobs``: the CPU cores."""
    return max(1, os.cpu_count() or 1)


@dataclass(frozen=True)
class RunConfig:
    """Everything ``vqabench run`` needs; built by :func:`load_config`."""

    dataset: str = "mini"
    frames: int | None = None
    size: tuple[int, int] | None = None
    root: str | None = None
    codecs: tuple[CodecSpec, ...] = ()
    metrics: tuple[MetricSpec, ...] = ()
    reference: ReferenceSpec | None = None
    anchors: tuple[str, ...] = ("source",)
    jobs: int = field(default_factory=default_jobs)
    anchor: str | None = None
    out: str | None = None
    targets_from: str | None = None

    def identity(self) -> str:
        """Hash of what determines the results (not jobs or out)."""
        data = json.dumps(_as_dict(replace(self, jobs=1, out=None)), sort_keys=True, default=str)
        return hashlib.sha256(data.encode()).hexdigest()


@dataclass(frozen=True)
class ConfigChange:
    """How a new config relates to the one a run directory already holds.

    Attributes:
        kind: ``"same"`` (same identity), ``"extends"`` (only adds codecs and/or metrics:
            the run is extended incrementally, nothing is recomputed) or ``"differs"``.
        details: what changed, one phrase each (e.g. ``"adds codec vvenc"``).
    """

    kind: str
    details: tuple[str, ...] = ()


def compare_configs(old: RunConfig, new: RunConfig) -> ConfigChange:
    """Compare two resolved configs of one run directory (``jobs`` and ``out`` ignored).

    ``new`` extends ``old`` when it keeps every codec (same options and ladder) and metric of
    ``old``, adds at least one, and leaves everything else unchanged.
    """
    if old.identity() == new.identity():
        return ConfigChange("same")
    old_codecs = {c.display: c for c in old.codecs}
    new_codecs = {c.display: c for c in new.codecs}
    added = [m.name for m in new.metrics if m not in old.metrics]
    dropped = [m.name for m in old.metrics if m not in new.metrics]
    details = [f"adds codec {c}" for c in new_codecs if c not in old_codecs]
    details += [f"adds metric {m}" for m in added if m not in dropped]
    lost = [f"changes codec {c}" for c, spec in old_codecs.items()
            if c in new_codecs and new_codecs[c] != spec]
    lost += [f"drops codec {c}" for c in old_codecs if c not in new_codecs]
    lost += [f"changes metric {m} options" for m in dict.fromkeys(dropped) if m in added]
    lost += [f"drops metric {m}" for m in dict.fromkeys(dropped) if m not in added]
    details += lost
    others = [f for f in ("dataset", "frames", "size", "root", "reference", "anchors", "anchor",
                          "targets_from") if getattr(old, f) != getattr(new, f)]
    details += [f"changes {f} ({getattr(old, f)!r} -> {getattr(new, f)!r})" for f in others]
    kind = "extends" if not lost and not others else "differs"
    return ConfigChange(kind, tuple(details))


def parse_size(text: str) -> tuple[int, int]:
    """``"256x144"`` -> (256, 144)."""
    m = re.fullmatch(r"\s*(\d+)\s*[xX]\s*(\d+)\s*", str(text))
    if not m or int(m.group(1)) <= 0 or int(m.group(2)) <= 0:
        raise invalid("size", text, "WIDTHxHEIGHT with positive integers, e.g. 256x144")
    return int(m.group(1)), int(m.group(2))


_INT = re.compile(r"[+-]?\d+")
_FLOAT = re.compile(r"[+-]?\d+\.\d*(?:[eE][+-]?\d+)?|[+-]?\d+[eE][+-]?\d+")


def _scalar(text: str) -> object:
    """Command-line text -> int, float (only plain decimal numbers: ``.264`` stays text),
    bool (true/false) or the text itself."""
    if _INT.fullmatch(text):
        return int(text)
    if _FLOAT.fullmatch(text):
        return float(text)
    return {"true": True, "false": False}.get(text.lower(), text)


def _codec_from_mapping(data: dict, where: str) -> CodecSpec:
    from vqabench import codecs

    if "name" not in data or not isinstance(data["name"], str):
        raise ConfigError(f"{where}: every codec needs a name, e.g. name = \"x264\"")
    name = data["name"]
    cls = codecs.get_class(name)
    if "kbps" in data and "kbps" not in cls.rate_params:
        raise ConfigError(f"{where}: codec {name!r} has no rate control, so kbps is not "
                          "allowed; its rate points are " + ", ".join(cls.rate_params))
    rate_keys = [k for k in data if k in cls.rate_params]
    if len(rate_keys) != 1:
        allowed = ", ".join(cls.rate_params)
        raise ConfigError(f"{where}: codec {name!r} needs exactly one rate ladder key "
                          f"({allowed}), e.g. qp = [22, 27, 32, 37]; got {rate_keys or 'none'}")
    param = rate_keys[0]
    values = data[param]
    if not isinstance(values, list | tuple):
        values = [values]
    if not values:
        raise ConfigError(f"{where}: codec {name!r} has an empty {param} ladder")
    label = str(data.get("label", ""))
    options = {k: v for k, v in data.items() if k not in ("name", "label", param)}
    spec = CodecSpec(name, param, tuple(values), tuple(sorted(options.items())), label)
    _validate_codec(spec, where)
    return spec


def codec_option_names(cls: type) -> tuple[str, ...] | None:
    """Keyword options a codec class takes (None when it takes any, ``**kwargs``)."""
    params = inspect.signature(cls.__init__).parameters.values()
    if any(p.kind is p.VAR_KEYWORD for p in params):
        return None
    return tuple(p.name for p in params if p.name != "self"
                 and p.kind in (p.KEYWORD_ONLY, p.POSITIONAL_OR_KEYWORD))


def _check_option_names(spec: CodecSpec, where: str) -> None:
    """One line naming the codec, the unknown option and the allowed names."""
    from vqabench import codecs

    allowed = codec_option_names(codecs.get_class(spec.name))
    if allowed is None:
        return
    for key, _ in spec.options:
        if key not in allowed:
            close = difflib.get_close_matches(key, allowed, n=1, cutoff=0.6)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            raise ConfigError(f"{where}: codec {spec.name!r} has no option {key!r}{hint} "
                              f"(options: {', '.join(allowed)}, label, and one rate ladder "
                              f"of {', '.join(codecs.get_class(spec.name).rate_params)})")


def _validate_codec(spec: CodecSpec, where: str) -> None:
    from vqabench import codecs

    _check_option_names(spec, where)
    try:
        codec = codecs.create(spec.name, **dict(spec.options))
    except TypeError as exc:
        raise ConfigError(f"{where}: codec {spec.name!r}: {exc}") from None
    except ConfigError as exc:
        raise ConfigError(f"{where}: {exc}") from None
    if spec.targets_from_run:
        codec.check_rate_point(codecs.RatePoint("kbps", codec.rate_params["kbps"][1]))
        return
    for value in spec.values:
        codec.check_rate_point(codecs.RatePoint(spec.rate_param, value))
    if len(set(spec.values)) != len(spec.values):
        raise ConfigError(f"{where}: codec {spec.name!r} repeats a rate point: {list(spec.values)}")


def parse_codec_spec(text: str) -> CodecSpec:
    """Parse ``x264:qp=22,27,32,37[:preset=veryfast...]``.

    Raises:
        ConfigError / UnknownNameError: malformed text, unknown codec, bad rate points.
    """
    parts = [p for p in text.split(":")]
    if len(parts) < 2 or not parts[0] or any("=" not in p for p in parts[1:]):
        raise invalid("--codec", text, "NAME:PARAM=V1,V2,...[:OPTION=VALUE], "
                      "e.g. x264:qp=22,27,32,37")
    data: dict[str, object] = {"name": parts[0]}
    from vqabench import codecs

    rate_params = codecs.get_class(parts[0]).rate_params
    for part in parts[1:]:
        key, value = part.split("=", 1)
        if not key or not value:
            raise invalid("--codec", text, "OPTION=VALUE items with a key and a value")
        if key in rate_params:  # numbers (qp=22,27) or names (model=xxs,xs); the codec checks
            data[key] = [_scalar(v) for v in value.split(",")]
        else:
            data[key] = _scalar(value)
    return _codec_from_mapping(data, f"--codec {text}")


def _reference_from_mapping(data: dict, where: str) -> ReferenceSpec:
    data = dict(data)
    groups = data.pop("groups", None)
    data.pop("anchors", None)
    if "codec" in data:
        data["name"] = data.pop("codec")
    codec = _codec_from_mapping(data, where)
    if groups is None:
        groups = (["High", "Medium", "Low"] if len(codec.values) == 3
                  else [f"{codec.rate_param}={v}" for v in codec.values])
    elif isinstance(groups, str):
        groups = groups.split("/")
    groups = tuple(str(g) for g in groups)
    if len(groups) != len(codec.values) or len(set(groups)) != len(groups):
        raise invalid("reference groups", list(groups),
                      f"{len(codec.values)} distinct labels, one per reference rate point")
    return ReferenceSpec(codec, groups)


def parse_reference_spec(text: str) -> ReferenceSpec:
    """Parse ``x264:qp=30,37,42[:groups=High/Medium/Low]`` for the reference stage."""
    parts = text.split(":")
    groups = [p.split("=", 1)[1] for p in parts if p.startswith("groups=")]
    spec = parse_codec_spec(":".join(p for p in parts if not p.startswith("groups=")))
    data = {"name": spec.name, spec.rate_param: list(spec.values), **dict(spec.options)}
    if groups:
        data["groups"] = groups[0]
    return _reference_from_mapping(data, f"--reference {text}")


def _anchors(value: object, where: str) -> tuple[str, ...]:
    items = value.split(",") if isinstance(value, str) else list(value)  # type: ignore[arg-type]
    items = [str(a).strip() for a in items if str(a).strip()]
    if not items or any(a not in ANCHORS for a in items) or len(set(items)) != len(items):
        raise invalid(where, value, "a list of distinct anchors from: source, reference")
    return tuple(items)


def parse_metric_spec(text: str | dict) -> MetricSpec:
    """Parse ``vmaf:model=vmaf_v0.6.1neg`` or a TOML table ``{name=..., option=...}``."""
    from vqabench import metrics

    if isinstance(text, dict):
        data = dict(text)
        name = data.pop("name", None)
        if not isinstance(name, str):
            raise ConfigError(f"metric table {text!r} needs a name")
        options = data
    else:
        parts = str(text).strip().split(":")
        name, options = parts[0], {}
        for part in parts[1:]:
            if "=" not in part:
                raise invalid("metric", text,
                              "NAME[:OPTION=VALUE...], e.g. vmaf:model=vmaf_v0.6.1neg")
            key, value = part.split("=", 1)
            options[key] = _scalar(value)
    if not name:
        raise invalid("metric", text, "a metric name")
    spec = MetricSpec(name, tuple(sorted(options.items())))
    try:
        metrics.create(name, **options)
    except TypeError as exc:
        raise ConfigError(f"metric {name!r}: {exc}") from None
    return spec


def default_config() -> RunConfig:
    """The configuration of a bare ``vqabench run``: the built-in mini benchmark."""
    ladders = (("x264", "qp", (22, 27, 32, 37)), ("x265", "qp", (22, 27, 32, 37)),
               ("vp9", "qp", (28, 36, 44, 52)), ("svt-av1", "qp", (28, 36, 44, 52)),
               ("vvenc", "qp", (22, 27, 32, 37)))
    return RunConfig(
        codecs=tuple(CodecSpec(n, p, v) for n, p, v in ladders),
        metrics=tuple(MetricSpec(m) for m in DEFAULT_METRICS),
    )


def load_config(path: str | Path | None = None, **overrides: object) -> RunConfig:
    """Read a TOML config (or the defaults) and apply command-line overrides.

    Args:
        path: TOML file, or None for :func:`default_config`.
        overrides: ``dataset``, ``frames``, ``size`` (text), ``codecs`` (list of spec
            texts), ``metrics`` (comma text), ``out``, ``jobs``, ``anchor``, ``root``,
            ``reference`` (spec text), ``anchors`` (comma text), ``targets_from`` (codec
            text, e.g. ``x264:qp=22,27,32,37``); None values are ignored.

    Raises:
        ConfigError: unreadable or malformed TOML, or any invalid value.
    """
    cfg = default_config()
    if path is not None:
        cfg = _from_toml(Path(path), cfg)
    ov = {k: v for k, v in overrides.items() if v not in (None, [], ())}
    changes: dict[str, object] = {}
    if "dataset" in ov:
        changes["dataset"] = str(ov["dataset"])
    if "root" in ov:
        changes["root"] = str(ov["root"])
    if "frames" in ov:
        changes["frames"] = _positive_int(ov["frames"], "frames")
    if "size" in ov:
        changes["size"] = parse_size(str(ov["size"]))
    if "codecs" in ov:
        changes["codecs"] = tuple(parse_codec_spec(t) for t in ov["codecs"])  # type: ignore[union-attr]
    if "metrics" in ov:
        names = [m for m in str(ov["metrics"]).split(",") if m.strip()]
        if not names:
            raise invalid("--metrics", ov["metrics"], "a comma-separated list of metric names")
        changes["metrics"] = tuple(parse_metric_spec(m) for m in names)
    if "out" in ov:
        changes["out"] = str(ov["out"])
    if "jobs" in ov:
        changes["jobs"] = _positive_int(ov["jobs"], "jobs")
    if "anchor" in ov:
        changes["anchor"] = str(ov["anchor"])
    if "reference" in ov:
        changes["reference"] = parse_reference_spec(str(ov["reference"]))
    if "anchors" in ov:
        changes["anchors"] = _anchors(ov["anchors"], "--anchors")
    if "targets_from" in ov:
        changes["targets_from"] = str(ov["targets_from"])
    cfg = replace(cfg, **changes)
    _check(cfg)
    return cfg


def _positive_int(value: object, what: str) -> int:
    try:
        number = int(str(value))
    except ValueError:
        raise invalid(what, value, "an integer >= 1") from None
    if number < 1:
        raise invalid(what, value, "an integer >= 1")
    return number


def _check(cfg: RunConfig) -> None:
    if not cfg.codecs:
        raise ConfigError("no codecs configured: add --codec NAME:PARAM=V1,V2,... or [[codecs]]")
    if not cfg.metrics:
        raise ConfigError("no metrics configured: add --metrics a,b or metrics = [...]")
    labels = [c.display for c in cfg.codecs]
    dupes = sorted({x for x in labels if labels.count(x) > 1})
    if dupes:
        raise ConfigError(f"codec {dupes[0]!r} appears twice; give one a label, e.g. "
                          f"--codec {dupes[0]}:qp=...:label={dupes[0]}-slow")
    if cfg.anchor is not None and cfg.anchor not in labels:
        raise invalid("anchor", cfg.anchor, f"one of the configured codecs ({', '.join(labels)})")
    if "reference" in cfg.anchors and cfg.reference is None:
        raise ConfigError("anchors include 'reference' but no reference stage is configured: "
                          "add --reference x264:qp=30,37,42 or a [reference] table")
    names = [(m.name, m.options) for m in cfg.metrics]
    if len(set(names)) != len(names):
        raise ConfigError("a metric is listed twice with the same options")
    for m in cfg.metrics:
        if m.name in REFERENCE_METRICS and "reference" not in cfg.anchors:
            raise ConfigError(f"metric {m.name!r} scores a distorted video given its "
                              "non-pristine reference R, so it needs a reference stage measured "
                              "against R: add --reference x264:qp=30,37,42 --anchors reference "
                              "(or source,reference)")
    _check_targets(cfg)


def targets_source(cfg: RunConfig) -> CodecSpec | None:
    """The codec configuration named by ``cfg.targets_from`` (None when unset).

    ``targets_from`` is a codec label (``x264``) or a label with its ladder
    (``x264:qp=22,27,32,37``), which must then equal that codec's ladder.

    Raises:
        ConfigError: no configured codec matches.
    """
    if cfg.targets_from is None:
        return None
    text = cfg.targets_from.strip()
    label = text.split(":", 1)[0]
    for spec in cfg.codecs:
        if spec.display == label and (":" not in text or text == spec.text):
            if spec.rate_param == "kbps":
                raise invalid("--targets-from", text, "a constant-parameter configuration "
                              "(qp, crf, ...), not a kbps one")
            return spec
    allowed = ", ".join(s.text for s in cfg.codecs if s.rate_param != "kbps") or "none"
    raise invalid("--targets-from", text, f"a codec configuration in this run ({allowed})")


def _check_targets(cfg: RunConfig) -> None:
    wanting = [c.display for c in cfg.codecs if c.targets_from_run]
    if wanting and cfg.targets_from is None:
        raise ConfigError(f"codec {wanting[0]!r} has kbps=from but no --targets-from (or "
                          "[run] targets_from) names the configuration to take targets from")
    if cfg.targets_from is not None and not wanting:
        raise ConfigError(f"--targets-from {cfg.targets_from} is given but no codec has "
                          "kbps=from, e.g. --codec x265:kbps=from:label=x265-2pass")
    targets_source(cfg)


def _from_toml(path: Path, base: RunConfig) -> RunConfig:
    if not path.is_file():
        raise ConfigError(f"config={str(path)!r} does not exist or is not a file")
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"config {path}: not valid TOML: {exc}") from None
    known = {"dataset", "codecs", "metrics", "run", "reference"}
    unknown = sorted(set(data) - known)
    if unknown:
        raise ConfigError(f"config {path}: unknown section(s) {unknown}; allowed: {sorted(known)}")
    changes: dict[str, object] = {}
    ds = data.get("dataset", {})
    if not isinstance(ds, dict):
        raise ConfigError(f"config {path}: [dataset] must be a table")
    for key in ds:
        if key not in ("name", "frames", "size", "root"):
            raise ConfigError(f"config {path}: unknown key dataset.{key}; allowed: "
                              "name, frames, size, root")
    if "name" in ds:
        changes["dataset"] = str(ds["name"])
    if "frames" in ds:
        changes["frames"] = _positive_int(ds["frames"], "dataset.frames")
    if "size" in ds:
        changes["size"] = parse_size(str(ds["size"]))
    if "root" in ds:
        changes["root"] = str(ds["root"])
    if "codecs" in data:
        entries = data["codecs"]
        if not isinstance(entries, list) or not all(isinstance(c, dict) for c in entries):
            raise ConfigError(f"config {path}: codecs must be an array of tables ([[codecs]])")
        changes["codecs"] = tuple(_codec_from_mapping(c, f"config {path} codec #{i + 1}")
                                  for i, c in enumerate(entries))
    if "metrics" in data:
        if not isinstance(data["metrics"], list):
            raise ConfigError(f"config {path}: metrics must be a list")
        changes["metrics"] = tuple(parse_metric_spec(m) for m in data["metrics"])
    if "reference" in data:
        ref = data["reference"]
        if not isinstance(ref, dict):
            raise ConfigError(f"config {path}: [reference] must be a table")
        changes["reference"] = _reference_from_mapping(ref, f"config {path} [reference]")
        if "anchors" in ref:
            changes["anchors"] = _anchors(ref["anchors"], "reference.anchors")
    run = data.get("run", {})
    if not isinstance(run, dict):
        raise ConfigError(f"config {path}: [run] must be a table")
    for key, value in run.items():
        if key == "jobs":
            changes["jobs"] = _positive_int(value, "run.jobs")
        elif key in ("anchor", "out", "targets_from"):
            changes[key] = str(value)
        else:
            raise ConfigError(f"config {path}: unknown key run.{key}; allowed: jobs, anchor, "
                              "out, targets_from")
    return replace(base, **changes)


def _as_dict(cfg: RunConfig) -> dict:
    return {
        "dataset": {"name": cfg.dataset, "frames": cfg.frames,
                    "size": f"{cfg.size[0]}x{cfg.size[1]}" if cfg.size else None,
                    "root": cfg.root},
        "codecs": [{"name": c.name, c.rate_param: list(c.values), **dict(c.options),
                    **({"label": c.label} if c.label else {})} for c in cfg.codecs],
        "metrics": [{"name": m.name, **dict(m.options)} if m.options else m.name
                    for m in cfg.metrics],
        "run": {"jobs": cfg.jobs, "anchor": cfg.anchor, "out": cfg.out,
                **({"targets_from": cfg.targets_from} if cfg.targets_from else {})},
        "reference": None if cfg.reference is None else {
            "codec": cfg.reference.codec.name,
            cfg.reference.codec.rate_param: list(cfg.reference.codec.values),
            **dict(cfg.reference.codec.options), "groups": list(cfg.reference.groups),
            "anchors": list(cfg.anchors)},
    }


def _toml_value(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k} = {_toml_value(v)}" for k, v in value.items()) + "}"
    return json.dumps(str(value))


def write_config(cfg: RunConfig, path: Path, *, comment: str = "") -> None:
    """Write the resolved config as TOML, atomically; :func:`load_config` reads it back."""
    d = _as_dict(cfg)
    lines = [f"# {line}" for line in comment.splitlines()] if comment else []
    lines.append("metrics = " + _toml_value(d["metrics"]))
    lines.append("\n[dataset]")
    lines += [f"{k} = {_toml_value(v)}" for k, v in d["dataset"].items() if v is not None]
    lines.append("\n[run]")
    lines += [f"{k} = {_toml_value(v)}" for k, v in d["run"].items() if v is not None]
    if d["reference"] is not None:
        lines.append("\n[reference]")
        lines += [f"{k} = {_toml_value(v)}" for k, v in d["reference"].items()]
    for codec in d["codecs"]:
        lines.append("\n[[codecs]]")
        lines += [f"{k} = {_toml_value(v)}" for k, v in codec.items()]
    atomic_write_text(path, "\n".join(lines) + "\n")
