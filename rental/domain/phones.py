"""Phone numbers as the platform keeps and texts them: E.164 (`+8613912345678`).

Parsing is Google's libphonenumber rules (the `phonenumbers` package): a number typed
without its country code is read as one of the operator's home region (a setting,
`SMS_DEFAULT_REGION`), and only a number valid for its country is accepted, so an SMS is
never sent to something that cannot receive one. Accounts made before numbers were
normalised keep the number as it was typed, without spaces and hyphens (`legacy_forms`).
"""

import phonenumbers

from rental.domain.errors import InvalidInput

INVALID_PHONE = "phone must be a mobile number, with its country code (+86 ...) if abroad"


def e164(typed: str, home_region: str) -> str:
    """The number in E.164. Raises InvalidInput `invalid_phone`."""
    try:
        number = phonenumbers.parse(typed, home_region)
    except phonenumbers.NumberParseException:
        raise InvalidInput(INVALID_PHONE, "invalid_phone", "phone") from None
    if not phonenumbers.is_valid_number(number):
        raise InvalidInput(INVALID_PHONE, "invalid_phone", "phone")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def legacy_forms(number_e164: str, home_region: str) -> list[str]:
    """How an older account may hold this number: as E.164, and, for the home region, as
    its national digits (`13912345678`), the form sign-up kept before."""
    number = phonenumbers.parse(number_e164, None)
    forms = [number_e164]
    if phonenumbers.region_code_for_number(number) == home_region:
        forms.append(phonenumbers.national_significant_number(number))
    return forms
