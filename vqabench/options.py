"""Codec and metric options, typed from one declaration: the class's ``__init__`` signature.

Each keyword parameter of ``__init__`` is an option: its name, its type hint and its default
are the declaration; a range is added with ``Annotated[int, Range(1, 5)]``. Command-line
text (``ssim:downsample=no``) and TOML values (``downsample = "no"``) are parsed from that
declaration, so no option reaches a computation as an unparsed string:

==========================  ===============================================================
declared type               accepted
==========================  ===============================================================
``bool``                    true/false/yes/no/on/off/1/0 (any case), TOML booleans, 0 and 1
``int``                     integers (text or integral numbers), within the ``Range``
``float``                   numbers (an integer stays an integer), within the ``Range``
``Literal["a", "b"]``       one of the choices (close matches suggested)
``str``                     text (TOML numbers are kept as they are)
``X | Y | None``            ``none``/``null`` for None; else the first member that accepts
                            it, trying bool, int, float, Literal, str, then the rest
anything else / untyped     left as it is (command-line text read as a number or
                            true/false/none where it looks like one)
==========================  ===============================================================

A ``**kwargs`` parameter forwards its options to the next ``__init__`` in the method
resolution order, whose options join the declaration; when that next ``__init__`` declares
no options (``object``, a base without options), the class takes any option itself (open).
``**options: Never`` declares that a class takes none.

Example:
    >>> class Ssim:
    ...     def __init__(self, *, downsample: bool = False): ...
    >>> parse_options(Ssim, {"downsample": "no"}, "metric 'ssim'", text=True)
    {'downsample': False}
"""

from __future__ import annotations

import difflib
import functools
import inspect
import math
import types
import typing
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Annotated, Any, Literal, Never, Union

from vqabench.config import parse_scalar
from vqabench.errors import ConfigError, invalid

__all__ = [
    "BOOL_SPELLINGS",
    "Range",
    "Option",
    "Declaration",
    "declaration",
    "parse_value",
    "parse_options",
    "check_names",
]

#: Accepted spellings of a boolean option (compared in lower case).
BOOL_SPELLINGS = {
    "true": True,
    "false": False,
    "yes": True,
    "no": False,
    "on": True,
    "off": False,
    "1": True,
    "0": False,
}
_BOOL_TEXT = "true/false/yes/no/on/off/1/0"
_NONE_TEXT = ("none", "null")


@dataclass(frozen=True)
class Range:
    """Inclusive bounds of a number option (None: unbounded), used as
    ``Annotated[int, Range(1, 5)]``."""

    low: float | None = None
    high: float | None = None

    def text(self) -> str:
        """``"in 1..5"``, ``">= 0"`` or ``"<= 9"``."""
        if self.low is not None and self.high is not None:
            return f"in {self.low:g}..{self.high:g}"
        return f">= {self.low:g}" if self.low is not None else f"<= {self.high:g}"


@dataclass(frozen=True)
class Option:
    """One declared option: its name, type hint (``Any`` when untyped) and default."""

    name: str
    type: Any
    default: Any


@dataclass(frozen=True)
class Declaration:
    """The options of a class; ``open`` when it also takes options it does not name."""

    options: Mapping[str, Option]
    open: bool = False


class _Refused(ValueError):
    """A value that a type does not accept; ``expected`` says what it accepts."""

    def __init__(self, expected: str, hint: str = ""):
        super().__init__(expected)
        self.expected, self.hint = expected, hint


def _inits(cls: type) -> list[type]:
    return [k for k in cls.__mro__ if "__init__" in vars(k)]


def _own_options(klass: type) -> tuple[dict[str, Option], bool]:
    """Keyword options of ``klass.__init__`` and whether it has ``**kwargs`` (one typed
    ``Never`` takes none)."""
    init = vars(klass)["__init__"]
    try:
        params = inspect.signature(init).parameters.values()
    except (TypeError, ValueError):  # a builtin such as object.__init__
        return {}, False
    try:
        hints = typing.get_type_hints(init, include_extras=True)
    except Exception:  # names the hints cannot resolve: those options stay untyped
        hints = {}
    options = {
        p.name: Option(p.name, hints.get(p.name, Any), p.default)
        for p in params
        if p.name != "self" and p.kind in (p.KEYWORD_ONLY, p.POSITIONAL_OR_KEYWORD)
    }
    return options, any(p.kind is p.VAR_KEYWORD and hints.get(p.name) is not Never for p in params)


