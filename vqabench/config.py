"""Experiment configuration: the typed objects, their TOML form, and checks that need no registry.

Reading a config validates each codec and metric against its registry, which lives above this
layer: :func:`vqabench.experiment.load_config` does that and builds these objects.

Example config (every key optional; these are the defaults of ``vqabench run``)::

    [dataset]
    name = "mini"        # a built-in dataset or a path to a folder of videos
    frames = 16
    size = "256x144"
    # sequences = ["Coffee", "Rocket"]   # a subset, in this order (default: all)
    # fps = "30"           # convert folder sources to this constant rate (ffmpeg's fps
    #                      # filter); a variable-rate container is refused without it
    # interlaced = "progressive"   # code interlaced sources as progressive (default: refuse)

    [[codecs]]
    name = "x264"
    qp = [22, 27, 32, 37]   # exactly one rate-control key with its ladder
    preset = "medium"       # any other key is a codec option; label = "..." renames it

    [[codecs]]              # then x265, vp9, svt-av1, vvenc (ladders: DEFAULT_LADDERS)
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

import hashlib
import json
import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from fractions import Fraction
from pathlib import Path
from types import MappingProxyType

from vqabench.errors import invalid
from vqabench.io.atomic import atomic_write_text

__all__ = [
    "ANCHORS",
    "DEFAULT_CODECS",
    "DEFAULT_LADDERS",
    "DEFAULT_METRICS",
    "ConfigChange",
    "compare_configs",
    "REFERENCE_METRICS",
    "default_jobs",
    "TARGETS_FROM",
    "CodecSpec",
    "MetricSpec",
    "ReferenceSpec",
    "RunConfig",
    "parse_anchors",
    "parse_fps",
    "parse_interlaced",
    "parse_scalar",
    "parse_size",
    "positive_int",
    "default_config",
    "parse_sequence_names",
    "Field",
    "FIELDS",
    "write_config",
    "targets_source",
]

DEFAULT_METRICS = ("psnr_y", "psnr_yuv", "ssim", "vmaf")
#: Default rate ladder of each built-in conventional codec, ``name -> (rate parameter,
#: values)``: x264 ``qp=22,27,32,37`` (the JVET/CTC points) and, for the others, the ``qp``
#: whose quality range overlaps x264's on the mini sequences (docs/ladders.md,
#: scripts/calibrate_ladders.py). ``vqabench codecs list`` shows them.
DEFAULT_LADDERS: Mapping[str, tuple[str, tuple[int, ...]]] = MappingProxyType(
    {
        "x264": ("qp", (22, 27, 32, 37)),
        "x265": ("qp", (22, 27, 32, 37)),
        "vp9": ("qp", (11, 24, 33, 42)),
        "aom-av1": ("qp", (12, 25, 34, 43)),
        "svt-av1": ("qp", (26, 38, 47, 57)),
        "vvenc": ("qp", (20, 26, 31, 37)),
    }
)
#: The codecs of a bare ``vqabench run``, in table order (x264 first: the BD-rate anchor)
DEFAULT_CODECS = ("x264", "x265", "vp9", "svt-av1", "vvenc")
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
    """Everything ``vqabench run`` needs; built by :func:`vqabench.experiment.load_config`."""

    dataset: str = "mini"
    frames: int | None = None
    size: tuple[int, int] | None = None
    root: str | None = None
    sequences: tuple[str, ...] | None = None
    fps: Fraction | None = None
    interlaced: str = "refuse"
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
    lost = [
        f"changes codec {c}"
        for c, spec in old_codecs.items()
        if c in new_codecs and new_codecs[c] != spec
    ]
    lost += [f"drops codec {c}" for c in old_codecs if c not in new_codecs]
    lost += [f"changes metric {m} options" for m in dict.fromkeys(dropped) if m in added]
    lost += [f"drops metric {m}" for m in dict.fromkeys(dropped) if m not in added]
    details += lost
    others = [
        f
        for f in (
            "dataset",
            "frames",
            "size",
            "root",
            "sequences",
            "fps",
            "interlaced",
            "reference",
            "anchors",
            "anchor",
            "targets_from",
        )
        if getattr(old, f) != getattr(new, f)
    ]
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


def parse_fps(value: object, where: str) -> Fraction:
    """A frame rate: a positive number or fraction (``30``, ``29.97``, ``"30000/1001"``)."""
    try:
        rate = Fraction(str(value).strip()).limit_denominator(1001)
    except (ValueError, ZeroDivisionError):
        rate = Fraction(0)
    if isinstance(value, bool) or not 0 < rate <= 1000:
        raise invalid(where, value, "a frame rate in (0, 1000], e.g. 30 or 30000/1001")
    return rate


def parse_interlaced(value: object, where: str) -> str:
    """What to do with interlaced sources: ``refuse`` or ``progressive``."""
    if value not in ("refuse", "progressive"):
        raise invalid(
            where,
            value,
            "refuse | progressive (code interlaced frames as progressive pictures on purpose)",
        )
    return str(value)


def parse_scalar(text: str) -> object:
    """Command-line text -> int, float (only plain decimal numbers: ``.264`` stays text),
    bool (true/false) or the text itself."""
    if _INT.fullmatch(text):
        return int(text)
    if _FLOAT.fullmatch(text):
        return float(text)
    return {"true": True, "false": False}.get(text.lower(), text)


def parse_anchors(value: object, where: str) -> tuple[str, ...]:
    items = value.split(",") if isinstance(value, str) else list(value)  # type: ignore[arg-type]
    items = [str(a).strip() for a in items if str(a).strip()]
    if not items or any(a not in ANCHORS for a in items) or len(set(items)) != len(items):
        raise invalid(where, value, "a list of distinct anchors from: source, reference")
    return tuple(items)


def positive_int(value: object, what: str) -> int:
    try:
        number = int(str(value))
    except ValueError:
        raise invalid(what, value, "an integer >= 1") from None
    if number < 1:
        raise invalid(what, value, "an integer >= 1")
    return number


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
                raise invalid(
                    "--targets-from",
                    text,
                    "a constant-parameter configuration (qp, crf, ...), not a kbps one",
                )
            return spec
    allowed = ", ".join(s.text for s in cfg.codecs if s.rate_param != "kbps") or "none"
    raise invalid("--targets-from", text, f"a codec configuration in this run ({allowed})")


def parse_sequence_names(value: object, where: str) -> tuple[str, ...]:
    """A subset of a dataset's sequences: a TOML list or comma text of distinct names.

    Whether each name exists is checked when the dataset is loaded
    (:func:`vqabench.datasets.select`).
    """
    items = value.split(",") if isinstance(value, str) else value
    if not isinstance(items, list | tuple) or not all(isinstance(n, str) for n in items):
        raise invalid(where, value, 'a list of sequence names, e.g. ["Coffee", "Rocket"]')
    names = tuple(n.strip() for n in items)
    if not names or not all(names):
        raise invalid(where, value, "a non-empty list of sequence names")
    if len(set(names)) != len(names):
        raise invalid(where, value, "distinct sequence names")
    return names


def _text(value: object, where: str) -> str:
    return str(value)


def _size(value: object, where: str) -> tuple[int, int]:
    return parse_size(str(value))


#: Help of each field's ``vqabench run`` option.
_HELP = {
    "dataset": "Built-in dataset name or a folder of .y4m/.yuv/container files.",
    "frames": "Frames per sequence.",
    "sequences": "Comma-separated sequence names: a subset of the dataset, in this order "
    "(default: all).",
    "size": "Scale sources to WxH, e.g. 256x144.",
    "fps": "Convert folder sources to this constant rate (ffmpeg's fps filter), e.g. 30 or "
    "30000/1001: how a variable-rate container is benchmarked.",
    "interlaced": "Interlaced sources: refuse (default) or code their frames as progressive "
    "pictures.",
    "codecs": "NAME:PARAM=V1,V2,...[:OPT=VAL]; repeatable, e.g. --codec x264:qp=22,27,32,37",
    "metrics": "Comma-separated metrics, e.g. psnr_y,vmaf",
    "out": "Run directory (default: runs/<dataset>-<config hash>).",
    "jobs": "Worker processes (default: CPU cores).",
    "anchor": "BD-rate anchor codec (default: the first codec).",
    "root": "Data root for named datasets.",
    "reference": "UGC reference stage: codecs encode R = S coded at each point, e.g. "
    "x264:qp=30,37,42 (groups High/Medium/Low).",
    "anchors": "Measure quality against: source (default), reference, or source,reference.",
    "targets_from": "Targets of the kbps=from codecs: the actual rates of this configuration "
    "of the run, per sequence, e.g. x264:qp=22,27,32,37.",
}


@dataclass(frozen=True)
class Field:
    """One setting of ``vqabench run``: its name, where it is read from, how it is checked.

    The one table :data:`FIELDS` drives both the config file and the command line
    (:func:`vqabench.experiment.load_config`, ``vqabench run``'s options); defaults are
    :func:`default_config`'s.

    Attributes:
        name: the :class:`RunConfig` attribute (and ``load_config``'s override keyword).
        key: its dotted key in a config file (``dataset.frames``), or the name of a section
            read as one value (``codecs``).
        flag: its command-line option, e.g. ``--frames``.
        parse: ``parse(value, where)`` -> the typed value (``where`` names the key or flag
            in errors); None for specs of registered codecs and metrics, which
            :mod:`vqabench.experiment` checks against the registries.
        cli_type: what the option's text is parsed to before ``parse`` (int, Path, str).
        metavar: the option's placeholder in ``--help``.
        repeat: the option may be given several times (a list of texts).
    """

    name: str
    key: str
    flag: str
    parse: Callable[[object, str], object] | None
    cli_type: type = str
    metavar: str = ""
    repeat: bool = False

    @property
    def toml(self) -> tuple[str, ...]:
        """The key as a path: ``("dataset", "frames")``."""
        return tuple(self.key.split("."))

    @property
    def help(self) -> str:
        """The option's help in ``vqabench run --help``."""
        return _HELP[self.name]


#: Every setting of a run, in the order of ``vqabench run --help``: its name, TOML key,
#: command-line flag, parser (:data:`_PARSERS`; ``spec``: a codec or metric spec, checked
#: against the registries by :mod:`vqabench.experiment`), option type (``[str]``: the flag
#: repeats) and metavar.
_TABLE = """
dataset       dataset.name        --dataset       text        str     NAME|DIR
frames        dataset.frames      --frames        count       int     N
sequences     dataset.sequences   --sequences     sequences   str     LIST
size          dataset.size        --size          size        str     WxH
fps           dataset.fps         --fps           fps         str     RATE
interlaced    dataset.interlaced  --interlaced    interlaced  str     refuse|progressive
codecs        codecs              --codec         spec        [str]   SPEC
metrics       metrics             --metrics       spec        str     LIST
out           run.out             --out           text        Path    DIR
jobs          run.jobs            --jobs          count       int     N
anchor        run.anchor          --anchor        text        str     CODEC
root          dataset.root        --root          text        Path    DIR
reference     reference           --reference     spec        str     SPEC
anchors       reference.anchors   --anchors       anchors     str     LIST
targets_from  run.targets_from    --targets-from  text        str     SPEC
"""
_PARSERS: dict[str, Callable[[object, str], object] | None] = {
    "text": _text,
    "count": positive_int,
    "sequences": parse_sequence_names,
    "size": _size,
    "fps": parse_fps,
    "interlaced": parse_interlaced,
    "anchors": parse_anchors,
    "spec": None,
}
_TYPES = {"str": str, "int": int, "Path": Path}


def _fields(table: str) -> tuple[Field, ...]:
    rows = (line.split() for line in table.strip().splitlines())
    return tuple(
        Field(
            name,
            key,
            flag,
            _PARSERS[parse],
            _TYPES[kind.strip("[]")],
            metavar,
            repeat=kind.startswith("["),
        )
        for name, key, flag, parse, kind, metavar in rows
    )


FIELDS: tuple[Field, ...] = _fields(_TABLE)


def default_config() -> RunConfig:
    """The configuration of a bare ``vqabench run``: the built-in mini benchmark."""
    return RunConfig(
        codecs=tuple(CodecSpec(n, *DEFAULT_LADDERS[n]) for n in DEFAULT_CODECS),
        metrics=tuple(MetricSpec(m) for m in DEFAULT_METRICS),
    )


def _as_dict(cfg: RunConfig) -> dict:
    return {
        "dataset": {
            "name": cfg.dataset,
            "frames": cfg.frames,
            "size": f"{cfg.size[0]}x{cfg.size[1]}" if cfg.size else None,
            "root": cfg.root,
            # only when set, so configs written before the field keep their identity
            **({"sequences": list(cfg.sequences)} if cfg.sequences else {}),
            **({"fps": f"{cfg.fps.numerator}/{cfg.fps.denominator}"} if cfg.fps else {}),
            **({"interlaced": cfg.interlaced} if cfg.interlaced != "refuse" else {}),
        },
        "codecs": [
            {
                "name": c.name,
                c.rate_param: list(c.values),
                **dict(c.options),
                **({"label": c.label} if c.label else {}),
            }
            for c in cfg.codecs
        ],
        "metrics": [
            {"name": m.name, **dict(m.options)} if m.options else m.name for m in cfg.metrics
        ],
        "run": {
            "jobs": cfg.jobs,
            "anchor": cfg.anchor,
            "out": cfg.out,
            **({"targets_from": cfg.targets_from} if cfg.targets_from else {}),
        },
        "reference": None
        if cfg.reference is None
        else {
            "codec": cfg.reference.codec.name,
            cfg.reference.codec.rate_param: list(cfg.reference.codec.values),
            **dict(cfg.reference.codec.options),
            "groups": list(cfg.reference.groups),
            "anchors": list(cfg.anchors),
        },
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
    """Write the resolved config as TOML, atomically; :func:`vqabench.experiment.load_config`
    reads it back."""
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
