"""Amounts, times and keys as Alipay and WeChat Pay write them: yuan with two decimals
("12.34") from and to the platform's integer fen (minor units), exactly through Decimal (a
float would turn 0.29 yuan into 28 fen); Beijing time; keys given as PEM text or a file."""

from datetime import datetime, timedelta, timezone
from decimal import Decimal, InvalidOperation
from pathlib import Path

CURRENCY = "CNY"
FEN_PER_YUAN = 100
# China keeps one offset all year (no summer time), so a fixed zone needs no tz database.
BEIJING = timezone(timedelta(hours=8), "Asia/Shanghai")
BEIJING_FORMAT = "%Y-%m-%d %H:%M:%S"  # both providers' "yyyy-MM-dd HH:mm:ss"


def yuan(amount_minor: int) -> str:
    """Fen as the yuan string the providers want: 1234 -> "12.34", 5 -> "0.05"."""
    return str((Decimal(amount_minor) / FEN_PER_YUAN).quantize(Decimal("0.01")))


def fen(amount_yuan: str) -> int:
    """A provider's yuan string as fen: "12.34" -> 1234, "-1.00" -> -100. Raises
    ValueError when it is not a number of at most two decimals."""
    try:
        value = Decimal(amount_yuan.strip().replace(",", ""))
    except InvalidOperation as exc:
        raise ValueError(f"not an amount of yuan: {amount_yuan!r}") from exc
    minor = value * FEN_PER_YUAN
    if not value.is_finite() or minor != minor.to_integral_value():
        raise ValueError(f"not an amount of yuan: {amount_yuan!r}")
    return int(minor)


def beijing(moment: datetime) -> str:
    """An aware time as Beijing wall-clock text: "2026-12-01 08:30:00"."""
    return moment.astimezone(BEIJING).strftime(BEIJING_FORMAT)


def from_beijing(text: str) -> datetime:
    """Beijing wall-clock text as an aware time. Raises ValueError."""
    return datetime.strptime(text.strip(), BEIJING_FORMAT).replace(tzinfo=BEIJING)


def pem_text(setting: str) -> str:
    """A key or certificate setting: the PEM text itself, or the path of a file holding it
    (read at start, so a wrong path stops the process with its name)."""
    if setting.lstrip().startswith("-----BEGIN"):
        return setting
    return Path(setting).read_text(encoding="ascii")
