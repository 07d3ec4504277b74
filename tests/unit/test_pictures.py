"""Uploaded pictures are decoded and encoded again with Pillow: smaller, upright, and with
nothing but their pixels (no EXIF GPS position of where the rider stood)."""

import io

import pytest
from PIL import Image

from rental.adapters.pictures import PillowPictureCleaner
from rental.domain.damage_photos import PhotoRules, PhotoType
from rental.domain.errors import InvalidInput

RULES = PhotoRules(max_bytes=2_000_000, max_pixels=20_000_000, max_side=256)
GPS_IFD = 0x8825
ORIENTATION = 0x0112
ROTATED_90_CLOCKWISE = 6  # EXIF: the pixels must be turned 90 degrees clockwise to stand


def image_bytes(
    size: tuple[int, int], kind: str = "JPEG", orientation: int | None = None, gps: bool = False
) -> bytes:
    image = Image.new("RGB", size, (200, 30, 30))
    exif = Image.Exif()
    if gps:
        exif[GPS_IFD] = {1: "N", 2: (31.0, 13.0, 24.0), 3: "E", 4: (121.0, 28.0, 25.0)}
    if orientation is not None:
        exif[ORIENTATION] = orientation
    out = io.BytesIO()
    if len(exif):
        image.save(out, kind, exif=exif.tobytes())
    else:
        image.save(out, kind)
    return out.getvalue()


def decoded(data: bytes) -> Image.Image:
    return Image.open(io.BytesIO(data))


def test_a_phone_photo_is_scaled_down_and_loses_its_gps_position():
    sent = image_bytes((1200, 900), gps=True)
    assert GPS_IFD in decoded(sent).getexif()  # the position was there

    picture = PillowPictureCleaner().cleaned(sent, PhotoType.JPEG, RULES)

    stored = decoded(picture.data)
    assert (stored.format, picture.content_type) == ("JPEG", PhotoType.JPEG)
    assert (picture.width, picture.height) == stored.size == (256, 192)
    assert len(stored.getexif()) == 0 and "exif" not in stored.info


def test_a_portrait_photo_stands_upright_once_its_orientation_is_dropped():
    sent = image_bytes((400, 200), orientation=ROTATED_90_CLOCKWISE)
    picture = PillowPictureCleaner().cleaned(sent, PhotoType.JPEG, RULES)
    assert (picture.width, picture.height) == (128, 256)
    assert ORIENTATION not in decoded(picture.data).getexif()


def test_a_small_png_stays_a_png_of_its_size():
    picture = PillowPictureCleaner().cleaned(image_bytes((40, 30), "PNG"), PhotoType.PNG, RULES)
    assert (picture.content_type, picture.width, picture.height) == (PhotoType.PNG, 40, 30)
    assert decoded(picture.data).format == "PNG"


def test_the_kind_is_what_the_bytes_are_not_what_was_declared():
    picture = PillowPictureCleaner().cleaned(image_bytes((40, 30), "WEBP"), PhotoType.JPEG, RULES)
    assert picture.content_type is PhotoType.WEBP


@pytest.mark.parametrize(
    "body",
    [b"GIF89a" + b"\x00" * 40, b"not an image at all", image_bytes((40, 30), "GIF")],
    ids=["broken gif", "text", "a real gif"],
)
def test_what_is_not_a_jpeg_png_or_webp_is_not_an_image(body):
    with pytest.raises(InvalidInput) as refused:
        PillowPictureCleaner().cleaned(body, PhotoType.JPEG, RULES)
    assert refused.value.code == "not_an_image"


def test_a_truncated_jpeg_is_not_an_image():
    with pytest.raises(InvalidInput) as refused:
        PillowPictureCleaner().cleaned(image_bytes((400, 300))[:600], PhotoType.JPEG, RULES)
    assert refused.value.code == "not_an_image"


def test_a_picture_of_too_many_pixels_is_refused_before_it_is_decoded():
    few = PhotoRules(max_bytes=2_000_000, max_pixels=100 * 100, max_side=256)
    with pytest.raises(InvalidInput) as refused:
        PillowPictureCleaner().cleaned(image_bytes((101, 100), "PNG"), PhotoType.PNG, few)
    assert refused.value.code == "photo_too_many_pixels"


def test_a_small_file_of_more_pixels_than_a_phone_photo_is_refused_by_default():
    # 200 kB of one colour that would take 200 MB once decoded.
    bomb = image_bytes((7070, 7070), "PNG")
    assert len(bomb) < PhotoRules().max_bytes
    with pytest.raises(InvalidInput) as refused:
        PillowPictureCleaner().cleaned(bomb, PhotoType.PNG, PhotoRules())
    assert refused.value.code == "photo_too_many_pixels"
    phone = PillowPictureCleaner().cleaned(image_bytes((4032, 3024)), PhotoType.JPEG, PhotoRules())
    assert (phone.width, phone.height) == (2048, 1536)  # a 12 MP photo is taken
