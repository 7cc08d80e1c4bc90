"""Resumable, verified downloads over HTTP(S) with the standard library.

A file is written to ``<dest>.part`` beside its destination. A later call resumes a
``.part`` left by a broken transfer with an HTTP ``Range`` request; a server that answers the
whole file instead (200, not 206) restarts it. Once complete, the file's SHA-256 is compared
with the expected digest (a full digest or the leading digits the publisher embeds in the
file name), and only a match is moved into place with :func:`os.replace` (atomic: the
destination holds either nothing or the whole, verified file). A mismatch deletes the
``.part``: nothing is kept of a file that is not the published one.

Every failure is a :class:`~vqabench.errors.DownloadError` whose one-line message names the
URL (or the file) and what went wrong.

Example:
    >>> digest = download("https://download.pytorch.org/models/alexnet-owt-7be5be79.pth",
    ...                   Path("alexnet-owt-7be5be79.pth"), expected_sha256="7be5be79")
"""

from __future__ import annotations

import http.client
import os
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path

from vqabench.errors import DownloadError
from vqabench.io.hashing import file_sha256

__all__ = ["download", "part_path", "sha256_matches", "Progress"]

Progress = Callable[[int, "int | None"], None]
"""``progress(done_bytes, total_bytes)``; ``total_bytes`` is None when the server does not
say."""

_CHUNK_BYTES = 1 << 20
_USER_AGENT = "vqabench (weights fetch; Python urllib)"


def part_path(dest: Path) -> Path:
    """Where a download to ``dest`` is written until it is verified: ``<dest>.part``."""
    return dest.with_name(dest.name + ".part")


def sha256_matches(digest: str, expected: str) -> bool:
    """True when the hex ``digest`` starts with ``expected`` (a full digest or a prefix);
    an empty ``expected`` matches nothing."""
    return bool(expected) and digest.lower().startswith(expected.lower())


def _open(url: str, start_byte: int, timeout_s: float) -> http.client.HTTPResponse | None:
    """The response to a GET of ``url`` from ``start_byte``; None when the server says there
    is nothing after that byte (416: the ``.part`` is already whole)."""
    headers = {"User-Agent": _USER_AGENT}
    if start_byte:
        headers["Range"] = f"bytes={start_byte}-"
    try:
        return urllib.request.urlopen(
            urllib.request.Request(url, headers=headers), timeout=timeout_s
        )
    except urllib.error.HTTPError as exc:
        if exc.code == 416 and start_byte:
            return None
        raise DownloadError(f"{url}: the server answered HTTP {exc.code} {exc.reason}") from None
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise DownloadError(f"{url}: cannot fetch ({reason})") from None


def _resumed_from(response: http.client.HTTPResponse, start_byte: int) -> int:
    """The byte the response body starts at: ``start_byte`` for a 206 answer to our range,
    0 for a whole file (the ``.part`` is then rewritten)."""
    status = getattr(response, "status", None) or 200
    if start_byte and status == 206:
        content_range = response.headers.get("Content-Range", "")
        if content_range.startswith(f"bytes {start_byte}-"):
            return start_byte
        raise DownloadError(
            f"{response.url}: asked for bytes from {start_byte}, the server "
            f"answered the range {content_range!r}"
        )
    return 0


def _receive(url: str, part: Path, timeout_s: float, progress: Progress | None) -> None:
    """Append the rest of ``url`` to ``part`` (resuming where it stops)."""
    have = part.stat().st_size if part.is_file() else 0
    response = _open(url, have, timeout_s)
    if response is None:
        return
    with response:
        start = _resumed_from(response, have)
        length = response.headers.get("Content-Length")
        total = start + int(length) if length and length.isdigit() else None
        done = start
        if progress:
            progress(done, total)
        with open(part, "ab" if start else "wb") as out:
            try:
                while chunk := response.read(_CHUNK_BYTES):
                    out.write(chunk)
                    done += len(chunk)
                    if progress:
                        progress(done, total)
            except (http.client.HTTPException, OSError) as exc:
                raise _broke_off(url, part, done, total, exc) from None
    if total is not None and done < total:
        raise _broke_off(url, part, done, total, "connection closed")


def _broke_off(url: str, part: Path, done: int, total: int | None, why: object) -> DownloadError:
    of = f" of {total}" if total is not None else ""
    return DownloadError(
        f"{url}: the transfer broke off after {done}{of} bytes ({why}); "
        f"run the same command again to resume from {part}"
    )


def download(
    url: str,
    dest: Path,
    *,
    expected_sha256: str = "",
    timeout_s: float = 60.0,
    progress: Progress | None = None,
) -> str:
    """Download ``url`` to ``dest``, resuming a ``.part`` left by an earlier attempt.

    Args:
        url: an ``http(s)://`` (or ``file://``) URL.
        dest: the final path; its folder is created.
        expected_sha256: the published SHA-256, whole or its leading hex digits; empty when
            none is published (the file is then moved into place unverified).
        timeout_s: seconds without data before the transfer counts as broken.
        progress: called with ``(done_bytes, total_bytes)`` as data arrive.

    Returns:
        The SHA-256 hex digest of the file now at ``dest``.

    Raises:
        DownloadError: an HTTP error, a connection that fails or breaks off (the ``.part`` is
            kept for a resume), or a checksum mismatch (the ``.part`` is deleted and nothing
            is written at ``dest``).
    """
    dest.parent.mkdir(parents=True, exist_ok=True)
    part = part_path(dest)
    _receive(url, part, timeout_s, progress)
    digest = file_sha256(part)
    if expected_sha256 and not sha256_matches(digest, expected_sha256):
        part.unlink(missing_ok=True)
        what = "prefix " if len(expected_sha256) < 64 else ""
        raise DownloadError(
            f"{dest.name}: SHA-256 mismatch: expected {what}{expected_sha256}, "
            f"got {digest[: len(expected_sha256)]} (from {url}); the download "
            "was deleted and nothing was written"
        )
    os.replace(part, dest)
    return digest
