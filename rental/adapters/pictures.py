"""Uploaded pictures decoded and encoded again with Pillow (`PictureCleaner`).

A picture is kept only as pixels we encoded ourselves: whatever else the file carried
(EXIF with the GPS position where it was taken, XMP, comments, a second image, bytes a
viewer might take for something else) is gone. A phone's EXIF orientation is applied to
the pixels first, so a portrait photo still stands upright without its metadata. Pillow's
errors stay here: they leave as our own InvalidInput.

Memory: a small file may hold many pixels (a 200 kB PNG of one colour can be 7,000 x 7,000,
200 MB once decoded). So the pixel count is checked from the header before any pixel is
decoded (`DAMAGE_PHOTO_MAX_PIXELS`, 16.7 million by default: a 12 MP phone photo fits), a
JPEG is decoded at the smallest of 1/2, 1/4 or 1/8 scale that still covers the size kept,
the pixels are converted and scaled in place rather than copied, and a process decodes
one picture at a time (`DECODING`): the others wait their turn for a second or so.
"""

import io
import threading
import warnings
from typing import assert_never

from PIL import Image, ImageOps, UnidentifiedImageError

from rental.domain.damage_photos import (
    PhotoRules,
    PhotoType,
    Picture,
    not_an_image,
    too_many_pixels,
)
from rental.domain.errors import InvalidInput

# Pillow's names of the formats we accept, and back.
FORMATS = {"JPEG": PhotoType.JPEG, "PNG": PhotoType.PNG, "WEBP": PhotoType.WEBP}
# Good enough to see a bent rim or a cut cable; a 2048-pixel JPEG of a street scene comes
# to about 400-700 kB.
JPEG_QUALITY = 85
WEBP_QUALITY = 80
# One decode at a time per process: its pixels, not its file, are what takes the memory.
DECODING = threading.BoundedSemaphore(1)


class PillowPictureCleaner:
    def cleaned(self, data: bytes, declared: PhotoType, rules: PhotoRules) -> Picture:
        try:
            with warnings.catch_warnings():
                # Pillow warns (and beyond twice its own bound, raises) about decompression
                # bombs; our own bound, checked before any pixel is decoded, is lower.
                warnings.simplefilter("ignore", Image.DecompressionBombWarning)
                with Image.open(io.BytesIO(data), formats=list(FORMATS)) as image, DECODING:
                    kind = FORMATS[str(image.format)]
                    if image.width * image.height > rules.max_pixels:
                        raise too_many_pixels(rules)
                    # JPEG only: decoded at a reduced scale, still at least max_side.
                    image.draft("RGB", (rules.max_side, rules.max_side))
                    image.load()
                    ImageOps.exif_transpose(image, in_place=True)
                    return _encoded(_within(image, rules.max_side), kind)
        except InvalidInput:
            raise
        except Image.DecompressionBombError as error:
            raise too_many_pixels(rules) from error
        except UnidentifiedImageError as error:
            raise not_an_image(declared) from error
        except Exception as error:
            # A crafted file makes Pillow's decoders fail in many ways (OSError, SyntaxError,
            # ValueError, struct.error, IndexError, ...): whichever, it is no image we keep.
            raise not_an_image(declared) from error


def _within(image: Image.Image, max_side: int) -> Image.Image:
    """The image, scaled down (never up) to fit `max_side` x `max_side`, as RGB or RGBA."""
    mode = "RGBA" if image.mode in ("RGBA", "LA", "PA") or "transparency" in image.info else "RGB"
    if image.mode != mode:
        image = image.convert(mode)
    image.thumbnail((max_side, max_side), Image.Resampling.LANCZOS)  # in place
    return image


def _encoded(image: Image.Image, kind: PhotoType) -> Picture:
    """`image` in `kind`, with nothing but its pixels (no `exif=`, `icc_profile=` or
    `pnginfo=` passed: Pillow writes none)."""
    out = io.BytesIO()
    match kind:
        case PhotoType.JPEG:
            image.convert("RGB").save(out, "JPEG", quality=JPEG_QUALITY, optimize=True)
        case PhotoType.PNG:
            image.save(out, "PNG", optimize=True)
        case PhotoType.WEBP:
            image.save(out, "WEBP", quality=WEBP_QUALITY)
        case _:
            assert_never(kind)
    return Picture(kind, out.getvalue(), image.width, image.height)
