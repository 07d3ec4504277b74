"""A damage report's photo through HTTP and PostgreSQL: riders upload it within its limits
and attach only their own; operators fetch it, riders cannot."""

import io
import uuid

import requests
from PIL import Image
from sqlalchemy import func, select

from rental.adapters.tables import damage_photos
from tests.e2e.test_fair_use import hold_and_cancel

GPS_IFD = 0x8825


def jpeg(size: tuple[int, int] = (800, 600), gps: bool = False, quality: int = 90) -> bytes:
    image = Image.new("RGB", size, (30, 120, 200))
    exif = Image.Exif()
    if gps:
        exif[GPS_IFD] = {1: "N", 2: (31.0, 13.0, 24.0), 3: "E", 4: (121.0, 28.0, 25.0)}
    out = io.BytesIO()
    image.save(out, "JPEG", quality=quality, exif=exif.tobytes())
    return out.getvalue()


def upload(system, rider, body: bytes, content_type: str = "image/jpeg") -> requests.Response:
    headers = {**rider.headers, "Content-Type": content_type}
    return system.http.post(system.url + "/api/v1/damage-photos", data=body, headers=headers)


def refused(answer: requests.Response, status: int, code: str) -> None:
    assert answer.status_code == status, answer.text
    assert answer.json()["error"]["code"] == code, answer.text


def report(system, rider, code, photo_ref):
    body = {"code": code, "category": "brakes", "photo_ref": photo_ref}
    return system.post("/api/v1/damage-reports", body, rider)


def test_a_report_carries_its_riders_photo_and_operators_see_it_without_its_gps(system):
    code, _ = system.bike()
    rider, operator = system.rider(), system.operator()
    hold_and_cancel(system, rider, code)

    uploaded = upload(system, rider, jpeg((3000, 2000), gps=True))
    assert uploaded.status_code == 201, uploaded.text
    photo = uploaded.json()
    assert (photo["content_type"], photo["width"], photo["height"]) == ("image/jpeg", 2048, 1365)
    reported = report(system, rider, code, photo["photo_ref"])
    assert reported.status_code == 201, reported.text
    assert reported.json()["photo_ref"] == photo["photo_ref"]

    listed = system.get("/api/v1/ops/damage-reports?state=open", operator).json()["reports"]
    [entry] = [r for r in listed if r["asset_code"] == code]
    assert entry["photo_url"] == f"/api/v1/ops/damage-photos/{photo['photo_ref']}"
    fetched = system.get(entry["photo_url"], operator)
    assert fetched.status_code == 200, fetched.text
    assert fetched.headers["Content-Type"] == "image/jpeg"
    assert "private" in fetched.headers["Cache-Control"]
    assert "public" not in fetched.headers["Cache-Control"]
    stored = Image.open(io.BytesIO(fetched.content))
    assert stored.size == (2048, 1365) and len(fetched.content) == photo["size"]
    assert GPS_IFD not in stored.getexif() and "exif" not in stored.info


def test_a_riders_second_report_of_a_bike_brings_its_photo_to_the_open_one(system):
    code, _ = system.bike()
    rider = system.rider()
    hold_and_cancel(system, rider, code)
    first = report(system, rider, code, None)
    assert first.status_code == 201, first.text

    photo_ref = upload(system, rider, jpeg()).json()["photo_ref"]
    body = {"code": code, "category": "tyre", "photo_ref": photo_ref, "note": "flat at the back"}
    again = system.post("/api/v1/damage-reports", body, rider)

    assert again.status_code == 200, again.text
    amended = again.json()
    assert amended["id"] == first.json()["id"]
    assert (amended["category"], amended["photo_ref"]) == ("tyre", photo_ref)
    assert amended["note"] == "flat at the back"
    listed = system.get("/api/v1/ops/damage-reports?state=open", system.operator()).json()
    assert [r["photo_ref"] for r in listed["reports"] if r["asset_code"] == code] == [photo_ref]


