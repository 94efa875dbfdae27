"""The one image loader. Every image colorbench reads goes through :func:`load_image`.

It decodes fully (truncated files fail here, not later), applies EXIF orientation, converts every mode (CMYK,
RGBA, palette, 16-bit, gray) to uint8 RGB, and says whether the source had colour at all: a grayscale-only
source cannot serve as ground truth for colorization and is excluded from scoring.
"""

from __future__ import annotations

import os
import threading
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np

IMAGE_EXTENSIONS = frozenset({".jpg", ".jpeg", ".png", ".bmp", ".gif", ".tif", ".tiff", ".webp"})


class ImageLoadError(ValueError):
    """An image that cannot be used; the message names the file and says why."""

    def __init__(self, path: str | os.PathLike, reason: str):
        self.path = str(path)
        self.reason = reason
        super().__init__(f"{self.path}: {reason}")


@dataclass(frozen=True)
class LoadedImage:
    rgb: np.ndarray  # uint8 HxWx3
    has_color: bool  # False for grayscale-only sources: not usable as colour ground truth
    source_mode: str  # PIL mode of the file as stored (e.g. "RGB", "L", "CMYK", "I;16")


def _is_effectively_gray(rgb: np.ndarray) -> bool:
    # JPEG chroma subsampling can leave ±1 noise in an RGB-stored gray photo; treat that as gray.
    r, g, b = (rgb[..., i].astype(np.int16) for i in range(3))
    return int(max(np.abs(r - g).max(), np.abs(g - b).max())) <= 1


def _to_uint8_rgb(img, path) -> np.ndarray:
    from PIL import Image

    mode = img.mode
    if mode in ("I;16", "I;16B", "I;16L", "I"):
        arr = np.asarray(img, dtype=np.float64)
        peak = 65535.0 if mode.startswith("I;16") or arr.max() > 255 else 255.0
        gray = np.clip(np.rint(arr / peak * 255.0), 0, 255).astype(np.uint8)
        return np.repeat(gray[:, :, None], 3, axis=2)
    if mode == "F":
        arr = np.asarray(img, dtype=np.float64)
        gray = np.clip(np.rint(arr * (255.0 if arr.max() <= 1.0 else 1.0)), 0, 255).astype(np.uint8)
        return np.repeat(gray[:, :, None], 3, axis=2)
    if mode in ("RGBA", "LA", "PA") or (mode == "P" and "transparency" in img.info):
        # Composite onto white: transparent pixels have no defined colour, white is the usual convention.
        rgba = img.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return np.asarray(Image.alpha_composite(background, rgba).convert("RGB"))
    return np.asarray(img.convert("RGB"))  # RGB, CMYK (PIL applies the standard inversion), P, YCbCr, 1, L


def load_image(path: str | os.PathLike, *, fix: str = "re-download it", max_pixels: int | None = None) -> LoadedImage:
    """Load ``path`` as uint8 RGB. Raises :class:`ImageLoadError` (naming the file) on anything unusable;
    ``fix`` is the advice given for a corrupt file (what to do depends on where the file came from).

    ``max_pixels``: the largest image accepted (default: Pillow's guard against decompression bombs, about 89
    megapixels); a bigger one is refused with its size and the option that raises the limit."""
    from PIL import Image, ImageFile, ImageOps, UnidentifiedImageError

    path = Path(path)
    if not path.is_file():
        raise ImageLoadError(path, "file not found")
    # Some libraries switch PIL to silently accept truncated files; a half image must never pass as ground truth.
    truncated_setting, ImageFile.LOAD_TRUNCATED_IMAGES = ImageFile.LOAD_TRUNCATED_IMAGES, False
    limit = Image.MAX_IMAGE_PIXELS if max_pixels is None else max_pixels
    try:
        with _opened(path, limit) as img:
            img.load()  # full decode: truncated data raises here
            source_mode = img.mode
            img = ImageOps.exif_transpose(img)
            rgb = _to_uint8_rgb(img, path)
    except UnidentifiedImageError:
        raise ImageLoadError(path, "not a recognised image format (is it an image at all?)") from None
    except PermissionError:
        raise ImageLoadError(path, "cannot read: permission denied — fix its permissions (e.g. chmod a+r)") from None
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise ImageLoadError(path, _too_many_pixels(path, limit)) from None
    except (OSError, SyntaxError, ValueError) as exc:
        raise ImageLoadError(path, f"cannot decode ({exc}); the file is corrupt or truncated — {fix}") from None
    finally:
        ImageFile.LOAD_TRUNCATED_IMAGES = truncated_setting
    rgb = np.ascontiguousarray(rgb, dtype=np.uint8)
    if rgb.ndim != 3 or rgb.shape[2] != 3 or min(rgb.shape[:2]) < 8:
        raise ImageLoadError(path, f"unusable image size {rgb.shape[:2]} (need at least 8x8 pixels)")
    gray_mode = source_mode in ("1", "L", "LA", "I", "I;16", "I;16B", "I;16L", "F")
    has_color = not gray_mode and not _is_effectively_gray(rgb)
    return LoadedImage(rgb=rgb, has_color=has_color, source_mode=source_mode)


# Pillow's pixel limit and Python's warning filters are process-wide: the scorer decodes on worker threads, so the
# temporary change below is made under a lock (only around Image.open, where Pillow checks the size; decoding
# runs outside it). Without the lock one thread restored another's "no limit" and left Pillow unguarded.
_PIXEL_LIMIT_LOCK = threading.Lock()


def _opened(path: Path, limit: int | None):
    """``Image.open(path)`` with ``limit`` as Pillow's decompression-bomb limit (a warning above it is an error)."""
    from PIL import Image

    with _PIXEL_LIMIT_LOCK:
        saved = Image.MAX_IMAGE_PIXELS
        Image.MAX_IMAGE_PIXELS = limit
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("error", Image.DecompressionBombWarning)
                return Image.open(path)
        finally:
            Image.MAX_IMAGE_PIXELS = saved


def _too_many_pixels(path: Path, limit: int) -> str:
    """The reason for an image over the pixel limit, with its size and how to raise the limit."""

    with _opened(path, None) as img:  # only the header is read: no bomb risk
        width, height = img.size
    return (f"the image is {width}x{height} = {width * height:,} pixels, over the limit of {limit:,} that guards "
            f"against decompression bombs; if you trust the file, raise the limit with --max-pixels {width * height}")


# A run's own PNGs were checked against the limit when their source was read: reading them back needs no limit.
OWN_FILES_MAX_PIXELS = 2**62


def read_png_rgb(path: str | os.PathLike) -> np.ndarray:
    """Read an image colorbench itself wrote (a run's PNGs) as uint8 RGB, through the same validating loader."""
    fix = "delete it and rerun the command that wrote it (`colorbench run` remakes a run's images)"
    return load_image(path, fix=fix, max_pixels=OWN_FILES_MAX_PIXELS).rgb


def read_gray(path: str | os.PathLike) -> np.ndarray:
    """A gray input colorbench wrote (a run folder's ``inputs/gray/<id>.png``) as uint8 ``HxW``, exactly as written
    (a PNG round trip is lossless)."""
    return read_png_rgb(path)[..., 0].copy()


def data_uri(raw: bytes, mime: str) -> str:
    """Encoded image bytes as a ``data:`` URI, for HTML that carries its images inline (notebook grids, figures)."""
    import base64

    return f"data:{mime};base64," + base64.b64encode(raw).decode("ascii")


def is_image_file(path: str | os.PathLike) -> bool:
    return Path(path).suffix.lower() in IMAGE_EXTENSIONS
