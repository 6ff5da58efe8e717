"""Image thumbnails, made with Pillow in a Celery task (tasks.make_thumbnail).

Bounded: at most THUMBNAIL_SIDE pixels a side; turned upright by the EXIF orientation; an
image of more than MAX_PIXELS (a decompression bomb: a few KB that unpack to gigabytes) is
refused before its pixels are read, and gets no thumbnail.
"""

import io
import warnings

from django.core.files.base import ContentFile
from PIL import Image, ImageOps, UnidentifiedImageError

from .checks import is_raster_image

THUMBNAIL_SIDE = 480
MAX_PIXELS = 40_000_000  # about a 7,000 × 6,000 photo


def wanted(content_type: str) -> bool:
    """Raster images get a thumbnail (never SVG: it is not taken at all)."""
    return is_raster_image(content_type)


def thumbnail_of(data: io.BufferedIOBase) -> ContentFile | None:
    """A JPEG (PNG when the image is transparent) thumbnail of an image file, or None when
    Pillow cannot read it or it is too large to unpack."""
    try:
        with warnings.catch_warnings():
            # Pillow only warns below twice its own limit; ours refuses earlier anyway.
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            return _thumbnail(data)
    except (
        UnidentifiedImageError,
        Image.DecompressionBombError,
        Image.DecompressionBombWarning,
        OSError,
        ValueError,
    ):
        return None


def _thumbnail(data: io.BufferedIOBase) -> ContentFile | None:
    with Image.open(data) as image:
        if image.width * image.height > MAX_PIXELS:
            return None
        image.draft("RGB", (THUMBNAIL_SIDE, THUMBNAIL_SIDE))  # JPEG: decode at a smaller scale
        image.seek(0)  # an animation's first frame
        upright = ImageOps.exif_transpose(image)
        upright.thumbnail((THUMBNAIL_SIDE, THUMBNAIL_SIDE))
        return _encoded(upright)


def _encoded(image: Image.Image) -> ContentFile:
    out = io.BytesIO()
    if image.mode in ("RGBA", "LA", "P") and _transparent(image):
        image.convert("RGBA").save(out, "PNG", optimize=True)
        return ContentFile(out.getvalue(), name="thumbnail.png")
    image.convert("RGB").save(out, "JPEG", quality=82, optimize=True)
    return ContentFile(out.getvalue(), name="thumbnail.jpg")


def _transparent(image: Image.Image) -> bool:
    return image.mode in ("RGBA", "LA") or "transparency" in image.info
