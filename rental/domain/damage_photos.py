"""Damage photos: the picture a rider takes of what is broken, stored by the platform.

A photo arrives as an image file from the rider's phone. Before it is kept it is decoded
(proving it is an image of a kind we accept), scaled down to at most `max_side` pixels on
its longer side, and encoded again without any metadata: a phone's EXIF block carries the
GPS position where the picture was taken, the time and the device, none of which operators
need and all of which would tell where the rider is. Only the rider who uploaded a photo
may attach it to a damage report; only operators see it.
"""

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from uuid import UUID

from rental.domain.errors import InvalidInput, TooLarge, UnsupportedType


class PhotoType(StrEnum):
    """The kinds of image accepted, as their media types."""

    JPEG = "image/jpeg"
    PNG = "image/png"
    WEBP = "image/webp"


@dataclass(frozen=True)
class PhotoRules:
    """How large an upload may be (bytes, as sent), how large its picture may be before it
    is even decoded (pixels: a small file may unpack into gigabytes), and how many pixels
    the longer side keeps once stored."""

    max_bytes: int = 2 * 1024 * 1024
    max_pixels: int = 4096 * 4096
    max_side: int = 2048


DEFAULT_PHOTO_RULES = PhotoRules()


@dataclass(frozen=True)
class Picture:
    """An image as stored: encoded bytes of `content_type`, `width` x `height` pixels."""

    content_type: PhotoType
    data: bytes
    width: int
    height: int


@dataclass(frozen=True)
class DamagePhoto:
    id: UUID
    uploader_id: UUID
    picture: Picture
    created_at: datetime


@dataclass(frozen=True)
class PhotoInfo:
    """A stored photo without its bytes: enough to check who may attach it."""

    id: UUID
    uploader_id: UUID
    content_type: PhotoType
    width: int
    height: int
    size: int  # bytes
    created_at: datetime


def checked_photo_type(declared: str | None) -> PhotoType:
    """The upload's Content-Type (parameters ignored) as a PhotoType; UnsupportedType
    (`unsupported_photo_type`) for any other."""
    media_type = (declared or "").split(";")[0].strip().lower()
    try:
        return PhotoType(media_type)
    except ValueError:
        kinds = ", ".join(kind.value for kind in PhotoType)
        raise UnsupportedType(
            f"a photo is sent as one of {kinds} (the request body is the image itself), "
            f"not {media_type or 'no Content-Type'}",
            "unsupported_photo_type",
        ) from None


def checked_size(size: int, rules: PhotoRules) -> None:
    """TooLarge (`photo_too_large`) beyond `rules.max_bytes`; InvalidInput (`photo_missing`)
    for an empty body."""
    if size == 0:
        raise InvalidInput("the request body is the photo itself: it was empty", "photo_missing")
    if size > rules.max_bytes:
        raise photo_too_large(rules.max_bytes)


def photo_too_large(max_bytes: int) -> TooLarge:
    return TooLarge(
        f"a photo is at most {max_bytes} bytes: scale it down before sending",
        "photo_too_large",
    )


def not_an_image(kind: PhotoType) -> InvalidInput:
    return InvalidInput(f"the body is not a readable {kind.value} image", "not_an_image")


def too_many_pixels(rules: PhotoRules) -> InvalidInput:
    return InvalidInput(
        f"a photo has at most {rules.max_pixels} pixels: scale it down before sending",
        "photo_too_many_pixels",
    )