@functools.lru_cache(maxsize=256)
def declaration(cls: type) -> Declaration:
    """The options ``cls`` declares, following ``**kwargs`` up the ``__init__`` chain.

    Example:
        >>> sorted(declaration(vqabench.metrics.get_class("vmaf")).options)
        ['model', 'n_threads', 'pooling']
    """
    options: dict[str, Option] = {}
    chain = _inits(cls)
    for i, klass in enumerate(chain):
        own, forwards = _own_options(klass)
        for name, option in own.items():
            options.setdefault(name, option)
        if not forwards:
            return Declaration(options)
        following = _own_options(chain[i + 1])[0] if i + 1 < len(chain) else {}
        if not following:  # nothing above takes them: the class takes any option
            return Declaration(options, open=True)
    return Declaration(options, open=True)


def check_names(cls: type, names: object, what: str, also: str = "") -> None:
    """Refuse an option name ``cls`` does not declare, with a close match and the list.

    Args:
        names: the option names given.
        what: who the options belong to, e.g. ``"metric 'vmaf'"``.
        also: text appended to the allowed list (e.g. a codec's ``label``).

    Raises:
        ConfigError: ``metric 'vmaf' has no option 'modle'; did you mean 'model'?
            (options: model, pooling, n_threads)``.
    """
    decl = declaration(cls)
    if decl.open:
        return
    allowed = list(decl.options)
    for name in names:  # type: ignore[attr-defined]
        if name not in decl.options:
            close = difflib.get_close_matches(str(name), allowed, n=1, cutoff=0.6)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            listed = ", ".join(allowed) or "none"
            raise ConfigError(f"{what} has no option {name!r}{hint} (options: {listed}{also})")


def parse_options(
    cls: type, options: Mapping[str, object], what: str, *, text: bool = False
) -> dict[str, object]:
    """``options`` checked by name and parsed to their declared types.

    Args:
        cls: the codec or metric class.
        options: option values: command-line text (``text=True``) or Python/TOML values.
        what: who the options belong to, e.g. ``"metric 'ssim'"`` (starts each message).
        text: the values are command-line text.

    Raises:
        ConfigError: an unknown name, or a value its type does not accept (one line).
    """
    check_names(cls, options, what)
    decl = declaration(cls)
    out = {}
    for name, value in options.items():
        option = decl.options.get(name)
        if option is None:  # an open class's own option
            out[name] = _guess(value) if text and isinstance(value, str) else value
        else:
            out[name] = parse_value(option.type, value, f"{what}: {name}", text=text)
    return out


def parse_value(tp: Any, value: object, argument: str, *, text: bool = False) -> object:
    """``value`` as the type hint ``tp`` declares it (see the module's table).

    Raises:
        ConfigError: ``ARGUMENT='maybe' is not allowed: expected true/false/...``.
    """
    try:
        return _parse(tp, value, text)
    except _Refused as exc:
        raise ConfigError(f"{invalid(argument, value, exc.expected)}{exc.hint}") from None


def _guess(text: str) -> object:
    return None if text.strip().lower() in _NONE_TEXT else parse_scalar(text)


def _members(tp: Any) -> tuple[Any, ...] | None:
    if typing.get_origin(tp) in (Union, types.UnionType):
        return typing.get_args(tp)
    return None


def _rank(tp: Any) -> int:
    if typing.get_origin(tp) is Annotated:
        return _rank(typing.get_args(tp)[0])
    order = [type(None), bool, int, float]
    if tp in order:
        return order.index(tp)
    if typing.get_origin(tp) is Literal:
        return 4
    return 5 if tp is str else 6


