"""Experiment configuration validated against the codec and metric registries.

:mod:`vqabench.config` holds the typed objects (it sits below codecs and metrics, so it cannot
ask them); this module reads a TOML file and command-line specs into those objects and checks
every codec option, rate point and metric option by creating the codec or metric, so a bad
value fails here, in one line, before any job runs. The file format is documented in
:mod:`vqabench.config`.

Example:
    >>> cfg = load_config("experiments/ptloss/configs/ptloss_transcoding.toml", jobs=2)
    >>> parse_codec_spec("x264:qp=22,27,32,37:preset=veryfast").values
    (22, 27, 32, 37)
"""

from __future__ import annotations

import tomllib
from dataclasses import replace
from pathlib import Path

from vqabench import codecs
from vqabench.config import (
    FIELDS,
    REFERENCE_METRICS,
    CodecSpec,
    Field,
    MetricSpec,
    ReferenceSpec,
    RunConfig,
    default_config,
    parse_scalar,
    parse_sequence_names,
    targets_source,
)
from vqabench.errors import ConfigError, invalid
from vqabench.options import check_names, parse_options

__all__ = [
    "load_config",
    "parse_codec_spec",
    "parse_metric_spec",
    "parse_reference_spec",
    "parse_sequence_names",
]  # the last: vqabench.config


def _codec_from_mapping(data: dict, where: str, *, text: bool = False) -> CodecSpec:
    """A codec spec from a TOML table or parsed ``--codec`` (``text``: option values are
    command-line text); options are checked and typed from the codec's declaration."""
    if "name" not in data or not isinstance(data["name"], str):
        raise ConfigError(f'{where}: every codec needs a name, e.g. name = "x264"')
    name = data["name"]
    cls = codecs.get_class(name)
    if "kbps" in data and "kbps" not in cls.rate_params:
        raise ConfigError(
            f"{where}: codec {name!r} has no rate control, so kbps is not "
            "allowed; its rate points are " + ", ".join(cls.rate_params)
        )
    rate_keys = [k for k in data if k in cls.rate_params]
    if len(rate_keys) != 1:
        allowed = ", ".join(cls.rate_params)
        raise ConfigError(
            f"{where}: codec {name!r} needs exactly one rate ladder key "
            f"({allowed}), e.g. qp = [22, 27, 32, 37]; got {rate_keys or 'none'}"
        )
    param = rate_keys[0]
    values = data[param]
    if not isinstance(values, list | tuple):
        values = [values]
    if not values:
        raise ConfigError(f"{where}: codec {name!r} has an empty {param} ladder")
    label = str(data.get("label", ""))
    options = {k: v for k, v in data.items() if k not in ("name", "label", param)}
    what = f"{where}: codec {name!r}"
    check_names(
        cls, options, what, also=f", label, and one rate ladder of {', '.join(cls.rate_params)}"
    )
    options = parse_options(cls, options, what, text=text)
    spec = CodecSpec(name, param, tuple(values), tuple(sorted(options.items())), label)
    _validate_codec(spec, where)
    return spec


def _validate_codec(spec: CodecSpec, where: str) -> None:
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
        raise invalid(
            "--codec", text, "NAME:PARAM=V1,V2,...[:OPTION=VALUE], e.g. x264:qp=22,27,32,37"
        )
    data: dict[str, object] = {"name": parts[0]}
    rate_params = codecs.get_class(parts[0]).rate_params
    for part in parts[1:]:
        key, value = part.split("=", 1)
        if not key or not value:
            raise invalid("--codec", text, "OPTION=VALUE items with a key and a value")
        if key in rate_params:  # numbers (qp=22,27) or names (model=xxs,xs); the codec checks
            data[key] = [parse_scalar(v) for v in value.split(",")]
        else:  # text, parsed from the codec's declaration of the option
            data[key] = value
    return _codec_from_mapping(data, f"--codec {text}", text=True)


def _reference_from_mapping(data: dict, where: str) -> ReferenceSpec:
    data = dict(data)
    groups = data.pop("groups", None)
    data.pop("anchors", None)
    if "codec" in data:
        data["name"] = data.pop("codec")
    codec = _codec_from_mapping(data, where)
    if groups is None:
        groups = (
            ["High", "Medium", "Low"]
            if len(codec.values) == 3
            else [f"{codec.rate_param}={v}" for v in codec.values]
        )
    elif isinstance(groups, str):
        groups = groups.split("/")
    groups = tuple(str(g) for g in groups)
    if len(groups) != len(codec.values) or len(set(groups)) != len(groups):
        raise invalid(
            "reference groups",
            list(groups),
            f"{len(codec.values)} distinct labels, one per reference rate point",
        )
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


