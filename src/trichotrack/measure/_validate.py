"""Input checks shared by the core: fail early with a ValueError that names the value."""

from __future__ import annotations

import numpy as np


def as_bool_2d(array, *, name: str) -> np.ndarray:
    """Return `array` as a 2-D bool array, or raise ValueError naming it."""
    array = np.asarray(array)
    if array.ndim != 2:
        raise ValueError(f"{name} must be 2-D, got shape {array.shape}")
    return array.astype(bool, copy=False)


def as_rgb_uint8(image, *, name: str = "image", min_side_px: int = 16) -> np.ndarray:
    """Return `image` as an (M, N, 3) uint8 array.

    Gray (M, N) images are stacked to three channels; uint16 and float images in [0, 1] are scaled.
    The input is never modified.
    """
    image = np.asarray(image)
    if image.ndim == 2:
        image = np.stack([image] * 3, axis=-1)
    if image.ndim != 3 or image.shape[2] not in (3, 4):
        raise ValueError(f"{name} must be (M, N) or (M, N, 3), got shape {image.shape}")
    image = image[..., :3]
    if min(image.shape[:2]) < min_side_px:
        raise ValueError(
            f"{name} is {image.shape[1]}×{image.shape[0]} px; need at least {min_side_px} px a side"
        )
    if image.dtype == np.uint8:
        return image
    if image.dtype == np.uint16:
        return (image / 257.0 + 0.5).astype(np.uint8)
    if np.issubdtype(image.dtype, np.floating):
        if not np.isfinite(image).all():
            raise ValueError(f"{name} holds NaN or infinite values")
        return (np.clip(image, 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8)
    if image.dtype == bool:
        return image.astype(np.uint8) * 255
    raise ValueError(f"{name} has unsupported dtype {image.dtype}")


def positive_finite(value, *, name: str) -> float:
    """Return `value` as a float > 0, or raise ValueError naming it."""
    try:
        value = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a number, got {value!r}") from None
    if not np.isfinite(value) or value <= 0:
        raise ValueError(f"{name} must be a positive finite number, got {value}")
    return value
