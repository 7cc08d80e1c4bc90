"""Check a user's copy of a named dataset against its manifest.

:func:`verify_dataset` walks ``root`` (recursively; hidden files ignored; only video files
count: ``.yuv``, ``.y4m``, ``.mp4``, ``.mkv`` ...) and sorts what it finds into:

- **missing**: a listed, non-optional sequence whose file (or an alias) is nowhere under
  ``root`` (only for manifests that list every sequence, ``enumerated = true``);
- **misnamed**: a video file that is not a listed name but is close to a missing one (same
  name in other letter case, or a close match by :func:`difflib.get_close_matches`), or, for
  manifests that list no sequences, a file that does not follow the naming pattern;
- **extra**: any other video file not in the manifest;
- **corrupt**: a file whose size differs from the published ``size_bytes`` or, for raw
  ``.yuv``, from width x height x frames x bytes per pixel of its confirmed facts (a
  truncated copy), or whose SHA-256 differs from the published one (``checksums=True``).

Example:
    >>> report = verify_dataset(load_manifest("uvg"), "/data/UVG")
    >>> report.ok, report.missing
"""

from __future__ import annotations

import difflib
import os
from dataclasses import dataclass
from pathlib import Path

from vqabench.datasets.folders import VIDEO_SUFFIXES, video_files
from vqabench.datasets.manifest import Manifest, SequenceEntry, raw_size_bytes
from vqabench.errors import DatasetError
from vqabench.io.hashing import file_sha256

__all__ = ["VerifyReport", "verify_dataset", "VIDEO_SUFFIXES"]


@dataclass(frozen=True)
class VerifyReport:
    """What :func:`verify_dataset` found; paths are relative to ``root``.

    Attributes:
        missing: expected file names not found.
        misnamed: (found path, expected file name or the naming layout).
        extra: video files the manifest does not know.
        corrupt: (found path, what is wrong).
        found: expected files present and intact (as far as checked).
        unchecked: present files whose size could not be checked (facts unconfirmed).
    """

    dataset: str
    root: Path
    missing: tuple[str, ...]
    misnamed: tuple[tuple[str, str], ...]
    extra: tuple[str, ...]
    corrupt: tuple[tuple[str, str], ...]
    found: tuple[str, ...]
    unchecked: tuple[str, ...]

    @property
    def ok(self) -> bool:
        """No missing, misnamed, extra or corrupt file."""
        return not (self.missing or self.misnamed or self.extra or self.corrupt)

    def lines(self) -> list[str]:
        """One line per finding, then a summary line."""
        out = [f"missing: {m}" for m in self.missing]
        out += [f"misnamed: {p} (expected {e})" for p, e in self.misnamed]
        out += [f"extra: {x}" for x in self.extra]
        out += [f"corrupt: {p}: {why}" for p, why in self.corrupt]
        out.append(
            f"{self.dataset} under {self.root}: {len(self.found)} ok, "
            f"{len(self.missing)} missing, {len(self.misnamed)} misnamed, "
            f"{len(self.extra)} extra, {len(self.corrupt)} corrupt"
            + (
                f", {len(self.unchecked)} not size-checked (unconfirmed facts)"
                if self.unchecked
                else ""
            )
        )
        return out


def _damage(path: Path, entry: SequenceEntry, checksums: bool) -> tuple[str | None, bool]:
    """(what is wrong or None, whether the size was checked)."""
    size = path.stat().st_size
    expected = entry.size_bytes or (
        raw_size_bytes(entry) if path.suffix.lower() == ".yuv" else None
    )
    if expected is not None and size != expected:
        f = entry.facts
        basis = (
            "published size"
            if entry.size_bytes
            else f"{f['width']}x{f['height']}, {f['frames']} frames, {f['bit_depth']}-bit "
            f"{f['chroma']}"
        )
        return f"{size} bytes, expected {expected} ({basis})", True
    if checksums and entry.sha256 and file_sha256(path) != entry.sha256:
        return f"SHA-256 differs from the published {entry.sha256[:16]}...", True
    return None, expected is not None


def verify_dataset(
    manifest: Manifest, root: str | os.PathLike[str], *, checksums: bool = False
) -> VerifyReport:
    """Compare the files under ``root`` with ``manifest`` (see module docstring).

    Args:
        manifest: from :func:`~vqabench.datasets.manifest.load_manifest`.
        root: the folder holding the user's copy.
        checksums: also hash every file that has a published SHA-256 (slow on big data).

    Raises:
        DatasetError: ``root`` is not a folder.
    """
    root = Path(root).expanduser()
    if not root.is_dir():
        raise DatasetError(
            f"root={str(root)!r} is not a folder; expected the folder holding "
            f"{manifest.title} ({manifest.naming.get('layout', 'its files')})"
        )
    by_file: dict[str, SequenceEntry] = {}
    for entry in manifest.sequences:
        for name in (entry.file, *entry.aliases):
            by_file[name] = entry
    seen: set[str] = set()  # entry names present
    found, unchecked, corrupt, strays = [], [], [], []
    for path in video_files(root, recursive=True, required=False):
        rel = str(path.relative_to(root))
        entry = by_file.get(path.name)
        if entry is None:
            strays.append((path, rel))
            continue
        seen.add(entry.name)
        problem, checked = _damage(path, entry, checksums)
        if problem:
            corrupt.append((rel, problem))
        else:
            found.append(rel)
            if not checked:
                unchecked.append(rel)
    missing = [
        e.file
        for e in manifest.sequences
        if manifest.enumerated and e.name not in seen and not e.optional
    ]
    misnamed, extra = [], []
    for path, rel in strays:
        close = [m for m in missing if m.lower() == path.name.lower()] or difflib.get_close_matches(
            path.name, missing, n=1, cutoff=0.8
        )
        if close:
            misnamed.append((rel, close[0]))
            missing.remove(close[0])
        elif (
            not manifest.enumerated
            and manifest.pattern is not None
            and manifest.pattern.fullmatch(path.name) is None
        ):
            misnamed.append((rel, str(manifest.naming.get("layout", manifest.pattern.pattern))))
        elif manifest.enumerated:
            extra.append(rel)
        else:
            found.append(rel)
            unchecked.append(rel)
    return VerifyReport(
        manifest.name,
        root,
        tuple(missing),
        tuple(misnamed),
        tuple(extra),
        tuple(corrupt),
        tuple(found),
        tuple(unchecked),
    )
