"""CSV exports: RFC 4180 quoting, and no cell a spreadsheet would run as a formula."""

import csv
import io
from datetime import UTC, datetime

import pytest

from rental.services.exports import csv_lines, safe_cell


@pytest.mark.parametrize(
    ("value", "cell"),
    [
        ('=HYPERLINK("http://x")', '\'=HYPERLINK("http://x")'),
        ("+1+1", "'+1+1"),
        ("-2+3", "'-2+3"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\tcmd", "'\tcmd"),
        ("\r=1", "'\r=1"),
        ("BK00001", "BK00001"),
        ("a=b", "a=b"),
        (-300, -300),
        (2.5, 2.5),
        (True, "true"),
        (None, ""),
        (datetime(2026, 11, 30, 8, 0, tzinfo=UTC), "2026-11-30T08:00:00+00:00"),
    ],
)
def test_a_cell_never_starts_a_formula_and_numbers_stay_numbers(value, cell):
    assert safe_cell(value) == cell


def test_lines_quote_commas_quotes_and_newlines_and_read_back_as_written():
    rows = [("a,b", 'say "hi"', "two\nlines", -5), ("=1+1", None, "ok", 0)]

    text = "".join(csv_lines(("one", "two", "three", "four"), rows))

    assert text.startswith("one,two,three,four\r\n")
    assert list(csv.reader(io.StringIO(text, newline=""))) == [
        ["one", "two", "three", "four"],
        ["a,b", 'say "hi"', "two\nlines", "-5"],
        ["'=1+1", "", "ok", "0"],
    ]
