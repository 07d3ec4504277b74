"""A damage report with a photo in the browsers: a rider on a phone takes it with the
camera (a file chooser here), sees it scaled down in the page and sends it with the report;
an operator at a desktop sees it on the report's card. Both languages; axe-core on both
screens as they look with the photo."""

import io

import pytest
from PIL import Image
from playwright.sync_api import expect
from sqlalchemy import select

from rental.adapters.tables import damage_photos, damage_reports
from tests.browser import Tab
from tests.e2e.system import Rider
from tests.e2e.test_accessibility import Audit
from tests.e2e.test_fair_use import hold_and_cancel
from tests.e2e.test_operator_console import open_console
from tests.e2e.test_rider_app import signed_in
from tests.helpers import CITY

GPS_IFD = 0x8825
PHOTO_SIDE = 1600  # the rider app's PHOTO_SIDE
DRAWN = """img => img.complete && img.naturalWidth > 0"""


def phone_photo(path, size=(4000, 3000)) -> int:
    """A camera's JPEG of `size` pixels with the GPS position in its EXIF, larger than the
    platform takes (noise does not compress); its size in bytes."""
    noise = Image.effect_noise(size, 90)
    colours = Image.merge("RGB", (noise, noise.rotate(90, expand=False), noise.transpose(0)))
    exif = Image.Exif()
    exif[GPS_IFD] = {1: "N", 2: (31.0, 13.0, 24.0), 3: "E", 4: (121.0, 28.0, 25.0)}
    colours.save(path, "JPEG", quality=95, exif=exif.tobytes())
    return path.stat().st_size


def stored(system):
    with system.platform.engine.connect() as connection:
        photos = connection.execute(select(damage_photos)).mappings().all()
        reports = connection.execute(select(damage_reports)).mappings().all()
    return photos, reports


@pytest.mark.parametrize(
    ("locale", "words"),
    [
        (
            "en-US",
            {"photo": "Photo of the damage", "sent": "Thank you", "alt": "photo of the damage on"},
        ),
        ("zh-CN", {"photo": "故障照片", "sent": "谢谢", "alt": "故障照片"}),
    ],
    ids=["en", "zh-CN"],
)
def test_a_rider_sends_a_photo_with_the_report_and_an_operator_sees_it(
    system, browser, tmp_path, locale, words
):
    photo_file = tmp_path / "IMG_0001.jpg"
    assert phone_photo(photo_file) > system.platform.config.DAMAGE_PHOTO_MAX_BYTES
    code, _ = system.bike()
    phone = Tab(browser, 360, 740, is_mobile=True, has_touch=True, locale=locale)
    desk = Tab(browser, 1280, 860, locale=locale)
    try:
        rider = signed_in(phone, system)
        page = phone.page
        # The phone's rider held the bike moments ago (through the API, with its token).
        token = page.evaluate("localStorage.getItem('rental.token')")
        hold_and_cancel(system, Rider(rider.id, token), code)

        page.goto(f"{system.url}/app/#/report")
        page.wait_for_selector("#main[data-ready=report]")
        expect(page.locator("label", has=page.locator("#report-photo"))).to_contain_text(
            words["photo"]
        )
        assert page.get_attribute("#report-photo", "capture") == "environment"
        assert page.get_attribute("#report-photo", "accept") == "image/*"
        page.fill("#report input[name=code]", code.lower())
        page.select_option("#report select[name=category]", "tyre")
        page.set_input_files("#report-photo", str(photo_file))
        preview = page.locator("#report-photo-preview")
        expect(preview).to_be_visible()
        page.wait_for_function(DRAWN, arg=preview.element_handle())
        width = preview.evaluate("img => img.naturalWidth")
        assert width == PHOTO_SIDE  # scaled down in the page, before it is sent
        audit = Audit(phone, f"app-{locale}")
        audit.screen("report-with-photo", "#report-photo-preview:not([hidden])")

        page.click("#report button[type=submit]")
        expect(page.locator("#report-status")).to_contain_text(words["sent"])
        photos, reports = stored(system)
        assert len(photos) == 1 and len(reports) == 1
        photo, report = photos[0], reports[0]
        assert report["photo_ref"] == str(photo["id"]) and photo["uploader_id"] == rider.id
        assert (photo["width"], photo["height"]) == (1600, 1200)
        kept = Image.open(io.BytesIO(photo["data"]))
        assert kept.format == "JPEG" and GPS_IFD not in kept.getexif()

        console = open_console(system, desk, f"reports?city={CITY}")
        image = console.locator(f"#reports form[data-asset='{code}'] img.report-photo")
        expect(image).to_have_count(1)
        console.wait_for_function(DRAWN, arg=image.element_handle())
        assert image.evaluate("img => [img.naturalWidth, img.naturalHeight]") == [1600, 1200]
        assert image.get_attribute("src").startswith("blob:")
        assert words["alt"] in image.get_attribute("alt") and code in image.get_attribute("alt")
        console_audit = Audit(desk, f"console-{locale}")
        console_audit.screen("reports-with-photo", "img.report-photo[src]")

        assert audit.violations() == {} and console_audit.violations() == {}
        assert phone.problems == [] and desk.problems == []
    finally:
        phone.close()
        desk.close()


def test_a_file_that_is_no_picture_is_told_and_not_sent(system, phone, tmp_path):
    code, _ = system.bike()
    signed_in(phone, system)
    page = phone.page
    not_a_picture = tmp_path / "notes.jpg"
    not_a_picture.write_bytes(b"these are words, not pixels " * 100)

    page.goto(f"{system.url}/app/#/report/{code}")
    page.wait_for_selector("#main[data-ready=report]")
    page.set_input_files("#report-photo", str(not_a_picture))

    expect(page.locator("#report-status")).to_contain_text("could not be read as a picture")
    expect(page.locator("#report-photo-preview")).to_be_hidden()
    assert stored(system) == ([], [])
    # A real photo after all, then taken away again: the report goes without one.
    good = tmp_path / "good.jpg"
    Image.new("RGB", (400, 300), (10, 200, 90)).save(good, "JPEG")
    page.set_input_files("#report-photo", str(good))
    expect(page.locator("#report-photo-preview")).to_be_visible()
    page.click("#report-photo-remove")
    expect(page.locator("#report-photo-preview")).to_be_hidden()
    assert phone.problems == []
