"""Dataset manifests: one TOML file per named dataset, the single source of dataset facts.

The manifests ship inside the package (``vqabench/datasets/manifests/*.toml``, read with
:mod:`importlib.resources`, so an installed vqabench finds them); the top-level
``datasets/README.md`` of the repository points there. Each manifest holds:

- identity: ``name``, ``title``, ``description``, ``source``, ``licence``, ``citation``;
- ``[naming]``: the file-name ``pattern`` (a regular expression matched in full), the
  ``layout`` in words and an ``example``, plus dataset-specific keys (``groups``,
  ``class_folder``, ``categories``);
- ``[defaults]``: facts every sequence shares (``width``, ``height``, ``fps``, ``frames``,
  ``bit_depth``, ``chroma``, ``class``), overridden per sequence;
- ``[[protocols]]``: how the literature uses the data (``frames`` = N or ``"all"``,
  ``intra_period``: 32, -1 ...);
- ``[[sequences]]``: ``name`` and ``file`` (plus ``aliases``, ``optional``, ``sha256``,
  ``size_bytes``, ``note`` and any fact), listed when ``enumerated = true``.

Facts that could not be confirmed are named in ``unconfirmed`` (a list of keys, or ``true``
for the whole table), at the top level or per protocol/sequence, never guessed silently.

Example:
    >>> m = load_manifest("uvg")
    >>> m.sequence("ShakeNDry").facts["frames"]
    300
"""

from __future__ import annotations

import functools
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from importlib import resources

from vqabench.errors import DatasetError

__all__ = [
    "SequenceEntry",
    "Manifest",
    "manifest_names",
    "load_manifest",
    "parse_manifest",
    "raw_size_bytes",
    "FACT_KEYS",
]

#: Facts a sequence can carry (from ``[defaults]`` or its own table).
FACT_KEYS = ("width", "height", "fps", "frames", "bit_depth", "chroma", "class")
_CHROMA_SAMPLES = {"420": 1.5, "422": 2.0, "444": 3.0, "400": 1.0}
_REQUIRED = ("name", "title", "source", "licence")


def _unconfirmed(table: Mapping[str, object], where: str) -> frozenset[str]:
    value = table.get("unconfirmed", [])
    if value is True:
        return frozenset({"*"})
    if value is False:
        return frozenset()
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise DatasetError(f"{where}: unconfirmed must be true or a list of keys, got {value!r}")
    return frozenset(value)


@dataclass(frozen=True)
class SequenceEntry:
    """One sequence of a manifest.

    Attributes:
        name: sequence name, unique within the dataset.
        file: expected file name (no folder).
        facts: ``[defaults]`` merged with the sequence's own facts (see :data:`FACT_KEYS`).
        aliases: other file names a copy may use for it.
        optional: a missing file is not reported as missing.
        sha256, size_bytes: published checksum and size, when they exist.
        unconfirmed: keys of this entry (or ``*``) not confirmed, including the dataset's
            unconfirmed ``defaults`` when the entry relies on them.
        extra: every other key of the table (``note``, ``kind``, ``content`` ...).
    """

    name: str
    file: str
    facts: Mapping[str, object]
    aliases: tuple[str, ...] = ()
    optional: bool = False
    sha256: str | None = None
    size_bytes: int | None = None
    unconfirmed: frozenset[str] = frozenset()
    extra: Mapping[str, object] = field(default_factory=dict)

    def confirmed(self, key: str) -> bool:
        """Whether the fact ``key`` is confirmed for this sequence."""
        return "*" not in self.unconfirmed and key not in self.unconfirmed


@dataclass(frozen=True)
class Manifest:
    """A parsed dataset manifest (see module docstring)."""

    name: str
    title: str
    description: str
    source: str
    licence: str
    citation: str
    enumerated: bool
    naming: Mapping[str, object]
    pattern: re.Pattern | None
    defaults: Mapping[str, object]
    protocols: tuple[Mapping[str, object], ...]
    sequences: tuple[SequenceEntry, ...]
    unconfirmed: frozenset[str]
    data: Mapping[str, object]

    def sequence(self, name: str) -> SequenceEntry:
        """The entry called ``name``; DatasetError naming the known ones otherwise."""
        for entry in self.sequences:
            if entry.name == name:
                return entry
        raise DatasetError(
            f"dataset {self.name!r} has no sequence {name!r}; known: "
            f"{', '.join(e.name for e in self.sequences) or 'none listed'}"
        )


