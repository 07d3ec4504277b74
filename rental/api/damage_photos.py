"""Damage photos: a rider uploads the picture, the report names it, operators look at it.

POST /api/v1/damage-photos              rider: the image itself as the body, Content-Type
                                        image/jpeg, image/png or image/webp, at most
                                        DAMAGE_PHOTO_MAX_BYTES; 201 {photo_ref, ...}
GET  /api/v1/ops/damage-photos/<id>     operator: the stored image, its own Content-Type

The stored photo is the platform's own encoding of the pixels: no EXIF (a phone's GPS
position of where it was taken), no other metadata, at most DAMAGE_PHOTO_MAX_SIDE pixels on
its longer side. Errors: 413 `photo_too_large`, 415 `unsupported_photo_type`, 400
`not_an_image`, `photo_too_many_pixels`, `photo_missing`.
"""

from typing import Any
from uuid import UUID

from flask import Response, request
from flask_openapi3 import APIBlueprint, Tag
from pydantic import Field

from rental.api.auth import current_user_id
from rental.api.common import platform
from rental.api.contract import (
    BEARER,
    NOT_FOUND,
    SIGNED_IN,
    AnswerModel,
    ErrorBody,
    RequestModel,
    signed_in,
)
from rental.domain.damage_photos import (
    PhotoType,
    checked_photo_type,
    checked_size,
)
from rental.domain.riders import Role
from rental.services import damage_photos
from rental.services.commands.maintenance import UploadDamagePhoto

PHOTOS = Tag(name="damage photos", description="the photo a damage report carries")
blueprint = APIBlueprint(
    "damage_photos",
    __name__,
    url_prefix="/api/v1",
    abp_tags=[PHOTOS],
    abp_security=BEARER,
    abp_responses=SIGNED_IN,
)

IMAGE_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "description": "the image file itself (not a form, not JSON)",
        "content": {
            kind.value: {"schema": {"type": "string", "format": "binary"}} for kind in PhotoType
        },
    }
}
IMAGE_ANSWER: dict[str, Any] = {
    "description": "the photo as stored, in its own media type; `Cache-Control: private`",
    "content": {
        kind.value: {"schema": {"type": "string", "format": "binary"}} for kind in PhotoType
    },
}
# Photos never change once stored: a browser may keep one, a shared cache never (it is a
# rider's picture behind an operator's token).
PHOTO_CACHING = "private, max-age=3600"


class PhotoAnswer(AnswerModel):
    photo_ref: UUID = Field(description="put it in the damage report's photo_ref")
    content_type: PhotoType = Field(description="as stored (the kind the image really is)")
    width: int = Field(description="pixels, as stored")
    height: int = Field(description="pixels, as stored")
    size: int = Field(description="bytes, as stored")


@blueprint.post(
    "/damage-photos",
    responses={201: PhotoAnswer, 413: ErrorBody, 415: ErrorBody},
    openapi_extensions=IMAGE_BODY,
)
@signed_in(Role.RIDER)
def upload_photo() -> tuple[dict[str, Any], int]:
    """Upload the photo of a damage report: the body is the image (a JPEG, PNG or WebP of at
    most DAMAGE_PHOTO_MAX_BYTES). It is stored without its metadata, scaled down to at most
    DAMAGE_PHOTO_MAX_SIDE pixels; 201 with the `photo_ref` to report it with."""
    p = platform()
    rules = p.config.photo_rules()
    declared = checked_photo_type(request.content_type)
    if request.content_length is not None:  # refused before a byte is read
        checked_size(request.content_length, rules)
    # A body sent without its length (chunked) is read to one byte past the limit, at
    # most, and then refused as too large like the others.
    request.max_content_length = rules.max_bytes + 1
    command = UploadDamagePhoto(current_user_id(), declared, request.get_data(cache=False))
    info = damage_photos.upload_photo(p.uow(), p.pictures, command, p.now(), rules)
    answer = PhotoAnswer(
        photo_ref=info.id,
        content_type=info.content_type,
        width=info.width,
        height=info.height,
        size=info.size,
    )
    return answer.json(), 201


class PhotoPath(RequestModel):
    photo_id: UUID


@blueprint.get(
    "/ops/damage-photos/<photo_id>",
    responses={200: IMAGE_ANSWER, **NOT_FOUND},
    validate_response=False,
)
@signed_in(Role.OPERATOR)
def operator_photo(path: PhotoPath) -> Response:
    """A damage report's photo (its `photo_ref`), for operators, as the image itself."""
    photo = damage_photos.photo_for_operator(platform().lagging_uow(), path.photo_id)
    response = Response(photo.picture.data, mimetype=photo.picture.content_type.value)
    response.headers["Cache-Control"] = PHOTO_CACHING
    return response
