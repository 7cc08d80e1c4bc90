"""``vqabench codecs list``: every registered codec, its encoder, rate controls and defaults.

Only reads :mod:`vqabench.codecs` (class attributes and constructor defaults) and the default
ladders of :data:`vqabench.config.DEFAULT_LADDERS` (the table ``vqabench run`` uses); nothing
is encoded.

Example:
    $ vqabench codecs list
    $ vqabench codecs list --json
"""

from __future__ import annotations

import inspect
import json
import math

import typer

from vqabench.cli.app import app
from vqabench.cli.coercion import PlainTyper
from vqabench.config import DEFAULT_CODECS, DEFAULT_LADDERS

__all__ = ["codecs_app", "list_codecs", "codec_facts"]

codecs_app = PlainTyper(help="List the codecs vqabench can run.", no_args_is_help=True)
app.add_typer(codecs_app, name="codecs")


def _defaults(cls: type) -> dict[str, object]:
    """Keyword options of the constructor and their defaults (required ones omitted); a
    ``None`` default the class resolves from ``default_<option>`` shows that value."""
    params = inspect.signature(cls.__init__).parameters.values()
    out = {}
    for p in params:
        if (
            p.name == "self"
            or p.default is inspect.Parameter.empty
            or p.kind not in (p.KEYWORD_ONLY, p.POSITIONAL_OR_KEYWORD)
        ):
            continue
        default = p.default
        if default is None:
            default = getattr(cls, f"default_{p.name}", None)
        out[p.name] = list(default) if isinstance(default, tuple) else default
    return out


def _bound(value: float) -> float | None:
    """A range bound for JSON: None for an unbounded side."""
    return None if math.isinf(value) else value


def _version(cls: type) -> str:
    """The codec's version text with default options, or why it has none without options."""
    try:
        return cls().version()
    except Exception as exc:  # e.g. the external adapter needs its definition file
        return f"n/a ({type(exc).__name__}: needs options)"


def _ladder_text(name: str) -> str | None:
    """``qp=22,27,32,37``: the codec's default ladder, None for a codec without one."""
    if name not in DEFAULT_LADDERS:
        return None
    param, values = DEFAULT_LADDERS[name]
    return f"{param}={','.join(str(v) for v in values)}"


def codec_facts(name: str) -> dict[str, object]:
    """Name, encoder, version, rate controls, default ladder, native input formats and
    defaults of a codec.

    ``rate_params`` maps each control to its inclusive range, or to its allowed values where
    the class lists them (``rate_choices``); ``default_ladder`` is its calibrated default
    ladder (``qp=22,27,32,37``; None where there is none; docs/ladders.md) and
    ``in_default_run`` whether a bare ``vqabench run`` runs it with that ladder;
    ``native_pix_fmts`` lists the formats it codes as they are (``"any"`` for a codec class
    that predates the declaration); ``sizes`` the smallest and largest picture it codes and
    whether width and height must hold the chroma subsampling whole
    (:meth:`~vqabench.codecs.Codec.check_size`).
    """
    from vqabench import codecs

    cls = codecs.get_class(name)
    choices = getattr(cls, "rate_choices", {}) or {}
    rates = {
        param: list(choices[param]) if param in choices else [_bound(lo), _bound(hi)]
        for param, (lo, hi) in cls.rate_params.items()
    }
    native = getattr(cls, "native_pix_fmts", None)
    return {
        "name": name,
        "encoder": getattr(cls, "encoder", None) or cls.__name__,
        "version": _version(cls),
        "rate_params": rates,
        "default_ladder": _ladder_text(name),
        "in_default_run": name in DEFAULT_CODECS,
        "native_pix_fmts": "any" if native is None else list(native),
        "sizes": {
            "min": list(cls.min_size),
            "max": list(cls.max_size) if cls.max_size else None,
            "whole_chroma": cls.whole_chroma,
        },
        "defaults": _defaults(cls),
    }


def _rate_text(rates: dict[str, list]) -> str:
    if rates and all(v == [None, None] for v in rates.values()):  # set by each definition
        return "one of " + "|".join(rates)

    def one(values: list) -> str:
        if len(values) == 2 and all(isinstance(v, int | float | None) for v in values):
            lo, hi = ("" if v is None else f"{v:g}" for v in values)
            return f"{lo}..{hi}"
        return "|".join(str(v) for v in values)

    return ", ".join(f"{p}={one(v)}" for p, v in rates.items()) or "-"


@codecs_app.command("list")
def list_codecs(
    as_json: bool = typer.Option(False, "--json", help="One JSON array of codec objects."),
) -> None:
    """List codecs: name, encoder and version, rate parameters (ranges), default ladder
    (marked * where a bare `vqabench run` runs it), native input formats, picture sizes and
    default options."""
    from vqabench import codecs

    facts = [codec_facts(name) for name in codecs.available()]
    if as_json:
        typer.echo(json.dumps(facts, default=str))
        return
    for f in facts:
        native = f["native_pix_fmts"]
        formats = native if isinstance(native, str) else ",".join(native)
        defaults = " ".join(f"{k}={v}" for k, v in f["defaults"].items())
        lo, hi = f["sizes"]["min"], f["sizes"]["max"]
        sizes = f"{lo[0]}x{lo[1]}.." + (f"{hi[0]}x{hi[1]}" if hi else "")
        ladder = (f["default_ladder"] or "-") + ("*" if f["in_default_run"] else "")
        typer.echo(
            f"{f['name']:8s} {f['encoder']:12s} {f['version']:28s} "
            f"{_rate_text(f['rate_params']):22s} ladder={ladder:17s} "
            f"formats={formats:10s} sizes={sizes:18s} {defaults}"
        )