def test_riders_cannot_fetch_photos_not_even_their_own(system):
    rider = system.rider()
    photo_ref = upload(system, rider, jpeg()).json()["photo_ref"]
    refused(system.get(f"/api/v1/ops/damage-photos/{photo_ref}", rider), 403, "wrong_role")
    refused(system.get(f"/api/v1/ops/damage-photos/{photo_ref}"), 401, "missing_token")
    operator = system.operator()
    unknown = system.get(f"/api/v1/ops/damage-photos/{uuid.uuid4()}", operator)
    refused(unknown, 404, "photo_not_found")
    refused(system.get("/api/v1/ops/damage-photos/not-an-id", operator), 400, "invalid_photo_id")


def test_a_report_cannot_carry_another_riders_photo(system):
    code, _ = system.bike()
    rider, other = system.rider(), system.rider()
    hold_and_cancel(system, rider, code)
    theirs = upload(system, other, jpeg()).json()["photo_ref"]

    refused(report(system, rider, code, theirs), 404, "photo_not_found")
    refused(report(system, rider, code, str(uuid.uuid4())), 404, "photo_not_found")
    refused(report(system, rider, code, "uploads/7f3a.jpg"), 400, "invalid_photo_ref")
    assert system.get("/api/v1/ops/damage-reports", system.operator()).json()["reports"] == []


def test_a_photo_larger_than_other_bodies_may_be_is_taken(system):
    noise = Image.effect_noise((1400, 1000), 80).convert("RGB")
    out = io.BytesIO()
    noise.save(out, "JPEG", quality=95)
    body = out.getvalue()
    assert len(body) > system.platform.config.MAX_CONTENT_LENGTH
    assert len(body) <= system.platform.config.DAMAGE_PHOTO_MAX_BYTES

    uploaded = upload(system, system.rider(), body)

    assert uploaded.status_code == 201, uploaded.text
    assert (uploaded.json()["width"], uploaded.json()["height"]) == (1400, 1000)
    # Every other endpoint keeps the edge's limit.
    too_long = {"code": "BK1", "category": "brakes", "note": "x" * len(body)}
    refused(system.post("/api/v1/damage-reports", too_long, system.rider()), 413, "body_too_large")


def test_an_oversized_photo_is_refused_before_it_is_stored(system):
    rider = system.rider()
    limit = system.platform.config.DAMAGE_PHOTO_MAX_BYTES
    refused(upload(system, rider, b"\xff\xd8" + bytes(limit)), 413, "photo_too_large")

    def chunks():  # sent without its length: read to just past the limit, no further
        for _ in range(limit // 65536 + 2):
            yield bytes(65536)

    refused(upload(system, rider, chunks()), 413, "photo_too_large")
    assert stored_photos(system) == 0


def test_what_is_not_an_image_of_an_allowed_kind_is_refused(system):
    rider = system.rider()
    svg = b"<svg xmlns='http://www.w3.org/2000/svg'/>"
    refused(upload(system, rider, svg), 400, "not_an_image")
    refused(upload(system, rider, b""), 400, "photo_missing")
    gif = io.BytesIO()
    Image.new("RGB", (20, 20)).save(gif, "GIF")
    refused(upload(system, rider, gif.getvalue(), "image/gif"), 415, "unsupported_photo_type")
    refused(upload(system, rider, gif.getvalue()), 400, "not_an_image")
    refused(upload(system, rider, jpeg(), "application/json"), 415, "unsupported_photo_type")
    not_signed_in = system.http.post(
        system.url + "/api/v1/damage-photos", data=jpeg(), headers={"Content-Type": "image/jpeg"}
    )
    refused(not_signed_in, 401, "missing_token")
    refused(upload(system, system.operator(), jpeg()), 403, "wrong_role")
    assert stored_photos(system) == 0


def stored_photos(system) -> int:
    with system.platform.engine.connect() as connection:
        return int(connection.execute(select(func.count()).select_from(damage_photos)).scalar())
