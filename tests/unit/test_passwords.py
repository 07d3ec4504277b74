"""The password adapter: werkzeug's hashes behind the use cases' `PasswordHasher`."""

from rental.adapters.passwords import WerkzeugPasswords

# One PBKDF2 round: what is checked here is the contract, not the cost of a guess.
CHEAP = WerkzeugPasswords("pbkdf2:sha256:1")


def test_a_hash_is_salted_and_matches_only_its_password():
    first, second = CHEAP.hash("correct horse"), CHEAP.hash("correct horse")
    assert first != second and "correct horse" not in first
    assert CHEAP.matches(first, "correct horse")
    assert not CHEAP.matches(first, "correct horsE")


def test_no_account_never_matches():
    assert not CHEAP.matches(None, "not-a-real-password")


def test_the_platform_hashes_with_scrypt_by_default():
    assert WerkzeugPasswords().hash("x").startswith("scrypt:")
