"""Every value the platform sends that the rider app shows has the rider's words, in every
language the app speaks: a new state or reason never reaches riders as raw English."""

import json
from enum import StrEnum
from pathlib import Path

import pytest

from rental.domain.credit import CreditReason
from rental.domain.disputes import DisputeState
from rental.domain.fleet import AssetKind, UnavailableReason
from rental.domain.maintenance import DamageCategory
from rental.domain.rentals import FailureReason, RentalState
from rental.domain.zones import Parking

MESSAGES = Path(__file__).resolve().parents[2] / "rental" / "web" / "static" / "app" / "messages"
LANGUAGES = ("en", "zh-CN")
# The message key each value is shown under (rental/web/static/app/app.js).
SHOWN: list[tuple[str, type[StrEnum]]] = [
    ("kind", AssetKind),
    ("unavailable", UnavailableReason),
    ("rental.state", RentalState),
    ("error", FailureReason),
    ("credit", CreditReason),
    ("parking", Parking),
    ("dispute.state", DisputeState),
    ("category", DamageCategory),
]


def messages(language: str) -> dict[str, str]:
    return dict(json.loads((MESSAGES / f"{language}.json").read_text(encoding="utf-8")))


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize(("prefix", "values"), SHOWN, ids=[prefix for prefix, _ in SHOWN])
def test_every_value_shown_to_riders_has_words(language, prefix, values):
    words = messages(language)
    assert [v.value for v in values if f"{prefix}.{v.value}" not in words] == []


def test_every_language_has_the_same_messages_with_the_same_placeholders():
    english = messages("en")
    for language in LANGUAGES[1:]:
        other = messages(language)
        assert sorted(other) == sorted(english)
        for key, text in english.items():
            names = sorted(part.split("}")[0] for part in text.split("{")[1:])
            assert sorted(part.split("}")[0] for part in other[key].split("{")[1:]) == names, key
