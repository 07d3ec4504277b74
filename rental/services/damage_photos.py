"""Riders upload a photo of damage; a report names it; operators look at it.

A photo is kept only once it was decoded and encoded again without its metadata
(`rental.domain.damage_photos`, `PictureCleaner`); the upload answers its id, which the
rider's damage report carries as `photo_ref`. Riders never read photos back (the app shows
its own preview): operators do, while they look at the reports.
"""

import uuid
from datetime import datetime

from rental.domain.damage_photos import (
    DEFAULT_PHOTO_RULES,
    DamagePhoto,
    PhotoInfo,
    PhotoRules,
    checked_size,
)
from rental.domain.errors import NotFound
from rental.services.commands.maintenance import UploadDamagePhoto
from rental.services.ports import PictureCleaner
from rental.services.unit_of_work import UnitOfWork


def upload_photo(
    uow: UnitOfWork,
    cleaner: PictureCleaner,
    command: UploadDamagePhoto,
    now: datetime,
    rules: PhotoRules = DEFAULT_PHOTO_RULES,
) -> PhotoInfo:
    """Keeps the photo as `cleaner` encodes it; what was kept, without its bytes.

    Raises TooLarge (`photo_too_large`), InvalidInput (`photo_missing`, `not_an_image`,
    `photo_too_many_pixels`)."""
    checked_size(len(command.data), rules)
    picture = cleaner.cleaned(command.data, command.declared, rules)
    photo = DamagePhoto(uuid.uuid4(), command.uploader_id, picture, now)
    with uow:
        uow.damage_photos.add(photo)
        uow.commit()
    return PhotoInfo(
        photo.id,
        photo.uploader_id,
        picture.content_type,
        picture.width,
        picture.height,
        len(picture.data),
        now,
    )


def photo_to_attach(uow: UnitOfWork, photo_id: uuid.UUID, reporter_id: uuid.UUID) -> PhotoInfo:
    """The photo, when `reporter_id` uploaded it; NotFound (`photo_not_found`) otherwise,
    also for another rider's (whose photos a rider may not even learn exist). Call it in
    the report's transaction."""
    info = uow.damage_photos.info(photo_id)
    if info is None or info.uploader_id != reporter_id:
        raise NotFound(
            "photo_ref names no photo you uploaded: upload it first (POST /api/v1/damage-photos)",
            "photo_not_found",
            "photo_ref",
        )
    return info


def photo_for_operator(uow: UnitOfWork, photo_id: uuid.UUID) -> DamagePhoto:
    """The photo with its bytes; NotFound (`photo_not_found`)."""
    with uow:
        photo = uow.damage_photos.get(photo_id)
    if photo is None:
        raise NotFound("no such damage photo", "photo_not_found")
    return photo
