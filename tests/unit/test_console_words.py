"""Every value the platform sends that the operator console shows has the operator's words,
in every language the console speaks, and the languages have the same messages."""

import json
import re
from enum import StrEnum
from pathlib import Path

import pytest

from rental.domain.disputes import DisputeState
from rental.domain.fleet import AssetKind, UnavailableReason
from rental.domain.funnel import DEPOSIT_REQUIRED, NOTHING_NEARBY, SCAN_CODE_OF_UNAVAILABLE, Step
from rental.domain.ledger import AccountKind
from rental.domain.maintenance import DamageCategory
from rental.domain.rebalancing import PlanState, RunTrigger
from rental.domain.reconciliation import DifferenceKind
from rental.domain.rentals import FailureReason
from rental.domain.zones import Parking, ZoneKind
from rental.services.attention_items import AttentionKind

MESSAGES = Path(__file__).resolve().parents[2] / "rental" / "web" / "static" / "ops" / "messages"
LANGUAGES = ("en", "zh-CN")
# The message key each value is shown under (rental/web/static/ops/*.js).
SHOWN: list[tuple[str, type[StrEnum]]] = [
    ("kind", AssetKind),
    ("category", DamageCategory),
    ("dispute", DisputeState),
    ("account", AccountKind),
    ("zone", ZoneKind),
    ("parking", Parking),
    ("plan.state", PlanState),
    ("plan.trigger", RunTrigger),
    ("attention", AttentionKind),
    ("why", UnavailableReason),
    ("difference", DifferenceKind),
    ("funnel.step", Step),
    ("funnel.reason", FailureReason),  # an unlock's failure: why a visit was not unlocked
]


def messages(language: str) -> dict[str, str]:
    return dict(json.loads((MESSAGES / f"{language}.json").read_text(encoding="utf-8")))


def placeholders(text: str) -> list[str]:
    return sorted(part.split("}")[0] for part in text.split("{")[1:])


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize(("prefix", "values"), SHOWN, ids=[prefix for prefix, _ in SHOWN])
def test_every_value_shown_to_operators_has_words(language, prefix, values):
    words = messages(language)
    assert [v.value for v in values if f"{prefix}.{v.value}" not in words] == []


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_reason_the_funnel_names_before_the_scan_has_words(language):
    words = messages(language)
    reasons = {*SCAN_CODE_OF_UNAVAILABLE.values(), DEPOSIT_REQUIRED, NOTHING_NEARBY}
    assert sorted(r for r in reasons if f"funnel.reason.{r}" not in words) == []


def test_every_language_of_the_console_has_the_same_messages_with_the_same_placeholders():
    english = messages("en")
    for language in LANGUAGES[1:]:
        other = messages(language)
        assert sorted(other) == sorted(english)
        for key, text in english.items():
            assert placeholders(other[key]) == placeholders(text), key


def test_every_word_the_console_asks_for_is_in_its_messages():
    asked = set()
    for script in MESSAGES.parent.glob("*.js"):
        text = script.read_text(encoding="utf-8")
        asked |= set(re.findall(r'\bt\("([\w.]+)"', text))
    assert sorted(asked - set(messages("en"))) == []
