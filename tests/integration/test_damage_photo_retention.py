"""A damage photo no report names is deleted a day after its upload; a report's photo stays
with its report."""

import uuid
from datetime import timedelta

from rental.bootstrap import utc_now
from rental.domain.damage_photos import DamagePhoto, PhotoType, Picture
from rental.domain.maintenance import DamageCategory, DamageReport, ReportState
from rental.services import retention
from tests.conftest import new_lock_id
from tests.helpers import make_bike, make_user


def photo(platform, uploader, age: timedelta) -> uuid.UUID:
    stored = DamagePhoto(
        uuid.uuid4(), uploader.id, Picture(PhotoType.JPEG, b"\xff\xd8", 1, 1), utc_now() - age
    )
    with platform.uow() as uow:
        uow.damage_photos.add(stored)
        uow.commit()
    return stored.id


def test_photos_no_report_names_go_a_day_after_their_upload(platform):
    rider = make_user(platform)
    _, bike = make_bike(platform, new_lock_id())
    named = photo(platform, rider, timedelta(days=3))
    abandoned = photo(platform, rider, timedelta(hours=25))
    fresh = photo(platform, rider, timedelta(hours=2))
    report = DamageReport(
        uuid.uuid4(), bike.id, rider.id, DamageCategory.TYRE, ReportState.OPEN, utc_now(),
        str(named),
    )  # fmt: skip
    with platform.uow() as uow:
        uow.damage_reports.add(report)
        uow.commit()

    assert retention.forget_unattached_photos(platform.uow(), utc_now()) == 1

    with platform.uow() as uow:
        kept = {p for p in (named, abandoned, fresh) if uow.damage_photos.info(p) is not None}
    assert kept == {named, fresh}
