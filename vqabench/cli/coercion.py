"""Plain parameter values parsed without pydantic, so that a command answers at once.

Typer (0.2x) coerces every parameter value through a pydantic ``TypeAdapter`` that it builds
on first use: importing pydantic and building the adapters of one command cost about 0.1 s
of every ``vqabench`` command (reports/performance.md, "CLI start-up"). Every parameter of
this CLI is a ``str``, ``int``, ``float``, ``bool`` or ``Path`` (or a list of them) without
a parser, bounds or path checks of its own. For those, the commands and groups of
:class:`PlainTyper` give each parameter, when they parse their arguments, a coercion that
returns what Typer's adapter returns for an unambiguous value (``"42"`` -> 42, a string as
given, ``Path(text)`` after Typer's own path checks pass) and hands anything else (a value
to refuse, an unusual spelling such as ``"1_000"`` or ``" 5"``, a path it cannot read) to
Typer's adapter, so that every value and every message stays Typer's own. A Typer without
these internals runs unchanged.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, get_args, get_origin

import typer
from typer.core import TyperCommand, TyperGroup

try:  # Typer >= 0.2x: coercion through pydantic TypeAdapters
    from typer._coercion import RuntimeParam, build_runtime_param
except ImportError:  # an older Typer (click's own types): nothing to replace
    RuntimeParam = None  # type: ignore[assignment,misc]

__all__ = ["PlainTyper", "PlainCommand", "PlainGroup", "plain_coercion", "plain_value", "UNSURE"]

#: :func:`plain_value`'s answer for a value it leaves to Typer's adapter.
UNSURE = object()

_INT = re.compile(r"-?[0-9]{1,18}")
_FLOAT = re.compile(r"-?[0-9]{1,15}(\.[0-9]{1,15})?")
_PLAIN = (str, int, float, bool, Path)
#: Path checks at Typer's defaults: anything that exists must be readable, nothing else.
_PATH_DEFAULTS = {
    "exists": False,
    "file_okay": True,
    "dir_okay": True,
    "writable": False,
    "readable": True,
    "resolve_path": False,
    "allow_dash": False,
    "path_type": None,
}


def plain_value(annotation: type, value: object) -> object:
    """``value`` as Typer's adapter coerces it to ``annotation``, or :data:`UNSURE`.

    Only values whose coercion is unambiguous are answered: a ``str`` for ``str``, a
    ``bool`` for ``bool``, an ``int`` or plain decimal digits for ``int``, a ``float`` or
    plain decimal digits with an optional fraction for ``float``, and, for ``Path``, a
    non-empty string naming nothing on disk or something this process can read.
    """
    kind = type(value)
    if annotation is str or annotation is bool:
        return value if kind is annotation else UNSURE
    if annotation is int:
        if kind is int:
            return value
        return int(value) if kind is str and _INT.fullmatch(value) else UNSURE
    if annotation is float:
        if kind is float:
            return value
        return float(value) if kind is str and _FLOAT.fullmatch(value) else UNSURE
    if annotation is Path and kind is str and value and "\0" not in value:
        path = Path(value)
        try:
            os.stat(path)
        except OSError:  # Typer checks nothing more of a path that does not exist
            return path
        return path if os.access(path, os.R_OK) else UNSURE
    return UNSURE


def _is_plain(descriptor: Any) -> bool:
    """Whether a parameter (its Typer type descriptor) is one :func:`plain_value` knows."""
    info = descriptor.parameter_info
    annotation = descriptor.annotation
    if get_origin(annotation) is list:
        annotation = get_args(annotation)[0]
    if annotation not in _PLAIN or descriptor.file_annotation is not None:
        return False
    if getattr(info, "parser", None) is not None or getattr(info, "click_type", None):
        return False
    if any(getattr(info, name, None) is not None for name in ("min", "max")) or info.clamp:
        return False
    return annotation is not Path or all(
        getattr(info, name, default) == default for name, default in _PATH_DEFAULTS.items()
    )


if RuntimeParam is not None:

    @dataclass(frozen=True)
    class _PlainParam(RuntimeParam):
        """Typer's runtime coercion of one parameter, :func:`plain_value` first."""

        def _coerce_value(self, value: Any, param: Any, ctx: Any) -> Any:
            annotation = self.annotation
            if get_origin(annotation) is list and isinstance(value, list | tuple):
                items = [plain_value(get_args(annotation)[0], v) for v in value]
                out: Any = UNSURE if UNSURE in items else items
            else:
                out = plain_value(annotation, value)
            if out is UNSURE:  # Typer's own adapter: its value or its message
                typer_param = build_runtime_param(param.type_descriptor)
                return typer_param._coerce_value(value, param=param, ctx=ctx)
            return out


def plain_coercion(params: list[Any]) -> None:
    """Give each plain parameter in ``params`` (of a click command made by Typer) the
    coercion of :func:`plain_value`, unless Typer already built its own."""
    if RuntimeParam is None:
        return
    for param in params:
        descriptor = getattr(param, "type_descriptor", None)
        if descriptor is None or getattr(param, "_runtime_param", UNSURE) is not None:
            continue
        if _is_plain(descriptor):
            param._runtime_param = _PlainParam(
                parameter_info=descriptor.parameter_info, annotation=descriptor.annotation
            )


class _PlainParse:
    """Parses its arguments after :func:`plain_coercion` of its parameters (``-h`` too)."""

    def parse_args(self, ctx, args):  # type: ignore[no-untyped-def]
        if RuntimeParam is not None:
            plain_coercion(self.get_params(ctx))  # type: ignore[attr-defined]
        return super().parse_args(ctx, args)  # type: ignore[misc]


class PlainCommand(_PlainParse, TyperCommand):
    """A Typer command whose plain parameters are parsed without pydantic."""


class PlainGroup(_PlainParse, TyperGroup):
    """A Typer command group whose plain parameters are parsed without pydantic."""


class PlainTyper(typer.Typer):
    """A Typer application whose groups (``cls``) and commands are :class:`PlainGroup` and
    :class:`PlainCommand` unless given."""

    def __init__(self, **kwargs: Any):
        kwargs.setdefault("cls", PlainGroup)
        super().__init__(**kwargs)

    def command(self, *args: Any, **kwargs: Any) -> Any:  # noqa: D102 (Typer's own)
        kwargs.setdefault("cls", PlainCommand)
        return super().command(*args, **kwargs)
