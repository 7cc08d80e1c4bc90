"""How a study is served: the waitress WSGI server and the media responses.

waitress, not gunicorn: it is pure Python and runs the same on Linux, macOS and Windows (where
studies are often run from a lab PC), it serves with threads in one process, like Werkzeug's
development server it replaces, so the app's one-SQLite-connection-per-request model is
unchanged, and it can be started on an ephemeral port inside the process, so the tests and the
load benchmark exercise the server participants get. gunicorn is Unix-only and forks worker
processes; SQLite in WAL mode would cope, but the app's work per request (one short
transaction) gains nothing from processes.

Media (``STUDY/media/*.webm``) are immutable per study: the ETag is the SHA-256 the study
recorded for the file, checked once against the file on disk (a file changed since
``study create`` is refused, never shown as if it were the study's), Range requests get 206
with their byte range, and since the app's video names are signed together with that digest
(a name always means the same bytes), a video may be cached for a year, privately (the names
are per participant).
"""

from __future__ import annotations

import threading
from pathlib import Path

from vqabench.errors import invalid
from vqabench.io.hashing import file_sha256

__all__ = ["MEDIA_MAX_AGE_S", "PROXY_HEADERS", "make_server", "listening", "media_response"]

MEDIA_MAX_AGE_S = 365 * 24 * 3600
PROXY_HEADERS = frozenset(
    {"x-forwarded-for", "x-forwarded-host", "x-forwarded-proto", "x-forwarded-port"}
)
_checked: dict[tuple[str, int, int], str] = {}  # (path, mtime_ns, size) -> SHA-256
_checked_lock = threading.Lock()


def make_server(
    app,
    *,
    host: str = "127.0.0.1",
    port: int = 0,
    threads: int = 8,
    behind_proxy: str | None = None,
):
    """A waitress server of the WSGI ``app``, bound (``port=0``: a free port), not yet run.

    Args:
        app: The WSGI application.
        host: Address to bind; loopback by default.
        port: TCP port, 0 for any free port.
        threads: Worker threads (requests handled at once; more wait in a queue).
        behind_proxy: Address of a reverse proxy whose ``X-Forwarded-For/-Host/-Proto/-Port``
            headers are trusted (client address, public host and scheme). None: those headers
            are removed from every request, so a client cannot forge them.

    Returns:
        The server: ``run()`` serves until interrupted, ``close()`` stops listening.

    Raises:
        ConfigError: bad port or thread count.
    """
    from waitress import create_server

    if not isinstance(port, int) or isinstance(port, bool) or not 0 <= port <= 65535:
        raise invalid("port", port, "an integer 0-65535 (0 = any free port)")
    if not isinstance(threads, int) or isinstance(threads, bool) or not 1 <= threads <= 256:
        raise invalid("threads", threads, "an integer 1-256")
    options: dict = {
        "host": host,
        "port": port,
        "threads": threads,
        "ident": "vqabench",
        # 100 participants' browsers keep several connections each; poll(), not
        # select(), so more than 1024 descriptors are fine
        "connection_limit": 1000,
        "asyncore_use_poll": True,
        "clear_untrusted_proxy_headers": True,
    }
    if behind_proxy:
        options.update(
            trusted_proxy=behind_proxy,
            trusted_proxy_count=1,
            trusted_proxy_headers=set(PROXY_HEADERS),
        )
    return create_server(app, **options)


def listening(server) -> list[str]:
    """The URLs ``http://HOST:PORT/`` a server of :func:`make_server` listens at."""
    pairs = getattr(server, "effective_listen", None) or [
        (server.effective_host, server.effective_port)
    ]
    return [f"http://{f'[{h}]' if ':' in str(h) else h}:{p}/" for h, p in pairs]


def _on_disk_sha256(path: Path) -> str:
    """SHA-256 of ``path``, hashed once per (path, mtime, size)."""
    stat = path.stat()
    key = (str(path), stat.st_mtime_ns, stat.st_size)
    with _checked_lock:  # the first requests of many participants hash the file once
        if key not in _checked:
            _checked[key] = file_sha256(path)
        return _checked[key]


def media_response(study_dir: Path, file: str, sha256: str | None):
    """The Flask response of the study's media ``file`` (``media/NAME.webm``).

    Conditional and Range requests (206 with ``Content-Range``, 304 on ``If-None-Match``,
    416 past the end); ETag = ``sha256``, the digest the study recorded, and
    ``private, max-age=1 year, immutable``: the caller's URL must name these bytes only.
    Without a recorded digest (a study of an older vqabench): Werkzeug's ETag, ``no-cache``.

    Raises:
        werkzeug.exceptions.InternalServerError: the file is not the one the study recorded.
    """
    from flask import abort, send_from_directory

    if sha256 and _on_disk_sha256(study_dir / file) != sha256:
        abort(
            500,
            description=f"{file} is not the file recorded by the study (sha256 "
            f"{sha256[:12]}..): it changed after `vqabench study create`; "
            "re-create the study",
        )
    response = send_from_directory(
        study_dir,
        file,
        conditional=True,
        etag=sha256 or True,
        max_age=MEDIA_MAX_AGE_S if sha256 else None,
    )
    response.cache_control.private = True
    response.cache_control.public = False
    if sha256:
        response.cache_control.immutable = True
    return response
