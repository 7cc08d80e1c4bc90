"""Shared fixtures: tiny real videos (64x64, a few frames) written as Y4M."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest

from vqabench.io.video import Video, YuvFrame, rgb_to_yuv, write_y4m


def moving_texture(
    width: int = 64, height: int = 64, frames: int = 8, *, seed: int = 0, speed_px: float = 1.5
) -> list[np.ndarray]:
    """Smooth random texture panning right by ``speed_px`` per frame (RGB floats)."""
    from scipy.ndimage import gaussian_filter, shift

    rng = np.random.default_rng(seed)
    base = gaussian_filter(rng.random((height + 16, width + 64, 3)), (2.0, 2.0, 0))
    base = (base - base.min()) / (base.max() - base.min())
    out = []
    for t in range(frames):
        moved = shift(base, (0, -speed_px * t, 0), order=1, mode="wrap")
        out.append(moved[8 : 8 + height, 8 : 8 + width])
    return out


def make_video(
    path: Path,
    *,
    width: int = 64,
    height: int = 64,
    frames: int = 8,
    seed: int = 0,
    pix_fmt: str = "yuv420p",
    fps: Fraction = Fraction(25),
) -> Video:
    """Write a tiny natural-looking Y4M video and return its handle."""
    rgb = moving_texture(width, height, frames, seed=seed)
    return write_y4m(
        path,
        (rgb_to_yuv(f, pix_fmt=pix_fmt) for f in rgb),
        width=width,
        height=height,
        fps=fps,
        pix_fmt=pix_fmt,
    )


def add_noise(video: Video, path: Path, *, sigma: float, seed: int = 1) -> Video:
    """A copy of ``video`` with Gaussian noise of ``sigma`` code values on every plane."""
    from vqabench.io.video import read_frames

    rng = np.random.default_rng(seed)
    hi = (1 << video.bit_depth) - 1
    dtype = np.uint16 if video.bit_depth > 8 else np.uint8

    def noisy(frame: YuvFrame) -> YuvFrame:
        return YuvFrame(
            *(
                np.clip(np.rint(p + rng.normal(0, sigma, p.shape)), 0, hi).astype(dtype)
                for p in frame
            )
        )

    return write_y4m(
        path,
        (noisy(f) for f in read_frames(video)),
        width=video.width,
        height=video.height,
        fps=video.fps,
        pix_fmt=video.pix_fmt,
    )


@pytest.fixture(scope="session")
def tiny_video(tmp_path_factory: pytest.TempPathFactory) -> Video:
    """64x64, 8 frames, 4:2:0 8-bit, 25 fps."""
    return make_video(tmp_path_factory.mktemp("videos") / "tiny_64x64.y4m")


@pytest.fixture(scope="session")
def tiny_noisy(tiny_video: Video, tmp_path_factory: pytest.TempPathFactory) -> Video:
    """``tiny_video`` with Gaussian noise (sigma 4 code values)."""
    return add_noise(tiny_video, tmp_path_factory.mktemp("videos") / "tiny_noisy.y4m", sigma=4)


@pytest.fixture(autouse=True)
def _isolated_cache(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch):
    """Generated dataset sources go to a per-session temporary cache."""
    monkeypatch.setenv("VQABENCH_CACHE", str(tmp_path_factory.getbasetemp() / "cache"))


@pytest.fixture()
def network_attempts(monkeypatch: pytest.MonkeyPatch) -> list[tuple]:
    """Every name lookup or connection the test's code attempts, recorded and refused: a
    test that says "fails without the network" asserts that this list stays empty (no timing)."""
    import socket

    attempts: list[tuple] = []

    def refuse(*args: object, **kwargs: object) -> None:
        attempts.append(args)
        raise OSError("network disabled by the test")

    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket.socket, "connect", refuse)
    return attempts


def run_cli(argv: list[str]) -> int:
    """Run ``vqabench ARGV`` in this process and return its exit code."""
    from vqabench.cli import main

    with pytest.raises(SystemExit) as exc:
        main(argv)
    return int(exc.value.code)


def kill_when(cmd: list[str], ready: Callable[[], bool], timeout_s: float = 120) -> None:
    """Start ``cmd`` in its own process group; SIGKILL its main process (as ``kill -9 PID``
    does) once ``ready()`` is true, then wait until nothing of the process group is left
    (worker processes die with the main process through PR_SET_PDEATHSIG; an ffmpeg they
    started finishes its tiny file)."""
    import os
    import signal
    import subprocess
    import time

    proc = subprocess.Popen(
        cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True
    )
    deadline = time.monotonic() + timeout_s
    try:
        while time.monotonic() < deadline and proc.poll() is None:
            if ready():
                break
            time.sleep(0.005)
        proc.send_signal(signal.SIGKILL)
        assert proc.wait(10) == -signal.SIGKILL, "the command finished before it was killed"
    finally:
        proc.kill()
    for _ in range(500):
        try:
            os.killpg(proc.pid, 0)
        except ProcessLookupError:
            break
        time.sleep(0.02)


def store_rows(store: Path, table: str) -> int:
    """Rows of ``table`` in a run store opened read-only (-1: no store or no table yet)."""
    import sqlite3

    try:
        with sqlite3.connect(f"{store.as_uri()}?mode=ro", uri=True, timeout=1) as db:
            return db.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0]
    except sqlite3.Error:  # not created yet, or created but without tables
        return -1


@contextlib.contextmanager
def small_filesystem(path: Path, size_kib: int) -> Iterator[Path]:
    """A tmpfs of ``size_kib`` KiB mounted at ``path`` while the block runs (a disk that
    fills up for real); the test is skipped, with the reason, when it cannot be mounted
    (not root, no CAP_SYS_ADMIN, no tmpfs)."""
    import subprocess

    path.mkdir(parents=True, exist_ok=True)
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size_kib}k", "tmpfs", str(path)],
        capture_output=True,
        text=True,
    )
    if done.returncode != 0:
        pytest.skip(
            f"cannot mount a {size_kib} KiB tmpfs at {path}: "
            f"{done.stderr.strip() or 'mount failed'}"
        )
    try:
        yield path
    finally:
        subprocess.run(["umount", "-l", str(path)], check=False)


@contextlib.contextmanager
def read_only(path: Path) -> Iterator[Path]:
    """``path`` (a directory) made read-only for every user, root included, by a read-only
    bind mount over itself while the block runs; skipped with the reason when it cannot be
    mounted."""
    import subprocess

    steps = (
        ["mount", "--bind", str(path), str(path)],
        ["mount", "-o", "remount,bind,ro", str(path)],
    )
    for i, step in enumerate(steps):
        done = subprocess.run(step, capture_output=True, text=True)
        if done.returncode != 0:
            if i:
                subprocess.run(["umount", str(path)], check=False)
            pytest.skip(f"cannot mount {path} read-only: {done.stderr.strip() or 'failed'}")
    try:
        yield path
    finally:
        subprocess.run(["umount", "-l", str(path)], check=False)


def fill(folder: Path, leave_bytes: int) -> Path:
    """Fill the file system of ``folder`` with one file until ``leave_bytes`` stay free."""
    import shutil

    filler = folder / "filler"
    free = shutil.disk_usage(folder).free
    with open(filler, "wb") as f:
        f.write(b"\0" * max(0, free - leave_bytes))
    return filler


class FileServer:
    """Files served by HTTP on 127.0.0.1 (see :func:`file_server`).

    Attributes:
        url: the base URL, ending in ``/``.
        files: name -> bytes served at ``url + name`` (with Range support, 206).
        modes: name -> ``"cut"`` (the next answer sends half the body, then closes),
            ``"norange"`` (ignores Range, answers 200 with the whole file) or ``"500"`` /
            ``"404"`` (that HTTP status).
        seen: ``(name, Range header or None)`` of every request, in order.
    """

    def __init__(self, url: str):
        self.url = url
        self.files: dict[str, bytes] = {}
        self.modes: dict[str, str] = {}
        self.seen: list[tuple[str, str | None]] = []


@pytest.fixture()
def file_server(monkeypatch: pytest.MonkeyPatch) -> Iterator[FileServer]:
    """A local HTTP server in a thread; every connection to another host is refused (and
    fails the test), so nothing reaches the internet."""
    import http.server
    import socket
    import threading

    def handler_for(state: FileServer) -> type:
        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def do_GET(self) -> None:  # noqa: N802 (http.server's name)
                name = self.path.lstrip("/")
                rng = self.headers.get("Range")
                state.seen.append((name, rng))
                mode = state.modes.get(name, "")
                if mode.isdigit() or name not in state.files:
                    self.send_error(int(mode) if mode.isdigit() else 404)
                    return
                data, start = state.files[name], 0
                if rng and mode != "norange":
                    start = int(rng.removeprefix("bytes=").rstrip("-"))
                    if start >= len(data):
                        self.send_error(416)
                        return
                    self.send_response(206)
                    self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
                else:
                    self.send_response(200)
                body = data[start:]
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if mode == "cut":
                    del state.modes[name]
                    body = body[: len(body) // 2]
                    self.close_connection = True
                self.wfile.write(body)

        return Handler

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), http.server.BaseHTTPRequestHandler)
    state = FileServer(f"http://127.0.0.1:{server.server_address[1]}/")
    server.RequestHandlerClass = handler_for(state)
    thread = threading.Thread(target=server.serve_forever, args=(0.01,), daemon=True)
    thread.start()
    real = socket.create_connection

    def local_only(address: tuple, *args: object, **kwargs: object) -> socket.socket:
        if address[0] != "127.0.0.1":
            pytest.fail(f"a test tried to reach {address[0]}")
        return real(address, *args, **kwargs)

    monkeypatch.setattr(socket, "create_connection", local_only)
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
