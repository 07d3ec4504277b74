"""Yuan strings as Alipay and WeChat Pay write them, to and from fen, exactly."""

import pytest

from rental.adapters.cny import fen, yuan


@pytest.mark.parametrize(
    ("minor", "text"), [(1, "0.01"), (29, "0.29"), (115, "1.15"), (123456, "1234.56")]
)
def test_fen_and_yuan_round_trip_exactly(minor, text):
    assert yuan(minor) == text
    assert fen(text) == minor  # int(float("1.15") * 100) would be 114


def test_a_refund_written_negative_is_read_negative():
    assert fen("-5.00") == -500
    assert fen(" 12.3\t") == 1230


@pytest.mark.parametrize("text", ["", "abc", "1.234", "NaN", "Infinity"])
def test_anything_but_an_amount_of_whole_fen_is_refused(text):
    with pytest.raises(ValueError, match="not an amount of yuan"):
        fen(text)