def parse_metric_spec(text: str | dict) -> MetricSpec:
    """Parse ``vmaf:model=vmaf_v0.6.1neg`` or a TOML table ``{name=..., option=...}``.

    Options are separated by ``:``; a piece without ``=`` continues the value before it, so
    values that contain a colon read as typed: ``lpips:device=cuda:0``,
    ``psnr_yuv:weights=6:1:1``.
    """
    if isinstance(text, dict):
        data = dict(text)
        name = data.pop("name", None)
        if not isinstance(name, str):
            raise ConfigError(f"metric table {text!r} needs a name")
        options, is_text = data, False
    else:
        parts = str(text).strip().split(":")
        name, raw, key = parts[0], {}, None
        for part in parts[1:]:
            if "=" in part:
                key, value = part.split("=", 1)
                raw[key] = value
            elif key is not None and part:
                raw[key] = f"{raw[key]}:{part}"
            else:
                raise invalid(
                    "metric", text, "NAME[:OPTION=VALUE...], e.g. vmaf:model=vmaf_v0.6.1neg"
                )
        options, is_text = raw, True
    if not name:
        raise invalid("metric", text, "a metric name")
    from vqabench import metrics  # numpy and the metric code: only once a metric is named

    options = parse_options(metrics.get_class(name), options, f"metric {name!r}", text=is_text)
    spec = MetricSpec(name, tuple(sorted(options.items())))
    try:
        metrics.create(name, **options)
    except TypeError as exc:
        raise ConfigError(f"metric {name!r}: {exc}") from None
    return spec


def _codecs(value: object, config: Path | None) -> tuple[CodecSpec, ...]:
    """``--codec`` texts, or the ``[[codecs]]`` tables of ``config``."""
    if config is None:
        return tuple(parse_codec_spec(str(t)) for t in value)  # type: ignore[attr-defined]
    if not isinstance(value, list) or not all(isinstance(c, dict) for c in value):
        raise ConfigError(f"config {config}: codecs must be an array of tables ([[codecs]])")
    return tuple(
        _codec_from_mapping(c, f"config {config} codec #{i + 1}") for i, c in enumerate(value)
    )


def _metrics(value: object, config: Path | None) -> tuple[MetricSpec, ...]:
    """``--metrics`` comma text, or the ``metrics`` list of ``config``."""
    if config is None:
        names = [m for m in str(value).split(",") if m.strip()]
        if not names:
            raise invalid("--metrics", value, "a comma-separated list of metric names")
        return tuple(parse_metric_spec(m) for m in names)
    if not isinstance(value, list):
        raise ConfigError(f"config {config}: metrics must be a list")
    return tuple(parse_metric_spec(m) for m in value)


def _reference(value: object, config: Path | None) -> ReferenceSpec:
    """``--reference`` text, or the ``[reference]`` table of ``config``."""
    if config is None:
        return parse_reference_spec(str(value))
    if not isinstance(value, dict):
        raise ConfigError(f"config {config}: [reference] must be a table")
    return _reference_from_mapping(value, f"config {config} [reference]")


#: Parsers of the :data:`~vqabench.config.FIELDS` that name registered codecs and metrics.
_SPEC_PARSERS = {"codecs": _codecs, "metrics": _metrics, "reference": _reference}


def _parse(field: Field, value: object, config: Path | None) -> object:
    """The typed value of ``field`` from the command line (``config`` None) or a file."""
    if field.parse is None:
        return _SPEC_PARSERS[field.name](value, config)
    return field.parse(value, field.flag if config is None else field.key)


def _read_toml(path: Path) -> dict:
    """The TOML file's tables, with every section and key checked against the fields."""
    if not path.is_file():
        raise ConfigError(f"config={str(path)!r} does not exist or is not a file")
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"config {path}: not valid TOML: {exc}") from None
    known = dict.fromkeys(f.toml[0] for f in FIELDS)
    unknown = sorted(set(data) - set(known))
    if unknown:
        raise ConfigError(f"config {path}: unknown section(s) {unknown}; allowed: {sorted(known)}")
    whole = {f.toml[0] for f in FIELDS if len(f.toml) == 1}  # parsed as one value
    for section in (s for s in known if s not in whole and s in data):
        if not isinstance(data[section], dict):
            raise ConfigError(f"config {path}: [{section}] must be a table")
        keys = [f.toml[1] for f in FIELDS if f.toml[0] == section]
        for key in data[section]:
            if key not in keys:
                raise ConfigError(
                    f"config {path}: unknown key {section}.{key}; allowed: " + ", ".join(keys)
                )
    return data


