"""Damage photos in PostgreSQL: their bytes in `damage_photos.data`, read only to serve one."""

from datetime import datetime
from uuid import UUID

from sqlalchemy import Connection, RowMapping, cast, delete, exists, func, insert, select
from sqlalchemy.types import Text

from rental.adapters.repositories import conflicts_as_errors
from rental.adapters.tables import damage_photos, damage_reports
from rental.domain.damage_photos import DamagePhoto, PhotoInfo, PhotoType, Picture

INFO = (
    damage_photos.c.id,
    damage_photos.c.uploader_id,
    damage_photos.c.content_type,
    damage_photos.c.width,
    damage_photos.c.height,
    func.octet_length(damage_photos.c.data).label("size"),
    damage_photos.c.created_at,
)


class DamagePhotoRepository:
    def __init__(self, connection: Connection) -> None:
        self._c = connection

    def add(self, photo: DamagePhoto) -> None:
        picture = photo.picture
        with conflicts_as_errors():
            self._c.execute(
                insert(damage_photos).values(
                    id=photo.id,
                    uploader_id=photo.uploader_id,
                    content_type=picture.content_type.value,
                    width=picture.width,
                    height=picture.height,
                    data=picture.data,
                    created_at=photo.created_at,
                )
            )

    def info(self, photo_id: UUID) -> PhotoInfo | None:
        row = self._c.execute(select(*INFO).where(damage_photos.c.id == photo_id)).mappings()
        found = row.first()
        return _info(found) if found else None

    def get(self, photo_id: UUID) -> DamagePhoto | None:
        query = select(damage_photos).where(damage_photos.c.id == photo_id)
        row = self._c.execute(query).mappings().first()
        if row is None:
            return None
        picture = Picture(
            PhotoType(row["content_type"]), bytes(row["data"]), row["width"], row["height"]
        )
        return DamagePhoto(row["id"], row["uploader_id"], picture, row["created_at"])

    def forget_unattached_before(self, before: datetime, limit: int) -> int:
        named = exists().where(damage_reports.c.photo_ref == cast(damage_photos.c.id, Text))
        doomed = (
            select(damage_photos.c.id)
            .where(damage_photos.c.created_at < before, ~named)
            .limit(limit)
            .scalar_subquery()
        )
        return self._c.execute(delete(damage_photos).where(damage_photos.c.id.in_(doomed))).rowcount


def _info(row: RowMapping) -> PhotoInfo:
    return PhotoInfo(
        id=row["id"],
        uploader_id=row["uploader_id"],
        content_type=PhotoType(row["content_type"]),
        width=row["width"],
        height=row["height"],
        size=row["size"],
        created_at=row["created_at"],
    )
