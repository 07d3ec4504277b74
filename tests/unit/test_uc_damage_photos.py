"""A damage report's photo: riders upload it within its limits, attach only their own, and
operators look at it; in memory, with a picture cleaner that decodes nothing."""

import uuid

import pytest

from rental.domain.damage_photos import PhotoRules, PhotoType, checked_photo_type
from rental.domain.errors import InvalidInput, NotFound, TooLarge, UnsupportedType
from rental.domain.fleet import Asset
from rental.domain.maintenance import DamageCategory, DamageReport
from rental.domain.riders import User
from rental.services import damage_photos, maintenance
from rental.services.commands.maintenance import ReportDamage, UploadDamagePhoto
from tests.unit.fakes.ports import FAKE_IMAGE_MAGIC, FakePictureCleaner
from tests.unit.fakes.world import World

SMALL = PhotoRules(max_bytes=100)


@pytest.fixture
def world() -> World:
    return World()


@pytest.fixture
def cleaner() -> FakePictureCleaner:
    return FakePictureCleaner()


def upload(
    world: World,
    cleaner: FakePictureCleaner,
    rider: User,
    data: bytes = FAKE_IMAGE_MAGIC + b"pixels",
    rules: PhotoRules = SMALL,
) -> uuid.UUID:
    command = UploadDamagePhoto(rider.id, PhotoType.JPEG, data)
    return damage_photos.upload_photo(world.uow(), cleaner, command, world.now, rules).id


def report(world: World, reporter: User, asset: Asset, photo_id: uuid.UUID) -> DamageReport:
    command = ReportDamage(reporter.id, asset.code, DamageCategory.BRAKES, photo_id, None)
    return maintenance.report_damage(world.uow(), command, world.now)[0]


def test_an_uploaded_photo_is_stored_as_the_cleaner_encoded_it(world, cleaner):
    rider = world.rider()
    photo_id = upload(world, cleaner, rider)
    stored = world.store.damage_photos[photo_id]
    assert stored.uploader_id == rider.id and stored.created_at == world.now
    assert stored.picture.data == b"pixels"  # what the cleaner made, not what was sent
    assert stored.picture.content_type is PhotoType.JPEG


def test_a_photo_over_the_size_limit_is_refused_before_it_is_decoded(world, cleaner):
    with pytest.raises(TooLarge) as refused:
        upload(world, cleaner, world.rider(), FAKE_IMAGE_MAGIC + b"x" * 100)
    assert refused.value.code == "photo_too_large" and "100 bytes" in refused.value.message
    assert cleaner.seen == [] and world.store.damage_photos == {}


def test_a_body_that_is_not_an_image_is_refused_and_nothing_is_stored(world, cleaner):
    with pytest.raises(InvalidInput) as refused:
        upload(world, cleaner, world.rider(), b"<html>not a picture</html>")
    assert refused.value.code == "not_an_image"
    assert world.store.damage_photos == {}


def test_an_empty_body_is_refused(world, cleaner):
    with pytest.raises(InvalidInput) as refused:
        upload(world, cleaner, world.rider(), b"")
    assert refused.value.code == "photo_missing"


@pytest.mark.parametrize("declared", ["image/gif", "application/json", "", None, "image/svg+xml"])
def test_only_jpeg_png_and_webp_are_taken(declared):
    with pytest.raises(UnsupportedType) as refused:
        checked_photo_type(declared)
    assert refused.value.code == "unsupported_photo_type"


def test_a_content_type_with_parameters_names_its_kind():
    assert checked_photo_type("Image/PNG; charset=binary") is PhotoType.PNG


def test_a_report_carries_the_photo_its_rider_uploaded(world, cleaner):
    bike = world.bike()
    reporter = world.rider_who_rode(bike)
    photo_id = upload(world, cleaner, reporter)
    stored = report(world, reporter, bike, photo_id)
    assert stored.photo_ref == str(photo_id)
    assert world.store.damage_reports[stored.id].photo_ref == str(photo_id)


def test_a_report_may_not_carry_another_riders_photo(world, cleaner):
    bike = world.bike()
    reporter, other = world.rider_who_rode(bike), world.rider()
    photo_id = upload(world, cleaner, other)
    with pytest.raises(NotFound) as refused:
        report(world, reporter, bike, photo_id)
    assert (refused.value.code, refused.value.field) == ("photo_not_found", "photo_ref")
    assert world.store.damage_reports == {}


def test_a_report_may_not_carry_a_photo_that_was_never_uploaded(world):
    bike = world.bike()
    with pytest.raises(NotFound) as refused:
        report(world, world.rider_who_rode(bike), bike, uuid.uuid4())
    assert refused.value.code == "photo_not_found"


def test_operators_get_the_photo_with_its_bytes(world, cleaner):
    photo_id = upload(world, cleaner, world.rider())
    photo = damage_photos.photo_for_operator(world.uow(), photo_id)
    assert photo.picture.data == b"pixels"
    with pytest.raises(NotFound):
        damage_photos.photo_for_operator(world.uow(), uuid.uuid4())