def _is_instance(value: object, tp: Any) -> bool:
    if tp is Any or tp is object:
        return True
    if typing.get_origin(tp) is Annotated:
        return False  # bounds to check
    if typing.get_origin(tp) is Literal:
        return any(value == c and type(value) is type(c) for c in typing.get_args(tp))
    base = typing.get_origin(tp) or tp
    if not isinstance(base, type):
        return False
    if base in (int, float) and isinstance(value, bool):
        return False
    return isinstance(value, base)


def _describe(tp: Any) -> str:
    if typing.get_origin(tp) is Annotated:
        base, *extras = typing.get_args(tp)
        bounds = [e.text() for e in extras if isinstance(e, Range)]
        return " ".join([_describe(base), *bounds])
    if typing.get_origin(tp) is Literal:
        return " | ".join(str(c) for c in typing.get_args(tp))
    return {
        bool: _BOOL_TEXT,
        int: "an integer",
        float: "a number",
        str: "a text",
        type(None): "none",
    }.get(tp, getattr(tp, "__name__", str(tp)))


def _parse(tp: Any, value: object, text: bool) -> object:
    members = _members(tp)
    if members is not None:
        if not text and any(_is_instance(value, m) for m in members):
            return value
        for member in sorted(members, key=_rank):
            try:
                return _parse(member, value, text)
            except _Refused:
                continue
        raise _Refused(" or ".join(_describe(m) for m in sorted(members, key=_rank)))
    if typing.get_origin(tp) is Annotated:
        base, *extras = typing.get_args(tp)
        try:
            parsed = _parse(base, value, text)
        except _Refused:
            raise _Refused(_describe(tp)) from None
        for bounds in (e for e in extras if isinstance(e, Range)):
            if (
                (bounds.low is not None and parsed < bounds.low)  # type: ignore[operator]
                or (bounds.high is not None and parsed > bounds.high)
            ):  # type: ignore[operator]
                raise _Refused(_describe(tp))
        return parsed
    if typing.get_origin(tp) is Literal:
        return _choice(typing.get_args(tp), value)
    parser = _PARSERS.get(tp)
    if parser is not None:
        return parser(value)
    # untyped or a structure (list, tuple, mapping...): the class checks it
    return _guess(value) if text and isinstance(value, str) else value


def _none(value: object) -> None:
    if value is None or (isinstance(value, str) and value.strip().lower() in _NONE_TEXT):
        return None
    raise _Refused("none")


def _bool(value: object) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    if isinstance(value, str) and value.strip().lower() in BOOL_SPELLINGS:
        return BOOL_SPELLINGS[value.strip().lower()]
    raise _Refused(_BOOL_TEXT)


def _int(value: object) -> int:
    if isinstance(value, bool):
        raise _Refused("an integer")
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str):
        parsed = parse_scalar(value.strip())
        if isinstance(parsed, int) and not isinstance(parsed, bool):
            return parsed
    raise _Refused("an integer")


def _float(value: object) -> int | float:
    """A number; an integer stays an integer (so stored configs and job keys keep it)."""
    if isinstance(value, bool):
        raise _Refused("a number")
    number = parse_scalar(value.strip()) if isinstance(value, str) else value
    if isinstance(number, str):  # "inf", "1_000", ... as Python reads them
        try:
            number = float(number)
        except ValueError:
            raise _Refused("a number") from None
    if isinstance(number, int | float) and not isinstance(number, bool) and not math.isnan(number):
        return number
    raise _Refused("a number")


def _str(value: object) -> object:
    if isinstance(value, str):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        return value  # a TOML number for a text option: the class reads it
    raise _Refused("a text")


_PARSERS = {type(None): _none, bool: _bool, int: _int, float: _float, str: _str}


def _choice(choices: tuple[object, ...], value: object) -> object:
    for choice in choices:
        if value == choice and type(value) is type(choice):
            return choice
        if isinstance(value, str) and str(choice) == value.strip():
            return choice
    close = difflib.get_close_matches(str(value), [str(c) for c in choices], n=1, cutoff=0.6)
    raise _Refused(
        " | ".join(str(c) for c in choices), f"; did you mean {close[0]!r}?" if close else ""
    )
