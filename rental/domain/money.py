"""Amounts of money as the platform keeps them (integers in the currency's minor unit) and
as people and feeds read them, by each currency's ISO 4217 minor-unit exponent: 0 for JPY
(130 is 130 yen), 2 for CNY and EUR (150 is 1.50), 3 for KWD (1500 is 1.500 dinars).

The exponents come from the ISO 4217 list (the `iso4217` package), not from locale data,
which rounds some currencies (IDR, HUF) to whole units for display.
"""

from iso4217 import Currency

from rental.domain.errors import InvalidInput


def is_currency(code: object) -> bool:
    """True for an active ISO 4217 code of a money (not XXX, gold or other units)."""
    return isinstance(code, str) and _exponent(code) is not None


def checked_currency(code: object) -> str:
    """`code` when it names a currency. Raises InvalidInput `invalid_currency`."""
    if not is_currency(code):
        raise InvalidInput("currency is an ISO 4217 code such as CNY", "invalid_currency")
    assert isinstance(code, str)
    return code


def currency_codes() -> list[str]:
    """Every code `checked_currency` accepts, in order (the API publishes the list)."""
    return sorted(code for code in Currency.__members__ if is_currency(code))


def minor_unit_exponent(code: str) -> int:
    """How many digits the minor unit has: 10 ** exponent minor units make one major unit."""
    exponent = _exponent(code)
    if exponent is None:
        raise InvalidInput(f"{code} is not an ISO 4217 currency", "invalid_currency")
    return exponent


def major_units(minor: int, code: str) -> float:
    """1500, "KWD" -> 1.5; for feeds whose prices are numbers in the major unit (GBFS)."""
    exponent = minor_unit_exponent(code)
    major: float = round(minor / 10**exponent, exponent)
    return major


def format_amount(minor: int, code: str) -> str:
    """12345 CNY -> "123.45 CNY"; 130 JPY -> "130 JPY"; 1500 KWD -> "1.500 KWD"; -50 CNY ->
    "-0.50 CNY"."""
    exponent = minor_unit_exponent(code)
    sign, size = ("-" if minor < 0 else ""), abs(minor)
    if exponent == 0:
        return f"{sign}{size} {code}"
    whole, part = divmod(size, 10**exponent)
    return f"{sign}{whole}.{part:0{exponent}d} {code}"


def _exponent(code: str) -> int | None:
    if len(code) != 3 or not code.isascii() or not code.isupper():
        return None
    member = Currency.__members__.get(code)
    return None if member is None else member.exponent