def _lookup(data: dict, path: tuple[str, ...]) -> object:
    """The value at ``path`` in the TOML tables, or ``_ABSENT``."""
    for key in path:
        if not isinstance(data, dict) or key not in data:
            return _ABSENT
        data = data[key]
    return data


_ABSENT = object()


def load_config(path: str | Path | None = None, **overrides: object) -> RunConfig:
    """Read a TOML config (or the defaults) and apply command-line overrides.

    Both go through the one table of fields, :data:`vqabench.config.FIELDS`: a field's TOML
    key and its ``vqabench run`` option are parsed and checked by the same function.

    Args:
        path: TOML file, or None for :func:`default_config`.
        overrides: command-line values by field name: ``dataset``, ``frames``, ``size``
            (text), ``codecs`` (list of spec texts), ``metrics`` (comma text), ``out``,
            ``jobs``, ``anchor``, ``root``, ``reference`` (spec text), ``anchors`` (comma
            text), ``sequences`` (comma text), ``fps`` (text), ``interlaced`` (``refuse`` |
            ``progressive``), ``targets_from`` (codec text, e.g. ``x264:qp=22,27,32,37``);
            None values are ignored.

    Raises:
        ConfigError: unreadable or malformed TOML, or any invalid value.
        TypeError: an override that is no field.
    """
    names = {f.name for f in FIELDS}
    if unknown := sorted(set(overrides) - names):
        raise TypeError(
            f"load_config() got unknown override(s) {unknown}; fields: " + ", ".join(sorted(names))
        )
    changes: dict[str, object] = {}
    if path is not None:
        data = _read_toml(Path(path))
        for f in FIELDS:
            if (value := _lookup(data, f.toml)) is not _ABSENT:
                changes[f.name] = _parse(f, value, Path(path))
    for f in FIELDS:
        if (value := overrides.get(f.name)) not in (None, [], ()):
            changes[f.name] = _parse(f, value, None)
    cfg = replace(default_config(), **changes)
    _check(cfg)
    return cfg


def _check(cfg: RunConfig) -> None:
    if not cfg.codecs:
        raise ConfigError("no codecs configured: add --codec NAME:PARAM=V1,V2,... or [[codecs]]")
    if not cfg.metrics:
        raise ConfigError("no metrics configured: add --metrics a,b or metrics = [...]")
    labels = [c.display for c in cfg.codecs]
    dupes = sorted({x for x in labels if labels.count(x) > 1})
    if dupes:
        raise ConfigError(
            f"codec {dupes[0]!r} appears twice; give one a label, e.g. "
            f"--codec {dupes[0]}:qp=...:label={dupes[0]}-slow"
        )
    if cfg.anchor is not None and cfg.anchor not in labels:
        raise invalid("anchor", cfg.anchor, f"one of the configured codecs ({', '.join(labels)})")
    if "reference" in cfg.anchors and cfg.reference is None:
        raise ConfigError(
            "anchors include 'reference' but no reference stage is configured: "
            "add --reference x264:qp=30,37,42 or a [reference] table"
        )
    names = [(m.name, m.options) for m in cfg.metrics]
    if len(set(names)) != len(names):
        raise ConfigError("a metric is listed twice with the same options")
    for m in cfg.metrics:
        if m.name in REFERENCE_METRICS and "reference" not in cfg.anchors:
            raise ConfigError(
                f"metric {m.name!r} scores a distorted video given its "
                "non-pristine reference R, so it needs a reference stage measured "
                "against R: add --reference x264:qp=30,37,42 --anchors reference "
                "(or source,reference)"
            )
    _check_targets(cfg)


def _check_targets(cfg: RunConfig) -> None:
    wanting = [c.display for c in cfg.codecs if c.targets_from_run]
    if wanting and cfg.targets_from is None:
        raise ConfigError(
            f"codec {wanting[0]!r} has kbps=from but no --targets-from (or "
            "[run] targets_from) names the configuration to take targets from"
        )
    if cfg.targets_from is not None and not wanting:
        raise ConfigError(
            f"--targets-from {cfg.targets_from} is given but no codec has "
            "kbps=from, e.g. --codec x265:kbps=from:label=x265-2pass"
        )
    targets_source(cfg)
