"""The printable receipt's words: the language the rider app asked for, else the browser's,
else English; and each fare line as the app says it."""

from rental.api.printable_receipt import Words, app_receipt_url, language_for
from rental.domain.pricing import FareLine, Tariff

PRICE = Tariff("CNY", 0, rate_per_interval_minor=150, interval_seconds=1800)


def test_the_apps_choice_wins_then_the_browsers_first_known_language():
    assert language_for("zh-CN", ["en-US"]) == "zh-CN"
    assert language_for("en", ["zh-CN"]) == "en"
    assert language_for(None, ["fr-FR", "zh-TW", "en"]) == "zh-CN"
    assert language_for("klingon", ["fr"]) == "en"
    assert language_for(None, []) == "en"


def test_a_riding_line_is_said_in_the_riders_language():
    riding = FareLine("riding", "1 x 30 min", 150, 1)
    assert Words("en").line(riding, PRICE) == "Riding: 1 \u00d7 30 min"
    assert Words("zh-CN").line(riding, PRICE) == "骑行：1 × 30 分钟"  # noqa: RUF001


def test_a_line_the_app_has_no_words_for_keeps_the_services_label():
    assert Words("zh-CN").line(FareLine("new_kind", "Something new", 10), PRICE) == "Something new"


def test_the_qr_code_opens_the_receipt_in_the_rider_app():
    assert (
        app_receipt_url("https://bikes.example/", "r1") == "https://bikes.example/app/#/receipt/r1"
    )
