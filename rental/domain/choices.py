"""Reading one of a fixed set of names from a request, with an error that lists them."""

from enum import StrEnum
from typing import TypeVar

from rental.domain.errors import InvalidInput

Choice = TypeVar("Choice", bound=StrEnum)


def one_of(choices: type[Choice], value: object, what: str, code: str) -> Choice:
    try:
        return choices(str(value))
    except ValueError:
        names = ", ".join(choice.value for choice in choices)
        raise InvalidInput(f"{what} must be one of: {names}", code) from None