def _entry(
    table: Mapping[str, object],
    defaults: Mapping[str, object],
    inherited: frozenset[str],
    where: str,
) -> SequenceEntry:
    for key in ("name", "file"):
        if not isinstance(table.get(key), str) or not table.get(key):
            raise DatasetError(f"{where}: a sequence needs a text {key!r}")
    own = _unconfirmed(table, where)
    facts = {k: table.get(k, defaults.get(k)) for k in FACT_KEYS if k in table or k in defaults}
    # a fact taken from unconfirmed defaults stays unconfirmed
    from_defaults = {k for k in FACT_KEYS if k not in table and k in defaults}
    unconfirmed = own | (from_defaults if "*" in inherited else inherited & from_defaults)
    known = {
        "name",
        "file",
        "aliases",
        "optional",
        "sha256",
        "size_bytes",
        "unconfirmed",
        *FACT_KEYS,
    }
    return SequenceEntry(
        name=str(table["name"]),
        file=str(table["file"]),
        facts=facts,
        aliases=tuple(str(a) for a in table.get("aliases", [])),  # type: ignore[union-attr]
        optional=bool(table.get("optional", False)),
        sha256=str(table["sha256"]).lower() if table.get("sha256") else None,
        size_bytes=int(table["size_bytes"]) if table.get("size_bytes") else None,  # type: ignore[arg-type]
        unconfirmed=frozenset(unconfirmed),
        extra={k: v for k, v in table.items() if k not in known},
    )


def parse_manifest(text: str, where: str = "manifest") -> Manifest:
    """Parse and check a manifest's TOML text.

    Raises:
        DatasetError: invalid TOML, a missing required key, a bad pattern, duplicate names.
    """
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise DatasetError(f"{where}: not valid TOML: {exc}") from None
    missing = [k for k in _REQUIRED if not isinstance(data.get(k), str) or not data.get(k)]
    if missing:
        raise DatasetError(f"{where}: missing required key(s) {', '.join(missing)}")
    naming = data.get("naming", {})
    pattern = None
    if naming.get("pattern"):
        try:
            pattern = re.compile(str(naming["pattern"]))
        except re.error as exc:
            raise DatasetError(
                f"{where}: [naming] pattern is not a regular expression: {exc}"
            ) from None
    unconfirmed = _unconfirmed(data, where)
    defaults = dict(data.get("defaults", {}))
    inherited = (
        frozenset({"*"})
        if "defaults" in unconfirmed
        else frozenset(
            _unconfirmed(defaults, f"{where} [defaults]") | (unconfirmed & set(FACT_KEYS))
        )
    )
    defaults.pop("unconfirmed", None)
    entries = tuple(
        _entry(t, defaults, inherited, f"{where} sequence {i + 1}")
        for i, t in enumerate(data.get("sequences", []))
    )
    names = [e.name for e in entries]
    dupes = sorted({n for n in names if names.count(n) > 1})
    files = [f for e in entries for f in (e.file, *e.aliases)]
    dupes += sorted({f for f in files if files.count(f) > 1})
    if dupes:
        raise DatasetError(f"{where}: duplicate sequence name or file {dupes[0]!r}")
    protocols = tuple(dict(p) for p in data.get("protocols", []))
    for p in protocols:
        frames = p.get("frames")
        if not (frames == "all" or (isinstance(frames, int) and frames > 0)):
            raise DatasetError(
                f"{where}: protocol {p.get('name')!r} frames must be a "
                f'positive integer or "all", got {frames!r}'
            )
    return Manifest(
        name=data["name"],
        title=data["title"],
        description=str(data.get("description", "")),
        source=data["source"],
        licence=data["licence"],
        citation=str(data.get("citation", "")),
        enumerated=bool(data.get("enumerated", False)),
        naming=naming,
        pattern=pattern,
        defaults=defaults,
        protocols=protocols,
        sequences=entries,
        unconfirmed=unconfirmed,
        data=data,
    )


def _folder():
    return resources.files("vqabench.datasets") / "manifests"


def manifest_names() -> list[str]:
    """Names of the shipped manifests (file stems), sorted."""
    return sorted(p.name[:-5] for p in _folder().iterdir() if p.name.endswith(".toml"))


@functools.cache
def load_manifest(name: str) -> Manifest:
    """The shipped manifest of dataset ``name``.

    Raises:
        UnknownNameError: no manifest of that name (close matches suggested).
        DatasetError: the manifest is malformed or its ``name`` differs from its file name.
    """
    names = manifest_names()
    if name not in names:
        from vqabench.errors import UnknownNameError

        raise UnknownNameError("dataset manifest", name, names)
    path = _folder() / f"{name}.toml"
    manifest = parse_manifest(path.read_text(encoding="utf-8"), where=f"manifests/{name}.toml")
    if manifest.name != name:
        raise DatasetError(f"manifests/{name}.toml declares name = {manifest.name!r}")
    return manifest


def raw_size_bytes(entry: SequenceEntry) -> int | None:
    """Size of ``entry`` as a raw ``.yuv`` file from its facts, or None when a fact is
    missing or unconfirmed (a size from guessed facts would call good files corrupt)."""
    facts = entry.facts
    keys = ("width", "height", "frames", "bit_depth", "chroma")
    if not entry.file.lower().endswith(".yuv") or any(
        facts.get(k) is None or not entry.confirmed(k) for k in keys
    ):
        return None
    samples = _CHROMA_SAMPLES.get(str(facts["chroma"]))
    if samples is None:
        return None
    per_sample = 2 if int(facts["bit_depth"]) > 8 else 1  # type: ignore[arg-type]
    pixels = int(facts["width"]) * int(facts["height"])  # type: ignore[arg-type]
    return int(pixels * samples) * int(facts["frames"]) * per_sample  # type: ignore[arg-type]
