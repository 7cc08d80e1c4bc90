"""One generic registry: decorator registration, duplicate names refused, unknown names
answered with close matches, lazy entries (``"module:attr"``, imported on first use, so
listing names imports nothing heavy such as torch), and plugins from the ``vqabench.<kind>``
entry-point group.

Example:
    >>> CODECS = Registry("codec")
    >>> @CODECS.register("x264")
    ... class X264(Codec): ...
    >>> CODECS.get("x246")   # UnknownNameError: unknown codec 'x246'; did you mean 'x264'?
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable, Iterator
from types import ModuleType
from typing import Generic, TypeVar

from vqabench.errors import DuplicateNameError, UnknownNameError

__all__ = ["Registry", "lazy_exports"]

T = TypeVar("T")


class Registry(Generic[T]):
    """A name -> object table for one kind of component (codec, metric, dataset...).

    Args:
        kind: what the entries are, used in messages and as the entry-point group suffix.
    """

    def __init__(self, kind: str):
        self.kind = kind
        self._entries: dict[str, T] = {}
        self._lazy: dict[str, str] = {}  # name -> "module:attr", until first looked up
        self._plugins_loaded = False

    def register(self, name: str) -> Callable[[T], T]:
        """Decorator that registers an object under ``name``.

        Raises:
            DuplicateNameError: if ``name`` is already registered.
        """

        def deco(obj: T) -> T:
            self.add(name, obj)
            return obj

        return deco

    def add(self, name: str, obj: T) -> None:
        """Register ``obj`` under ``name`` (see :meth:`register`); a lazy entry's own module
        registering the object it names replaces that entry.

        Raises:
            DuplicateNameError: if ``name`` is already registered (to another object).
        """
        target = f"{getattr(obj, '__module__', '')}:{getattr(obj, '__qualname__', '')}"
        if name in self._entries or self._lazy.get(name, target) != target:
            raise DuplicateNameError(f"{self.kind} {name!r} is already registered")
        self._lazy.pop(name, None)
        self._entries[name] = obj

    def add_lazy(self, name: str, target: str) -> None:
        """Register ``name`` as ``"module:attr"``: listed by :meth:`names` at once, imported
        on the first :meth:`get` (the module may register it itself, with :meth:`register`).

        Raises:
            DuplicateNameError: if ``name`` is already registered.
        """
        if name in self._entries or name in self._lazy:
            raise DuplicateNameError(f"{self.kind} {name!r} is already registered")
        self._lazy[name] = target

    def _resolve(self, name: str) -> None:
        module, _, attr = self._lazy[name].partition(":")
        obj = getattr(importlib.import_module(module), attr)
        if name in self._lazy:  # the module did not register it itself
            self.add(name, obj)

    def _load_plugins(self) -> None:
        if self._plugins_loaded:
            return
        self._plugins_loaded = True
        from importlib.metadata import entry_points  # 0.01 s: only once plugins are looked up

        for ep in entry_points(group=f"vqabench.{self.kind}s"):
            if ep.name not in self._entries:
                self._entries[ep.name] = ep.load()

    def get(self, name: str) -> T:
        """Look up ``name``.

        Raises:
            UnknownNameError: naming close matches and everything available.
        """
        if name in self._lazy:
            self._resolve(name)
        if name not in self._entries:
            self._load_plugins()
        if name not in self._entries:
            raise UnknownNameError(self.kind, name, [*self._entries, *self._lazy])
        return self._entries[name]

    def is_loaded(self, name: str) -> bool:
        """Whether ``name`` is registered and its object imported (not a lazy entry)."""
        return name in self._entries

    def names(self) -> list[str]:
        """All registered names, lazy entries included (none is imported), sorted."""
        self._load_plugins()
        return sorted({*self._entries, *self._lazy})

    def __contains__(self, name: object) -> bool:
        return name in self._entries or name in self._lazy

    def __iter__(self) -> Iterator[str]:
        return iter(self.names())


class _ExportsOverSubmodules(ModuleType):
    """A package whose exports keep their names when a submodule of the same name loads.

    Loading ``package.name`` binds the submodule as the attribute ``name`` of ``package``;
    for the names in ``_exported`` the package refuses that binding, so
    ``from package import name`` is the object ``__all__`` advertises, not the submodule.
    """

    _exported: frozenset[str] = frozenset()

    def __setattr__(self, name: str, value: object) -> None:
        if name in self._exported and isinstance(value, ModuleType):
            return
        super().__setattr__(name, value)


def lazy_exports(package: str, where: dict[str, str]) -> Callable[[str], object]:
    """A module ``__getattr__`` (PEP 562) for ``package``: ``name`` is imported from the
    submodule ``where[name]`` on first use, so importing one submodule (say the BD-rate code
    the CLI's summary needs) does not import the others (matplotlib, scipy.stats).

    A name exported from the submodule of the same name (``correlation`` from
    ``correlation.py``) stays the exported object after that submodule loads.
    """
    shadowed = frozenset(name for name, sub in where.items() if name == sub)
    module = sys.modules[package]
    if shadowed:
        for name in shadowed:
            if isinstance(module.__dict__.get(name), ModuleType):
                del module.__dict__[name]
        module.__class__ = type("_Exports", (_ExportsOverSubmodules,), {"_exported": shadowed})

    def __getattr__(name: str) -> object:
        if name not in where:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        return getattr(importlib.import_module(f"{package}.{where[name]}"), name)

    return __getattr__
