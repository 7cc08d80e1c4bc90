"""Dense optical flow (OpenCV Farneback), backward warping and flow-based frame interpolation.

Conventions: a flow ``F`` "from a to b" satisfies ``a(x) ≈ b(x + F(x))`` (OpenCV's
``calcOpticalFlowFarneback(a, b)``), and :func:`warp` samples ``image(x + F(x))``, so
``warp(b, flow(a, b)) ≈ a``.

Example:
    >>> mid = interpolate_midframe(frame0, frame2)   # estimate of frame 1
"""

from __future__ import annotations

import numpy as np

__all__ = ["FARNEBACK_PARAMS", "to_gray_u8", "farneback_flow", "warp", "interpolate_midframe"]

# OpenCV's documented example parameters (pyramid 0.5, 3 levels, window 15, 3 iterations,
# polynomial expansion n=5, sigma=1.2); fixed so that results are reproducible.
FARNEBACK_PARAMS: dict[str, float | int] = {
    "pyr_scale": 0.5,
    "levels": 3,
    "winsize": 15,
    "iterations": 3,
    "poly_n": 5,
    "poly_sigma": 1.2,
    "flags": 0,
}


def to_gray_u8(image: np.ndarray) -> np.ndarray:
    """An image in 8-bit units (H, W) or RGB in [0, 255] (H, W, 3) as uint8 grey."""
    arr = np.asarray(image, dtype=np.float64)
    if arr.ndim == 3:
        arr = arr @ np.array([0.2126, 0.7152, 0.0722])  # BT.709 luma weights
    return np.clip(np.rint(arr), 0, 255).astype(np.uint8)


def farneback_flow(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Dense flow from ``a`` to ``b`` (float32, shape (H, W, 2), x then y), Farneback.

    Args:
        a, b: images in 8-bit units, grey (H, W) or RGB (H, W, 3).
    """
    import cv2

    p = FARNEBACK_PARAMS
    return cv2.calcOpticalFlowFarneback(
        to_gray_u8(a),
        to_gray_u8(b),
        None,
        p["pyr_scale"],
        p["levels"],
        p["winsize"],
        p["iterations"],
        p["poly_n"],
        p["poly_sigma"],
        p["flags"],
    )


def warp(image: np.ndarray, flow: np.ndarray) -> np.ndarray:
    """Backward warp: ``out(x) = image(x + flow(x))``, bilinear, border replicated.

    Args:
        image: (H, W) or (H, W, C) array.
        flow: (H, W, 2) displacement in pixels (x, y).

    Returns:
        float32 array of the shape of ``image``.
    """
    import cv2

    h, w = flow.shape[:2]
    gx, gy = np.meshgrid(np.arange(w, dtype=np.float32), np.arange(h, dtype=np.float32))
    return cv2.remap(
        np.asarray(image, dtype=np.float32),
        gx + flow[..., 0],
        gy + flow[..., 1],
        interpolation=cv2.INTER_LINEAR,
        borderMode=cv2.BORDER_REPLICATE,
    )


def interpolate_midframe(frame0: np.ndarray, frame2: np.ndarray) -> np.ndarray:
    """Estimate the frame halfway between ``frame0`` and ``frame2`` from Farneback flow.

    With ``F`` the flow from frame 0 to frame 2, the middle frame at ``x`` is the mean of
    ``frame0(x - F(x)/2)`` and ``frame2(x + F(x)/2)`` (flow at ``x`` standing in for the flow
    through the middle frame, the usual linear-motion approximation).

    Args:
        frame0, frame2: RGB (H, W, 3) or grey (H, W) in 8-bit units.

    Returns:
        float32 array shaped like the inputs.
    """
    flow = farneback_flow(frame0, frame2)
    half = 0.5 * flow
    return 0.5 * (warp(frame0, -half) + warp(frame2, half))
